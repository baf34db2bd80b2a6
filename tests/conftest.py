"""Test settings: headless plots, and the quick profile unless the caller chose one.

Also the plumbing for tests/test_rendered.py, which renders the notebooks nbval executes
instead of running them a second time: nbval's kernels draw figures inline (as in the book's
own build), the fixture ``executed_notebooks`` collects the outputs nbval got, and the tests
that use it run after every notebook.
"""

import copy
import os
from pathlib import Path

import pytest

os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("GANLAB_QUICK", "1")  # inherited by nbval's kernels too
# One torch thread: the toy networks are too small to gain from two, and on a shared 2-core
# machine two threads per process oversubscribe the cores (measured: ~3x slower notebooks).
os.environ.setdefault("OMP_NUM_THREADS", "1")

# What ipykernel uses when MPLBACKEND is unset, as in `jupyter-book build`: figures become
# image outputs. Agg, inherited from above, would draw them nowhere.
INLINE_BACKEND = "module://matplotlib_inline.backend_inline"


def is_notebook_cell(item) -> bool:
    """nbval's item for one code cell of a notebook (``IPyNbCell``)."""
    return type(item).__name__ == "IPyNbCell" and hasattr(item.parent, "nb")


class InlineFigures:
    """nbval starts a notebook's kernel while setting up its first cell: start it with the inline
    backend.
    """

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_setup(self, item):
        if not is_notebook_cell(item):
            yield
            return
        before = os.environ.get("MPLBACKEND")
        os.environ["MPLBACKEND"] = INLINE_BACKEND
        try:
            yield
        finally:
            if before is None:
                del os.environ["MPLBACKEND"]
            else:
                os.environ["MPLBACKEND"] = before


class NotebookTimes:
    """Adds up the seconds nbval spends on each notebook (every cell's setup, call and teardown,
    the kernel's start included) and prints one line per notebook at the end of the session.
    """

    def __init__(self):
        self.seconds: dict[str, float] = {}

    def pytest_runtest_logreport(self, report):
        path = report.nodeid.split("::")[0]
        if path.endswith(".ipynb"):
            self.seconds[path] = self.seconds.get(path, 0.0) + report.duration

    def pytest_terminal_summary(self, terminalreporter):
        if not self.seconds:
            return
        terminalreporter.write_sep("=", "nbval time per notebook")
        for path, seconds in sorted(self.seconds.items(), key=lambda kv: -kv[1]):
            terminalreporter.write_line(f"{seconds:8.1f} s  {path}")
        terminalreporter.write_line(f"{sum(self.seconds.values()):8.1f} s  all notebooks")


def pytest_configure(config):
    # Plugins rather than hooks here: this file's per-item hooks reach only the items under
    # tests/.
    if not config.pluginmanager.has_plugin("ganlab-inline-figures"):
        config.pluginmanager.register(InlineFigures(), "ganlab-inline-figures")
    if not config.pluginmanager.has_plugin("ganlab-notebook-times"):
        config.pluginmanager.register(NotebookTimes(), "ganlab-notebook-times")


def pytest_collection_modifyitems(config, items):
    """Tests that use ``executed_notebooks`` run last, after nbval ran every notebook (the sort is
    stable).
    """
    items.sort(key=lambda item: "executed_notebooks" in getattr(item, "fixturenames", ()))


@pytest.fixture(scope="session")
def executed_notebooks(request) -> dict:
    """Every notebook nbval ran in this session, with the outputs its kernel sent, by absolute path.

    A notebook counts only when nbval ran each of its code cells (a cell skipped by an
    ``nbval-skip`` tag counts, with no outputs); one deselected or cut short is left out.
    Cells that raised keep their error output: the rendered pages show it.
    Returns ``{Path: nbformat.NotebookNode}``, code cells numbered 1, 2, ... in order.
    """
    cells_by_file = {}
    for item in request.session.items:
        if is_notebook_cell(item):
            cells_by_file.setdefault(item.parent, []).append(item)
    executed = {}
    for nb_file, cells in cells_by_file.items():
        ran = {
            id(c.cell): c.test_outputs or []
            for c in cells
            if c.test_outputs is not None or c.options["skip"]
        }
        code = [cell for cell in nb_file.nb.cells if cell.cell_type == "code"]
        if not all(id(cell) in ran for cell in code):
            continue
        nb = copy.deepcopy(nb_file.nb)  # nbval's copy, as read from disk (no outputs)
        copied = [cell for cell in nb.cells if cell.cell_type == "code"]
        for count, (cell, original) in enumerate(zip(copied, code), start=1):
            cell.outputs = copy.deepcopy(ran[id(original)])
            cell.execution_count = count
        executed[Path(str(nb_file.path)).resolve()] = nb
    return executed
