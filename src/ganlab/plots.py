"""Figures for the book: densities and D in 1D, samples over D's heat map in 2D, training traces,
and training animations (recorded by the :class:`Snapshots` callback, rendered to HTML).

:func:`book_style` sizes every figure for the book's content column; call it once in a chapter's
set-up area. :func:`gan_schematic` draws the GAN's data flow; :func:`as_svg` shows a figure as
vector graphics.
"""

from __future__ import annotations

import re

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib import animation
from scipy.stats import gaussian_kde

from .history import History
from .losses import get_loss
from .mixtures import GaussianMixture
from .models import frozen, generate
from .theory import optimal_discriminator

REAL, FAKE, DISC, OPTIMAL = "tab:blue", "tab:orange", "tab:green", "black"

# The book's content column is about 690 CSS px wide in a 1280 px window; matplotlib's inline
# figures are shown at 100 px per inch (retina: twice the pixels, at the same size), so a figure
# up to 6.8 in wide is shown at full size, and a 10 pt font stays 10 pt on the page.
COLUMN_WIDTH = 6.8  # inches: the widest figure shown unscaled
BOOK_RC = {
    "figure.figsize": (COLUMN_WIDTH, 3.4),
    "figure.dpi": 100,  # 1 in = 100 px on the page (the inline backend shows figures at this dpi)
    "savefig.dpi": "figure",
    "font.size": 11,
    "axes.titlesize": 11,
    "axes.labelsize": 11,
    "xtick.labelsize": 10,
    "ytick.labelsize": 10,
    "legend.fontsize": 10,  # the smallest text in a figure: 10 pt as displayed
    "legend.framealpha": 0.9,
    "figure.titlesize": 12,
    "lines.linewidth": 1.8,
    "image.interpolation": "nearest",  # image grids: pixels, not blur
}


def book_style(retina: bool = True) -> None:
    """Figures sized for the book: at most 6.8 in (the content column) wide at 100 px per inch,
    fonts of 10–12 pt, and (``retina``) twice the pixels for sharp lines on high-density screens.

    Call it once, in a chapter's set-up area; it sets matplotlib's ``rcParams``, so plots made
    afterwards (ganlab's and your own) use it. Figures wider than :data:`COLUMN_WIDTH` are
    shrunk on the page with their text: split wide panels into rows instead.
    """
    plt.rcParams.update(BOOK_RC)
    if retina:
        try:
            from IPython import get_ipython
            from matplotlib_inline.backend_inline import set_matplotlib_formats
        except ImportError:  # not in a notebook: nothing to configure
            return
        if get_ipython() is not None:
            set_matplotlib_formats("retina")


def as_svg(fig):
    """``fig`` as vector graphics (an ``IPython.display.SVG``, shown at its size in inches), then
    closed so that the notebook does not also show it as a PNG. Text stays sharp at any zoom."""
    import io

    from IPython.display import SVG

    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", bbox_inches="tight")
    plt.close(fig)
    return SVG(buffer.getvalue())


def _device(module) -> torch.device:
    """The device of a module's parameters (CPU for a parameterless module or a plain function)."""
    params = getattr(module, "parameters", None)
    first = next(params(), None) if params else None
    return first.device if first is not None else torch.device("cpu")


@torch.no_grad()
def discriminator_output(D, x: np.ndarray) -> np.ndarray:
    """``D(x) = sigmoid(logit)`` as numpy for points ``x`` of shape ``(N, dim)``; D is left as it
    was.
    """
    t = torch.as_tensor(np.asarray(x, dtype=np.float32), device=_device(D))
    with frozen(D):
        return torch.sigmoid(D(t)).cpu().double().numpy()


