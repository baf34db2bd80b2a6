"""Interactive figures that also read well as a static page.

``ganlab.widgets.interact(show, static=[...], x=slider)`` is ``ipywidgets.interact`` for a
function that draws one matplotlib figure. In Jupyter and Colab it shows the controls and
redraws on every change. A page built from the executed notebook cannot run Python, so the
same output also carries a picture of the figure at chosen settings (``static``; several make
small multiples), and a one-line note says that the figure is interactive in Jupyter/Colab.

How: the widget is displayed as one output whose bundle holds the widget view and a PNG.
Jupyter front ends with ipywidgets render the widget; the book's HTML (myst-nb, told by
``_config.yml`` to skip widget views) and any viewer without ipywidgets render the PNG. The
figure the widget starts with is put into its ``Output`` as state, not printed, so nothing is
drawn twice. In Colab the widget is displayed the plain way. Works with ipywidgets 7 (Colab's)
and 8; :func:`view_bundle` is the one place where they differ.
"""

from __future__ import annotations

import base64
import inspect
import io
import sys
from collections.abc import Callable
from unittest import mock

import numpy as np

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
TEXT = "<an interactive figure: run the notebook in Jupyter or Colab>"
NOTE = "*Interactive in Jupyter/Colab: move the controls to redraw. This page shows {shown}.*"


def in_colab() -> bool:
    return "google.colab" in sys.modules


def colab_widget_manager() -> None:
    """Colab renders ipywidgets 7 itself; for ipywidgets 8 it needs its custom widget manager."""
    import ipywidgets

    if int(ipywidgets.__version__.split(".")[0]) >= 8:
        from google.colab import output

        output.enable_custom_widget_manager()


def render(fn: Callable, settings: dict) -> np.ndarray:
    """Call ``fn(**settings)`` without showing its figure; return the figure as an RGBA array
    (height, width, 4) of uint8. ``fn`` must draw exactly one new figure."""
    import matplotlib.pyplot as plt

    before = set(plt.get_fignums())
    with mock.patch.object(plt, "show", lambda *args, **kwargs: None):
        fn(**settings)
    new = [num for num in plt.get_fignums() if num not in before]
    try:
        if len(new) != 1:
            raise ValueError(
                f"{getattr(fn, '__name__', fn)}({settings}) drew {len(new)} figures; "
                "interact needs a function that draws exactly one"
            )
        buffer = io.BytesIO()
        plt.figure(new[0]).savefig(buffer, format="png", bbox_inches="tight")
        buffer.seek(0)
        return (plt.imread(buffer, format="png") * 255).round().astype(np.uint8)
    finally:
        for num in new:
            plt.close(num)


