"""Colab-ready notebooks from the book's MyST notebooks (``build_book.py --colab [--student] OUT``).

Colab and plain Jupyter render CommonMark with MathJax, not MyST, so each chapter is converted:

- citations become "(Author, year)" linked to the rendered bibliography;
- ``{ref}``, ``{numref}``, ``{doc}``, ``{prf:ref}`` and ``{eq}`` become links to the rendered
  book's pages, with the text and numbers the book shows (counted in table-of-contents order,
  as Sphinx counts them);
- exercises, theorem-like blocks and admonitions become bold titles over their content (in a
  box where Jupyter draws one), proofs a paragraph starting *Proof.*; solutions become
  collapsed ``<details>`` blocks (instructor edition) or disappear (student edition);
- figures and images point at the published site; ``(label)=`` targets, comments and block
  breaks are removed; ``{math}`` becomes ``$...$`` and a labelled ``$$`` display gets its number
  as ``\\tag``.

Code cells are copied unchanged. A construct the converter does not know is an error naming it
(``ValueError``), so that nothing reaches a reader raw; tests/test_colab.py checks the output
against a list of raw-MyST patterns.
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from ganlab._book_numbers import chapter_number  # the book's own per-chapter numbering

ROOT = Path(__file__).resolve().parents[1]

# Patterns of MyST markup that plain Jupyter shows raw; none may survive the conversion.
RAW_MYST = {
    "role": r"\{[A-Za-z][\w:.+-]*\}`",
    "directive fence": r"(?m)^[ \t>]*(?:`{3,}|~{3,}|:{3,})[ \t]*\{",
    "colon fence": r"(?m)^[ \t>]*:{3,}",
    "target": r"(?m)^[ \t>]*\([^()\s]+\)=[ \t]*$",
    "directive option": r"(?m)^[ \t>]*:(?:label|class|name|alt|width|align|figwidth|"
    r"figclass|nowrap|number|style|open|dropdown|hidden|caption|linenos|emphasize-lines):",
    "labelled equation": r"\$\$[ \t]*\([^()\s]+\)",
    "substitution": r"\{\{[^{}]*\}\}",
    "comment": r"(?m)^%",
    "block break": r"(?m)^\+\+\+",
    "definition list": r"(?m)^:[ \t]+\S",
    "eval-rst": r"eval-rst",
}

PROOF_TYPES = {  # sphinx-proof: each type has its own counter
    "algorithm", "assumption", "axiom", "conjecture", "corollary", "criterion", "definition",
    "example", "lemma", "notation", "observation", "property", "proposition", "remark",
    "theorem",
}  # fmt: skip
ADMONITIONS = {
    "admonition", "attention", "caution", "danger", "error", "hint", "important", "note",
    "seealso", "tip", "warning", "margin", "sidebar", "topic",
}  # fmt: skip

FENCE = re.compile(r"^(?P<indent> {0,3})(?P<fence>`{3,}|~{3,}|:{3,})(?P<info>.*)$")
TARGET = re.compile(r"^\s*\((?P<label>[^()\s]+)\)=\s*$")
HEADING = re.compile(r"^(?P<hashes>#{1,6})\s+(?P<text>.+?)\s*#*\s*$")
OPTION = re.compile(r"^:(?P<key>[\w-]+):\s*(?P<value>.*)$")
INLINE = re.compile(
    r"\{(?P<role>[A-Za-z][\w:.+-]*)\}`(?P<content>[^`]*)`"  # a role
    r"|(?P<code>(?P<ticks>`+).+?(?P=ticks))"  # a code span: left alone
    r"|!\[(?P<alt>[^\]]*)\]\((?P<src>[^)\s]+)\)"  # an image
    r"|(?P<subst>\{\{[^{}]*\}\})"  # a substitution
)
HTML_IMG = re.compile(r"(<img\b[^>]*\bsrc=\")(?P<src>[^\"]+)(\")")
DISPLAY_LABEL = re.compile(r"^(?P<body>.*)\$\$\s*\((?P<label>[^()\s]+)\)\s*$")


def make_id(label: str) -> str:
    """The HTML id Sphinx gives a ``(label)=`` target (docutils' ``make_id``)."""
    from docutils.nodes import make_id as docutils_make_id

    return docutils_make_id(label)


@dataclass
class Target:
    doc: str  # "book/04_optimal_discriminator"
    anchor: str  # the HTML id on that page
    text: str  # what {ref} / {numref} / {prf:ref} show: a title, "Exercise 14", "Fig. 1"
    title: str = ""  # a directive's own title ({ref} to a titled exercise shows it)


@dataclass
class Index:
    """Labels, numbers, titles and citations of the whole book, in table-of-contents order."""

    docs: list[str]
    titles: dict[str, str] = field(default_factory=dict)
    labels: dict[str, Target] = field(default_factory=dict)
    numbered: dict[str, list[tuple[str, str]]] = field(default_factory=dict)  # doc -> items
    citations: dict[str, tuple[str, str]] = field(default_factory=dict)  # key -> (names, year)


def toc_docs(root: Path) -> list[str]:
    toc = yaml.safe_load((root / "_toc.yml").read_text())
    return [toc["root"]] + [ch["file"] for part in toc.get("parts", []) for ch in part["chapters"]]


def doc_path(root: Path, doc: str) -> Path:
    for suffix in (".ipynb", ".md"):
        if (root / doc).with_suffix(suffix).exists():
            return (root / doc).with_suffix(suffix)
    raise ValueError(f"_toc.yml lists {doc}, which is neither a .ipynb nor a .md file")


def markdown_texts(path: Path) -> list[str]:
    if path.suffix == ".md":
        return [path.read_text()]
    cells = json.loads(path.read_text())["cells"]
    return ["".join(cell["source"]) for cell in cells if cell["cell_type"] == "markdown"]


def split_options(body: list[str]) -> tuple[dict, list[str]]:
    """A directive's ``:key: value`` lines (or ``---`` YAML block) and the rest of its body."""
    options, i = {}, 0
    if body and body[0].strip() == "---":
        end = next(k for k in range(1, len(body)) if body[k].strip() == "---")
        options = yaml.safe_load("".join(body[1:end])) or {}
        i = end + 1
    else:
        while i < len(body) and (match := OPTION.match(body[i].strip())):
            options[match["key"]] = match["value"].strip()
            i += 1
    while i < len(body) and not body[i].strip():
        i += 1
    return options, body[i:]


def closing(lines: list[str], start: int, fence: str) -> int:
    """Index of the line that closes the fence opened at ``start``."""
    for k in range(start + 1, len(lines)):
        stripped = lines[k].strip()
        if stripped and set(stripped) == {fence[0]} and len(stripped) >= len(fence):
            return k
    raise ValueError(f"unclosed fence {fence!r} opened by: {lines[start].strip()}")


def directive_of(info: str) -> tuple[str, str] | None:
    """``("exercise", "title")`` for ``{exercise} title``; None for a plain code fence."""
    match = re.match(r"^\s*\{(?P<name>[^}]+)\}\s*(?P<arg>.*)$", info)
    return (match["name"].strip(), match["arg"].strip()) if match else None


def counter_kind(name: str, options: dict, body: list[str]) -> str | None:
    """The Sphinx counter a directive advances: figures with a caption, exercises, each
    sphinx-proof type; None for the rest."""
    if name == "figure":
        return "figure" if any(line.strip() for line in body) else None
    if name in ("exercise", "table", "list-table"):
        return name.replace("list-", "")
    if name.startswith("prf:") and name[4:] in PROOF_TYPES:
        return name[4:]
    return None


KIND_TEXT = {"figure": "Fig.", "table": "Table", "exercise": "Exercise", "displaymath": "Eq."}


def build_index(root: Path = ROOT) -> Index:
    """Walk the book in table-of-contents order, as Sphinx numbers it: figures, exercises,
    each sphinx-proof type and labelled equations each have one counter for the whole book
    (the table of contents is not numbered)."""
    index = Index(docs=toc_docs(root))
    counters: dict[tuple[str, str], int] = {}

    def count(doc: str, kind: str) -> str:
        # Equations count through the whole book; every other kind restarts on each page and
        # carries the chapter's number (ganlab._book_numbers): the 2nd exercise of ch. 4 is 4.2.
        key = ("", kind) if kind == "displaymath" else (doc, kind)
        counters[key] = counters.get(key, 0) + 1
        chapter = None if kind == "displaymath" else chapter_number(doc)
        number = f"{counters[key]}" if chapter is None else f"{chapter}.{counters[key]}"
        index.numbered[doc].append((kind, number))
        return number

    def walk(doc: str, lines: list[str]) -> None:
        pending = None  # a (label)= waiting for the heading it names
        i = 0
        while i < len(lines):
            line = lines[i]
            if match := TARGET.match(line):
                pending = match["label"]
            elif match := FENCE.match(line):
                end = closing(lines, i, match["fence"])
                directive = directive_of(match["info"])
                if directive:
                    name, arg = directive
                    options, body = split_options(lines[i + 1 : end])
                    kind = counter_kind(name, options, body)
                    number = count(doc, kind) if kind else None
                    label = options.get("label") or options.get("name")
                    if label:
                        if kind in PROOF_TYPES:
                            shown = f"{kind.capitalize()} {number}"
                        else:
                            shown = f"{KIND_TEXT[kind]} {number}" if kind else arg or label
                        anchor = label if "label" in options else make_id(label)
                        index.labels[label] = Target(doc, anchor, shown, arg)
                    walk(doc, body)  # nested directives come after their parent
                i, pending = end, None
            elif match := HEADING.match(line):
                index.titles.setdefault(doc, match["text"])
                if pending:
                    index.labels[pending] = Target(doc, make_id(pending), match["text"])
                pending = None
            elif match := DISPLAY_LABEL.match(line.rstrip("\n")):
                number = count(doc, "displaymath")
                anchor = f"equation-{make_id(match['label'])}"
                index.labels[match["label"]] = Target(doc, anchor, f"({number})")
            elif line.strip() and pending:
                index.labels[pending] = Target(doc, make_id(pending), pending)
                pending = None
            i += 1

    for doc in index.docs:
        index.numbered[doc] = []
        for text in markdown_texts(doc_path(root, doc)):
            walk(doc, text.splitlines(keepends=True))
    index.citations = read_citations(root)
    return index


def read_citations(root: Path) -> dict[str, tuple[str, str]]:
    """``key -> ("Goodfellow et al.", "2014")``, as sphinxcontrib-bibtex's author_year style."""
    import pybtex.database
    from pybtex.richtext import Text

    config = yaml.safe_load((root / "_config.yml").read_text())
    citations = {}
    for bibfile in config.get("bibtex_bibfiles", []):
        data = pybtex.database.parse_file(str(root / bibfile))
        for key, entry in data.entries.items():
            people = entry.persons.get("author") or entry.persons.get("editor") or []
            last = [
                Text.from_latex(" ".join(p.prelast_names + p.last_names)).render_as("text")
                for p in people
            ]
            if not last:
                names = Text.from_latex(entry.fields.get("title", key)).render_as("text")
            elif len(last) == 1:
                names = last[0]
            elif len(last) == 2:
                names = f"{last[0]} and {last[1]}"
            else:
                names = f"{last[0]} et al."
            citations[key] = (names, entry.fields.get("year", "n.d."))
    return citations


@dataclass
class Edition:
    """What differs between the two Colab sets."""

    student: bool
    pages: str  # the HTML edition these notebooks link to, with a trailing slash
    repo_url: str
    source_branch: str = "main"

    @property
    def images(self) -> str:
        return self.pages.removesuffix("student/") + "_images/"


class Converter:
    """Convert the markdown of one notebook; ``items`` follow the numbers of its directives."""

    def __init__(self, index: Index, edition: Edition, doc: str):
        self.index, self.edition, self.doc = index, edition, doc
        self.items = list(index.numbered.get(doc, []))

    # links --------------------------------------------------------------------------------
    def url(self, doc: str, anchor: str = "") -> str:
        return f"{self.edition.pages}{doc}.html" + (f"#{anchor}" if anchor else "")

    def link(self, text: str, url: str) -> str:
        escaped = text.replace("]", "\\]")
        return f"[{escaped}]({url})"

    def target(self, label: str, role: str) -> Target:
        if label not in self.index.labels:
            raise ValueError(f"{self.doc}: {{{role}}}`{label}`: no such label in the book")
        return self.index.labels[label]

    def next_number(self, kind: str) -> str:
        for k, (item_kind, number) in enumerate(self.items):
            if item_kind == kind:
                del self.items[k]
                return number
        raise ValueError(f"{self.doc}: more {kind} blocks than the index counted")

    # inline -------------------------------------------------------------------------------
    def cite(self, role: str, content: str) -> str:
        keys = [key.strip() for key in content.split(",") if key.strip()]
        url = self.url("book/bibliography")
        parts = []
        for key in keys:
            if key not in self.index.citations:
                raise ValueError(f"{self.doc}: {{cite}}`{key}`: not in the bibliography")
            names, year = self.index.citations[key]
            here = f"{url.split('#')[0]}#{make_id('cite-' + key)}"
            if role in ("cite:t", "cite:ts"):
                parts.append(f"{names} ({self.link(year, here)})")
            elif role == "cite:author":
                parts.append(self.link(names, here))
            elif role == "cite:year":
                parts.append(self.link(year, here))
            else:
                parts.append(self.link(f"{names}, {year}", here))
        if role in ("cite", "cite:p", "cite:ps", "cite:alp"):
            inner = "; ".join(parts)
            return inner if role == "cite:alp" else f"({inner})"
        return "; ".join(parts) if role != "cite:t" else ", ".join(parts)

    def role(self, name: str, content: str) -> str:
        explicit = re.match(r"^(?P<text>.*?)\s*<(?P<target>[^<>]+)>$", content, re.S)
        text, label = (explicit["text"], explicit["target"]) if explicit else (None, content)
        if name == "cite" or name.startswith("cite:"):
            return self.cite(name, content)
        if name in ("ref", "prf:ref", "numref", "eq"):
            target = self.target(label.strip(), name)
            shown = target.text
            if name == "ref" and target.title:
                shown = target.title  # {ref} to a titled directive shows its title
            if name == "numref" and text and "%s" in text:
                shown, text = text.replace("%s", target.text.split()[-1]), None
            if name == "eq":
                shown = target.text
            return self.link(text or shown, self.url(target.doc, target.anchor))
        if name == "doc":
            doc = str((Path(self.doc).parent / label.strip()).as_posix())
            doc = re.sub(r"\.(ipynb|md)$", "", doc)
            if doc not in self.index.titles:
                raise ValueError(f"{self.doc}: {{doc}}`{content}`: no such page")
            return self.link(text or self.index.titles[doc], self.url(doc))
        if name == "math":
            return f"${content}$"
        if name in ("sub", "sup", "kbd"):
            return f"<{name}>{content}</{name}>"
        if name in ("code", "samp", "literal", "file", "command", "program"):
            return f"`{content}`"
        if name in ("term", "abbr", "dfn", "emphasis"):
            return re.sub(r"\s*\(.*\)$", "", text or content) if name == "abbr" else text or content
        if name == "strong":
            return f"**{content}**"
        if name in ("glue", "glue:", "glue:text", "glue:md"):
            key = content.split(":")[0]
            return f"`{key}` *(a value the code computes: run the cells above)*"
        raise ValueError(f"{self.doc}: the Colab converter does not know the role {{{name}}}")

    def image_url(self, src: str) -> str:
        if re.match(r"^[a-z]+:", src) or src.startswith("#"):
            return src
        return self.edition.images + Path(src).name

    def inline(self, line: str) -> str:
        def replace(match: re.Match) -> str:
            if match["role"]:
                return self.role(match["role"], match["content"])
            if match["src"]:
                return f"![{match['alt']}]({self.image_url(match['src'])})"
            if match["subst"]:
                raise ValueError(f"{self.doc}: substitution {match['subst']} is not supported")
            return match[0]  # a code span

        line = INLINE.sub(replace, line)
        line = HTML_IMG.sub(lambda m: m[1] + self.image_url(m["src"]) + m[3], line)
        return re.sub(
            r"\]\((?!https?:)(?P<doc>[\w./-]+)\.(?:ipynb|md)(?P<anchor>#[\w-]+)?\)",
            lambda m: (
                f"]({self.url(str((Path(self.doc).parent / m['doc']).as_posix()))}"
                + (m["anchor"] or "")
                + ")"
            ),
            line,
        )

    # blocks -------------------------------------------------------------------------------
    def convert(self, text: str) -> str:
        return "".join(self.blocks(text.splitlines(keepends=True))).strip("\n")

    def blocks(self, lines: list[str]) -> list[str]:
        out: list[str] = []
        i = 0
        while i < len(lines):
            line = lines[i]
            if match := FENCE.match(line):
                end = closing(lines, i, match["fence"])
                directive = directive_of(match["info"])
                if directive:
                    out += self.directive(*directive, lines[i + 1 : end])
                elif match["fence"][0] == ":":
                    raise ValueError(f"{self.doc}: a ':::' fence without a directive: {line!r}")
                else:
                    out += lines[i : end + 1]  # a code block, verbatim
                i = end + 1
                continue
            stripped = line.strip()
            if TARGET.match(line) or line.startswith("%") or stripped == "+++":
                i += 1
                continue
            if stripped.startswith("$$"):
                i = self.display_math(lines, i, out)
                continue
            if (
                i + 1 < len(lines)
                and re.match(r"^:\s+\S", lines[i + 1])
                and stripped
                and not stripped.startswith(("-", "*", "#", "|", ">"))
            ):
                i = self.definition(lines, i, out)
                continue
            out.append(self.inline(line))
            i += 1
        return out

    def display_math(self, lines: list[str], i: int, out: list[str]) -> int:
        """A ``$$`` display, verbatim; a ``(label)`` after the closing ``$$`` becomes ``\\tag``."""
        k = i
        single = lines[i].strip() != "$$" and lines[i].strip().count("$$") >= 2
        if not single:
            k = next(
                (j for j in range(i + 1, len(lines)) if "$$" in lines[j]),
                None,
            )
            if k is None:
                raise ValueError(f"{self.doc}: unclosed $$ display")
        block = lines[i : k + 1]
        match = DISPLAY_LABEL.match(block[-1].rstrip("\n"))
        if match:
            number = self.next_number("displaymath")
            block[-1] = match["body"] + f"\\tag{{{number}}}\n$$\n"
            if not match["body"].strip():
                block[-1] = f"\\tag{{{number}}}\n$$\n"
        out += block
        return k + 1

    def definition(self, lines: list[str], i: int, out: list[str]) -> int:
        """``term`` / ``: definition`` (MyST's deflist) as a bullet with the term in bold."""
        term = lines[i].strip()
        k = i + 1
        while k < len(lines) and re.match(r"^:\s+\S", lines[k]):
            body = [re.sub(r"^:\s+", "", lines[k])]
            k += 1
            while k < len(lines) and lines[k].startswith("  ") and lines[k].strip():
                body.append(lines[k])
                k += 1
            out.append(self.inline(f"- **{term}**: " + body[0]))
            out += [self.inline(line) for line in body[1:]]
        return k

    def box(self, title: str, body: list[str], style: str = "info") -> list[str]:
        """A bold title and the body in a ``<div>``: Jupyter draws Bootstrap's alert classes as
        a coloured box, Colab shows the plain content. No block quote: JupyterLab would keep
        the ``> `` of each line inside a displayed formula."""
        text = "".join(self.blocks(body)).strip("\n")
        return [
            f'\n<div class="alert alert-block alert-{style}">\n\n',
            f"{title}\n\n",
            text + "\n" if text else "",
            "\n</div>\n\n",
        ]

    def details(self, summary: str, body: list[str]) -> list[str]:
        text = "".join(self.blocks(body)).strip("\n")
        return [
            "\n<details>\n",
            f"<summary>{summary}</summary>\n",
            "\n",
            text + "\n",
            "\n</details>\n\n",
        ]

    def directive(self, name: str, arg: str, body: list[str]) -> list[str]:
        options, body = split_options(body)
        kind = counter_kind(name, options, body)
        number = self.next_number(kind) if kind else None
        classes = str(options.get("class", "")).split()
        if name == "solution":
            if self.edition.student:
                return []
            exercise = self.index.labels.get(arg)
            if exercise is None:
                raise ValueError(f"{self.doc}: {{solution}} {arg}: no exercise with that label")
            return self.details(f"Solution to {exercise.text}", body)
        if name == "exercise":
            title = f"**Exercise {number}**" + (f" ({self.inline(arg)})" if arg else "")
            return self.box(title, body, "success")
        if name == "prf:proof":
            inner = self.blocks(body)
            text = "".join(inner).strip("\n")
            first = text.lstrip()
            if first and not re.match(r"^(\$\$|[-*+>|#]|\d+\.|```|<)", first):
                text = "*Proof.* " + first
            else:
                text = "*Proof.*\n\n" + text
            end = "\n\n∎\n" if text.rstrip().endswith(("$$", "```", "</div>")) else " ∎\n"
            return ["\n", text + end, "\n"]
        if name.startswith("prf:") and name[4:] in PROOF_TYPES:
            title = f"**{name[4:].capitalize()} {number}" + (
                f" ({self.inline(arg)}).**" if arg else ".**"
            )
            return self.box(title, body, "info")
        if name in ADMONITIONS or name == "dropdown":
            title = self.inline(arg) if arg else name.capitalize().replace("Seealso", "See also")
            if name == "dropdown" or "dropdown" in classes:
                return self.details(title, body)
            style = {"warning": "warning", "caution": "warning", "attention": "warning"}.get(name)
            style = style or ("danger" if name in ("danger", "error") else "info")
            return self.box(f"**{title}**", body, style)
        if name in ("figure", "image"):
            src = self.image_url(arg)
            alt = str(options.get("alt", "")).replace('"', "&quot;")
            width = str(options.get("width", "")).removesuffix("px")
            size = f' width="{width}"' if width.isdigit() else ""
            lines = [f'\n<img src="{src}" alt="{alt}"{size}>\n', "\n"]
            if name == "figure" and body:
                caption = "".join(self.blocks(body)).strip("\n")
                lines.append(f"**Fig. {number}.** " + caption + "\n" if number else caption + "\n")
            return lines + ["\n"]
        if name == "math":
            label = options.get("label")
            tag = f"\\tag{{{self.next_number('displaymath')}}}\n" if label else ""
            return ["$$\n", *body, tag, "$$\n"]
        if name in ("code-block", "code", "code-cell", "sourcecode"):
            return [f"```{arg}\n", *body, "```\n"]
        if name == "table":
            table = self.blocks(body)
            return ["\n", f"**Table {number}.** {self.inline(arg)}\n", "\n", *table, "\n"]
        raise ValueError(f"{self.doc}: the Colab converter does not know the directive {{{name}}}")


def convert_notebook(path: Path, index: Index, edition: Edition, root: Path = ROOT) -> dict:
    """The Colab notebook of one chapter: markdown converted, code cells untouched."""
    doc = str(path.relative_to(root).with_suffix("").as_posix())
    nb = json.loads(path.read_text())
    converter = Converter(index, edition, doc)
    cells = []
    for cell in nb["cells"]:
        cell = copy.deepcopy(cell)
        if cell["cell_type"] == "markdown":
            text = converter.convert("".join(cell["source"]))
            if not text.strip():
                continue  # a cell that held only solutions, in the student edition
            cell["source"] = text.splitlines(keepends=True)
        cells.append(cell)
    leftover = [kind for kind, _ in converter.items]
    if leftover:
        raise ValueError(f"{doc}: numbered blocks the converter never met: {leftover}")
    which = "student edition: no solutions" if edition.student else "solutions in closed blocks"
    book = converter.link("the book", converter.url(doc))
    source = f"{edition.repo_url}/blob/{edition.source_branch}/{doc}.ipynb"
    note = (
        f"*This notebook was generated for Colab from the book's source ({which}). "
        f"Read the chapter with its figures and outputs in {book}; "
        f"the source is [{path.name}]({source}). "
        "Run the set-up cell first: it installs `ganlab`. Runtime > Change runtime type > GPU "
        "runs the chapter at full size.*"
    )
    banner = {"cell_type": "markdown", "id": "colab-edition-note", "metadata": {}, "source": [note]}
    cells.insert(1, banner)
    nb["cells"] = cells
    nb["metadata"] = dict(nb.get("metadata", {}))
    nb["metadata"]["colab"] = {"provenance": [], "toc_visible": True}
    return nb


def convert_book(out: Path, student: bool, root: Path = ROOT) -> list[Path]:
    """Write every chapter's Colab notebook to ``out/book/``; return their paths."""
    import set_repository

    repo = set_repository.read(root)
    edition = Edition(
        student=student,
        pages=repo.pages + ("student/" if student else ""),
        repo_url=repo.url,
    )
    index = build_index(root)
    (out / "book").mkdir(parents=True, exist_ok=True)
    written = []
    for doc in index.docs:
        path = doc_path(root, doc)
        if path.suffix != ".ipynb":
            continue
        nb = convert_notebook(path, index, edition, root)
        target = out / doc
        target = target.with_suffix(".ipynb")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n")
        written.append(target)
    branch = repo.colab_branch + ("-student" if student else "")
    (out / "README.md").write_text(
        f"# ganlab: Colab notebooks ({'student' if student else 'instructor'} edition)\n\n"
        f"Generated from {repo.url} (branch `{edition.source_branch}`) by `scripts/build_book.py "
        f"--colab{' --student' if student else ''}`; the Pages workflow force-pushes this branch "
        f"(`{branch}`) on every build, so do not edit it. The book: {edition.pages}\n"
    )
    return written


def raw_myst(text: str) -> list[str]:
    """The names of the RAW_MYST patterns found in ``text``."""
    return [name for name, pattern in RAW_MYST.items() if re.search(pattern, text)]