def plot_density_1d(
    mixture: GaussianMixture,
    G=None,
    D=None,
    ax=None,
    bounds=None,
    n: int = 20000,
    bins: int = 80,
    samples=None,
    p_g=None,
):
    """Data density vs generated samples (histogram) in 1D; D(x) and D*(x) on a second axis.

    D* uses the exact data density and, for p_g, the exact density ``p_g`` when given, else a
    KDE of the generated samples. Pass ``samples`` instead of ``G`` to plot given samples.
    Returns ``(ax, ax_d)``.
    """
    if mixture.dim != 1:
        raise ValueError(f"plot_density_1d needs a 1D mixture, got dim={mixture.dim}")
    ax = ax or plt.subplots(figsize=(COLUMN_WIDTH, 3.4))[1]
    if samples is None and G is not None:
        samples = generate(G, n)
    lo, hi = bounds or mixture.bounds(n_std=4.0)[0]
    if samples is not None:
        samples = np.asarray(torch.as_tensor(samples).detach().cpu()).reshape(-1)
        lo, hi = min(lo, np.quantile(samples, 0.001)), max(hi, np.quantile(samples, 0.999))
    xs = np.linspace(lo, hi, 600)
    ax.plot(xs, mixture.pdf(xs), color=REAL, lw=2, label="$p_{data}$")
    if samples is not None:
        ax.hist(
            samples,
            bins=bins,
            range=(lo, hi),
            density=True,
            color=FAKE,
            alpha=0.5,
            label="$p_g$ (samples)",
        )
    if p_g is not None:
        ax.plot(xs, p_g(xs), color=FAKE, lw=2, label="$p_g$")
    ax.set_xlabel("x")
    ax.set_ylabel("density")
    ax_d = ax.twinx()
    ax_d.set_ylabel("D(x)")
    if D is not None:
        ax_d.plot(xs, discriminator_output(D, xs[:, None]), color=DISC, lw=2, label="D(x), trained")
    if p_g is None and samples is not None and np.std(samples) > 0:
        p_g = gaussian_kde(samples)
    if p_g is not None:
        ax_d.plot(
            xs,
            optimal_discriminator(mixture, p_g)(xs),
            color=OPTIMAL,
            ls="--",
            lw=1.5,
            label="D*(x)",
        )
    ax_d.axhline(0.5, color="grey", lw=0.8, ls=":")
    # the legend goes in a band above the curves: both axes get 45% headroom
    ax.set_ylim(0, 1.45 * ax.get_ylim()[1])
    ax_d.set_ylim(-0.02, 1.45)
    ax_d.set_yticks([0, 0.5, 1])
    lines = ax.get_legend_handles_labels()
    lines_d = ax_d.get_legend_handles_labels()
    ax_d.legend(lines[0] + lines_d[0], lines[1] + lines_d[1], loc="upper center", ncols=3)
    return ax, ax_d


def _grid(mixture: GaussianMixture, resolution: int, margin: float = 1.0):
    (x0, x1), (y0, y1) = mixture.bounds(n_std=3.0)
    xs = np.linspace(x0 - margin, x1 + margin, resolution)
    ys = np.linspace(y0 - margin, y1 + margin, resolution)
    xx, yy = np.meshgrid(xs, ys)
    return xs, ys, np.stack([xx.ravel(), yy.ravel()], axis=1)


def generator_gradient_field(D, x_fake: torch.Tensor, loss: str = "nonsaturating") -> torch.Tensor:
    """``−∂(generator loss)/∂x`` at each fake sample: the direction D pushes it, ``(N, dim)``.

    D is left as it was: its buffers, mode and parameters' ``.grad`` (the gradient is taken with
    respect to ``x`` only).
    """
    x = x_fake.detach().clone().requires_grad_(True)
    with frozen(D):
        (grad,) = torch.autograd.grad(get_loss(loss).generator(D(x)), x)
    return -grad


def plot_samples_2d(
    mixture: GaussianMixture,
    G=None,
    D=None,
    ax=None,
    n: int = 1000,
    samples=None,
    arrows: bool = True,
    loss: str = "nonsaturating",
    resolution: int = 150,
    legend: bool = True,
):
    """Real and generated 2D samples over D's heat map, with arrows for the generator's gradient.

    ``legend``: name the two colours in a band above the data (the axes grow by a sixth).
    """
    if mixture.dim != 2:
        raise ValueError(f"plot_samples_2d needs a 2D mixture, got dim={mixture.dim}")
    ax = ax or plt.subplots(figsize=(5, 5))[1]
    if D is not None:
        xs, ys, pts = _grid(mixture, resolution)
        heat = discriminator_output(D, pts).reshape(len(ys), len(xs))
        mesh = ax.pcolormesh(xs, ys, heat, cmap="RdBu_r", vmin=0, vmax=1, shading="auto", alpha=0.6)
        plt.colorbar(mesh, ax=ax, fraction=0.046, pad=0.04, label="D(x)")
    x_real = mixture.sample(n, torch.Generator().manual_seed(0)).numpy()
    ax.scatter(x_real[:, 0], x_real[:, 1], s=4, color=REAL, label="real")
    if samples is None and G is not None:
        samples = generate(G, n, torch.Generator(_device(G)).manual_seed(0))
    if samples is not None:
        samples = torch.as_tensor(samples).float()
        s = samples.cpu().numpy()
        ax.scatter(s[:, 0], s[:, 1], s=4, color=FAKE, label="generated")
        if arrows and D is not None:
            sub = samples[: min(200, len(samples))].to(_device(D))
            grad = generator_gradient_field(D, sub, loss).cpu().numpy()
            norm = np.linalg.norm(grad, axis=1, keepdims=True).max() + 1e-12
            span = float(np.ptp(x_real))
            p = sub.cpu().numpy()
            ax.quiver(
                p[:, 0],
                p[:, 1],
                grad[:, 0] / norm,
                grad[:, 1] / norm,
                color="k",
                angles="xy",
                scale_units="xy",
                scale=4.0 / span,
                width=0.003,
                alpha=0.7,
            )
    ax.set_aspect("equal")
    if legend:  # in a band added above the data, so that it covers no sample
        y0, y1 = ax.get_ylim()
        ax.set_yticks([t for t in ax.get_yticks() if y0 <= t <= y1])  # none in the band
        ax.set_ylim(y0, y1 + 0.16 * (y1 - y0))
        ax.legend(loc="upper center", ncol=2, markerscale=3, frameon=False, borderaxespad=0.2)
    return ax