def stack(images: list[np.ndarray], gap: int = 12) -> np.ndarray:
    """Small multiples: RGBA images one below the other, centred on a white column."""
    width = max(image.shape[1] for image in images)
    rows = []
    for i, image in enumerate(images):
        pad = width - image.shape[1]
        row = np.full((image.shape[0], width, 4), 255, dtype=np.uint8)
        row[:, pad // 2 : pad // 2 + image.shape[1]] = image
        rows.append(row)
        if i < len(images) - 1:
            rows.append(np.full((gap, width, 4), 255, dtype=np.uint8))
    return np.concatenate(rows)


def png(image: np.ndarray) -> bytes:
    """An RGBA array as PNG bytes."""
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    plt.imsave(buffer, image, format="png")
    return buffer.getvalue()


def format_values(values: dict) -> str:
    """``"mu = 0.5, s = 1.5"``."""
    return ", ".join(
        f"{key} = {value:g}" if isinstance(value, float) else f"{key} = {value}"
        for key, value in values.items()
    )


def describe_static(static: dict[str, dict] | list[dict] | None, values: dict) -> str:
    """What the page's picture shows, for the note: each setting's label (when ``static`` is a
    dict of label -> settings) with the values it sets, or the controls' starting values."""
    if static is None:
        return f"the controls' starting values ({format_values(values)})"
    items = static.items() if isinstance(static, dict) else [(None, s) for s in static]
    parts = [f"{label} ({format_values(s)})" if label else format_values(s) for label, s in items]
    if len(parts) <= 2:
        return " and ".join(parts)
    return "; ".join(parts[:-1]) + "; and " + parts[-1]


def view_bundle(widget) -> dict:
    """The mime bundle that displays ``widget``: its view (``model_id``) and a text repr.

    ipywidgets 8 builds it in ``_repr_mimebundle_``; ipywidgets 7 sends the same data from
    ``_ipython_display_`` and has no ``_repr_mimebundle_``, so it is built here from
    ``model_id`` (protocol version 2 in both).
    """
    method = getattr(widget, "_repr_mimebundle_", None)
    if method is not None:
        data = method()
        data = data[0] if isinstance(data, tuple) else data
        if data and WIDGET_VIEW in data:
            return dict(data)
    return {
        "text/plain": repr(widget),
        WIDGET_VIEW: {"version_major": 2, "version_minor": 0, "model_id": widget.model_id},
    }


def controls_for(fn: Callable, controls: dict) -> dict:
    """One ipywidgets control per keyword, from a widget or an abbreviation as ``interact``
    takes them (a list: a dropdown; ``(min, max, step)``: a slider), defaults from ``fn``."""
    import ipywidgets

    parameters = inspect.signature(fn).parameters
    made = {}
    for name, abbreviation in controls.items():
        if name not in parameters:
            raise ValueError(
                f"{fn.__name__} has no parameter {name!r}; it takes: {', '.join(parameters)}"
            )
        default = parameters[name].default
        widget = ipywidgets.interactive.widget_from_abbrev(
            abbreviation, *(() if default is inspect.Parameter.empty else (default,))
        )
        if widget is None:
            raise ValueError(f"{name}={abbreviation!r} cannot be made into a control")
        if not getattr(widget, "description", ""):
            widget.description = name
        made[name] = widget
    return made


def build(fn: Callable, static: dict[str, dict] | list[dict] | None = None, **controls):
    """The parts :func:`interact` displays: ``(box, redraw, note, bundle)``.

    ``box`` holds the controls and an ``Output`` that starts with the figure at the controls'
    values; ``redraw()`` redraws it from the controls (each change calls it); ``note`` is the
    Markdown line; ``bundle`` is the widget's view with a PNG of the ``static`` settings
    (small multiples when there are several). In Colab, ``note`` and ``bundle`` are None and
    the Output starts empty (:func:`interact` calls ``redraw()`` after displaying the box).
    """
    import ipywidgets
    from IPython.display import Image, clear_output

    made = controls_for(fn, controls)
    values = {name: widget.value for name, widget in made.items()}
    chosen = (
        [{}] if static is None else list(static.values() if isinstance(static, dict) else static)
    )
    if not chosen:
        raise ValueError("static=: give at least one setting to draw for the page, or None")
    settings = [dict(values, **setting) for setting in chosen]
    output = ipywidgets.Output()

    def redraw(change=None):
        with output:
            clear_output(wait=True)
            fn(**{name: widget.value for name, widget in made.items()})

    for widget in made.values():
        widget.observe(redraw, names="value")
    box = ipywidgets.VBox([*made.values(), output])
    if in_colab():
        return box, redraw, None, None
    first = render(fn, values)
    output.append_display_data(Image(data=png(first), format="png"))  # state, not printed
    images = [first if setting == values else render(fn, setting) for setting in settings]
    bundle = view_bundle(box)
    bundle["text/plain"] = TEXT  # ipywidgets 7's repr would print the whole PNG
    bundle["image/png"] = base64.b64encode(png(stack(images))).decode("ascii")
    return box, redraw, NOTE.format(shown=describe_static(static, values)), bundle


def interact(
    fn: Callable,
    static: dict[str, dict] | list[dict] | None = None,
    note: bool = True,
    **controls,
) -> None:
    """Show ``fn`` with one control per keyword (as ``ipywidgets.interact``) and, for pages
    that cannot run Python, a picture of ``fn`` at each of the ``static`` settings: a list of
    keyword dicts, or a dict ``{label: keywords}`` whose labels the note repeats (default: the
    controls' starting values). ``fn`` draws one matplotlib figure and calls ``plt.show()``.

    ``note=False`` leaves out the one-line note above the picture, so that the cell has one
    output: a figure caption in the cell's metadata (myst-nb) then says what the note would
    (that the figure is interactive in Jupyter or Colab, and which settings it shows).

    Returns None, so that a call at the end of a cell prints no repr.
    """
    from IPython.display import Markdown, display

    box, redraw, text, bundle = build(fn, static, **controls)
    if bundle is None:  # Colab's widget manager: the plain way, the first figure drawn live
        colab_widget_manager()
        display(box)
        redraw()
        return
    if note:
        display(Markdown(text))
    display(bundle, raw=True)
