"""Figures for the book: densities and D in 1D, samples over D's heat map in 2D, training traces,
and training animations (recorded by the :class:`Snapshots` callback, rendered to HTML)."""

from __future__ import annotations

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
    ax = ax or plt.subplots(figsize=(7, 3.5))[1]
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
    ax_d.set_ylim(-0.02, 1.02)
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
    lines = ax.get_legend_handles_labels()
    lines_d = ax_d.get_legend_handles_labels()
    ax.legend(lines[0] + lines_d[0], lines[1] + lines_d[1], loc="upper left", fontsize=8)
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
):
    """Real and generated 2D samples over D's heat map, with arrows for the generator's gradient."""
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
    ax.legend(loc="upper right", fontsize=8, markerscale=3)
    return ax


def plot_history(history: History, axes=None, smooth: int = 1):
    """Loss traces and mean D(x), D(G(z)) over training; one more panel per logged metric given."""
    if not history.step:
        raise ValueError("the History is empty: nothing was trained")
    axes = axes if axes is not None else plt.subplots(1, 2, figsize=(11, 3.5))[1]
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
    ax.axhline(np.log(4), color="grey", ls=":", lw=1, label="log 4 (D loss at D ≡ 1/2)")
    ax.set_xlabel("generator step")
    ax.legend(fontsize=8)
    ax = axes[1]
    ax.plot(steps, sm(history.d_real), label="mean D(x)", color=REAL)
    ax.plot(steps, sm(history.d_fake), label="mean D(G(z))", color=FAKE)
    ax.axhline(0.5, color="grey", ls=":", lw=1, label="1/2 (equilibrium)")
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel("generator step")
    ax.legend(fontsize=8)
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
    snapshots: Snapshots, interval: int = 150, figsize=(4.5, 4.5)
) -> animation.FuncAnimation:
    """An animation of the recorded frames: samples over D's heat map (2D) or D over a histogram
    (1D).
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
    title = ax.set_title("")
    plt.close(fig)

    def update(i):
        frame = snapshots.frames[i]
        title.set_text(f"step {frame['step']}")
        if mix.dim == 2:
            mesh.set_array(frame["d"].reshape(shape).ravel())
            fake.set_offsets(frame["samples"])
            return mesh, fake, title
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
        return line, title

    return animation.FuncAnimation(
        fig, update, frames=len(snapshots.frames), interval=interval, blit=False
    )


def animation_html(anim: animation.FuncAnimation) -> str:
    """The animation as self-contained JavaScript HTML (``to_jshtml``), for the rendered book."""
    return anim.to_jshtml(default_mode="once")