def plot_history(history: History, axes=None, smooth: int = 1):
    """Loss traces and mean D(x), D(G(z)) over training; one more panel per logged metric given."""
    if not history.step:
        raise ValueError("the History is empty: nothing was trained")
    if axes is None:  # two panels side by side in the column
        axes = plt.subplots(1, 2, figsize=(COLUMN_WIDTH, 3.0), layout="constrained")[1]
    steps = np.asarray(history.step)

    def sm(v):
        v = np.asarray(v)
        if smooth <= 1:
            return v
        kernel = np.ones(
            smooth
        )  # a moving average that divides by the points it covers: no dip at the ends
        return np.convolve(v, kernel, mode="same") / np.convolve(
            np.ones(len(v)), kernel, mode="same"
        )

    ax = axes[0]
    ax.plot(steps, sm(history.loss_d), label="D loss", color=DISC)
    ax.plot(steps, sm(history.loss_g), label="G loss", color=FAKE)
    ax.axhline(np.log(4), color="grey", ls=":", lw=1, label="log 4 (D ≡ 1/2)")
    ax.set_xlabel("generator step")
    ax.legend()
    ax = axes[1]
    ax.plot(steps, sm(history.d_real), label="mean D(x)", color=REAL)
    ax.plot(steps, sm(history.d_fake), label="mean D(G(z))", color=FAKE)
    ax.axhline(0.5, color="grey", ls=":", lw=1, label="1/2")
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel("generator step")
    ax.legend()
    return axes


class Snapshots:
    """A training callback recording, every ``every`` steps, samples of G from fixed noise and D's
    output (on a grid in 2D, a line in 1D), for :func:`animate`. It leaves G and D as they were
    (``frozen``).
    """

    def __init__(
        self, mixture: GaussianMixture, every: int = 100, n: int = 500, resolution: int = 80
    ):
        self.mixture, self.every, self.n = mixture, every, n
        if mixture.dim == 1:
            lo, hi = mixture.bounds(n_std=4.0)[0]
            self.xs, self.ys = np.linspace(lo, hi, 300), None
            self.points = self.xs[:, None]
        else:
            self.xs, self.ys, self.points = _grid(mixture, resolution)
        self.frames: list[dict] = []
        self._z = None

    def __call__(self, step, G, D, history) -> None:
        if step % self.every and step != 1:
            return
        if self._z is None:
            g = torch.Generator().manual_seed(0)
            self._z = torch.randn(self.n, G.latent_dim, generator=g).to(_device(G))
        with torch.no_grad(), frozen(G):
            samples = G(self._z).cpu().numpy()
        self.frames.append(
            {"step": step, "samples": samples, "d": discriminator_output(D, self.points)}
        )


