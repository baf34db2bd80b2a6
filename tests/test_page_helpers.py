"""The helpers that make the book's pages: tables, the checks block, the figure style, the GAN
schematic, chapter 1's density tools, and the per-chapter numbering of exercises and figures."""

import json
import subprocess
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from scipy import stats  # noqa: E402

import ganlab  # noqa: E402
from ganlab import _book_numbers, implicit, plots, tables  # noqa: E402
from ganlab.checks import CheckFailed, Checks  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


# tables


@pytest.mark.parametrize(
    "value,digits,text",
    [
        (0.6931471805599453, 3, "0.693"),
        (0.6931471805599453, 4, "0.6931"),
        (0.9997, 3, "1.00"),  # rounded first: three digits, not "1.000"
        (99.96, 3, "100"),
        (np.float64(12.3456), 3, "12.3"),
        (torch.tensor(1234.5678), 3, "1235"),  # whole numbers stay whole
        (0.000012345, 3, "1.23e-5"),
        (-0.25, 3, "−0.25"),  # exact in three figures: as short as it is
        (-0.2501, 3, "−0.250"),
        (2.0, 3, "2"),
        (0.03, 3, "0.03"),
        (0.0, 3, "0"),
        (12000, 3, "12\u2009000"),
        (np.int64(7), 3, "7"),
        (np.True_, 3, "yes"),
        (float("nan"), 3, "–"),
        (None, 3, "–"),
        ("ring", 3, "ring"),
    ],
)
def test_fmt_rounds_to_significant_figures_and_unwraps_scalars(value, digits, text):
    assert tables.fmt(value, digits) == text


def test_show_accepts_rows_columns_and_sequences_and_renders_html_and_text():
    rows = [
        {"loss": "minimax", "modes": np.int64(8), "JSD": np.float64(0.0123456)},
        {"loss": "<hinge>", "modes": 7, "JSD": 0.25},
    ]
    t = tables.show(rows, digits={"JSD": 2}, caption="Ring, 8 modes")
    assert t.columns == ["loss", "modes", "JSD"] and t.numeric == [False, True, True]
    assert t.cells == [["minimax", "8", "0.012"], ["<hinge>", "7", "0.25"]]
    html = t._repr_html_()
    assert "&lt;hinge&gt;" in html and "<caption>Ring, 8 modes</caption>" in html
    assert html.count("<tr>") == 3 and 'style="text-align: right">0.012<' in html
    assert "np.float64" not in html and "np.float64" not in str(t)
    assert str(t).splitlines()[1:3] == ["loss     modes    JSD", "-------  -----  -----"]
    by_column = tables.show({"loss": ["a", "b"], "JSD": [0.5, 0.25]})
    as_lists = tables.show([("a", 0.5), ("b", 0.25)], columns=["loss", "JSD"])
    assert by_column.cells == as_lists.cells == [["a", "0.5"], ["b", "0.25"]]
    assert len(as_lists) == 2


def test_show_says_what_is_wrong_with_its_input():
    with pytest.raises(ValueError, match="need their column names"):
        tables.show([(1, 2)])
    with pytest.raises(ValueError, match="row 1 has 1 values for 2 columns"):
        tables.show([(1, 2), (3,)], columns=["a", "b"])
    with pytest.raises(ValueError, match="different lengths"):
        tables.show({"a": [1, 2], "b": [1]})
    with pytest.raises(ValueError, match="unknown columns"):
        tables.show([{"a": 1.0}], digits={"b": 2})
    with pytest.raises(ValueError, match="digits must be a positive integer"):
        tables.fmt(1.0, 0)


# the checks block


def test_checks_print_one_verdict_line_listing_the_claims(capsys):
    with Checks() as check:
        check(np.float64(0.01) < 0.03, "the density matches the samples")
        check(torch.tensor(True), "both modes are captured")
    assert capsys.readouterr().out == (
        "✓ 2 checks passed: the density matches the samples; both modes are captured\n"
    )
    verdict = check.verdict()
    assert verdict._repr_html_().startswith('<p class="ganlab-checks">')
    assert "2 checks passed" in verdict._repr_html_()
    assert str(Checks("§1.3").verdict()) == "✓ §1.3: 0 checks passed"


