"""The book as a product: every chapter in the table of contents, notebooks committed clean and
starting with the set-up cell, and a build of the student edition with warnings as errors.

nbval (configured in pyproject.toml) executes every notebook once; the build here does not run
them again (``execute_notebooks: 'off'``), it checks structure: cross-references, citations,
directives, the table of contents. The instructor edition is built once per session, from
nbval's outputs, in tests/test_rendered.py, which checks it the same way.
"""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement

import ganlab

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())
NOTEBOOKS = sorted(BOOK.glob("*.ipynb"))
PYPROJECT_TEXT = (ROOT / "pyproject.toml").read_text()
DIST = re.search(r'(?m)^name = "([^"]+)"', PYPROJECT_TEXT).group(1)
VERSION = ganlab.__version__
sys.path.insert(0, str(ROOT / "scripts"))
import set_repository  # noqa: E402


def toc_files() -> list[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]]
    for part in toc.get("parts", []):
        files += [chapter["file"] for chapter in part["chapters"]]
    return files


def setup_cell_source(chapter: str) -> str:
    """The set-up cell chapter ``chapter`` starts with: it installs the pinned release of the
    distribution named in pyproject.toml from the repository in _config.yml, where ganlab is
    missing or another version (as in Colab), and prints version, profile, device and minutes."""
    url = CONFIG["repository"]["url"]
    return (
        f"# Set-up: install ganlab {VERSION} where it is missing or another version (Colab);\n"
        "# pip keeps the torch and numpy there. Locally there is nothing to install.\n"
        "import sys\n"
        "try:\n"
        "    import ganlab\n"
        "except ImportError:\n"
        "    ganlab = None\n"
        f'if getattr(ganlab, "__version__", None) != "{VERSION}":\n'
        f'    %pip install -q "{DIST} @ git+{url}@v{VERSION}"\n'
        '    for module in [m for m in sys.modules if m.split(".")[0] == "ganlab"]:\n'
        "        del sys.modules[module]  # forget another version imported above\n"
        "    import ganlab\n"
        f'print(ganlab.begin_chapter("{chapter}"))'
    )


def code_cells(path: Path) -> list[dict]:
    return [cell for cell in json.loads(path.read_text())["cells"] if cell["cell_type"] == "code"]


# Visible code lines per page in the book before issue 15 (f210112, counted in Chromium by
# scripts/check_rendered.py); the target is at most half of them on every page.
VISIBLE_CODE_LINES_BEFORE = {
    "01_implicit_models": 323,
    "02_learning_by_comparison": 383,
    "03_game": 330,
    "04_optimal_discriminator": 263,
    "05_training_algorithm": 305,
    "06_saturation": 328,
    "07_failure_modes": 332,
    "08_dcgan": 169,
    "09_fgan": 282,
    "10_wgan": 265,
    "11_conditional": 225,
    "12_bakeoff": 292,
    "failure_gallery": 44,
}
FOLDED = {"hide-input", "hide-cell", "remove-input", "remove-cell"}


def visible_code_lines(path: Path) -> int:
    """Lines of code a reader sees on the page without opening a fold (trailing blank lines
    not counted), as scripts/check_rendered.py counts them in the browser."""
    return sum(
        len(source.split("\n"))
        for cell in code_cells(path)
        if not FOLDED & set(cell["metadata"].get("tags", []))
        and (source := "".join(cell["source"]).rstrip("\n")).strip()
    )


