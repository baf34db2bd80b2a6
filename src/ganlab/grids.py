"""Images from a generator: sample grids, fixed-noise grids over training, latent interpolation.

Drawing the images themselves is :func:`ganlab.models.render` (and ``fixed_noise``); this module
lays them out, saves them and animates them.

Images are tensors ``(N, C, H, W)`` in [−1, 1] (the generator's tanh range); grids are numpy
arrays in [0, 1] ready for ``imshow``. :class:`GridSnapshots` is a training callback that keeps
a grid of ``G(z)`` for the same ``z`` every few steps, for a figure or an animation of training.
"""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib import animation
from torch import nn

from ._checks import positive_int
from .models import sampling as _sampling  # render and fixed_noise live in ganlab.models
from .plots import _frame_title


def _as_images(images) -> torch.Tensor:
    images = torch.as_tensor(images).detach().float().cpu()
    if images.ndim == 3:  # a single image
        images = images[None]
    if images.ndim != 4 or images.shape[1] not in (1, 3):
        raise ValueError(f"images must have shape (N, 1 or 3, H, W), got {tuple(images.shape)}")
    return images


def image_grid(images, nrow: int = 8, padding: int = 2) -> np.ndarray:
    """Tile ``(N, C, H, W)`` images in [−1, 1] into one ``(rows, cols)`` or ``(rows, cols, 3)``
    array in [0, 1].
    """
    positive_int("nrow", nrow)
    images = (_as_images(images).clamp(-1, 1) + 1) / 2  # [-1, 1] -> [0, 1]
    n, c, h, w = images.shape
    ncol, nrows = min(nrow, n), math.ceil(n / nrow)
    grid = torch.ones(
        c, nrows * (h + padding) + padding, ncol * (w + padding) + padding
    )  # white gaps
    for i, image in enumerate(images):
        r, q = divmod(i, ncol)
        top, left = padding + r * (h + padding), padding + q * (w + padding)
        grid[:, top : top + h, left : left + w] = image
    grid = grid.permute(1, 2, 0).numpy()
    return grid[..., 0] if c == 1 else grid


def show_grid(images, ax=None, nrow: int = 8, title: str | None = None):
    """Draw :func:`image_grid` of ``images`` on ``ax`` (a new figure when None); returns the
    axes.
    """
    grid = image_grid(images, nrow)
    if ax is None:
        ax = plt.subplots(
            figsize=(0.6 * min(nrow, len(images)) + 1, 0.6 * math.ceil(len(images) / nrow) + 1)
        )[1]
    ax.imshow(
        grid, cmap="gray" if grid.ndim == 2 else None, vmin=0, vmax=1, interpolation="nearest"
    )
    ax.set_axis_off()
    if title:
        ax.set_title(title)
    return ax


def save_grid(images, path: str | Path, nrow: int = 8) -> Path:
    """Write :func:`image_grid` of ``images`` as a PNG file (folders are created)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    grid = image_grid(images, nrow)
    plt.imsave(path, grid, cmap="gray" if grid.ndim == 2 else None, vmin=0, vmax=1)
    return path


class GridSnapshots:
    """A training callback: every ``every`` steps (and at step 1), the grid of ``G(z)`` for fixed
    ``z``.

    ``frames`` holds ``(step, images)``; with ``out_dir`` each grid is also saved as
    ``out_dir/step_000500.png``. Use :func:`animate_grids` for an animation of training.
    ``labels`` ``(n,)``: the classes to draw from a conditional G (e.g. one class per row).
    G is left as it was (``render`` runs it :func:`~ganlab.models.frozen`).
    """

    def __init__(
        self,
        latent_dim: int,
        n: int = 64,
        every: int = 100,
        seed: int = 1234,
        out_dir: str | Path | None = None,
        nrow: int = 8,
        labels: torch.Tensor | None = None,
    ):
        positive_int("every", every)
        self.z, self.every, self.nrow = _sampling.fixed_noise(n, latent_dim, seed), every, nrow
        self.labels = labels
        self.out_dir = None if out_dir is None else Path(out_dir)
        self.frames: list[tuple[int, torch.Tensor]] = []

    def __call__(self, step, G, D, history) -> None:
        if step % self.every and step != 1:
            return
        images = _sampling.render(G, self.z, y=self.labels)
        self.frames.append((step, images))
        if self.out_dir is not None:
            save_grid(images, self.out_dir / f"step_{step:06d}.png", self.nrow)


def animate_grids(
    snapshots: GridSnapshots, interval: int = 300, size: float = 4.5, title: str = ""
) -> animation.FuncAnimation:
    """An animation of the recorded grids, one frame per snapshot, titled ``"<title>, step N"``
    (``title``: which run it shows)."""
    if not snapshots.frames:
        raise ValueError(
            "no grids recorded: pass the GridSnapshots object to train(..., callbacks=[...])"
        )
    fig, ax = plt.subplots(figsize=(size, size))
    first = image_grid(snapshots.frames[0][1], snapshots.nrow)
    shown = ax.imshow(
        first, cmap="gray" if first.ndim == 2 else None, vmin=0, vmax=1, interpolation="nearest"
    )
    ax.set_axis_off()
    heading = ax.set_title("")
    plt.close(fig)

    def update(i):
        step, images = snapshots.frames[i]
        shown.set_data(image_grid(images, snapshots.nrow))
        heading.set_text(_frame_title(title, step))
        return shown, heading

    return animation.FuncAnimation(
        fig, update, frames=len(snapshots.frames), interval=interval, blit=False
    )


def slerp(z0: torch.Tensor, z1: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Spherical interpolation between latent vectors ``(latent_dim,)`` for weights ``t`` ``(T,)``:
    ``(T, latent_dim)``.

    Gaussian latents concentrate near a sphere; a straight line between two of them passes closer
    to the origin than typical noise, the spherical path stays at typical norms.
    """
    cos = torch.dot(z0, z1) / (z0.norm() * z1.norm())
    omega = torch.arccos(cos.clamp(-1, 1))
    if omega.abs() < 1e-6:  # (anti)parallel: the straight line is the spherical path
        return torch.lerp(z0, z1, t[:, None])
    return (
        torch.sin((1 - t) * omega)[:, None] * z0 + torch.sin(t * omega)[:, None] * z1
    ) / torch.sin(omega)


def interpolate(
    G: nn.Module,
    z0: torch.Tensor,
    z1: torch.Tensor,
    steps: int = 8,
    spherical: bool = True,
    batch_stats: bool = False,
) -> torch.Tensor:
    """Images ``G(z)`` along the path from ``z0`` to ``z1`` (``steps`` points, ends included).

    By default each image is made with batch norm's running averages, so it depends on its own ``z``
    only (with batch statistics, the few images of one path would normalise each other).
    """
    positive_int("steps", steps)
    t = torch.linspace(0, 1, steps)
    z = slerp(z0, z1, t) if spherical else torch.lerp(z0, z1, t[:, None])
    return _sampling.render(G, z, batch_stats=batch_stats)
