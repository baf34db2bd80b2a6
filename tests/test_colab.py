"""The Colab notebooks (scripts/build_book.py --colab [--student]): plain Jupyter Markdown, no raw
MyST, code cells unchanged, no solution in the student set, valid notebooks.

The links into the published book and the launch buttons are checked against real HTML builds
in tests/test_book.py (test_book_builds_with_warnings_as_errors and the student build test).
"""

import functools
import json
import re
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
import build_book  # noqa: E402
import colab_notebooks as cn  # noqa: E402
import set_repository  # noqa: E402

SOURCES = sorted((ROOT / "book").glob("*.ipynb"))


@pytest.fixture(scope="module")
def converted(tmp_path_factory) -> dict:
    """``{"instructor": {name: notebook}, "student": {...}}``, written by build_book.py."""
    sets = {}
    for edition in ("instructor", "student"):
        out = tmp_path_factory.mktemp(edition)
        flags = (
            ["--colab", "--student", str(out)] if edition == "student" else ["--colab", str(out)]
        )
        assert build_book.main(flags) == 0
        sets[edition] = {
            path.name: json.loads(path.read_text()) for path in (out / "book").glob("*.ipynb")
        }
    return sets


def markdown(nb: dict) -> list[str]:
    return ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown"]


def raw_markup(nb: dict) -> list[str]:
    """``cell N: pattern`` for every raw-MyST pattern in a markdown cell of ``nb``."""
    return [
        f"cell {i}: {name}"
        for i, cell in enumerate(nb["cells"])
        if cell["cell_type"] == "markdown"
        for name in cn.raw_myst("".join(cell["source"]))
    ]


def solution_bodies(path: Path) -> list[str]:
    """The distinctive lines of every {solution} block of a source notebook."""
    lines = []
    for text in markdown(json.loads(path.read_text())):
        kept = build_book.strip_solutions(text).splitlines()
        for line in set(text.splitlines()) - set(kept):
            if len(line.strip()) >= 25 and not line.lstrip().startswith(("```", ":class:")):
                lines.append(line.strip())
    return lines


def test_every_chapter_is_converted_in_both_editions(converted):
    names = {path.name for path in SOURCES}
    assert set(converted["instructor"]) == names == set(converted["student"])


@pytest.mark.parametrize("edition", ["instructor", "student"])
def test_no_raw_myst_survives(converted, edition):
    found = {name: raw_markup(nb) for name, nb in converted[edition].items()}
    assert {name: f for name, f in found.items() if f} == {}
    sources = {p.name: raw_markup(json.loads(p.read_text())) for p in SOURCES}
    assert sum(map(len, sources.values())) > 100  # the patterns do find the sources' MyST


PLANTED = {  # one sample of each pattern, as it would look if the converter let it through
    "role": "as {cite:t}`goodfellow2014gan` show",
    "directive fence": "````{solution} ex-d-star\nanswer\n````",
    "colon fence": ":::{note}\nhi\n:::",
    "target": "(sec-intro)=\n# Intro",
    "directive option": "```{figure} a.png\n:width: 400px\n```",
    "labelled equation": "$$\nx = 1\n$$ (eq-one)",
    "substitution": "Version {{ version }}",
    "comment": "% a MyST comment",
    "block break": "+++",
    "definition list": "Term\n: its definition",
    "eval-rst": "```{eval-rst}\n.. note:: x\n```",
}


@pytest.mark.parametrize("name", sorted(cn.RAW_MYST))
def test_a_planted_pattern_is_caught(converted, name):
    assert name in cn.raw_myst(PLANTED[name])
    nb = json.loads(json.dumps(converted["student"]["04_optimal_discriminator.ipynb"]))
    assert raw_markup(nb) == []
    cell = next(c for c in nb["cells"][3:] if c["cell_type"] == "markdown")
    cell["source"] = ["Some prose.\n", PLANTED[name] + "\n", "More prose.\n"]
    assert any(found.endswith(f": {name}") for found in raw_markup(nb))


def test_every_planted_sample_is_converted_or_refused():
    index = book_index()
    edition = cn.Edition(student=False, pages="https://o.github.io/r/", repo_url="https://x/o/r")
    for name, sample in PLANTED.items():
        if name in ("directive fence", "colon fence"):  # a solution and a note: converted
            text = sample.replace("ex-d-star", "ex-jsd")
        else:
            text = sample
        converter = cn.Converter(index, edition, "book/99_test")
        converter.items = [("figure", 7), ("displaymath", 3)]
        try:
            out = converter.convert(text)
        except ValueError as error:
            assert name in ("substitution", "eval-rst"), (name, error)
            continue
        assert cn.raw_myst(out) == [], (name, out)


@functools.cache
def book_index() -> cn.Index:
    return cn.build_index()


def convert(text: str, student: bool = False, items=()) -> str:
    index = book_index()
    edition = cn.Edition(student=student, pages="https://o.github.io/r/", repo_url="https://x/o/r")
    converter = cn.Converter(index, edition, "book/04_optimal_discriminator")
    converter.items = list(items)
    return converter.convert(text)