def animate(
    snapshots: Snapshots, interval: int = 150, figsize=(4.5, 4.5), title: str = ""
) -> animation.FuncAnimation:
    """An animation of the recorded frames: samples over D's heat map (2D) or D over a histogram
    (1D), each frame titled ``"<title>, step N"`` (``title``: which run it shows).
    """
    if not snapshots.frames:
        raise ValueError(
            "no frames recorded: pass the Snapshots object to train(..., callbacks=[...])"
        )
    mix = snapshots.mixture
    fig, ax = plt.subplots(figsize=figsize)
    real = mix.sample(1000, torch.Generator().manual_seed(0)).numpy()
    first = snapshots.frames[0]
    if mix.dim == 2:
        shape = (len(snapshots.ys), len(snapshots.xs))
        mesh = ax.pcolormesh(
            snapshots.xs,
            snapshots.ys,
            first["d"].reshape(shape),
            cmap="RdBu_r",
            vmin=0,
            vmax=1,
            shading="auto",
            alpha=0.6,
        )
        ax.scatter(real[:, 0], real[:, 1], s=3, color=REAL)
        fake = ax.scatter(first["samples"][:, 0], first["samples"][:, 1], s=3, color=FAKE)
        ax.set_xlim(snapshots.xs[0], snapshots.xs[-1])
        ax.set_ylim(snapshots.ys[0], snapshots.ys[-1])
        ax.set_aspect("equal")
    else:
        ax.plot(snapshots.xs, mix.pdf(snapshots.xs), color=REAL)
        (line,) = ax.plot(snapshots.xs, first["d"], color=DISC)
        ax.set_ylim(0, max(1.05, 1.1 * mix.pdf(snapshots.xs).max()))
    heading = ax.set_title("")
    plt.close(fig)

    def update(i):
        frame = snapshots.frames[i]
        heading.set_text(_frame_title(title, frame["step"]))
        if mix.dim == 2:
            mesh.set_array(frame["d"].reshape(shape).ravel())
            fake.set_offsets(frame["samples"])
            return mesh, fake, heading
        for patch in list(ax.patches):
            patch.remove()
        ax.hist(
            frame["samples"][:, 0],
            bins=60,
            range=(snapshots.xs[0], snapshots.xs[-1]),
            density=True,
            color=FAKE,
            alpha=0.5,
        )
        line.set_ydata(frame["d"])
        return line, heading

    return animation.FuncAnimation(
        fig, update, frames=len(snapshots.frames), interval=interval, blit=False
    )


_REPLAY = (
    r"(function (a) { var play = a.play_animation.bind(a); a.play_animation = function () "
    r"{ if (a.current_frame >= a.frames.length - 1) a.set_frame(0); play(); }; })(\1);"
)


def _frame_title(title: str, step: int) -> str:
    return f"{title}, step {step}" if title else f"step {step}"


def animation_html(anim: animation.FuncAnimation, start: str = "last") -> str:
    """The animation as self-contained JavaScript HTML (``to_jshtml``), for the rendered book.

    ``start``: the frame the page opens on, ``"last"`` (the trained state, which the text
    discusses) or ``"first"``; the play and step buttons replay the run from either.
    """
    if start not in ("first", "last"):
        raise ValueError(f"start must be 'first' or 'last', got {start!r}")
    html = anim.to_jshtml(default_mode="once")
    if start == "first":
        return html
    # open on the last frame; "play" from there replays the run from its first frame
    opened, n = re.subn(
        r"(anim\w+) = new Animation\(([^;]*)\);",
        r"\1 = new Animation(\2); \1.set_frame(frames.length - 1); " + _REPLAY,
        html,
    )
    if n != 1:  # matplotlib changed its template: open on the first frame rather than fail
        return html
    return opened


