"""Looking at a model without changing it (``frozen``), and drawing from a generator: ``generate``,
``render`` (batched, batch-norm aware), fixed noise, one class."""

from __future__ import annotations

import contextlib

import torch
from torch import nn

from .._checks import positive_int


def _as_labels(G: nn.Module, y, n: int) -> torch.Tensor:
    """``y`` as an (n,) label tensor: a tensor as it is, one int repeated n times (on the CPU)."""
    if isinstance(y, torch.Tensor):
        if y.shape != (n,):
            raise ValueError(
                f"labels y must have shape ({n},), one per sample, got {tuple(y.shape)}"
            )
        return y
    num_classes = getattr(G, "num_classes", None)
    if (
        isinstance(y, bool)
        or not isinstance(y, int)
        or num_classes is None
        or not 0 <= y < num_classes
    ):
        allowed = (
            f"an int in 0..{num_classes - 1} or an ({n},) tensor"
            if num_classes
            else "None (G is unconditional)"
        )
        raise ValueError(f"labels y must be {allowed}, got {y!r}")
    return torch.full((n,), y, dtype=torch.long)


@contextlib.contextmanager
def frozen(*modules):
    """Look at ``modules`` (a G, a D, ...) without changing them: the one way every observer runs
    them.

    On exit, every buffer is as it was (batch norm's running statistics, spectral norm's
    power-iteration vectors, which a training-mode forward pass updates) and so is the train / eval
    mode of every submodule. Inside, each module keeps its mode, so a generator in training
    normalises with the statistics of the batch, as during training; call ``.train(False)`` inside
    for the running averages. Parameters are not touched by a forward pass; take gradients with
    ``torch.autograd.grad``, not ``.backward()``, so that nothing reaches their ``.grad`` either.
    Anything that is not an ``nn.Module`` (a plain function standing in for D) is passed over.
    """
    modules = [m for m in modules if isinstance(m, nn.Module)]
    modes = [(sub, sub.training) for m in modules for sub in m.modules()]
    buffers = [b for m in modules for b in m.buffers()]
    saved = [b.detach().clone() for b in buffers]
    try:
        yield modules[0] if len(modules) == 1 else tuple(modules)
    finally:
        with torch.no_grad():
            for buffer, value in zip(buffers, saved):
                buffer.copy_(value)  # in place: a CUDA graph or an optimiser may hold the tensor
        for sub, training in modes:
            sub.training = training


@torch.no_grad()
def generate(
    G: nn.Module, n: int, generator: torch.Generator | None = None, y=None
) -> torch.Tensor:
    """``n`` samples ``G(z)``, ``z ~ N(0, I)``, on G's device, without gradients; G is left as it
    was.

    For a conditional G, ``G(z, y)``: ``y`` is an ``(n,)`` label tensor or one class for all; None
    draws the labels uniformly (after ``z``, from the same ``generator``): G's mix over the classes.
    """
    positive_int("n", n)
    device = next(G.parameters()).device
    z = torch.randn(n, G.latent_dim, generator=generator, device=device)
    num_classes = getattr(G, "num_classes", None)
    if y is None and num_classes is not None:
        y = torch.randint(num_classes, (n,), generator=generator, device=device)
    with frozen(G):
        return G(z) if y is None else G(z, _as_labels(G, y, n).to(device))


@torch.no_grad()
def render(
    G: nn.Module, z: torch.Tensor, batch_size: int = 1000, batch_stats: bool = True, *, y=None
) -> torch.Tensor:
    """``G(z)`` on the CPU, in batches, without gradients; G is left as it was (:func:`frozen`).

    ``batch_stats``: normalise with the statistics of the batch (train mode, as during training);
    False uses batch norm's running averages (eval mode), so each image depends on its own ``z``
    only. ``y``: the labels of a conditional G, ``(len(z),)`` or one class for all.
    """
    device = next(G.parameters()).device
    with frozen(G):
        G.train(batch_stats)
        if y is None:
            return torch.cat([G(part.to(device)).float().cpu() for part in z.split(batch_size)])
        y = _as_labels(G, y, len(z))
        return torch.cat(
            [
                G(part.to(device), labels.to(device)).float().cpu()
                for part, labels in zip(z.split(batch_size), y.split(batch_size))
            ]
        )


def fixed_noise(n: int, latent_dim: int, seed: int = 1234) -> torch.Tensor:
    """``n`` latent vectors from their own seeded stream (training draws are untouched), on the
    CPU.
    """
    return torch.randn(n, latent_dim, generator=torch.Generator().manual_seed(seed))


def sample_class(
    G: nn.Module, label: int, n: int = 64, seed: int = 1234, batch_stats: bool = True
) -> torch.Tensor:
    """``n`` samples of class ``label`` from a conditional G, ``G(z, label)`` with
    ``z = fixed_noise(n, ·, seed)``, on the CPU as :func:`render` gives them: the same seed gives
    every class the same ``z``.
    """
    if getattr(G, "num_classes", None) is None:
        raise ValueError(
            "sample_class needs a conditional G (built with num_classes=K), got "
            f"{type(G).__name__} with num_classes=None"
        )
    positive_int("n", n)
    return render(G, fixed_noise(n, G.latent_dim, seed), batch_stats=batch_stats, y=label)
