"""The rendered book, opened in headless Chromium: no error output, math typeset, every figure
and animation loads, launch buttons, a working search page (scripts/check_rendered.py).

No chapter runs twice: the pages are built from the notebooks nbval executed in this session
(tests/conftest.py keeps their outputs and runs these tests last), with execution off and
warnings as errors. MathJax comes from a local copy, $GANLAB_MATHJAX (the folder holding
tex-mml-chtml.js; .ci/run fetches it from npm), since CI cannot reach the CDN the published book
loads it from. A screenshot of every page is saved to $GANLAB_ARTIFACTS (default
_build/screenshots).

Skipped, with the reason, when Chromium or MathJax is missing or nbval ran no notebook (run
`python -m pytest tests/test_rendered.py book/`); in CI ($CI set) each of those fails instead.
The checker's own parsing is tested on small fake pages at the end, with no browser.
"""

import base64
import html
import json
import os
import shutil
import struct
import subprocess
import sys
import urllib.request
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
import check_rendered as cr  # noqa: E402

CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
MATHJAX = Path(
    os.environ.get("GANLAB_MATHJAX", CACHE / "ganlab" / "mathjax-3.2.2" / "es5")
)  # as .ci/run puts it
ARTIFACTS = Path(os.environ.get("GANLAB_ARTIFACTS", ROOT / "_build" / "screenshots"))
IN_CI = os.environ.get("CI", "").lower() not in ("", "0", "false")


def unavailable(reason: str):
    """Skip locally; in CI a missing piece is a failure, never a silent skip."""
    (pytest.fail if IN_CI else pytest.skip)(reason)