def gan_schematic():
    """The GAN in one picture: ``z → G → x̃ → D ← x``, D's logit ℓ, the two losses, and where the
    gradient of each loss flows (D's loss updates D only; G's loss flows back through D into G).
    Returns the figure (6.8 × 3.1 in); show it with :func:`as_svg` for sharp text."""
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

    fig = plt.figure(figsize=(COLUMN_WIDTH, 3.1))
    ax = fig.add_axes((0, 0, 1, 1))  # the whole figure: 1 unit = 1 inch
    ax.set(xlim=(0, COLUMN_WIDTH), ylim=(0, 3.1), aspect="equal")
    ax.set_axis_off()

    def box(x, y, text, color="black", fill="white", w=None, h=0.5, size=11):
        w = w or 0.62
        ax.add_patch(
            FancyBboxPatch(
                (x - w / 2, y - h / 2),
                w,
                h,
                boxstyle="round,pad=0.04,rounding_size=0.08",
                fc=fill,
                ec=color,
                lw=1.4,
            )
        )
        ax.text(x, y, text, ha="center", va="center", size=size, color=color)

    def arrow(a, b, color="black", style="-|>", ls="-", rad=0.0, lw=1.4):
        ax.add_patch(
            FancyArrowPatch(
                a,
                b,
                arrowstyle=style,
                mutation_scale=12,
                color=color,
                lw=lw,
                ls=ls,
                connectionstyle=f"arc3,rad={rad}",
                shrinkA=2,
                shrinkB=2,
            )
        )

    up, down, mid = 2.05, 0.75, 1.4  # rows: fake path, real path, D
    ax.text(0.35, up, "$z \\sim p(z)$", ha="center", va="center", size=11)
    box(1.45, up, "$G$", color=FAKE, fill="#fff3e6")
    ax.text(2.55, up, "$\\tilde{x} = G(z)$", ha="center", va="center", size=11)
    ax.text(2.55, down, "$x \\sim p_{\\mathrm{data}}$", ha="center", va="center", size=11)
    box(3.75, mid, "$D$", color=DISC, fill="#e9f5e9")
    ax.text(4.45, mid + 0.22, "logit $\\ell$", ha="center", va="bottom", size=11)
    arrow((0.85, up), (1.13, up))
    arrow((1.77, up), (2.0, up))
    arrow((3.1, up - 0.05), (3.43, mid + 0.15))
    arrow((3.1, down + 0.05), (3.43, mid - 0.15))
    arrow((4.07, mid), (4.85, mid))
    # the two losses, both functions of the logits only
    g_loss, d_loss = (5.85, 2.3), (5.85, 0.62)
    box(
        *g_loss, "G's loss\n$-\\log \\sigma(\\ell(\\tilde{x}))$", color=FAKE, w=1.7, h=0.72, size=10
    )
    box(
        *d_loss,
        "D's loss\n$-\\log \\sigma(\\ell(x))$\n$- \\log(1 - \\sigma(\\ell(\\tilde{x})))$",
        color=DISC,
        w=1.7,
        h=0.95,
        size=10,
    )
    arrow((4.85, mid), (4.98, g_loss[1] - 0.1))
    arrow((4.85, mid), (4.98, d_loss[1] + 0.2))
    # where the gradients go: G's loss back through D into G; D's loss into D only
    arrow((4.98, g_loss[1] + 0.15), (3.95, mid + 0.3), color=FAKE, ls="--", rad=0.3)
    arrow((3.6, mid + 0.3), (1.6, up - 0.3), color=FAKE, ls="--", rad=-0.25)
    ax.text(
        3.3,
        2.9,
        "∇ of G's loss: back through D (held fixed) into G",
        ha="center",
        va="center",
        size=11,
        color=FAKE,
    )
    arrow((4.98, d_loss[1] - 0.2), (3.75, mid - 0.3), color=DISC, ls="--", rad=-0.35)
    ax.text(
        3.0, 0.1, "∇ of D's loss: updates D only", ha="center", va="center", size=11, color=DISC
    )
    return fig


def training_loop_schematic():
    """Algorithm 1 (chapter 5) as a picture: K discriminator steps on fresh minibatches with
    ``x̃`` detached, then one generator step whose gradient flows through D (not updated) into G,
    repeated. Returns the figure (6.8 × 3.3 in); show it with :func:`as_svg`."""
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

    fig = plt.figure(figsize=(COLUMN_WIDTH, 3.3))
    ax = fig.add_axes((0, 0, 1, 1))  # 1 unit = 1 inch
    ax.set(xlim=(0, COLUMN_WIDTH), ylim=(0, 3.3), aspect="equal")
    ax.set_axis_off()

    def panel(x, w, title, lines, color, fill):
        ax.add_patch(
            FancyBboxPatch(
                (x, 0.95),
                w,
                1.85,
                boxstyle="round,pad=0.04,rounding_size=0.1",
                fc=fill,
                ec=color,
                lw=1.4,
            )
        )
        ax.text(x + w / 2, 2.6, title, ha="center", va="center", size=11, color=color,
                weight="bold")  # fmt: skip
        ax.text(x + 0.12, 2.35, "\n".join(lines), ha="left", va="top", size=10, linespacing=1.5)

    def arrow(a, b, color="black", rad=0.0):
        ax.add_patch(
            FancyArrowPatch(
                a, b, arrowstyle="-|>", mutation_scale=12, color=color, lw=1.4,
                connectionstyle=f"arc3,rad={rad}", shrinkA=2, shrinkB=2,
            )
        )  # fmt: skip

    panel(
        0.1,
        3.05,
        "1. discriminator step",
        ["fresh $z$ and fresh data $x$", "$\\tilde{x} = G(z)$, detached",
         "loss: BCE$(D(x), 1)$ + BCE$(D(\\tilde{x}), 0)$", "zero_grad, backward,",
         "step of D's optimizer only"],
        DISC,
        "#e9f5e9",
    )  # fmt: skip
    panel(
        3.65,
        3.05,
        "2. generator step",
        ["fresh $z$", "loss: BCE$(D(G(z)), 1)$", "backward: through D into G",
         "(D's .grad is filled,", "D's weights do not move)", "step of G's optimizer only"],
        FAKE,
        "#fff3e6",
    )  # fmt: skip
    arrow((3.17, 1.8), (3.63, 1.8))
    ax.text(3.4, 1.95, "then", ha="center", va="bottom", size=10)
    arrow((0.7, 2.84), (2.2, 2.84), color=DISC, rad=-0.45)
    ax.text(2.35, 3.05, "repeat K times", ha="left", va="center", size=10, color=DISC)
    arrow((5.2, 0.91), (1.6, 0.91), rad=-0.25)
    ax.text(3.4, 0.42, "next iteration, until num_steps generator steps", ha="center",
            va="center", size=10)  # fmt: skip
    return fig