def test_a_failing_check_raises_an_assertion_error_naming_the_claim(capsys):
    with pytest.raises(AssertionError, match=r"check failed: L1 is small \(L1 = 0.0512\)"):
        with Checks() as check:
            check(True, "first")
            check(0.0512 < 0.03, "L1 is small", "L1 = 0.0512")
            check(True, "never reached")
    assert capsys.readouterr().out == ""  # no verdict when a check fails
    assert issubclass(CheckFailed, AssertionError)


def test_a_check_needs_one_truth_value_and_a_claim():
    check = Checks()
    with pytest.raises(TypeError, match="needs one truth value.*np.all"):
        check(np.array([True, False]), "every bin matches")
    with pytest.raises(TypeError, match="needs one truth value"):
        check(torch.tensor([True, True]), "every bin matches")
    with pytest.raises(ValueError, match="needs its claim in words"):
        check(True, "")


# the figure style and the schematic


def test_book_style_sizes_figures_for_the_column():
    with plt.rc_context():
        plots.book_style()  # outside IPython: rcParams only
        fig = plt.figure()
        width_px = fig.get_figwidth() * fig.dpi
        assert width_px <= 690  # the content column at a 1280 px window
        assert min(plt.rcParams[k] for k in ("legend.fontsize", "xtick.labelsize")) >= 10
        plt.close(fig)


def test_library_figures_fit_the_column_and_use_no_small_fonts():
    with plt.rc_context():
        plots.book_style()
        mix = ganlab.bimodal_1d()
        ax, ax_d = plots.plot_density_1d(mix, samples=mix.sample(500))
        figures = [ax.figure]
        G, D = ganlab.toy_gan(2, hidden=8, depth=1)
        cfg = ganlab.TrainConfig(num_steps=3, progress=False, device="cpu")
        history = ganlab.train(G, D, ganlab.ring().sample, cfg)
        figures.append(plots.plot_history(history)[0].figure)
        figures.append(plots.gan_schematic())
        for fig in figures:
            fig.canvas.draw()
            assert fig.get_figwidth() <= plots.COLUMN_WIDTH
            sizes = [t.get_fontsize() for t in fig.findobj(matplotlib.text.Text) if t.get_text()]
            assert sizes and min(sizes) >= 10, sizes
            plt.close(fig)
        # the legend of a density plot sits above the curves (headroom), not on them
        assert ax.get_ylim()[1] >= 1.4 * mix.pdf(np.linspace(-4, 4, 201)).max()


def test_the_schematic_is_vector_graphics_naming_both_players_and_losses():
    pytest.importorskip("IPython")
    open_before = set(plt.get_fignums())  # other tests may leave figures open
    fig = plots.gan_schematic()
    texts = " ".join(t.get_text() for t in fig.findobj(matplotlib.text.Text))
    for name in ("$G$", "$D$", "G's loss", "D's loss", "logit", "∇ of G's loss", "∇ of D's loss"):
        assert name in texts, name
    svg = plots.as_svg(fig)
    assert svg.data.lstrip().startswith("<svg") and 'width="' in svg.data
    assert set(plt.get_fignums()) == open_before  # closed: the notebook shows it once, as SVG


def test_the_training_loop_schematic_is_legible_and_names_both_steps():
    pytest.importorskip("IPython")
    open_before = set(plt.get_fignums())
    fig = plots.training_loop_schematic()
    fig.canvas.draw()
    assert fig.get_figwidth() <= plots.COLUMN_WIDTH
    texts = [t for t in fig.findobj(matplotlib.text.Text) if t.get_text()]
    assert min(t.get_fontsize() for t in texts) >= 10
    words = " ".join(t.get_text() for t in texts)
    for name in ("discriminator step", "generator step", "detached", "repeat K times", "through D"):
        assert name in words, name
    assert plots.as_svg(fig).data.lstrip().startswith("<svg")
    assert set(plt.get_fignums()) == open_before


