"""Run the book's chapters in a profile and record minutes per chapter and pass / fail.

    python scripts/run_book.py --profile quick                     # every chapter, quick profile
    python scripts/run_book.py --profile full 07 failure_gallery   # two chapters, full profile
    python scripts/run_book.py --profile full book/09_fgan.ipynb --timeout 1200

Each notebook runs top to bottom in a fresh Jupyter kernel (nbclient) started in ``book/`` with
``GANLAB_PROFILE`` set to the profile; the sources are never written to (the executed copy stays
in memory). A cell that raises is recorded with its index, the error and the line of the cell it
came from; the later cells still run (a failed assert rarely breaks them), so one run lists every
failing cell, as nbval does. A cell running past ``--timeout`` seconds stops its chapter.

Results go to ``bench/results/book_<profile>_<device>.md`` (the machine described: CPU model,
cores, torch version, GPU name) and a CSV beside it with one row per chapter. A run of a few
chapters replaces those chapters' rows and keeps the others, so chapters can be run one at a
time. The script prints its progress and exits with status 1 when any chapter failed.
"""

from __future__ import annotations

import argparse
import csv
import datetime
import os
import platform
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"
RESULTS = ROOT / "bench" / "results"
INLINE_BACKEND = "module://matplotlib_inline.backend_inline"
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
FIELDS = (
    "chapter",
    "status",
    "minutes",
    "cells",
    "failed_cells",
    "failures",
    "slowest_cells",
    "date",
    "commit",
    "load",
)


def chapters_in_order() -> list[Path]:
    """The notebooks of ``_toc.yml`` in its order, then any other notebook in ``book/``."""
    import yaml

    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    listed = [toc["root"]] + [c["file"] for p in toc.get("parts", []) for c in p["chapters"]]
    ordered = [ROOT / f"{f}.ipynb" for f in listed if (ROOT / f"{f}.ipynb").exists()]
    return ordered + sorted(set(BOOK.glob("*.ipynb")) - set(ordered))


def resolve(names: list[str]) -> list[Path]:
    """Chapters from names: a path, a file stem (``07_failure_modes``) or its prefix (``07``)."""
    if not names:
        return chapters_in_order()
    found = []
    for name in names:
        path = Path(name)
        if path.suffix == ".ipynb" and path.exists():
            found.append(path.resolve())
            continue
        matches = [p for p in chapters_in_order() if p.stem == name or p.stem.startswith(name)]
        if len(matches) != 1:
            known = ", ".join(p.stem for p in chapters_in_order())
            what = "no chapter" if not matches else f"{len(matches)} chapters"
            raise SystemExit(f"{name!r} matches {what}; give a path or one of: {known}")
        found.append(matches[0])
    return found


def machine() -> tuple[str, list[str]]:
    """The device's short name (``cpu`` / ``cuda``) and lines describing the machine."""
    import torch

    cpu = platform.processor() or "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    device = "cuda" if torch.cuda.is_available() else "cpu"
    lines = [f"- CPU: {cpu}, {os.cpu_count()} logical cores"]
    if device == "cuda":
        lines.append(f"- GPU: {torch.cuda.get_device_name()} (CUDA {torch.version.cuda})")
    lines.append(
        f"- torch {torch.__version__}; Python {platform.python_version()}; "
        f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}"
    )
    return device, lines


def commit() -> str:
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "src", "book"],
            cwd=ROOT,
            capture_output=True,
            text=True,
        ).stdout.strip()
    except OSError:
        return "unknown"
    return (sha or "unknown") + ("+changes" if dirty else "")


def failure_line(output: dict, source: str) -> str:
    """``ename: evalue`` and the line of the cell the error came from (from IPython's traceback)."""
    error = f"{output.get('ename', 'Error')}: {output.get('evalue', '')}".strip()
    trace = [ANSI.sub("", t) for t in output.get("traceback", [])]
    text = "\n".join(trace)
    in_cell = re.search(r"Cell In\[\d+\], line (\d+)", text)
    if in_cell:
        number = int(in_cell.group(1))
        lines = source.splitlines()
        if 0 < number <= len(lines):
            return f"{error} (cell line {number}: {lines[number - 1].strip()})"
    return error


