"""Name the book's GitHub repository in one command; everything that mentions it follows.

    python scripts/set_repository.py OWNER/NAME   # retarget a fork: rewrite every place below
    python scripts/set_repository.py              # re-derive after a version bump
    python scripts/set_repository.py --check      # list the places that disagree (exit 1 if any)

The sources: the repository is ``repository.url`` in ``_config.yml``, the distribution name is
``[project] name`` in ``pyproject.toml``, the version is ``__version__`` in
``src/ganlab/__init__.py``. Derived from them, and rewritten here:

- the set-up cell of every chapter: it installs ``NAME @ git+REPOSITORY@vVERSION``, the pinned
  release, where ganlab is missing or another version (as in Colab);
- every other mention in the chapters (chapter 12 downloads bench results from the repository);
- ``[project.urls]`` in ``pyproject.toml``; ``CITATION.cff``; the links in ``README.md``.

The Jupyter Book reads the repository from ``_config.yml`` itself (launch buttons, the
repository button), and ``scripts/build_book.py --colab`` derives its links from :func:`read`:
the Pages site is ``https://OWNER.github.io/NAME/``.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SLUG = re.compile(r"^([A-Za-z0-9](?:[A-Za-z0-9-]{0,38}))/([A-Za-z0-9._-]{1,100})$")
# Every GitHub address in the checked files is the book's own or one of these (OWNER/NAME: the
# placeholder the README's instructions use).
EXTERNAL = {"toshas/torch-fidelity", "OWNER/NAME"}
GITHUB_URL = re.compile(
    r"(?:github\.com|raw\.githubusercontent\.com)/([A-Za-z0-9-]+)/([A-Za-z0-9._-]+?)(?=[/@\"'\s)#>\\]|\.git\b|$)"
    r"|([A-Za-z0-9-]+)\.github\.io/([A-Za-z0-9._-]+)"
)

SETUP_CELL = """\
# Set-up: install ganlab {version} where it is missing or another version (Colab);
# pip keeps the torch and numpy there. Locally there is nothing to install.
import sys
try:
    import ganlab
except ImportError:
    ganlab = None
if getattr(ganlab, "__version__", None) != "{version}":
    %pip install -q "{dist} @ git+{repo_url}@v{version}"
    for module in [m for m in sys.modules if m.split(".")[0] == "ganlab"]:
        del sys.modules[module]  # forget another version imported above
    import ganlab
