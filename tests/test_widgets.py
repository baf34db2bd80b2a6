"""ganlab.widgets: one output that is a live widget in Jupyter/Colab and a picture in the page.

The in-process tests use the installed ipywidgets (8.x). ``test_in_a_kernel`` runs the helper in
a real Jupyter kernel (nbclient, as the book build does) with ipywidgets 8 and with 7.7.1, the
version Colab ships, installed from the package registry into a temporary folder; where the
registry cannot be reached that case is skipped with the reason, except in CI (``CI`` set).
"""

import base64
import io
import json
import os
import subprocess
import sys
import types
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

ipywidgets = pytest.importorskip("ipywidgets")

from ganlab import widgets  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
COLAB_IPYWIDGETS = "7.7.1"  # Colab's ipywidgets (with ipython_genutils, which 7.x imports)


def show(a=1.0, kind="x", calls=None):
    fig, ax = plt.subplots(figsize=(3, 2))
    ax.plot([0, a])
    ax.set_title(kind)
    if calls is not None:
        calls.append((a, kind))
    plt.show()


def png_shape(data: str) -> tuple:
    return plt.imread(io.BytesIO(base64.b64decode(data)), format="png").shape


def test_build_gives_a_widget_view_with_small_multiples_and_no_open_figure():
    before = plt.get_fignums()
    box, redraw, note, bundle = widgets.build(
        show,
        static=[{"a": 1.0}, {"a": 3.0, "kind": "y"}],
        a=ipywidgets.FloatSlider(value=1.0, min=0, max=5),
        kind=["x", "y"],
    )
    assert plt.get_fignums() == before  # every figure drawn for the pictures is closed
    assert bundle[widgets.WIDGET_VIEW]["model_id"] == box.model_id
    assert bundle[widgets.WIDGET_VIEW]["version_major"] == 2
    one = widgets.render(show, {"a": 1.0})
    height, width, _ = png_shape(bundle["image/png"])
    assert height == 2 * one.shape[0] + 12 and width >= one.shape[1]  # two figures, one gap
    assert note.startswith("*Interactive in Jupyter/Colab")
    assert note.endswith("This page shows a = 1 and a = 3, kind = y.*")
    assert bundle["text/plain"] == widgets.TEXT
    (output,) = [child for child in box.children if isinstance(child, ipywidgets.Output)]
    assert len(output.outputs) == 1 and "image/png" in output.outputs[0]["data"]
    assert [child.description for child in box.children[:2]] == ["a", "kind"]
    assert box.children[1].options == ("x", "y") and box.children[1].value == "x"


def test_a_change_of_a_control_redraws_with_its_value(monkeypatch):
    calls = []
    box, redraw, note, bundle = widgets.build(
        lambda a=1.0: show(a, calls=calls), a=ipywidgets.FloatSlider(value=1.0, min=0, max=5)
    )
    assert calls == [(1.0, "x")]  # the picture; the single static setting is the same one
    box.children[0].value = 2.5
    assert calls[-1] == (2.5, "x")
    plt.close("all")


def test_the_note_names_labelled_settings_or_the_starting_values():
    _, _, note, _ = widgets.build(
        show,
        static={"small": {"a": 0.5}, "large": {"a": 4.0}, "other title": {"kind": "y"}},
        a=(0.0, 5.0),
        kind=["x", "y"],
    )
    assert note.endswith("shows small (a = 0.5); large (a = 4); and other title (kind = y).*")
    _, _, note, bundle = widgets.build(show, a=(0.0, 5.0))
    assert note.endswith("shows the controls' starting values (a = 1).*")  # fn's default
    assert png_shape(bundle["image/png"])[0] == widgets.render(show, {"a": 1.0}).shape[0]


def test_bad_calls_say_what_to_change():
    with pytest.raises(ValueError, match="has no parameter 'b'; it takes: a, kind, calls"):
        widgets.build(show, b=(0, 1))
    with pytest.raises(ValueError, match="at least one setting"):
        widgets.build(show, static=[], a=(0, 2))
    with pytest.raises(ValueError, match="drew 0 figures"):
        widgets.build(lambda a=1: None, a=(0, 2))

    def two(a=1):
        plt.figure()
        plt.figure()

    with pytest.raises(ValueError, match="drew 2 figures"):
        widgets.build(two, a=(0, 2))
    assert plt.get_fignums() == []


def test_view_bundle_of_an_ipywidgets_7_widget_comes_from_its_model_id():
    class Widget7:  # ipywidgets 7 displays itself with _ipython_display_, no _repr_mimebundle_
        model_id = "abc123"

    bundle = widgets.view_bundle(Widget7())
    assert bundle[widgets.WIDGET_VIEW] == {
        "version_major": 2,
        "version_minor": 0,
        "model_id": "abc123",
    }
    slider = ipywidgets.IntSlider()
    assert widgets.view_bundle(slider)[widgets.WIDGET_VIEW]["model_id"] == slider.model_id


