"""The book as a product: every chapter in the table of contents, notebooks committed clean and
starting with the set-up cell, and a build of the HTML with warnings as errors.

nbval (configured in pyproject.toml) executes every notebook once; the build here does not run
them again (``execute_notebooks: 'off'``), it checks structure: cross-references, citations,
directives, the table of contents.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())
NOTEBOOKS = sorted(BOOK.glob("*.ipynb"))


def toc_files() -> list[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]]
    for part in toc.get("parts", []):
        files += [chapter["file"] for chapter in part["chapters"]]
    return files


def setup_cell_source() -> str:
    """The set-up cell every chapter starts with; the install URL is the repository in _config.yml."""
    url = CONFIG["repository"]["url"]
    return (
        "# Set-up: in Colab, install ganlab (keeping Colab's own torch); locally there is nothing to install.\n"
        "import sys\n"
        'if "google.colab" in sys.modules:\n'
        f'    %pip install -q "ganlab @ git+{url}"\n'
        "import ganlab\n"
        "print(ganlab.describe())"
    )


def code_cells(path: Path) -> list[dict]:
    return [cell for cell in json.loads(path.read_text())["cells"] if cell["cell_type"] == "code"]


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
            f"{path.name}: clear the outputs before committing (the book and nbval execute the notebooks)"
        )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_starts_with_the_setup_cell(path):
    cells = json.loads(path.read_text())["cells"]
    assert cells[0]["cell_type"] == "markdown" and cells[0]["source"][0].startswith("("), (
        f"{path.name}: the first cell is the title with a (label)= target"
    )
    assert "".join(code_cells(path)[0]["source"]) == setup_cell_source()


def test_the_install_url_is_the_configured_repository():
    assert setup_cell_source().count(CONFIG["repository"]["url"]) == 1
    assert CONFIG["launch_buttons"]["colab_url"] == "https://colab.research.google.com"


def build(out: Path, *flags: str) -> Path:
    """Build the book with scripts/build_book.py, notebooks not executed (nbval runs them); return the HTML folder."""
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


def test_book_builds_with_warnings_as_errors(tmp_path):
    html = build(tmp_path)
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


def test_strip_solutions_handles_nested_fences_and_keeps_the_rest():
    sys.path.insert(0, str(ROOT / "scripts"))
    from build_book import strip_solutions

    text = "intro\n````{solution} ex-a\n:class: dropdown\n```python\nx = 1\n```\n````\nafter\n:::{solution} ex-b\nno\n:::\nend\n"
    assert strip_solutions(text) == "intro\nafter\nend\n"
    with pytest.raises(ValueError, match="unclosed"):
        strip_solutions("```{solution} ex-c\nnever closed\n")