# Chapter 8's pictures: the transposed convolution as stamps, and the DCGAN stack.


def stamp_counts(n: int = 2, kernel: int = 4, stride: int = 2, padding: int = 1) -> np.ndarray:
    """How many input pixels' stamps cover each output pixel of a transposed convolution of an
    ``n × n`` input (``kernel``, ``stride``, ``padding``): the layer itself, run on ones with a
    kernel of ones. Shape ``((n − 1)·stride − 2·padding + kernel,) * 2``."""
    for name, value in (("n", n), ("kernel", kernel), ("stride", stride)):
        if int(value) != value or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    if padding < 0 or 2 * padding >= (n - 1) * stride + kernel:
        raise ValueError(f"padding must be ≥ 0 and leave an output, got {padding!r}")
    ones = torch.ones(1, 1, n, n, dtype=torch.float64)
    weight = torch.ones(1, 1, kernel, kernel, dtype=torch.float64)
    out = torch.nn.functional.conv_transpose2d(ones, weight, stride=stride, padding=padding)
    return out[0, 0].round().to(torch.int64).numpy()


def transposed_conv_stamps(n: int = 2, kernel: int = 4, stride: int = 2, padding: int = 1):
    """A transposed convolution drawn as stamps: each pixel of an ``n × n`` input stamps a copy of
    the ``kernel × kernel`` kernel, scaled by its value, ``stride`` pixels after its neighbour's;
    where stamps overlap they add (the number in each output pixel counts them), and ``padding``
    crops that many pixels off every side (the dashed frame is the output). Returns the figure
    (6.8 in wide); show it with :func:`as_svg`."""
    from matplotlib.patches import FancyArrowPatch, Rectangle

    full = stamp_counts(n, kernel, stride, 0)
    side = len(full)
    colors = plt.get_cmap("tab10").colors
    letters = "abcdefghijklmnopqrstuvwxyz"
    cell = min(0.3, 3.4 / side)  # inches per output pixel
    height = max(side * cell, kernel * cell) + 1.0
    fig = plt.figure(figsize=(COLUMN_WIDTH, height))
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set(xlim=(0, COLUMN_WIDTH), ylim=(0, height), aspect="equal")
    ax.set_axis_off()
    top = height - 0.55  # the top edge of the grids

    def grid(x0, rows, cols, fills, texts, c=cell):
        for i in range(rows):
            for j in range(cols):
                xy = (x0 + j * c, top - (i + 1) * c)
                ax.add_patch(Rectangle(xy, c, c, fc=fills[i][j], ec="0.35", lw=0.8))
                if texts[i][j]:
                    ax.text(
                        xy[0] + c / 2, xy[1] + c / 2, texts[i][j], ha="center", va="center", size=10
                    )

    # the input: one letter and one colour per pixel
    x_in = 0.15
    fills = [[(*colors[i * n + j][:3], 0.35) for j in range(n)] for i in range(n)]
    texts = [[letters[(i * n + j) % 26] for j in range(n)] for i in range(n)]
    grid(x_in, n, n, fills, texts)
    ax.text(x_in + n * cell / 2, top + 0.12, f"input {n}×{n}", ha="center", va="bottom", size=11)
    ax.text(
        x_in,
        top - n * cell - 0.12,
        "pixel a stamps\na·w, in its colour",
        ha="left",
        va="top",
        size=10,
    )
    # the kernel
    x_k = x_in + n * cell + 1.0
    grid(x_k, kernel, kernel, [["#eeeeee"] * kernel] * kernel, [[""] * kernel] * kernel)
    ax.text(
        x_k + kernel * cell / 2,
        top + 0.12,
        f"kernel {kernel}×{kernel}",
        ha="center",
        va="bottom",
        size=11,
    )
    ax.text(
        x_k + kernel * cell / 2,
        top - kernel * cell - 0.12,
        "weights w",
        ha="center",
        va="top",
        size=10,
    )
    # the stamps, one outline per input pixel, and the count of stamps in every output pixel
    x_out = x_k + kernel * cell + 0.75
    ax.add_patch(
        FancyArrowPatch(
            (x_out - 0.6, top - side * cell / 2),
            (x_out - 0.12, top - side * cell / 2),
            arrowstyle="-|>",
            mutation_scale=12,
            lw=1.4,
            color="black",
        )
    )
    grid(
        x_out,
        side,
        side,
        [["white"] * side] * side,
        [[str(v) if v else "" for v in row] for row in full],
    )
    for i in range(n):
        for j in range(n):
            color = colors[i * n + j]
            xy = (x_out + j * stride * cell, top - (i * stride + kernel) * cell)
            ax.add_patch(
                Rectangle(xy, kernel * cell, kernel * cell, fc=(*color[:3], 0.18), ec=color, lw=2.2)
            )
    if padding:
        ax.add_patch(
            Rectangle(
                (x_out + padding * cell, top - (side - padding) * cell),
                (side - 2 * padding) * cell,
                (side - 2 * padding) * cell,
                fill=False,
                ec="black",
                lw=1.6,
                ls="--",
            )
        )
    out_side = side - 2 * padding
    ax.text(
        x_out + side * cell / 2,
        top + 0.12,
        f"stamps {stride} apart; output {out_side}×{out_side}",
        ha="center",
        va="bottom",
        size=11,
    )
    ax.text(
        x_out + side * cell / 2,
        top - side * cell - 0.12,
        "number: stamps that add up there" + ("; dashed: kept" if padding else ""),
        ha="center",
        va="top",
        size=10,
    )
    return fig


