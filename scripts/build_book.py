"""Build the book for instructors (solutions in dropdowns) or for students (no solutions at all),
as HTML or as Colab-ready notebooks.

    python scripts/build_book.py                  # instructor: as `jupyter-book build .`
    python scripts/build_book.py --student        # student HTML in _build/student/_build/html
    python scripts/build_book.py --student --no-execute --out /tmp/student
    python scripts/build_book.py --colab _build/colab                    # instructor notebooks
    python scripts/build_book.py --colab --student _build/colab-student  # student notebooks

The student build copies the book's sources, deletes every ``{solution}`` block from them (so
neither the pages nor the downloadable .ipynb/.md files contain solutions), sets
sphinx-exercise's ``hide_solutions``, points the launch buttons at the student notebooks (branch
``<repository.branch>-student``), and builds the copy. Exercises and self-check cells stay. It
reuses the instructor build's execution cache (_build/.jupyter_cache) when there is one: only
markdown differs, so no chapter runs twice.

``--colab`` writes every chapter as a notebook that reads well in Colab or any plain Jupyter
(scripts/colab_notebooks.py: MyST converted to Markdown, links into the published book, code
cells unchanged) to ``OUT/book/``. The Pages workflow pushes the two sets to the branches the
launch buttons open (``repository.branch`` in _config.yml, and that name + ``-student``).
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
SOLUTION_START = re.compile(r"^\s*(?P<fence>`{3,}|:{3,})\{solution\}")


def strip_solutions(text: str) -> str:
    """Remove every ```{solution} ...``` (or :::{solution}) block, nested fences included."""
    out, fence = [], None
    for line in text.splitlines(keepends=True):
        if fence is None:
            match = SOLUTION_START.match(line)
            if match:
                fence = match.group("fence")
                continue
            out.append(line)
        elif line.strip() == fence:  # the block's own closing fence (inner fences are shorter)
            fence = None
    if fence is not None:
        raise ValueError(f"unclosed {{solution}} block (fence {fence!r})")
    return "".join(out)


def strip_notebook(path: Path) -> None:
    nb = json.loads(path.read_text())
    for cell in nb["cells"]:
        if cell["cell_type"] == "markdown":
            cell["source"] = strip_solutions("".join(cell["source"])).splitlines(keepends=True)
    path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n")


def student_sources(dest: Path, execute: bool) -> Path:
    """Copy the book to ``dest`` without solutions; return the config file to build it with."""
    if dest.exists():
        shutil.rmtree(dest)
    shutil.copytree(
        ROOT / "book", dest / "book", ignore=shutil.ignore_patterns(".ipynb_checkpoints")
    )
    shutil.copy(ROOT / "_toc.yml", dest / "_toc.yml")
    for path in (dest / "book").glob("*.ipynb"):
        strip_notebook(path)
    for path in (dest / "book").glob("*.md"):
        path.write_text(strip_solutions(path.read_text()))
    (dest / "bench").symlink_to(ROOT / "bench", target_is_directory=True)  # chapter 12 reads it
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    config["title"] = f"{config['title']} (student edition)"
    config.setdefault("sphinx", {}).setdefault("config", {})["hide_solutions"] = True
    config["repository"]["branch"] = student_branch(config)
    cache = ROOT / "_build" / ".jupyter_cache"
    if execute and cache.is_dir():  # the instructor build's outputs: code cells are the same
        config["execute"] = {**config.get("execute", {}), "cache": str(cache)}
    if not execute:
        config["execute"] = {**config.get("execute", {}), "execute_notebooks": "off"}
    (dest / "_config.yml").write_text(yaml.safe_dump(config, sort_keys=False))
    return dest / "_config.yml"


def student_branch(config: dict) -> str:
    """The branch the student edition's launch buttons open: the instructor's + ``-student``."""
    return config["repository"]["branch"] + "-student"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--student", action="store_true", help="build without solutions")
    parser.add_argument(
        "--no-execute", action="store_true", help="do not run the notebooks (structure only)"
    )
    parser.add_argument(
        "--out", type=Path, default=None, help="output folder (default _build/student or .)"
    )
    parser.add_argument(
        "--colab", action="store_true", help="write Colab-ready notebooks to COLAB_OUT"
    )
    parser.add_argument(
        "colab_out", nargs="?", type=Path, help="with --colab: the folder for the notebooks"
    )
    args = parser.parse_args(argv)
    if args.colab_out and not args.colab:
        parser.error(f"{args.colab_out}: an output folder without --colab; use --out for HTML")
    if args.colab:
        import colab_notebooks

        out = args.colab_out or ROOT / "_build" / ("colab-student" if args.student else "colab")
        if out.exists():
            shutil.rmtree(out)
        try:
            written = colab_notebooks.convert_book(out, student=args.student)
        except ValueError as error:
            print(f"build_book --colab: {error}", file=sys.stderr)
            return 1
        print(f"{len(written)} Colab notebooks in {out / 'book'}")
        return 0
    exe = shutil.which("jupyter-book") or str(Path(sys.executable).parent / "jupyter-book")
    command = [exe, "build"]
    if args.student:
        out = (args.out or ROOT / "_build" / "student").resolve()
        source = out / "source"
        config = student_sources(source, execute=not args.no_execute)
        command += [str(source), "--config", str(config), "--path-output", str(out)]
    else:
        command += [str(ROOT)]
        if args.out:
            command += ["--path-output", str(args.out)]
        if args.no_execute:
            config = yaml.safe_load((ROOT / "_config.yml").read_text())
            config["execute"] = {**config.get("execute", {}), "execute_notebooks": "off"}
            path = (args.out or ROOT / "_build") / "_config.no-execute.yml"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(yaml.safe_dump(config, sort_keys=False))
            command += ["--config", str(path)]
    return subprocess.run(command + ["-W", "--keep-going"]).returncode


if __name__ == "__main__":
    sys.exit(main())
