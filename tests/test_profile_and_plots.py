import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

import ganlab  # noqa: E402
from ganlab import plots  # noqa: E402


@pytest.mark.parametrize(
    "env,expected",
    [
        ({"GANLAB_QUICK": "1"}, "quick"),
        ({"GANLAB_QUICK": "0"}, "full"),
        ({"GANLAB_PROFILE": "full", "GANLAB_QUICK": "1"}, "full"),
    ],
)
def test_profile_from_environment(monkeypatch, env, expected):
    monkeypatch.delenv("GANLAB_PROFILE", raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert ganlab.profile() == expected
    assert ganlab.pick(quick=1, full=2) == (1 if expected == "quick" else 2)


def test_profile_default_follows_the_gpu(monkeypatch):
    monkeypatch.delenv("GANLAB_PROFILE", raising=False)
    monkeypatch.delenv("GANLAB_QUICK", raising=False)
    assert ganlab.profile() == ("full" if torch.cuda.is_available() else "quick")
    monkeypatch.setenv("GANLAB_PROFILE", "huge")
    with pytest.raises(ValueError, match="choose one of: quick, full"):
        ganlab.profile()


def test_gradient_field_points_towards_higher_d():
    class Linear(torch.nn.Module):  # logit = x₀: D grows to the right
        def forward(self, x):
            return x[:, 0]

    grad = plots.generator_gradient_field(Linear(), torch.zeros(3, 2))
    assert (grad[:, 0] > 0).all() and torch.allclose(grad[:, 1], torch.zeros(3))


def test_figures_and_animation_render():
    mix = ganlab.ring()
    G, D = ganlab.toy_gan(2, hidden=16, depth=1)
    snaps = plots.Snapshots(mix, every=5, n=50, resolution=20)
    h = ganlab.train(
        G, D, mix.sample, ganlab.TrainConfig(num_steps=10, progress=False, device="cpu"), [snaps]
    )
    assert [f["step"] for f in snaps.frames] == [1, 5, 10]
    ax = plots.plot_samples_2d(mix, G, D, n=100, resolution=20)
    assert len(ax.collections) >= 3  # heat map, real, generated (+ arrows)
    axes = plots.plot_history(h)
    assert len(axes[0].lines) == 3
    html = plots.animation_html(plots.animate(snaps))
    assert "<script" in html and html.count("data:image/png") == len(
        snaps.frames
    )  # one image per frame
    plt.close("all")


def test_the_legend_of_the_2d_plot_covers_no_sample():
    mix = ganlab.ring()
    g = torch.Generator().manual_seed(1)
    samples = 5 * torch.rand(2000, 2, generator=g) - 2.5  # a poor generator: all over the plot
    ax = plots.plot_samples_2d(mix, samples=samples, n=2000)
    ax.figure.canvas.draw()
    box = ax.get_legend().get_window_extent().transformed(ax.transData.inverted())
    for points in (samples.numpy(), mix.sample(2000, torch.Generator().manual_seed(0)).numpy()):
        inside = (points[:, 0] > box.x0) & (points[:, 0] < box.x1) & (points[:, 1] > box.y0)
        assert not (inside & (points[:, 1] < box.y1)).any()
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert texts == ["real", "generated"]
    assert plots.plot_samples_2d(mix, samples=samples, legend=False).get_legend() is None
    plt.close("all")


def test_an_animation_is_titled_and_opens_on_its_last_frame():
    mix = ganlab.ring()
    G, D = ganlab.toy_gan(2, hidden=16, depth=1)
    snaps = plots.Snapshots(mix, every=5, n=50, resolution=20)
    cfg = ganlab.TrainConfig(num_steps=10, progress=False, device="cpu")
    ganlab.train(G, D, mix.sample, cfg, [snaps])
    anim = plots.animate(snaps, title="seed 3")
    anim._func(2)
    assert anim._fig.axes[0].get_title() == "seed 3, step 10"
    last, first = plots.animation_html(anim), plots.animation_html(anim, start="first")
    assert "set_frame(frames.length - 1)" in last and "set_frame(frames.length" not in first
    assert last.count("data:image/png") == first.count("data:image/png") == 3
    with pytest.raises(ValueError, match="'first' or 'last'"):
        plots.animation_html(anim, start="middle")
    untitled = plots.animate(snaps)
    plots.animation_html(untitled)
    untitled._func(0)
    assert untitled._fig.axes[0].get_title() == "step 1"
    plt.close("all")


def test_1d_plot_and_wrong_dims():
    mix = ganlab.bimodal_1d()
    G, D = ganlab.toy_gan(1, latent_dim=1, hidden=8, depth=1)
    ax, ax_d = plots.plot_density_1d(mix, G, D, n=2000)
    labels = [line.get_label() for line in ax_d.lines]
    assert "D(x), trained" in labels and "D*(x)" in labels
    with pytest.raises(ValueError, match="1D"):
        plots.plot_density_1d(ganlab.ring())
    with pytest.raises(ValueError, match="2D"):
        plots.plot_samples_2d(mix)
    with pytest.raises(ValueError, match="no frames"):
        plots.animate(plots.Snapshots(mix))
    np.testing.assert_allclose(
        plots.discriminator_output(lambda x: torch.zeros(len(x)), np.zeros((4, 1))), 0.5
    )
    plt.close("all")


def test_1d_plot_with_an_exact_p_g_draws_the_exact_d_star():
    p, q = ganlab.bimodal_1d(), ganlab.mixture_1d([0.0], [1.0])
    ax, ax_d = plots.plot_density_1d(p, p_g=q, bounds=(-4, 4))
    (d_star,) = [line for line in ax_d.lines if line.get_label() == "D*(x)"]
    x, y = d_star.get_data()
    np.testing.assert_allclose(y, p.pdf(x) / (p.pdf(x) + q.pdf(x)), rtol=1e-9)
    plt.close("all")


def test_plot_history_smoothing_keeps_a_constant_trace_constant_at_the_ends():
    from ganlab.training import History

    n = 40
    h = History(
        step=list(range(1, n + 1)),
        loss_d=[1.3] * n,
        loss_g=[0.7] * n,
        d_real=[0.6] * n,
        d_fake=[0.4] * n,
    )
    axes = ganlab.plots.plot_history(h, smooth=9)
    loss_d = axes[0].get_lines()[0].get_ydata()
    assert len(loss_d) == n and np.allclose(
        loss_d, 1.3
    )  # zero padding would pull the ends toward 0
    plt.close("all")


def test_no_public_name_of_ganlab_hides_a_submodule():
    """``ganlab.X`` is the submodule X whenever one exists: a function imported over it (as
    ``ganlab.train`` once hid ``ganlab/train.py``) makes ``ganlab.X.name`` raise AttributeError."""
    import importlib
    import pkgutil
    import types

    submodules = {info.name for info in pkgutil.iter_modules(ganlab.__path__)} - {
        "__main__"
    }  # that one runs the CLI
    assert {"training", "profiles", "models", "sweep"} <= submodules
    clashes = []
    for name in submodules:
        module = importlib.import_module(f"ganlab.{name}")
        value = getattr(ganlab, name, module)
        if value is not module:
            clashes.append(
                f"ganlab.{name} is {type(value).__name__} {value!r:.60}, not the submodule"
            )
    assert not clashes, "; ".join(clashes)
    assert isinstance(ganlab.training, types.ModuleType) and callable(ganlab.train)
    assert ganlab.training.fit_discriminator is not None


def test_the_session_ends_with_nbval_time_per_notebook():
    from types import SimpleNamespace

    from conftest import NotebookTimes

    times = NotebookTimes()
    for nodeid, duration in [
        ("book/01_a.ipynb::Cell 0", 2.0),  # setup: the kernel starts
        ("book/01_a.ipynb::Cell 0", 1.5),
        ("book/02_b.ipynb::Cell 3", 4.0),
        ("tests/test_x.py::test_y", 9.0),  # not a notebook
    ]:
        times.pytest_runtest_logreport(SimpleNamespace(nodeid=nodeid, duration=duration))
    lines = []
    reporter = SimpleNamespace(
        write_sep=lambda sep, title: lines.append(title), write_line=lines.append
    )
    times.pytest_terminal_summary(reporter)
    assert lines == [
        "nbval time per notebook",
        "     4.0 s  book/02_b.ipynb",
        "     3.5 s  book/01_a.ipynb",
        "     7.5 s  all notebooks",
    ]