def test_visible_code_lines_are_at_most_half_of_what_they_were():
    assert {p.stem for p in NOTEBOOKS} == set(VISIBLE_CODE_LINES_BEFORE)
    over = {
        p.stem: (visible_code_lines(p), VISIBLE_CODE_LINES_BEFORE[p.stem] // 2)
        for p in NOTEBOOKS
        if visible_code_lines(p) > VISIBLE_CODE_LINES_BEFORE[p.stem] // 2
    }
    assert not over, (
        f"visible code lines (now, at most): {over}; fold plotting, tables and checks "
        "(hide-input) or move helpers into ganlab"
    )


def test_visible_code_lines_count_what_is_not_folded(tmp_path):
    cells = [
        {"cell_type": "code", "metadata": {}, "source": ["a = 1\n", "\n", "b = 2\n", "\n"]},
        {"cell_type": "code", "metadata": {"tags": ["hide-input"]}, "source": ["x\n", "y"]},
        {"cell_type": "code", "metadata": {"tags": ["remove-cell"]}, "source": ["z"]},
        {"cell_type": "code", "metadata": {}, "source": []},
        {"cell_type": "markdown", "metadata": {}, "source": ["text"]},
    ]
    path = tmp_path / "nb.ipynb"
    path.write_text(json.dumps({"cells": cells}))
    assert visible_code_lines(path) == 3


def test_every_chapter_is_in_the_toc_and_every_toc_entry_exists():
    listed = toc_files()
    on_disk = {
        str(p.relative_to(ROOT).with_suffix(""))
        for p in BOOK.glob("*")
        if p.suffix in {".md", ".ipynb"}
    }
    assert len(NOTEBOOKS) >= 2
    assert on_disk == set(listed), (
        f"not in _toc.yml: {on_disk - set(listed)}; missing: {set(listed) - on_disk}"
    )
    assert len(listed) == len(set(listed)), "a chapter is listed twice"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_committed_without_outputs(path):
    for cell in code_cells(path):
        assert cell["outputs"] == [] and cell["execution_count"] is None, (
            f"{path.name}: clear the outputs before committing"
            " (the book and nbval execute the notebooks)"
        )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_starts_with_the_setup_cell(path):
    cells = json.loads(path.read_text())["cells"]
    assert cells[0]["cell_type"] == "markdown" and cells[0]["source"][0].startswith("("), (
        f"{path.name}: the first cell is the title with a (label)= target"
    )
    assert "".join(code_cells(path)[0]["source"]) == setup_cell_source(path.stem), (
        f"{path.name}: run `python scripts/set_repository.py` to write the set-up cells"
    )
    assert path.stem in ganlab.profiles.MINUTES, f"{path.name}: no row in ganlab.profiles.MINUTES"


def test_set_repository_writes_the_setup_cell_this_test_expects():
    repo = set_repository.read()
    assert repo.url == CONFIG["repository"]["url"] and repo.dist == DIST
    assert repo.setup_cell("04_optimal_discriminator") == setup_cell_source(
        "04_optimal_discriminator"
    )


def test_the_install_is_the_pinned_release_of_the_configured_repository():
    requirement = Requirement(set_repository.read().install())
    assert (
        requirement.name == DIST
        and requirement.url == f"git+{CONFIG['repository']['url']}@v{VERSION}"
    )
    assert setup_cell_source("x").count(CONFIG["repository"]["url"]) == 1
    assert CONFIG["launch_buttons"]["colab_url"] == "https://colab.research.google.com"
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    project = tomllib.loads(PYPROJECT_TEXT)["project"]
    assert project["dynamic"] == ["version"]  # the version has one place: ganlab.__version__
    assert project["license"] == "MIT" and project["license-files"] == ["LICENSE"]
    assert project["urls"]["Repository"] == CONFIG["repository"]["url"]
    for dependency in project["dependencies"]:  # Colab's torch and numpy stay
        if Requirement(dependency).name in ("torch", "numpy"):
            assert all(spec.operator == ">=" for spec in Requirement(dependency).specifier), (
                dependency
            )


def test_every_place_names_the_configured_repository():
    assert set_repository.problems() == [], "run `python scripts/set_repository.py`"
    citation = yaml.safe_load((ROOT / "CITATION.cff").read_text())
    assert citation["repository-code"] == CONFIG["repository"]["url"]
    assert citation["version"] == VERSION and citation["cff-version"] == "1.2.0"


SETUP_HARNESS = r"""
import contextlib, importlib.abc, io, json, sys, types
from IPython.core.inputtransformer2 import TransformerManager

code = TransformerManager().transform_cell(sys.argv[1])  # %pip -> get_ipython().run_line_magic
blocked = {"on": False}

class Block(importlib.abc.MetaPathFinder):  # ganlab not installed, until "pip" installs it
    def find_spec(self, name, path=None, target=None):
        if blocked["on"] and name.split(".")[0] == "ganlab":
            raise ImportError(f"No module named {name!r}")

sys.meta_path.insert(0, Block())

def run(case):
    for name in [m for m in sys.modules if m.split(".")[0] == "ganlab"]:
        del sys.modules[name]
    if case == "missing":
        blocked["on"] = True
    if case == "other version":
        old = types.ModuleType("ganlab"); old.__version__ = "0.0.1"
        sys.modules["ganlab"], sys.modules["ganlab.old"] = old, types.ModuleType("ganlab.old")
    calls = []

    class Shell:
        def run_line_magic(self, name, line):
            calls.append([name, line])
            blocked["on"] = False

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(code, {"get_ipython": Shell})
    ganlab = sys.modules["ganlab"]
    return {"calls": calls, "printed": out.getvalue(), "version": ganlab.__version__,
            "old": "ganlab.old" in sys.modules, "chapter": ganlab.profiles._chapter}

print(json.dumps({case: run(case) for case in ["installed", "missing", "other version"]}))
"""


def test_the_setup_cell_installs_only_where_ganlab_is_missing_or_another_version(tmp_path):
    """The cell run as IPython would (``%pip`` becomes a call we record): nothing to install
    here; one pip call with the pinned release where the import fails or finds 0.0.1, and then
    the right version imported afresh; every time the version, profile, device and minutes."""
    source = setup_cell_source("07_failure_modes")
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"), GANLAB_QUICK="1")
    result = subprocess.run(
        [sys.executable, "-c", SETUP_HARNESS, source],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    runs = json.loads(result.stdout.strip().splitlines()[-1])
    install = ["pip", f'install -q "{set_repository.read().install()}"']
    assert runs["installed"]["calls"] == []
    assert runs["missing"]["calls"] == [install] and runs["other version"]["calls"] == [install]
    for case, run in runs.items():
        assert run["version"] == VERSION and not run["old"], case
        assert run["chapter"] == "07_failure_modes", case
        first, second = run["printed"].strip().splitlines()
        assert first.startswith(f"ganlab {VERSION} | profile: quick | device: "), case
        assert second.startswith("minutes: quick ~"), case


def test_set_repository_retargets_a_fork_in_one_command(tmp_path):
    for name in ["_config.yml", "pyproject.toml", "CITATION.cff", "README.md"]:
        shutil.copy(ROOT / name, tmp_path / name)
    shutil.copytree(BOOK, tmp_path / "book", ignore=shutil.ignore_patterns("_static", "*.bib"))
    (tmp_path / "src" / "ganlab").mkdir(parents=True)
    shutil.copy(ROOT / "src" / "ganlab" / "__init__.py", tmp_path / "src" / "ganlab")
    old = set_repository.read()
    changed = set_repository.apply("some-one/gan-notes", root=tmp_path)
    assert {p.name for p in changed} >= {
        "_config.yml",
        "pyproject.toml",
        "CITATION.cff",
        "README.md",
    }
    assert set_repository.problems(root=tmp_path) == []
    new = set_repository.read(tmp_path)
    assert (new.slug, new.pages) == ("some-one/gan-notes", "https://some-one.github.io/gan-notes/")
    for path in [*tmp_path.glob("*.*"), *(tmp_path / "book").glob("*")]:
        text = path.read_text().lower()
        assert old.slug.lower() not in text and old.pages not in text, path.name
    chapter12 = (tmp_path / "book" / "12_bakeoff.ipynb").read_text()
    assert "raw.githubusercontent.com/some-one/gan-notes/main/bench/results" in chapter12
    with pytest.raises(ValueError, match="is not OWNER/NAME"):
        set_repository.apply("not a slug", root=tmp_path)
    (tmp_path / "README.md").write_text(
        (tmp_path / "README.md").read_text() + "\nhttps://github.com/other/fork\n"
    )
    assert set_repository.problems(root=tmp_path) == [
        "README.md: github.com/other/fork is not some-one/gan-notes"
    ]


def test_the_setup_cell_is_folded_on_the_page_and_set_repository_folds_it(tmp_path):
    (tmp_path / "book").mkdir()
    shutil.copy(BOOK / "01_implicit_models.ipynb", tmp_path / "book")
    for name in ["_config.yml", "pyproject.toml", "CITATION.cff", "README.md"]:
        shutil.copy(ROOT / name, tmp_path / name)
    (tmp_path / "src" / "ganlab").mkdir(parents=True)
    shutil.copy(ROOT / "src" / "ganlab" / "__init__.py", tmp_path / "src" / "ganlab")
    path = tmp_path / "book" / "01_implicit_models.ipynb"
    nb = json.loads(path.read_text())
    assert set_repository.first_code_cell(nb)["metadata"]["tags"] == ["hide-input"]
    set_repository.first_code_cell(nb)["metadata"] = {}
    path.write_text(json.dumps(nb))
    assert set_repository.problems(root=tmp_path) == [
        "book/01_implicit_models.ipynb: the set-up cell is not tagged hide-input"
    ]
    assert set_repository.apply(root=tmp_path) == [path]
    assert set_repository.problems(root=tmp_path) == []


def build(out: Path, *flags: str) -> Path:
    """Build the book with scripts/build_book.py, notebooks not executed (nbval runs them);
    return the HTML folder."""
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "scripts" / "build_book.py"),
            "--no-execute",
            "--out",
            str(out),
            *flags,
        ],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-5000:]
    return out / "_build" / "html"