def _feature_shapes(model, x) -> list[tuple[int, int]]:
    """(channels, side) after every convolution of ``model.net`` on the input ``x``."""
    shapes = []
    with torch.no_grad():
        for layer in model.net:
            x = layer(x)
            if isinstance(layer, (torch.nn.Conv2d, torch.nn.ConvTranspose2d)):
                shapes.append((x.shape[1], x.shape[-1]))
    return shapes


def dcgan_stack(G, D=None):
    """The DCGAN as a stack of feature maps, computed by running ``G`` (and ``D``): each map is
    drawn as a block whose face grows with its side and whose depth grows with log₂ of its
    channels, labelled ``side×side×channels``. G's row goes from the latent ``z`` to the image,
    D's row (if given) from the image to the logit. Returns the figure (6.8 in wide); show it
    with :func:`as_svg`."""
    from matplotlib.patches import FancyArrowPatch, Polygon

    was_training = [m.training for m in (G, D) if m is not None]
    for m in (G, D):
        if m is not None:
            m.eval()
    try:
        z = torch.zeros(1, G.latent_dim, 1, 1, device=_device(G))
        if getattr(G, "num_classes", None):
            raise ValueError("dcgan_stack draws an unconditional G; build it without num_classes")
        g_rows = [(G.latent_dim, 1)] + _feature_shapes(G, z)
        d_rows = None
        if D is not None:
            x = torch.zeros(1, G.channels, G.image_size, G.image_size, device=_device(D))
            d_rows = [(G.channels, G.image_size)] + _feature_shapes(D, x)
    finally:
        for m, flag in zip([m for m in (G, D) if m is not None], was_training):
            m.train(flag)

    rows = [("G", g_rows)] + ([("D", d_rows)] if d_rows else [])
    row_height = 1.75
    fig = plt.figure(figsize=(COLUMN_WIDTH, row_height * len(rows) + 0.1))
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set(xlim=(0, COLUMN_WIDTH), ylim=(0, row_height * len(rows) + 0.1), aspect="equal")
    ax.set_axis_off()
    max_side = max(s for _, shapes in rows for _, s in shapes)

    def block(x, y, side, channels, color):
        """A cuboid with its front face centred at (x, y)."""
        face = 0.1 + 0.42 * np.log2(side + 1) / np.log2(max_side + 1)
        depth = 0.03 + 0.03 * np.log2(channels)
        dx, dy = 0.6 * depth, 0.45 * depth
        x0, y0 = x - face / 2, y - face / 2
        front = [(x0, y0), (x0 + face, y0), (x0 + face, y0 + face), (x0, y0 + face)]
        top = [
            (x0, y0 + face),
            (x0 + face, y0 + face),
            (x0 + face + dx, y0 + face + dy),
            (x0 + dx, y0 + face + dy),
        ]
        right = [
            (x0 + face, y0),
            (x0 + face + dx, y0 + dy),
            (x0 + face + dx, y0 + face + dy),
            (x0 + face, y0 + face),
        ]
        for poly, alpha in ((right, 0.55), (top, 0.35), (front, 0.2)):
            ax.add_patch(Polygon(poly, closed=True, fc=(*color[:3], alpha), ec=color, lw=1.2))
        return x0 + face + dx, face

    for r, (name, shapes) in enumerate(rows):
        y = row_height * (len(rows) - r) - 0.75
        color = plt.matplotlib.colors.to_rgb(FAKE if name == "G" else DISC)
        n_items = len(shapes)
        step = (COLUMN_WIDTH - 0.5) / n_items
        right_prev = None
        for i, (channels, side) in enumerate(shapes):
            x = 0.45 + step * (i + 0.4)
            right, face = block(x, y, side, channels, color)
            label = f"{side}×{side}×{channels}"
            if name == "G" and i == 0:
                label = f"z: {channels}"
            if name == "D" and i == len(shapes) - 1 and side == 1 and channels == 1:
                label = "logit ℓ"
            ax.text(x, y - 0.55, label, ha="center", va="top", size=10)
            if right_prev is not None:
                ax.add_patch(
                    FancyArrowPatch(
                        (right_prev + 0.03, y),
                        (x - face / 2 - 0.05, y),
                        arrowstyle="-|>",
                        mutation_scale=10,
                        lw=1.2,
                        color="black",
                    )
                )
            right_prev = right
        note = (
            "G: 4×4 transposed convolutions (stride 2 after the first), BN + ReLU; tanh at the end"
            if name == "G"
            else "D: 4×4 convolutions, stride 2, BN (not on the first) + LeakyReLU(0.2)"
        )
        ax.text(0.1, y + 0.62, note, ha="left", va="bottom", size=10, color=color)
    return fig