def test_roles_become_the_text_and_links_the_book_shows():
    bib = "https://o.github.io/r/book/bibliography.html"
    assert convert("a game {cite}`goodfellow2014gan`.") == (
        f"a game ([Goodfellow et al., 2014]({bib}#cite-goodfellow2014gan))."
    )
    assert convert("{cite:t}`radford2016dcgan` found") == (
        f"Radford et al. ([2016]({bib}#cite-radford2016dcgan)) found"
    )
    assert "; [Nowozin et al., 2016]" in convert("{cite:p}`goodfellow2014gan,nowozin2016fgan`")
    page = "https://o.github.io/r/book/04_optimal_discriminator.html"
    assert convert("({prf:ref}`prop-optimal-d`)") == f"([Proposition 4]({page}#prop-optimal-d))"
    assert convert("Chapter {ref}`ch-implicit`") == (
        "Chapter [1. Implicit generative models]"
        "(https://o.github.io/r/book/01_implicit_models.html#ch-implicit)"
    )
    assert convert("the {ref}`list <bibliography>`") == f"the [list]({bib}#bibliography)"
    assert convert("{math}`x^2` and `{ref}` in code") == "$x^2$ and `{ref}` in code"
    assert convert("see {doc}`08_dcgan`").startswith("see [8. Deep convolutional GANs](")
    assert convert("{numref}`Figure %s <ex-jsd>`").startswith("[Figure 15](")


def test_blocks_become_boxes_details_and_plain_markdown():
    exercise = "```{exercise}\n:label: ex-jsd\n\nWrite `my_jsd`.\n```\n"
    solution = "````{solution} ex-jsd\n:class: dropdown\n\n```python\nx = 1\n```\nWhy.\n````\n"
    out = convert(exercise + solution, items=[("exercise", 15)])
    assert '<div class="alert alert-block alert-success">\n\n**Exercise 15**' in out
    details = "<details>\n<summary>Solution to Exercise 15</summary>\n\n"
    assert details + "```python\nx = 1\n```\nWhy.\n\n</details>" in out
    student = convert(exercise + solution, student=True, items=[("exercise", 15)])
    assert "Write `my_jsd`." in student and "Why." not in student and "details" not in student
    proof = convert("```{prf:proof}\nIt holds.\n```")
    assert proof == "*Proof.* It holds. ∎"
    note = convert(":::{warning}\nCareful: $x$.\n:::")
    assert note.startswith('<div class="alert alert-block alert-warning">\n\n**Warning**')
    dropdown = convert("```{admonition} Why?\n:class: dropdown\nBecause.\n```")
    assert dropdown.startswith("<details>\n<summary>Why?</summary>")
    figure = convert(
        "```{figure} _static/a.png\n:name: fig-a\n:alt: A\n:width: 300px\n\nCaption.\n```",
        items=[("figure", 2)],
    )
    image = '<img src="https://o.github.io/r/_images/a.png" alt="A" width="300">'
    assert figure == image + "\n\n**Fig. 2.** Caption."
    assert convert("(sec-x)=\n## Title\n% hidden\n+++\ntext") == "## Title\ntext"
    assert convert("$$\nx = 1\n$$ (eq-a)", items=[("displaymath", 3)]) == "$$\nx = 1\n\\tag{3}\n$$"
    assert convert("Term\n: what it means\n") == "- **Term**: what it means"
    assert convert("![a plot](_static/p.png)") == "![a plot](https://o.github.io/r/_images/p.png)"


def test_unknown_markup_is_an_error_not_raw_text():
    for text, what in [
        ("{foo}`x`", "role {foo}"),
        ("```{tab-set}\nx\n```", "directive {tab-set}"),
        ("{{ version }}", "substitution"),
        ("{ref}`no-such-label`", "no such label"),
        ("{cite}`nobody2099`", "not in the bibliography"),
        ("```{exercise}\nunclosed\n", "unclosed fence"),
    ]:
        with pytest.raises(ValueError, match=re.escape(what)):
            convert(text)


@pytest.mark.parametrize("edition", ["instructor", "student"])
def test_code_cells_are_byte_identical_to_the_sources(converted, edition):
    for path in SOURCES:
        source = [c for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "code"]
        colab = [c for c in converted[edition][path.name]["cells"] if c["cell_type"] == "code"]
        assert [(c["id"], "".join(c["source"])) for c in colab] == [
            (c["id"], "".join(c["source"])) for c in source
        ], path.name
        assert all(c["outputs"] == [] and c["execution_count"] is None for c in colab)


def test_the_student_set_contains_no_solution_text(converted):
    solutions = {path.name: solution_bodies(path) for path in SOURCES}
    assert sum(map(len, solutions.values())) >= 47  # every chapter's solutions were found
    for name, lines in solutions.items():
        student = "\n".join(markdown(converted["student"][name]))
        instructor = "\n".join(markdown(converted["instructor"][name]))
        assert [line for line in lines if line in student] == [], name
        assert "<details>" not in student and "Solution to" not in student, name
        plain = [line for line in lines if "{" not in line]  # no role: the converter keeps it
        assert all(line in instructor for line in plain), name
        assert bool(plain) == bool(lines), name
        count = sum(
            m.count("{solution}") for m in markdown(json.loads((ROOT / "book" / name).read_text()))
        )
        assert instructor.count("<summary>Solution to Exercise ") == count, name
        assert student.count("**Exercise ") == instructor.count("**Exercise "), name


@pytest.mark.parametrize("edition", ["instructor", "student"])
def test_converted_notebooks_are_plain_valid_notebooks(converted, edition):
    from markdown_it import MarkdownIt
    from mdit_py_plugins.dollarmath import dollarmath_plugin

    md = MarkdownIt("commonmark", {"html": True}).enable("table").use(dollarmath_plugin)
    repo = set_repository.read()
    for name, nb in converted[edition].items():
        nbformat.validate(nbformat.reads(json.dumps(nb), as_version=4))
        assert nb["metadata"]["kernelspec"]["name"] == "python3"
        note = "".join(nb["cells"][1]["source"])
        assert note.startswith("*This notebook was generated for Colab") and repo.pages in note
        html = "".join(md.render(text) for text in markdown(nb))
        assert "{" + "ref}" not in html and "```" not in html
        assert html.count("<details>") == html.count("</details>"), name
        assert html.count("<div") == html.count("</div>"), name