COLAB = "https://colab.research.google.com/github/"
# The numbered kinds (figures, tables, exercises, sphinx-proof types) as the book shows them:
# per chapter, "Exercise 4.2"; unnumbered pages (the failure gallery) count from 1.
NUMBERED = re.compile(
    r"^(Exercise|Fig\.|Table|Theorem|Proposition|Lemma|Corollary|Definition|Remark|Example)"
    r" \d+(\.\d+)?$"
)


def check_colab_set(html: Path, out: Path, student: bool) -> None:
    """The Colab notebooks of one edition against that edition's HTML: every launch button
    opens a converted notebook on the edition's branch; every link of a notebook into the
    published book reaches a page and an id that this build has, and a numbered link text
    ("Exercise 14", "Proposition 4") is the number the page shows there."""
    from bs4 import BeautifulSoup

    flags = ["--colab", "--student", str(out)] if student else ["--colab", str(out)]
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "build_book.py"), *flags],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    repo = set_repository.read()
    branch = CONFIG["repository"]["branch"] + ("-student" if student else "")
    launches = 0
    for path in NOTEBOOKS:
        page = BeautifulSoup((html / "book" / f"{path.stem}.html").read_text(), "html.parser")
        for a in page.find_all("a", href=re.compile("^" + re.escape(COLAB))):
            slug, _, rest = a["href"].removeprefix(COLAB).partition("/blob/")
            on_branch, _, file = rest.partition("/")
            assert (slug, on_branch) == (repo.slug, branch), a["href"]
            assert (out / file).is_file(), f"{a['href']}: no converted notebook {file}"
            launches += 1
    assert launches >= len(NOTEBOOKS)
    site = repo.pages + ("student/" if student else "")
    pages: dict[Path, BeautifulSoup] = {}
    links = 0
    for notebook in sorted((out / "book").glob("*.ipynb")):
        cells = json.loads(notebook.read_text())["cells"]
        text = "".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
        for shown, url in re.findall(r"\[([^\]]*)\]\((https?://[^)\s]+)\)", text):
            if url.startswith(repo.pages + "_images/"):
                url = site + url.removeprefix(repo.pages)
            if not url.startswith(site):
                continue
            file, _, anchor = url.removeprefix(site).partition("#")
            target = html / file
            assert target.is_file(), f"{notebook.name}: {url}: no such page"
            if target not in pages and target.suffix == ".html":
                pages[target] = BeautifulSoup(target.read_text(), "html.parser")
            if anchor:
                element = pages[target].find(id=anchor)
                assert element is not None, f"{notebook.name}: {url}: no id {anchor}"
                if NUMBERED.match(shown):
                    assert shown in element.get_text(" "), f"{notebook.name}: {shown} at {url}"
            links += 1
        for src in re.findall(r'<img src="([^"]+)"', text):
            assert (html / "_images" / Path(src).name).is_file(), f"{notebook.name}: {src}"
    assert links > 150  # citations, cross-references, the edition note (197 in the student set)


def test_student_build_has_exercises_but_no_solutions(tmp_path):
    html = build(tmp_path, "--student")
    for path in NOTEBOOKS:
        page = (html / "book" / f"{path.stem}.html").read_text()
        download = (html / "_sources" / "book" / path.name).read_text()
        assert 'class="solution' not in page and "{solution}" not in download, path.name
        assert page.count('class="exercise') == "".join(
            "".join(c["source"]) for c in json.loads(path.read_text())["cells"]
        ).count("{exercise}")
    assert (
        "replace with your answer" in (html / "book" / "04_optimal_discriminator.html").read_text()
    )
    check_colab_set(html, tmp_path / "colab-student", student=True)


def test_strip_solutions_handles_nested_fences_and_keeps_the_rest():
    sys.path.insert(0, str(ROOT / "scripts"))
    from build_book import strip_solutions

    text = (
        "intro\n````{solution} ex-a\n:class: dropdown\n```python\nx = 1\n```\n````\n"
        "after\n:::{solution} ex-b\nno\n:::\nend\n"
    )
    assert strip_solutions(text) == "intro\nafter\nend\n"
    with pytest.raises(ValueError, match="unclosed"):
        strip_solutions("```{solution} ex-c\nnever closed\n")