def toc_pages() -> list[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    return [f"{toc['root']}.html"] + [
        f"{c['file']}.html" for part in toc["parts"] for c in part["chapters"]
    ]


def display_outputs(nb) -> list[dict]:
    """The display outputs of a notebook's code cells, each as its mime bundle."""
    return [
        out.get("data", {})
        for cell in nb.cells
        if cell.cell_type == "code"
        for out in cell.get("outputs", [])
        if out.get("output_type") in ("display_data", "execute_result")
    ]


def figure_count(nb) -> int:
    """Outputs that render as an <img>: an image with no HTML or JavaScript to take its place
    (myst-nb's priority)."""
    return sum(
        any(k.startswith("image/") for k in data)
        and not any(k in data for k in ("text/html", "application/javascript"))
        for data in display_outputs(nb)
    )


def animation_count(nb) -> int:
    return sum(
        'class="animation"' in "".join(data.get("text/html", "")) for data in display_outputs(nb)
    )


def build_sources(dest: Path, executed: dict) -> None:
    """Copy the book to ``dest``: the executed notebooks, execution off, MathJax from _static."""
    shutil.copytree(
        ROOT / "book", dest / "book", ignore=shutil.ignore_patterns(".ipynb_checkpoints")
    )
    shutil.copy(ROOT / "_toc.yml", dest / "_toc.yml")
    for path, nb in executed.items():
        (dest / path.relative_to(ROOT)).write_text(
            json.dumps(nb, indent=1, ensure_ascii=False) + "\n"
        )
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    config["execute"] = {**config.get("execute", {}), "execute_notebooks": "off"}
    # relative to _static: the MathJax folder is linked there after the build
    config.setdefault("sphinx", {}).setdefault("config", {})["mathjax_path"] = (
        "mathjax/tex-mml-chtml.js"
    )
    (dest / "_config.yml").write_text(yaml.safe_dump(config, sort_keys=False))


@pytest.fixture(scope="module")
def built(executed_notebooks, tmp_path_factory):
    """The instructor edition built from nbval's outputs, execution off, warnings as errors:
    ``html``, ``work`` (a scratch folder beside it), ``executed``. This is the session's one
    build of the instructor edition (tests/test_book.py builds the student edition)."""
    if not executed_notebooks:
        unavailable(
            "nbval executed no notebook in this session: run "
            "`python -m pytest tests/test_rendered.py book/`"
        )
    work = tmp_path_factory.mktemp("rendered")
    build_sources(work / "src", executed_notebooks)
    exe = shutil.which("jupyter-book") or str(Path(sys.executable).parent / "jupyter-book")
    result = subprocess.run(
        [exe, "build", str(work / "src"), "--path-output", str(work), "-W", "--keep-going"],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-5000:]
    return SimpleNamespace(html=work / "_build" / "html", work=work, executed=executed_notebooks)


@pytest.fixture(scope="module")
def book(built):
    """The built book checked in Chromium: ``html``, ``reports``, ``executed``."""
    chromium = cr.find_chromium()
    if chromium is None:
        unavailable("no Chromium: `apt-get install chromium` (.ci/run does), or set $CHROMIUM")
    if not (MATHJAX / "tex-mml-chtml.js").exists():
        unavailable(
            f"no MathJax 3 at {MATHJAX} ($GANLAB_MATHJAX): .ci/run fetches it with "
            "`npm pack mathjax@3.2.2`"
        )
    html = built.html
    (html / "_static" / "mathjax").symlink_to(MATHJAX.resolve(), target_is_directory=True)
    reports = cr.check_book(html, screenshots=ARTIFACTS, query="discriminator", chromium=chromium)
    return SimpleNamespace(html=html, reports=reports, executed=built.executed)


def test_the_instructor_build_has_every_page_solutions_bibliography_and_colab_links(built):
    """What `jupyter-book build .` must give, checked on this session's build."""
    from test_book import check_colab_set, toc_files

    html = built.html
    for name in toc_files():
        assert (html / f"{name}.html").exists(), name
    chapter = (html / "book" / "04_optimal_discriminator.html").read_text()
    assert "prop-optimal-d" in chapter and "colab.research.google.com" in chapter
    assert chapter.count('class="solution') >= 3  # instructors see the solutions (in dropdowns)
    bibliography = (html / "book" / "bibliography.html").read_text()
    assert (
        "Generative adversarial nets" in bibliography
        and bibliography.count('role="doc-biblioentry"') >= 8
    )
    assert 'id="cite-goodfellow2014gan"' in bibliography  # bibtex_cite_id: Colab links use it
    assert "CC BY 4.0" in chapter  # the footer names the licence of the text
    check_colab_set(html, built.work / "colab", student=False)


def page_of(path: Path) -> str:
    return str(path.relative_to(ROOT).with_suffix(".html"))


def test_every_page_in_the_toc_was_checked_and_has_no_problem(book):
    assert set(book.reports) == set(toc_pages()) | {"search.html"}
    assert cr.problems(book.html, book.reports) == []
    if (
        IN_CI
    ):  # CI runs every notebook; a page rendered from an unexecuted copy would hide its figures
        notebooks = {p for p in toc_pages() if (ROOT / p).with_suffix(".ipynb").exists()}
        assert {page_of(p) for p in book.executed} == notebooks


def test_no_page_shows_an_error(book):
    for page, report in book.reports.items():
        assert report.probed, page
        assert report.errors == [] and report.js_errors == [], page
        assert [url for url in report.failed_loads if cr.is_local(url)] == [], page


def test_math_is_typeset_wherever_the_source_has_math(book):
    total = 0
    for page, report in book.reports.items():
        static = cr.BeautifulSoup((book.html / page).read_text(), "html.parser")
        formulas = len(static.select(".math"))  # the formulas Sphinx wrote, before MathJax ran
        assert report.math >= formulas and report.untypeset == [] and report.math_errors == [], page
        assert report.raw_tex == [], page
        total += formulas
    assert (
        book.reports["book/04_optimal_discriminator.html"].math >= 20
    )  # the chapter of D* = p/(p+q)
    assert total >= 100


def test_every_figure_of_every_executed_notebook_loads(book):
    for path, nb in book.executed.items():
        report = book.reports[page_of(path)]
        assert figure_count(nb) >= 1, (
            f"{path.name} drew no figure: did its kernel get the inline backend?"
        )
        assert report.output_images == figure_count(nb), path.name
    for page, report in book.reports.items():
        assert report.broken_images == [], page


def test_every_animation_shows_its_frames(book):
    for path, nb in book.executed.items():
        report = book.reports[page_of(path)]
        assert len(report.animations) == animation_count(nb), path.name
        assert all(frames >= 2 for frames in report.animations), (path.name, report.animations)
    chapter7 = ROOT / "book" / "07_failure_modes.ipynb"
    if chapter7 in book.executed:
        assert (
            len(book.reports[page_of(chapter7)].animations) >= 2
        )  # collapse and oscillation replayed


def test_every_chapter_has_its_colab_launch_button(book):
    repo = CONFIG["repository"]["url"].removeprefix("https://github.com/")
    branch = CONFIG["repository"]["branch"]
    for page in toc_pages():
        if (ROOT / page).with_suffix(".ipynb").exists():
            source = page.removesuffix(".html") + ".ipynb"
            expected = (
                f"{CONFIG['launch_buttons']['colab_url']}/github/{repo}/blob/{branch}/{source}"
            )
            assert expected in book.reports[page].launch, (page, book.reports[page].launch)


def test_the_search_page_finds_the_discriminator_chapter(book):
    results = book.reports["search.html"].search_results
    assert any("book/04_optimal_discriminator.html" in href for href in results), results
    assert len(results) >= 3


def test_a_screenshot_of_every_page_is_saved(book):
    for page, report in book.reports.items():
        png = Path(report.screenshot).read_bytes()
        assert png[:8] == b"\x89PNG\r\n\x1a\n", page
        assert struct.unpack(">II", png[16:24]) == (1280, 2000), page  # IHDR: the window size
        assert Path(report.screenshot).parent == ARTIFACTS


# The checker on small fake pages: no browser needed.

PIXEL = "data:image/png;base64," + base64.b64encode(b"not decoded here").decode()
FAKE_DOM = f"""<html data-probe="done"><head></head><body>
<p>Prose with raw $x^2$ TeX, a price of $5 and $6, and typeset
<span class="math"><mjx-container class="MathJax">x</mjx-container></span> math.</p>
<div class="math">\\[ D^*(x) \\]</div>
<mjx-container><mjx-merror data-mjx-error="Undefined control sequence \\foo">\\foo</mjx-merror>
</mjx-container>
<pre>code with $$ is fine</pre>
<div class="cell_output docutils container">
  <div class="output traceback highlight-ipythontb"><pre>-------------
ValueError    Traceback (most recent call last)
----> 1 ganlab.ring(0)
ValueError: n_modes must be positive, got 0</pre></div>
  <div class="output stderr highlight-myst-ansi"><pre>UserWarning: careful</pre></div>
  <img src="fig1.png" data-probe-width="640"><img src="missing.png" data-probe-width="0">
  <img src="{PIXEL}">
  <div class="output text_html"><div class="animation">
    <img id="_anim_img1" src="{PIXEL}" data-probe-width="300">
    <input type="range" class="anim-slider" min="0" max="24"></div></div>
</div>
<a href="https://colab.research.google.com/github/o/r/blob/main/book/ch.ipynb">Colab</a>
<div id="search-results"><ul class="search">
  <li><a href="book/ch.html?highlight=x">Ch</a> text <a href="b">b</a></li></ul></div>
<script type="application/json" id="probe-report">{{"js_errors": ["boom",
  "Uncaught SyntaxError: Identifier 'THEBE_JS_URL' has already been declared"],
  "failed_loads": ["https://cdn.example/x.js", "http://127.0.0.1:8000/_static/y.css"]}}</script>
</body></html>"""


def test_parse_page_reads_every_kind_of_finding_from_a_fake_page():
    page = cr.parse_page(FAKE_DOM, "book/ch.html")
    assert page.probed
    assert page.errors == ["ValueError: n_modes must be positive, got 0"]
    assert page.stderr == ["UserWarning: careful"]
    assert page.math == 2 and page.untypeset == ["\\[ D^*(x) \\]"]
    assert page.math_errors == ["Undefined control sequence \\foo"]
    assert len(page.raw_tex) == 1 and "$x^2$" in page.raw_tex[0]  # not the prices, not the <pre>
    assert page.output_images == 3 and page.broken_images == ["missing.png", PIXEL]
    assert page.animations == [25] and page.videos == []
    assert page.launch == ["https://colab.research.google.com/github/o/r/blob/main/book/ch.ipynb"]
    assert page.search_results == ["book/ch.html?highlight=x"]
    assert page.js_errors == ["boom"]  # the known thebe error dropped
    assert page.failed_loads == ["https://cdn.example/x.js", "http://127.0.0.1:8000/_static/y.css"]


def test_problems_name_each_finding_and_a_missing_launch_button():
    assert (
        cr.PageReport(
            "book/ch.html", probed=True, launch=[f"{cr.COLAB}github/o/r/blob/main/book/ch.ipynb"]
        ).problems(notebook=True)
        == []
    )
    page = cr.parse_page(FAKE_DOM.replace('data-probe="done"', ""), "book/other.html")
    found = page.problems(notebook=True)
    assert found[0] == "the page did not finish loading within the time budget"
    assert [line.split(":")[0] for line in found[1:]] == [
        "error output",
        "formula not typeset",
        "MathJax error",
        "TeX left in the text",
        "image does not load",
        "image does not load",
        "script error",
        "failed to load",
        "no Colab launch button for book/other.ipynb (links",
    ]
    local_only = ["failed to load: http://127.0.0.1:8000/_static/y.css"]
    assert [line for line in found if line.startswith("failed")] == local_only
    assert "failed to load: https://cdn.example/x.js" in page.problems(
        online=True
    )  # offline, a CDN is out of reach
    assert cr.PageReport("x.html", probed=True, animations=[0, 5], videos=[0]).problems() == [
        "animation 0 shows no frame",
        "video 0 does not load",
    ]


def test_the_server_injects_the_probe_into_pages_only(tmp_path):
    (tmp_path / "page.html").write_text(
        "<!DOCTYPE html><html><head lang='en'><title>t</title></head></html>"
    )
    (tmp_path / "genindex.html").write_text(
        "<html><head></head></html>"
    )  # no source: not a book page
    (tmp_path / "_sources").mkdir()
    (tmp_path / "_sources" / "page.md").write_text("# t")
    (tmp_path / "_static").mkdir()
    (tmp_path / "_static" / "x.bin").write_bytes(bytes(range(256)))
    with cr.serve(tmp_path) as base:
        page = urllib.request.urlopen(base + "page.html?q=discriminator").read().decode()
        raw = urllib.request.urlopen(base + "_static/x.bin").read()
    assert (
        page
        == "<!DOCTYPE html><html><head lang='en'>" + cr.PROBE + "<title>t</title></head></html>"
    )
    assert raw == bytes(range(256))
    assert cr.book_pages(tmp_path) == ["page.html"]


def test_a_dollar_typeset_inside_a_formula_is_reported():
    dom = (
        '<html data-probe="done"><body><p>ok <span class="math"><mjx-container>'
        '<mjx-c class="mjx-c1D465"></mjx-c></mjx-container></span> and <span class="math">'
        '<mjx-container><mjx-c class="mjx-c24"></mjx-c>'
        '<mjx-c class="mjx-c1D465"></mjx-c></mjx-container></span></p></body></html>'
    )
    page = cr.parse_page(dom, "book/x.html")
    assert len(page.raw_tex) == 1 and page.raw_tex[0].startswith("a $ typeset inside")


# The page rules (STYLE.md, "The page"), each shown to catch a planted case. The probe's
# measurements are planted as the attributes it writes (data-probe-overflow, -shown, -size);
# test_the_probe_measures_widths_in_chromium checks that Chromium writes them.


def page_dom(body: str) -> str:
    return (
        f'<html data-probe="done"><body><article class="bd-article">{body}</article></body></html>'
    )


def code_cell(source: str, tags: str = "", folded: bool = False, overflow: str = "") -> str:
    pre = f"<pre{f' data-probe-overflow={overflow!r}' if overflow else ''}>{source}</pre>"
    block = f'<div class="cell_input docutils container"><div class="highlight">{pre}</div></div>'
    if folded:
        block = f'<details class="hide above-input"><summary>Show code</summary>{block}</details>'
    return f'<div class="cell docutils container {tags}">{block}</div>'


def output(text: str, overflow: str = "") -> str:
    attr = f' data-probe-overflow="{overflow}"' if overflow else ""
    return (
        '<div class="cell docutils container"><div class="cell_output docutils container">'
        f'<div class="output stream highlight-myst-ansi"><pre{attr}>{html.escape(text)}</pre>'
        "</div></div></div>"
    )


CONVERTED_PAGE = "book/01_implicit_models.html"  # in cr.CONVERTED
OTHER_PAGE = "book/bibliography.html"  # never in cr.CONVERTED


def findings(body: str, page: str = CONVERTED_PAGE) -> list[str]:
    return cr.parse_page(page_dom(body), page).problems()


def test_a_formula_wider_than_its_box_is_a_problem_on_every_page():
    wide = (
        '<div class="math"><mjx-container display="true" data-probe-shown="690" '
        'data-probe-overflow="912/690" data-probe-tex="C(G) = -\\log 4 + 2 JSD">'
        "</mjx-container></div>"
    )
    fits = '<span class="math"><mjx-container data-probe-shown="40"></mjx-container></span>'
    for page in (CONVERTED_PAGE, OTHER_PAGE):
        report = cr.parse_page(page_dom(wide + fits), page)
        assert report.wide_math == ["C(G) = -\\log 4 + 2 JSD (912/690 px)"]
        assert report.problems() == [
            "formula wider than its box: C(G) = -\\log 4 + 2 JSD (912/690 px)"
        ]
        assert report.counts()["math wide"] == 1
    assert findings(fits) == []


def test_exercise_exercise_is_a_problem_on_every_page():
    body = (
        '<p>See Exercise <a href="#ex"><span class="std std-numref">Exercise 2.1</span></a>, '
        'and exercise <a href="#ex"><span>Exercise 2.2</span></a>.</p>'
        '<p>Exercise <a href="#e"><span>2.3</span></a> and Exercise 2.4 are fine.</p>'
    )
    report = cr.parse_page(page_dom(body), OTHER_PAGE)
    assert report.exercise_exercise == 2
    assert report.problems() == ['"Exercise Exercise" 2 time(s) in the text']


def test_code_that_scrolls_sideways_is_a_problem_on_converted_pages_and_todo_elsewhere():
    body = code_cell("x = 1", overflow="1012/690") + code_cell("y = 2")
    assert findings(body) == ["code cell 1 scrolls sideways (1012/690 px)"]
    other = cr.parse_page(page_dom(body), OTHER_PAGE)
    assert other.problems() == [] and other.todo() == ["code cell 1 scrolls sideways (1012/690 px)"]
    assert other.problems(strict=True) == other.todo()  # --all-rules
    assert other.counts()["scroll"] == 1


def test_visible_code_is_counted_and_folded_code_is_not():
    long_line = "x = " + "1 + " * 30 + "1"  # 126 characters
    body = (
        code_cell("\n".join(f"a{i} = {i}" for i in range(30)))  # 30 lines: too long a cell
        + code_cell(long_line + "\nprint(x)\n\n")  # trailing blank lines are not code
        + code_cell("\n".join(f"b{i} = {i}" for i in range(40)), folded=True)  # plotting: folded
        + code_cell("\n".join(f"c{i} = {i}" for i in range(28)), tags="tag_listing")
    )
    report = cr.parse_page(page_dom(body), CONVERTED_PAGE)
    assert [(c.lines, c.long_lines, c.folded, c.listing) for c in report.code_cells] == [
        (30, 0, False, False),
        (2, 1, False, False),
        (40, 0, True, False),
        (28, 0, False, True),
    ]
    counts = report.counts()
    assert (counts["cells"], counts["visible"], counts["lines"]) == (4, 3, 60)
    assert (counts["long"], counts["big"]) == (1, 1)
    assert report.problems() == [
        "code cell 1: 30 visible lines (at most 25; fold it, move helpers to ganlab, or tag a "
        "teaching listing `listing`)",
        "code cell 2: 1 line(s) over 88 characters",
    ]


def test_an_output_wider_than_its_box_is_a_problem():
    table = "step  " + "  ".join(f"col{i:02d}" for i in range(25))
    body = output(table, overflow="1400/690") + output("fits")
    assert findings(body) == [f"output wider than its box: {cr.short(table, 60)} (1400/690 px)"]


def figure(alt: str = "", caption: str | None = None, shown: int = 690, size: int = 690) -> str:
    img = (
        f'<img src="../_images/abc.png" data-probe-width="{2 * size}" data-probe-shown="{shown}" '
        f'data-probe-size="{size}"{f" alt={alt!r}" if alt is not None else ""}>'
    )
    if caption is not None:
        img = (
            f'<figure class="align-default" id="fig-x">{img}<figcaption><p>'
            f'<span class="caption-number">Fig. 1.1 </span><span class="caption-text">{caption}'
            "</span></p></figcaption></figure>"
        )
    output = f'<div class="cell_output docutils container">{img}</div>'
    return f'<div class="cell docutils container">{output}</div>'


def test_a_figure_needs_alt_text_and_a_caption_and_at_least_0_8_of_its_size():
    good = figure(alt="two modes, and the samples on them", caption="Samples.")
    assert findings(good) == []
    assert cr.parse_page(page_dom(good), CONVERTED_PAGE).figures[0].caption == "Fig. 1.1 Samples."
    assert findings(figure(alt="two modes", caption="Samples.", shown=480, size=900)) == [
        "figure shown at 0.53x its size (480 of 900 px): two modes"
    ]
    assert findings(figure(alt="two modes", caption="Samples.", shown=560, size=690)) == []  # 0.81
    assert findings(figure(alt="", caption=None)) == [
        "figure without caption: ../_images/abc.png",
        "figure without alt text: ../_images/abc.png",
    ]
    # myst-nb's default alt text is the file's address: not alt text a person wrote
    assert findings(figure(alt="../_images/abc.png", caption="Samples.")) == [
        "figure without alt text: ../_images/abc.png"
    ]
    counts = cr.parse_page(page_dom(good + figure(alt="", shown=300)), OTHER_PAGE).counts()
    assert (counts["figures"], counts["small"], counts["no alt"], counts["no caption"]) == (
        2,
        1,
        1,
        1,
    )


def test_an_animation_needs_a_caption_but_no_alt_text():
    frame = (
        '<img id="_anim_img1" src="data:image/png;base64,AAAA" data-probe-width="450" '
        'data-probe-shown="450" data-probe-size="450">'
    )
    slider = '<input type="range" class="anim-slider" min="0" max="9">'
    anim = f'<div class="output text_html"><div class="animation">{frame}{slider}</div></div>'
    bare = f'<div class="cell_output docutils container">{anim}</div>'
    captioned = (
        '<div class="cell_output docutils container"><figure>'
        f"{anim}<figcaption><p>Training, step by step.</p></figcaption></figure></div>"
    )
    assert findings(bare) == ["animation without caption: data:image/png;base64,AAAA"]
    assert findings(captioned) == []


DEBRIS_OUTPUT = """<torch._C.Generator at 0x7f3a2c1b5e30>
<function __main__.show_run(seed=0)>
np.float64(0.6931471805599453) and np.False_
/work/main/book/07.py:12: IntegrationWarning: The maximum number of subdivisions (50)
saved to /home/runner/work/ganlab/runs/sweep.csv
{'modes': 8, 'hq': 0.93}
growth by step size: {0.5: 9.3, 0.2: 2.7}"""
CLEAN_OUTPUT = """step 2000: D loss 1.386, G loss 0.693 (0.69314 is log 2)
KL(p_data || Gaussian): Monte Carlo 0.3312 nats, quadrature 0.3307 nats
{x ≤ 1} is an event; the ratio is 1/2, e.g. 12.5 s on /dev/null-free machines; {a, b}
ModeCoverage(modes_captured=8)"""


def test_output_debris_is_found_item_by_item():
    report = cr.parse_page(page_dom(output(DEBRIS_OUTPUT) + output(CLEAN_OUTPUT)), CONVERTED_PAGE)
    kinds = [d.split(":")[0] for d in report.debris]
    assert kinds == [
        "object repr",  # the torch generator
        "object repr",  # the function
        "numpy repr",
        "numpy repr",
        "warning",
        "machine path",  # in the warning
        "machine path",  # the CSV
        "long float",
        "raw dict",
        "raw dict",  # inline, with number keys
    ]
    assert report.counts()["debris"] == 10
    assert (
        report.problems()[0] == "output debris, object repr: <torch._C.Generator at 0x7f3a2c1b5e30>"
    )
    assert cr.parse_page(page_dom(output(CLEAN_OUTPUT)), CONVERTED_PAGE).debris == []
    # in prose, a dict or a path is not output debris
    assert cr.parse_page(page_dom("<p>{'a': 1} in /home/x</p>"), CONVERTED_PAGE).debris == []


def test_pages_can_be_selected_and_counted_in_a_table():
    pages = [
        "book/01_implicit_models.html",
        "book/02_learning_by_comparison.html",
        "book/intro.html",
    ]
    assert cr.select_pages(pages, None) == pages
    assert cr.select_pages(pages, ["01_implicit", "intro"]) == [pages[0], pages[2]]
    with pytest.raises(ValueError, match="no page matches"):
        cr.select_pages(pages, ["13_diffusion"])
    reports = {
        CONVERTED_PAGE: cr.parse_page(page_dom(code_cell("a = 1\nb = 2")), CONVERTED_PAGE),
        OTHER_PAGE: cr.parse_page(page_dom(code_cell("c = 3") + output(DEBRIS_OUTPUT)), OTHER_PAGE),
    }
    table = cr.count_table(reports).splitlines()
    assert table[0].startswith("| page | cells | visible | lines | long |")
    assert table[2].startswith("| 01_implicit_models | 1 | 1 | 2 | 0 |")
    assert table[-1].startswith("| **total** | 2 | 2 | 3 | 0 |")
    assert table[-1].endswith("| 10 | 0 |")  # debris, ex ex


PROBE_PAGE = """<!DOCTYPE html><html><head><title>t</title></head><body>
<article class="bd-article" style="width: 690px">
<div class="cell"><div class="cell_input"><pre style="overflow: auto">{long_code}</pre></div></div>
<div class="cell"><div class="cell_input"><pre style="overflow: auto">short = 1</pre></div></div>
<div class="cell"><details><summary>s</summary>
<div class="cell_input"><pre style="overflow: auto">{long_code}</pre></div></details></div>
<div class="cell"><div class="cell_output"><img src="{wide_png}" style="max-width: 100%" alt="wide">
<img src="{small_png}" style="width: 300px" alt="fits"></div></div>
<p>text <mjx-container display="true" style="display: block; overflow: hidden">
<span style="display: inline-block; width: 2000px">x</span></mjx-container></p>
<p>an inline formula too long for any line: <mjx-container style="display: inline-block">
<span style="display: inline-block; width: 900px">w</span></mjx-container></p>
<p><mjx-container style="display: inline-block">
<span style="display: inline-block; width: 20px">y</span></mjx-container>
<mjx-container style="display: inline-block; width: 10px">
<span style="display: inline-block; width: 12px">f</span></mjx-container> (an italic overhang)</p>
</article></body></html>"""


def png(width: int, height: int) -> str:
    """A data: URL of a blank PNG of the given size (no Pillow needed)."""
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    rows = b"".join(b"\x00" + b"\xff" * width for _ in range(height))
    data = (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )
    return "data:image/png;base64," + base64.b64encode(data).decode()


def test_the_probe_measures_widths_in_chromium(tmp_path):
    chromium = cr.find_chromium()
    if chromium is None:
        unavailable("no Chromium: `apt-get install chromium` (.ci/run does), or set $CHROMIUM")
    html = PROBE_PAGE.format(
        long_code="x = " + "1 + " * 60 + "1", wide_png=png(1380, 40), small_png=png(600, 20)
    )
    (tmp_path / "book").mkdir()
    (tmp_path / "book" / "01_implicit_models.html").write_text(html)
    (tmp_path / "_sources" / "book").mkdir(parents=True)
    (tmp_path / "_sources" / "book" / "01_implicit_models.ipynb").write_text("{}")
    reports = cr.check_book(tmp_path, chromium=chromium, pages=["01_implicit"])
    assert list(reports) == [CONVERTED_PAGE]  # no search page when pages are chosen
    page = reports[CONVERTED_PAGE]
    assert page.probed and page.height > 0
    assert [(c.folded, c.overflow is not None) for c in page.code_cells] == [
        (False, True),
        (False, False),
        (True, False),  # folded: not laid out, not measured
    ]
    wide, small = page.figures
    assert wide.size == 1380 and 680 <= wide.shown <= 690 and wide.scale < 0.8
    assert small.size == 300 and small.shown == 300  # a retina figure: its CSS width counts
    assert len(page.wide_math) == 2  # the display and the long inline one, not the overhang
    assert page.wide_math[0].endswith("/690 px)")
    problems = page.problems()
    assert sum("scrolls sideways" in p for p in problems) == 1
    assert sum("formula wider than its box" in p for p in problems) == 2
    assert any(p.startswith("figure shown at 0.5") for p in problems)


def test_the_set_up_cell_is_reported_as_todo_only():
    """tests/test_book.py fixes the set-up cell word for word: its long comment is a todo."""
    setup = (
        "# Set-up: in Colab, install ganlab (keeping Colab's own torch); locally there is nothing "
        "to install."
    )
    body = code_cell(setup + "\nimport ganlab") + code_cell(setup + " (not the first cell)")
    report = cr.parse_page(page_dom(body), CONVERTED_PAGE)
    assert [c.setup for c in report.code_cells] == [True, False]
    assert report.problems() == ["code cell 2: 1 line(s) over 88 characters"]
    assert report.todo() == ["set-up code cell 1: 1 line(s) over 88 characters"]