def test_in_colab_the_widget_is_displayed_plainly_and_drawn_live(monkeypatch):
    colab, output = types.ModuleType("google.colab"), types.ModuleType("google.colab.output")
    managers = []
    output.enable_custom_widget_manager = lambda: managers.append(True)
    colab.output = output
    google = sys.modules.get("google") or types.ModuleType("google")
    monkeypatch.setitem(sys.modules, "google", google)
    monkeypatch.setattr(google, "colab", colab, raising=False)
    monkeypatch.setitem(sys.modules, "google.colab", colab)
    monkeypatch.setitem(sys.modules, "google.colab.output", output)
    shown, calls = [], []
    monkeypatch.setattr("IPython.display.display", lambda *args, **kwargs: shown.append(args))
    widgets.interact(lambda a=1.0: show(a, calls=calls), a=(0.0, 2.0))
    assert len(shown) == 1 and isinstance(shown[0][0], ipywidgets.VBox)
    assert calls == [(1.0, "x")]  # drawn once, live, into the Output
    assert managers == ([True] if ipywidgets.__version__.startswith("8") else [])
    plt.close("all")


KERNEL_CELL = """\
%matplotlib inline
import matplotlib.pyplot as plt, ipywidgets as widgets, ganlab
print(widgets.__version__)
def show(a=1.0, kind="x"):
    fig, ax = plt.subplots(figsize=(3, 2)); ax.plot([0, a]); ax.set_title(kind); plt.show()
ganlab.widgets.interact(show, static=[dict(a=1.0), dict(a=3.0)],
                        a=widgets.FloatSlider(value=1.0, min=0, max=5), kind=["x", "y"])
"""

KERNEL_SCRIPT = """\
import json, sys
import nbclient, nbformat
nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(sys.argv[1])])
nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
nbclient.NotebookClient(nb, timeout=120).execute()
print(json.dumps({"outputs": nb.cells[0].outputs, "widgets": nb.metadata.get("widgets", {})}))
"""


def ipywidgets_7(folder: Path) -> Path:
    """ipywidgets 7.7.1 installed into ``folder``; skip (fail in CI) when that cannot be done."""
    command = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target"]
    packages = [f"ipywidgets=={COLAB_IPYWIDGETS}", "ipython_genutils==0.2.0"]
    result = subprocess.run(
        command + [str(folder)] + packages, capture_output=True, text=True, timeout=300
    )
    if result.returncode != 0:
        reason = (
            f"cannot install ipywidgets {COLAB_IPYWIDGETS} from the registry: "
            + (result.stderr.strip().splitlines() or ["(no message)"])[-1]
        )
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    return folder


@pytest.mark.parametrize("version", ["installed", COLAB_IPYWIDGETS])
def test_in_a_kernel(version, tmp_path):
    """The outputs a kernel sends: the note, then one bundle with the widget view and a PNG of
    two figures; no figure besides; the widget state holds the first figure in the Output."""
    env = dict(
        os.environ,
        PYTHONPATH=os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]),
    )
    env.pop("MPLBACKEND", None)  # the kernel's %matplotlib inline sets it
    if version != "installed":
        env["PYTHONPATH"] = os.pathsep.join(
            [str(ipywidgets_7(tmp_path / "pkgs")), env["PYTHONPATH"]]
        )
    result = subprocess.run(
        [sys.executable, "-c", KERNEL_SCRIPT, KERNEL_CELL],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    run = json.loads(result.stdout.strip().splitlines()[-1])
    stream, note, view = run["outputs"]
    expected = ipywidgets.__version__ if version == "installed" else version
    assert stream["text"].strip() == expected
    assert note["data"]["text/markdown"].startswith("*Interactive in Jupyter/Colab")
    model_id = view["data"][widgets.WIDGET_VIEW]["model_id"]
    assert view["data"]["text/plain"] == widgets.TEXT
    assert png_shape(view["data"]["image/png"])[0] > 2 * 100  # two figures one below the other
    state = run["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    children = state[model_id]["state"]["children"]
    output = state[children[-1].removeprefix("IPY_MODEL_")]
    assert output["model_name"] == "OutputModel"
    assert [list(out["data"]) for out in output["state"]["outputs"]] == [
        ["image/png", "text/plain"]
    ]


def test_the_book_shows_the_picture_not_the_widget_view():
    """myst-nb would render the widget view (an empty frozen widget offline) before the PNG."""
    import yaml

    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    overrides = config["sphinx"]["config"]["nb_mime_priority_overrides"]
    assert ["*", widgets.WIDGET_VIEW, None] in overrides


def test_every_interactive_figure_of_the_book_uses_the_helper():
    sources = {
        path.name: "".join(
            "".join(cell["source"])
            for cell in json.loads(path.read_text())["cells"]
            if cell["cell_type"] == "code"
        )
        for path in sorted((ROOT / "book").glob("*.ipynb"))
    }
    users = {name[:2] for name, text in sources.items() if "ganlab.widgets.interact(" in text}
    assert {"02", "03", "05", "06", "07"} <= users
    for name, text in sources.items():
        plain = text.replace("ganlab.widgets.interact(", "")
        assert "interact(" not in plain, f"{name}: use ganlab.widgets.interact (a static fallback)"


def test_without_the_note_the_cell_shows_the_picture_alone(monkeypatch):
    shown = []
    monkeypatch.setattr(
        "IPython.display.display", lambda *args, **kwargs: shown.append((args, kwargs))
    )
    monkeypatch.setattr(widgets, "in_colab", lambda: False)
    widgets.interact(lambda a=1.0: show(a, calls=[]), a=(0.0, 2.0), note=False)
    assert len(shown) == 1 and shown[0][1] == {"raw": True}  # the bundle, no Markdown note
    assert "image/png" in shown[0][0][0]
    shown.clear()
    widgets.interact(lambda a=1.0: show(a, calls=[]), a=(0.0, 2.0))
    assert len(shown) == 2 and "Interactive in" in shown[0][0][0].data  # note, then picture
    plt.close("all")