def plot_samples_row(
    mixture: GaussianMixture,
    pairs,
    titles,
    n: int = 1000,
    arrows: bool = True,
    resolution: int = 100,
    width: float = COLUMN_WIDTH,
):
    """:func:`plot_samples_2d` for several ``(G, D)`` pairs side by side in a column-wide figure,
    each panel titled by ``titles``, with one colorbar for D(x) and one legend below the row
    instead of one per panel (which would crowd small panels and sit on the data).

    All panels show the same box around ``mixture`` and the same colour scale (0 to 1), so one
    colorbar serves them all. Returns the figure.
    """
    pairs, titles = list(pairs), list(titles)
    if not pairs or len(pairs) != len(titles):
        raise ValueError(f"need one title per (G, D) pair, got {len(pairs)} pairs, {len(titles)}")
    side = (width - 0.9) / len(pairs)  # each panel square, beside a colorbar ~0.9 in wide
    n_title_lines = max(str(t).count("\n") + 1 for t in titles)
    fig, axes = plt.subplots(
        1, len(pairs), figsize=(width, side + 0.25 * n_title_lines + 0.6), layout="constrained"
    )
    axes = np.atleast_1d(axes)
    for ax, (G, D), title in zip(axes, pairs, titles):
        plot_samples_2d(
            mixture, G, D, ax=ax, n=n, arrows=arrows, resolution=resolution, legend=False
        )
        if D is not None:
            ax.collections[0].colorbar.remove()  # the heat map's own colorbar: one for the row
        ax.set_title(title)
    if pairs[0][1] is not None:
        fig.colorbar(axes[0].collections[0], ax=axes, label="D(x)", shrink=0.9)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=len(labels), markerscale=3)
    return fig