print(ganlab.begin_chapter("{chapter}"))"""


@dataclass(frozen=True)
class Repository:
    owner: str
    name: str
    dist: str  # the distribution name: pip install DIST
    version: str  # ganlab.__version__; the release tag is v<version>
    colab_branch: str  # the branch the launch buttons open (repository.branch)

    @property
    def slug(self) -> str:
        return f"{self.owner}/{self.name}"

    @property
    def url(self) -> str:
        return f"https://github.com/{self.slug}"

    @property
    def pages(self) -> str:
        """The GitHub Pages site, with a trailing slash (a user site for OWNER.github.io)."""
        host = f"{self.owner.lower()}.github.io"
        return f"https://{host}/" if self.name.lower() == host else f"https://{host}/{self.name}/"

    @property
    def tag(self) -> str:
        return f"v{self.version}"

    def install(self) -> str:
        """The pip requirement of the pinned release."""
        return f"{self.dist} @ git+{self.url}@{self.tag}"

    def urls(self) -> dict[str, str]:
        """``[project.urls]`` of pyproject.toml."""
        return {
            "Homepage": self.pages,
            "Documentation": self.pages,
            "Repository": self.url,
            "Issues": f"{self.url}/issues",
        }

    def setup_cell(self, chapter: str) -> str:
        """The first code cell of chapter ``chapter`` (the notebook's name without .ipynb)."""
        return SETUP_CELL.format(
            version=self.version, repo_url=self.url, dist=self.dist, chapter=chapter
        )


def parse_slug(text: str) -> tuple[str, str]:
    text = text.strip().removeprefix("https://github.com/").removesuffix(".git").strip("/")
    match = SLUG.match(text)
    if not match:
        raise ValueError(f"{text!r} is not OWNER/NAME (e.g. my-account/ganlab-book)")
    return match.group(1), match.group(2)


def read(root: Path = ROOT) -> Repository:
    """The repository, distribution name and version, from their one place each."""
    import yaml

    config = yaml.safe_load((root / "_config.yml").read_text())
    owner, name = parse_slug(config["repository"]["url"])
    pyproject = (root / "pyproject.toml").read_text()
    dist = re.search(r'(?m)^name\s*=\s*"([^"]+)"', pyproject).group(1)
    init = (root / "src" / "ganlab" / "__init__.py").read_text()
    version = re.search(r'(?m)^__version__\s*=\s*"([^"]+)"', init).group(1)
    return Repository(owner, name, dist, version, config["repository"]["branch"])


def notebooks(root: Path) -> list[Path]:
    return sorted((root / "book").glob("*.ipynb"))


SETUP_TAG = "hide-input"  # the set-up cell's source is folded on the page; Colab shows it


def first_code_cell(nb: dict) -> dict:
    return next(cell for cell in nb["cells"] if cell["cell_type"] == "code")


def text_files(root: Path) -> list[Path]:
    """The files that mention the repository besides the notebooks."""
    names = ["_config.yml", "pyproject.toml", "CITATION.cff", "README.md"]
    return [root / n for n in names if (root / n).exists()] + sorted((root / "book").glob("*.md"))


def replace_slug(text: str, old: Repository, new: Repository) -> str:
    """Every address of ``old`` (repository, raw files, Pages site) made an address of ``new``."""
    pattern = re.compile(
        rf"(github\.com/|raw\.githubusercontent\.com/){re.escape(old.slug)}(?![A-Za-z0-9._-])",
        re.IGNORECASE,
    )
    text = pattern.sub(lambda m: m.group(1) + new.slug, text)
    return text.replace(old.pages, new.pages).replace(old.pages.rstrip("/"), new.pages.rstrip("/"))


def with_urls(pyproject: str, repo: Repository) -> str:
    block = "[project.urls]\n" + "".join(f'{k} = "{v}"\n' for k, v in repo.urls().items())
    pattern = re.compile(r"(?ms)^\[project\.urls\]\n.*?(?=^\[|\Z)")
    if not pattern.search(pyproject):
        raise ValueError("pyproject.toml has no [project.urls] table")
    return pattern.sub(lambda m: block + "\n", pyproject, count=1)


def with_citation(cff: str, repo: Repository) -> str:
    fields = {"repository-code": repo.url, "url": repo.pages, "version": repo.version}
    for key, value in fields.items():
        cff, n = re.subn(rf"(?m)^{key}:.*$", f'{key}: "{value}"', cff)
        if n != 1:
            raise ValueError(f"CITATION.cff: expected one line '{key}: ...', found {n}")
    return cff


def write_notebook(path: Path, nb: dict) -> None:
    path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n")


def apply(slug: str | None = None, root: Path = ROOT) -> list[Path]:
    """Point everything at ``slug`` (default: the repository already configured) and re-derive
    the set-up cells, URLs and citation; return the files changed."""
    old = read(root)
    new = (
        old
        if slug is None
        else Repository(*parse_slug(slug), old.dist, old.version, old.colab_branch)
    )
    changed = []
    for path in text_files(root):
        text = path.read_text()
        updated = replace_slug(text, old, new)
        if path.name == "_config.yml":
            updated = re.sub(
                r"(?m)^(  url:\s*)\S+", lambda m: m.group(1) + new.url, updated, count=1
            )
        if path.name == "pyproject.toml":
            updated = with_urls(updated, new)
        if path.name == "CITATION.cff":
            updated = with_citation(updated, new)
        if updated != text:
            path.write_text(updated)
            changed.append(path)
    for path in notebooks(root):
        nb = json.loads(path.read_text())
        before = json.dumps(nb)
        for cell in nb["cells"]:
            source = "".join(cell["source"])
            cell["source"] = replace_slug(source, old, new).splitlines(keepends=True)
        setup = first_code_cell(nb)
        setup["source"] = new.setup_cell(path.stem).splitlines(keepends=True)
        tags = setup.setdefault("metadata", {}).setdefault("tags", [])
        if SETUP_TAG not in tags:
            tags.append(SETUP_TAG)  # plumbing: folded in the book, its output stays in view
        if json.dumps(nb) != before:
            write_notebook(path, nb)
            changed.append(path)
    return changed


def problems(root: Path = ROOT) -> list[str]:
    """Every place that does not agree with the configured repository, one line each."""
    repo = read(root)
    found = []
    for path in notebooks(root):
        nb = json.loads(path.read_text())
        setup = first_code_cell(nb)
        if "".join(setup["source"]) != repo.setup_cell(path.stem):
            found.append(
                f"{path.relative_to(root)}: the set-up cell is not the one for {repo.install()}"
            )
        if SETUP_TAG not in setup.get("metadata", {}).get("tags", []):
            found.append(f"{path.relative_to(root)}: the set-up cell is not tagged {SETUP_TAG}")
    pyproject = (root / "pyproject.toml").read_text()
    if with_urls(pyproject, repo) != pyproject:
        found.append("pyproject.toml: [project.urls] does not name " + repo.url)
    cff = root / "CITATION.cff"
    if not cff.exists() or with_citation(cff.read_text(), repo) != cff.read_text():
        found.append(
            f"CITATION.cff: repository-code, url or version is not "
            f"{repo.url}, {repo.pages}, {repo.version}"
        )
    readme = (root / "README.md").read_text()
    for what in (repo.url, repo.pages, repo.install()):
        if what not in readme:
            found.append(f"README.md: does not mention {what}")
    texts = {p: p.read_text() for p in text_files(root)}
    texts.update({p: p.read_text() for p in notebooks(root)})
    for path, text in texts.items():
        for match in GITHUB_URL.finditer(text):
            owner, name = (
                (match.group(1), match.group(2))
                if match.group(1)
                else (match.group(3), match.group(4))
            )
            if match.group(3):  # a Pages site
                ours = owner.lower() == repo.owner.lower() and match.group(0) in repo.pages
            else:
                ours = f"{owner}/{name}".lower() == repo.slug.lower()
            if not ours and f"{owner}/{name}" not in EXTERNAL:
                found.append(f"{path.relative_to(root)}: {match.group(0)} is not {repo.slug}")
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("slug", nargs="?", help="OWNER/NAME of the GitHub repository")
    parser.add_argument("--check", action="store_true", help="only list what disagrees")
    args = parser.parse_args(argv)
    if args.check:
        if args.slug:
            parser.error("--check takes no OWNER/NAME: it checks the configured one")
        found = problems()
        print("\n".join(found) if found else f"every place names {read().slug}")
        return 1 if found else 0
    try:
        changed = apply(args.slug)
    except ValueError as error:
        print(f"set_repository: {error}", file=sys.stderr)
        return 2
    repo = read()
    for path in changed:
        print(f"rewrote {path.relative_to(ROOT)}")
    print(f"repository {repo.url}; Pages {repo.pages}; set-up cells install {repo.install()}")
    left = problems()
    if left:
        print("still disagreeing (edit by hand):\n" + "\n".join(left), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