# chapter 1's density tools


def test_density_by_preimages_matches_the_chi_square_density_and_the_samples():
    p_sq = implicit.density_by_preimages(np.square)
    xs = np.linspace(0.05, 4, 50)
    assert np.allclose(p_sq(xs), stats.chi2(df=1).pdf(xs), rtol=1e-3)
    z, _ = np.random.default_rng(0).standard_normal(100_000), None
    l1, noise = implicit.compare_histogram(z**2, p_sq, np.linspace(0, 4, 41), spikes=[0.0])
    assert l1 < 3 * noise + 0.01 and 0 < noise < 0.05
    one_branch = implicit.compare_histogram(
        z**2, lambda x: p_sq(x) / 2, np.linspace(0, 4, 41), spikes=[0.0]
    )[0]
    assert one_branch > 0.4  # half the density: caught


def test_bin_masses_integrates_a_density_with_a_spike():
    edges = np.linspace(0, 4, 41)
    masses = implicit.bin_masses(stats.chi2(df=1).pdf, edges, spikes=[0.0])
    assert abs(masses.sum() - stats.chi2(df=1).cdf(4)) < 1e-6
    with pytest.raises(ValueError, match="increasing"):
        implicit.bin_masses(stats.norm.pdf, [1.0, 0.0])


def test_preimages_kinks_and_turning_values_of_simple_maps():
    g = lambda z: np.sin(3 * z) + z / 2  # noqa: E731
    zs, slopes = implicit.preimages(g(implicit.Z_GRID), 0.0)
    assert len(zs) == 5 and np.allclose(g(zs), 0, atol=1e-6)
    assert np.allclose(slopes, 3 * np.cos(3 * zs) + 0.5, rtol=1e-3)
    # g turns where g'(z) = 3 cos 3z + 1/2 changes sign: cos 3z = -1/6, twice per period 2π/3
    turns = np.arccos(-1 / 6) / 3 + 2 * np.pi / 3 * np.arange(-5, 5)
    turns = np.concatenate([turns, -turns])
    expected = np.sort(g(turns[np.abs(turns) < 8]))
    assert np.allclose(np.sort(implicit.turning_values(g)), expected, atol=1e-3)
    relu = lambda z: np.maximum(z, 0) + 0.5 * np.maximum(z - 1, 0)  # noqa: E731
    assert np.allclose(implicit.kink_values(relu), [0.0, 1.0], atol=1e-3)


def test_as_numpy_map_runs_a_generator_in_float64_on_a_copy():
    G, _ = ganlab.toy_gan(1, latent_dim=1, hidden=8, depth=2, seed=0)
    before = [p.detach().clone() for p in G.parameters()]
    g = implicit.as_numpy_map(G)
    z = np.linspace(-2, 2, 7)
    out = g(z)
    assert out.dtype == np.float64 and out.shape == z.shape
    with torch.no_grad():
        ref = G(torch.as_tensor(z, dtype=torch.float32)[:, None])[:, 0].numpy()
    assert np.allclose(out, ref, atol=1e-5)
    assert all(p.dtype == torch.float32 for p in G.parameters())
    assert all(torch.equal(a, b) for a, b in zip(before, G.parameters()))


# numbering per chapter


