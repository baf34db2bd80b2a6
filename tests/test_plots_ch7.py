"""Chapter 7's row of sample panels: one panel per run, one colorbar and one legend for the row,
and a figure that fits the book's column."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

import ganlab  # noqa: E402
from ganlab import plots  # noqa: E402


def test_plot_samples_row_shares_one_colorbar_and_one_legend():
    ring = ganlab.ring()
    pairs = [ganlab.toy_gan(2, hidden=8, depth=1, seed=seed) for seed in (0, 1, 2)]
    fig = plots.plot_samples_row(ring, pairs, ["a", "b", "c\nsecond line"], n=50, resolution=20)
    try:
        width, _ = fig.get_size_inches()
        assert width <= plots.COLUMN_WIDTH
        panels = [ax for ax in fig.axes if ax.get_title()]
        assert [ax.get_title() for ax in panels] == ["a", "b", "c\nsecond line"]
        assert all(ax.get_legend() is None for ax in panels)
        assert len(fig.axes) == 4  # the three panels and one colorbar
        assert fig.axes[-1].get_ylabel() == "D(x)"
        (legend,) = fig.legends
        assert [t.get_text() for t in legend.get_texts()] == ["real", "generated"]
        fig.canvas.draw()  # the layout works out
    finally:
        plt.close(fig)


def test_plot_samples_row_needs_a_title_per_pair():
    pairs = [ganlab.toy_gan(2, hidden=8, depth=1, seed=0)]
    with pytest.raises(ValueError, match="one title per"):
        plots.plot_samples_row(ganlab.ring(), pairs, ["a", "b"])