def run_chapter(path: Path, profile: str, timeout: int, progress: bool = True) -> dict:
    """Execute one notebook in a fresh kernel; return its row (status, minutes, failures, ...)."""
    import nbclient
    import nbformat

    nb = nbformat.read(path, as_version=4)
    code = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"]
    started: dict[int, float] = {}
    seconds: dict[int, float] = {}
    failures: list[tuple[int, str]] = []

    def on_start(cell, cell_index):
        started[cell_index] = time.perf_counter()

    def on_done(cell, cell_index, execute_reply=None):
        seconds[cell_index] = time.perf_counter() - started.get(cell_index, time.perf_counter())
        errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
        if "raises-exception" in cell.get("metadata", {}).get("tags", []):
            errors = []  # an error this cell is meant to show (nbval's tag)
        for output in errors:
            failures.append((cell_index, failure_line(output, cell.source)))
        if progress and (errors or seconds[cell_index] >= 10):
            mark = "FAILED " + failures[-1][1] if errors else ""
            print(f"    cell {cell_index}: {seconds[cell_index]:.0f} s {mark}", flush=True)

    client = nbclient.NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        allow_errors=True,  # record every failing cell, as nbval does
        resources={"metadata": {"path": str(path.parent)}},
        on_cell_start=on_start,
        on_cell_executed=on_done,
    )
    # Figures drawn inline, as in the book's build and nbval's kernels (drawing takes time too).
    env = {"GANLAB_PROFILE": profile, "MPLBACKEND": INLINE_BACKEND}
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)  # the kernel inherits this process's environment
    begin = time.perf_counter()
    try:
        client.execute()
    except nbclient.exceptions.CellTimeoutError:
        index = max(started, key=started.get) if started else -1
        failures.append((index, f"timeout: the cell ran past --timeout {timeout} s"))
    except Exception as error:  # a dead kernel, an unreadable notebook: the chapter failed
        index = max(started, key=started.get) if started else -1
        failures.append((index, f"{type(error).__name__}: {str(error).strip().splitlines()[0]}"))
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    minutes = (time.perf_counter() - begin) / 60
    slowest = sorted(seconds, key=seconds.get, reverse=True)[:3]
    return dict(
        chapter=path.stem,
        status="fail" if failures else "pass",
        minutes=f"{minutes:.2f}",
        cells=len(code),
        failed_cells=" ".join(str(i) for i in dict.fromkeys(i for i, _ in failures)),
        failures=" | ".join(f"cell {i}: {text}" for i, text in failures),
        slowest_cells=", ".join(f"{i}: {seconds[i]:.0f} s" for i in slowest),
    )


def read_rows(path: Path) -> list[dict]:
    if not path.exists():
        return []
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


def write_results(out: Path, rows: list[dict], profile: str, lines: list[str], command: str):
    """The CSV (one row per chapter) and the Markdown table beside it."""
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.with_suffix(".csv").open("w", newline="") as f:
        writer = csv.DictWriter(f, FIELDS)
        writer.writeheader()
        writer.writerows({k: row.get(k, "") for k in FIELDS} for row in rows)
    total = sum(float(r["minutes"]) for r in rows)
    failed = [r["chapter"] for r in rows if r["status"] != "pass"]
    text = [
        f"# The book in the {profile} profile",
        "",
        "Written by `scripts/run_book.py`; rerun it to refresh (a run of some chapters replaces "
        "their rows and keeps the others). Each chapter runs in a fresh kernel with "
        f"`GANLAB_PROFILE={profile}`; minutes are the kernel's whole run, start-up included.",
        "",
        "## Machine and last run",
        "",
        *lines,
        f"- last command: `{command}`",
        "",
        "## Chapters",
        "",
        "| chapter | status | minutes | code cells | slowest cells (index: s) | "
        "date (UTC) | commit | load (1 min) start / end |",
        "|---|---|---:|---:|---|---|---|---|",
    ]
    for r in rows:
        text.append(
            f"| {r['chapter']} | {r['status']} | {float(r['minutes']):.1f} | {r['cells']} "
            f"| {r['slowest_cells']} | {r['date']} | {r['commit']} | {r['load']} |"
        )
    text += ["", f"Total: {total:.1f} min over {len(rows)} chapters; failed: {len(failed)}.", ""]
    if failed:
        text += ["## Failures", ""]
        for r in rows:
            if r["status"] != "pass":
                text.append(f"- **{r['chapter']}** (cells {r['failed_cells']}):")
                text += [f"  - {part}" for part in r["failures"].split(" | ")]
        text.append("")
    out.write_text("\n".join(text))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("chapters", nargs="*", help="paths, stems or prefixes (default: all)")
    parser.add_argument("--profile", choices=("quick", "full"), required=True)
    parser.add_argument("--timeout", type=int, default=600, help="seconds per cell")
    parser.add_argument(
        "--out", type=Path, default=None, help="results file (default bench/results/book_...md)"
    )
    args = parser.parse_args(argv)
    if args.timeout < 1:
        parser.error(f"--timeout must be >= 1 second, got {args.timeout}")
    paths = resolve(args.chapters)
    device, lines = machine()
    out = args.out or RESULTS / f"book_{args.profile}_{device}.md"
    rows = {r["chapter"]: r for r in read_rows(out.with_suffix(".csv"))}
    command = "python scripts/run_book.py " + " ".join(argv if argv is not None else sys.argv[1:])
    status = 0
    for n, path in enumerate(paths, 1):
        print(f"[{n}/{len(paths)}] {path.stem} ({args.profile} profile) ...", flush=True)
        load = f"{os.getloadavg()[0]:.2f}"
        date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M")
        row = run_chapter(path, args.profile, args.timeout)
        row.update(date=date, commit=commit(), load=f"{load} / {os.getloadavg()[0]:.2f}")
        print(
            f"[{n}/{len(paths)}] {path.stem}: {row['status']} in {row['minutes']} min", flush=True
        )
        if row["status"] != "pass":
            status = 1
            for part in row["failures"].split(" | "):
                print(f"    {part}", flush=True)
        rows[row["chapter"]] = row
        order = {p.stem: i for i, p in enumerate(chapters_in_order())}
        ordered = sorted(rows.values(), key=lambda r: (order.get(r["chapter"], 1e9), r["chapter"]))
        write_results(out, ordered, args.profile, lines, command)  # after every chapter
    print(f"results: {out}")
    return status


if __name__ == "__main__":
    sys.exit(main())