def test_renumber_counts_within_each_chapter_in_page_order():
    numbers = {
        "book/01_implicit_models": {"exercise": {"ex-a": (1,), "ex-b": (2,)}},
        "book/04_optimal_discriminator": {
            "exercise": {"ex-d": (9,), "ex-c": (8,)},
            "figure": {"fig-x": (3,)},
        },
        "book/failure_gallery": {"figure": {"fig-y": (72,)}},
        "book/02_x": {"exercise": {"ex-e": (2, 1)}},  # already per chapter: unchanged
    }
    changed = _book_numbers.renumber(numbers)
    assert numbers["book/01_implicit_models"]["exercise"] == {"ex-a": (1, 1), "ex-b": (1, 2)}
    assert numbers["book/04_optimal_discriminator"]["exercise"] == {"ex-c": (4, 1), "ex-d": (4, 2)}
    assert numbers["book/04_optimal_discriminator"]["figure"] == {"fig-x": (4, 1)}
    assert numbers["book/failure_gallery"]["figure"] == {"fig-y": (1,)}
    assert "book/02_x" not in changed and len(changed) == 3


def _notebook(cells):
    for i, cell in enumerate(cells):
        cell["id"] = f"cell-{i}"
    return {
        "cells": cells,
        "metadata": {
            "kernelspec": {"name": "python3", "display_name": "Python 3"},
            "language_info": {"name": "python"},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }


def _figure_cell(name, caption, alt):
    return {
        "cell_type": "code",
        "execution_count": 1,
        "metadata": {
            "mystnb": {"figure": {"caption": caption, "name": name}, "image": {"alt": alt}}
        },
        "outputs": [
            {
                "output_type": "display_data",
                "data": {"image/png": _PNG, "text/plain": ["<Figure size 100x100 with 1 Axes>"]},
                "metadata": {"image/png": {"width": 300}},
            }
        ],
        "source": ["plot()"],
    }


# a 1x1 PNG
_PNG = (
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5E"
    "rkJggg=="
)


def test_the_book_numbers_exercises_and_figures_per_chapter(tmp_path):
    """A two-chapter book built with the book's extensions: Exercise 4.2, Fig. 4.1, and links."""
    (tmp_path / "book" / "_static").mkdir(parents=True)
    (tmp_path / "book" / "_static" / "ganlab.css").write_text("")
    (tmp_path / "book" / "intro.md").write_text("# Intro\n")
    config = (ROOT / "_config.yml").read_text()
    config = config.replace("execute_notebooks: cache", "execute_notebooks: 'off'")
    config = config.replace("  - book/references.bib", "  - book/refs.bib")
    (tmp_path / "book" / "refs.bib").write_text("")
    (tmp_path / "_config.yml").write_text(config)
    (tmp_path / "_toc.yml").write_text(
        "format: jb-book\nroot: book/intro\nparts:\n  - caption: P\n    numbered: false\n"
        "    chapters:\n      - file: book/01_a\n      - file: book/04_b\n"
    )
    for stem, chapter in (("01_a", 1), ("04_b", 4)):
        md = [
            f"(ch-{chapter})=\n# {chapter}. Chapter\n\nSee {{ref}}`ex-{chapter}-2` and "
            f"{{numref}}`fig-{chapter}`.",
            f"```{{exercise}}\n:label: ex-{chapter}-1\n\nOne.\n```",
            f"```{{exercise}}\n:label: ex-{chapter}-2\n\nTwo.\n```",
        ]
        cells = [{"cell_type": "markdown", "metadata": {}, "source": [m]} for m in md]
        cells.insert(1, _figure_cell(f"fig-{chapter}", "A **figure**.", "a dot"))
        (tmp_path / "book" / f"{stem}.ipynb").write_text(json.dumps(_notebook(cells)))
    exe = Path(sys.executable).parent / "jupyter-book"
    result = subprocess.run(
        [str(exe), "build", str(tmp_path), "-W", "--keep-going"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    page = (tmp_path / "_build" / "html" / "book" / "04_b.html").read_text()
    assert "Exercise 4.1" in page and "Exercise 4.2" in page and "Fig. 4.1" in page
    assert "Exercise 2" not in page.replace("Exercise 4.2", "")  # no book-wide number left
    assert 'alt="a dot"' in page and "<figcaption>" in page
    assert ">Exercise 1.2<" in (tmp_path / "_build" / "html" / "book" / "01_a.html").read_text()
