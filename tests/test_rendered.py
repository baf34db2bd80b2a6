"""The rendered book, opened in headless Chromium: no error output, math typeset, every figure
and animation loads, launch buttons, a working search page (scripts/check_rendered.py).

No chapter runs twice: the pages are built from the notebooks nbval executed in this session
(tests/conftest.py keeps their outputs and runs these tests last), with execution off and
warnings as errors. MathJax comes from a local copy, $GANLAB_MATHJAX (the folder holding
tex-mml-chtml.js; .ci/run fetches it from npm), since CI cannot reach the CDN the published book
loads it from. A screenshot of every page is saved to $GANLAB_ARTIFACTS (default _build/screenshots).

Skipped, with the reason, when Chromium or MathJax is missing or nbval ran no notebook (run
`python -m pytest tests/test_rendered.py book/`); in CI ($CI set) each of those fails instead.
The checker's own parsing is tested on small fake pages at the end, with no browser.
"""

import base64
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
    """Outputs that render as an <img>: an image with no HTML or JavaScript to take its place (myst-nb's priority)."""
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
    """Copy the book to ``dest`` with the executed notebooks, execution off and MathJax from _static."""
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
def book(executed_notebooks, tmp_path_factory):
    """The book built from nbval's outputs and checked in Chromium: ``html``, ``reports``, ``executed``."""
    chromium = cr.find_chromium()
    if chromium is None:
        unavailable("no Chromium: `apt-get install chromium` (.ci/run does), or set $CHROMIUM")
    if not (MATHJAX / "tex-mml-chtml.js").exists():
        unavailable(
            f"no MathJax 3 at {MATHJAX} ($GANLAB_MATHJAX): .ci/run fetches it with `npm pack mathjax@3.2.2`"
        )
    if not executed_notebooks:
        unavailable(
            "nbval executed no notebook in this session: run `python -m pytest tests/test_rendered.py book/`"
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
    html = work / "_build" / "html"
    (html / "_static" / "mathjax").symlink_to(MATHJAX.resolve(), target_is_directory=True)
    reports = cr.check_book(html, screenshots=ARTIFACTS, query="discriminator", chromium=chromium)
    return SimpleNamespace(html=html, reports=reports, executed=executed_notebooks)


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
<mjx-container><mjx-merror data-mjx-error="Undefined control sequence \\foo">\\foo</mjx-merror></mjx-container>
<pre>code with $$ is fine</pre>
<div class="cell_output docutils container">
  <div class="output traceback highlight-ipythontb"><pre>-------------
ValueError    Traceback (most recent call last)
----> 1 ganlab.ring(0)
ValueError: n_modes must be positive, got 0</pre></div>
  <div class="output stderr highlight-myst-ansi"><pre>UserWarning: careful</pre></div>
  <img src="fig1.png" data-probe-width="640"><img src="missing.png" data-probe-width="0"><img src="{PIXEL}">
  <div class="output text_html"><div class="animation"><img id="_anim_img1" src="{PIXEL}" data-probe-width="300">
    <input type="range" class="anim-slider" min="0" max="24"></div></div>
</div>
<a href="https://colab.research.google.com/github/o/r/blob/main/book/ch.ipynb">Colab</a>
<div id="search-results"><ul class="search"><li><a href="book/ch.html?highlight=x">Ch</a> text <a href="b">b</a></li></ul></div>
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
        '<html data-probe="done"><body><p>ok <span class="math"><mjx-container><mjx-c class="mjx-c1D465">'
        '</mjx-c></mjx-container></span> and <span class="math"><mjx-container><mjx-c class="mjx-c24"></mjx-c>'
        '<mjx-c class="mjx-c1D465"></mjx-c></mjx-container></span></p></body></html>'
    )
    page = cr.parse_page(dom, "book/x.html")
    assert len(page.raw_tex) == 1 and page.raw_tex[0].startswith("a $ typeset inside")
