"""scripts/run_book.py on tiny notebooks it is given in a temporary directory (not the chapters)."""

import csv
import importlib.util
import json
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "run_book.py"
spec = importlib.util.spec_from_file_location("run_book", SCRIPT)
run_book = importlib.util.module_from_spec(spec)
spec.loader.exec_module(run_book)


def notebook(path: Path, *cells: str) -> Path:
    nb = {
        "cells": [
            {"cell_type": "markdown", "id": "m", "metadata": {}, "source": ["# A tiny chapter"]},
            *(
                {
                    "cell_type": "code",
                    "id": f"c{i}",
                    "execution_count": None,
                    "metadata": {},
                    "outputs": [],
                    "source": src,
                }
                for i, src in enumerate(cells)
            ),
        ],
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    path.write_text(json.dumps(nb, indent=1) + "\n")
    return path


def rows(out: Path) -> dict:
    with out.with_suffix(".csv").open(newline="") as f:
        return {r["chapter"]: r for r in csv.DictReader(f)}


def test_failures_are_recorded_with_cell_and_line_and_the_sources_stay_clean(tmp_path, capsys):
    good = notebook(
        tmp_path / "good.ipynb",
        "import os\nassert os.environ['GANLAB_PROFILE'] == 'full', os.environ['GANLAB_PROFILE']",
        "print('ran')",
    )
    bad = notebook(
        tmp_path / "bad.ipynb",
        "x = 3",
        "y = 2 * x\nassert y == 7, f'y is {y}'",  # fails: recorded, and the next cell still runs
        f"open({str(tmp_path / 'after.txt')!r}, 'w').write('ok')",
        "1 / 0",
    )
    before = {p: p.read_bytes() for p in (good, bad)}
    out = tmp_path / "results" / "book_full_test.md"
    status = run_book.main([str(good), str(bad), "--profile", "full", "--out", str(out)])
    assert status == 1
    got = rows(out)
    assert got["good"]["status"] == "pass" and got["good"]["failed_cells"] == ""
    assert got["bad"]["status"] == "fail"
    assert got["bad"]["failed_cells"] == "2 4"  # cell indices in the notebook (0 is markdown)
    assert (
        "AssertionError: y is 6 (cell line 2: assert y == 7, f'y is {y}')" in got["bad"]["failures"]
    )
    assert "ZeroDivisionError" in got["bad"]["failures"]
    assert (tmp_path / "after.txt").read_text() == "ok"
    assert int(got["bad"]["cells"]) == 4 and float(got["bad"]["minutes"]) > 0
    text = out.read_text()
    assert "| good | pass |" in text and "| bad | fail |" in text and "logical cores" in text
    assert "AssertionError: y is 6" in text
    assert {p: p.read_bytes() for p in (good, bad)} == before  # nothing written back
    printed = capsys.readouterr().out
    assert "[1/2] good" in printed and "[2/2] bad: fail" in printed

    # A later run of one chapter replaces its row and keeps the others.
    notebook(bad, "x = 3")
    assert run_book.main([str(bad), "--profile", "full", "--out", str(out)]) == 0
    got = rows(out)
    assert got["bad"]["status"] == "pass" and got["good"]["status"] == "pass"


def test_a_cell_past_the_timeout_fails_its_chapter(tmp_path):
    slow = notebook(tmp_path / "slow.ipynb", "import time\ntime.sleep(30)", "print('never')")
    out = tmp_path / "book_quick_test.md"
    assert run_book.main([str(slow), "--profile", "quick", "--timeout", "2", "--out", str(out)])
    row = rows(out)["slow"]
    assert row["status"] == "fail" and row["failed_cells"] == "1"
    assert "timeout" in row["failures"] and float(row["minutes"]) < 0.4


def test_chapter_names_resolve_by_prefix_and_bad_ones_say_what_exists():
    assert [p.name for p in run_book.resolve(["07"])] == ["07_failure_modes.ipynb"]
    assert run_book.resolve(["failure_gallery"])[0].name == "failure_gallery.ipynb"
    with pytest.raises(SystemExit, match="'99' matches no chapter; give a path or one of: 01_"):
        run_book.resolve(["99"])
    with pytest.raises(SystemExit, match="'0' matches 9 chapters"):
        run_book.resolve(["0"])
