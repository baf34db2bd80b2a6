"""Looking inside spectral normalisation (Miyato et al. 2018): the largest singular value of each
normalised layer, and its power iteration run on without training.
"""

from __future__ import annotations

import torch
from torch import nn

from .._checks import positive_int
from .sampling import frozen


def _top_sigma(weight: torch.Tensor) -> float:
    """The largest singular value of ``weight`` reshaped to ``(out, rest)``, by a full SVD."""
    return torch.linalg.svdvals(weight.detach().flatten(1))[0].item()


@torch.no_grad()
def spectral_sigmas(model: nn.Module) -> dict[str, tuple[float, float]]:
    """``{layer name: (σ(W), σ(W / estimate))}`` for every spectrally normalised layer of
    ``model``, in module order.

    ``σ`` is the largest singular value of the weight reshaped to ``(out, in · kh · kw)``, by a
    full SVD: first of the raw weight ``W`` the optimiser trains, then of the normalised weight
    the layer computes with, which is ``≈ 1`` once the power iteration has converged (and ``≥ 1``
    before: its estimate of ``σ(W)`` approaches from below). The weights are read in eval mode,
    where reading runs no iteration step; ``model``'s buffers and modes are left as they were.
    """
    with frozen(model):
        model.eval()
        return {
            name: (_top_sigma(m.parametrizations.weight.original), _top_sigma(m.weight))
            for name, m in model.named_modules()
            if hasattr(m, "parametrizations")
        }


@torch.no_grad()
def settle_spectral_norm(model: nn.Module, *inputs, steps: int) -> nn.Module:
    """Run ``steps`` training-mode forward passes ``model(*inputs)`` without gradients (inputs as
    ``model`` takes them: ``x``, or ``x, y`` for a conditional D), and return ``model`` in eval
    mode.

    Each pass is one more power-iteration step of every spectrally normalised layer, while the
    weights stay as they are (nothing is trained); batch norm's running statistics move too, as
    in any training-mode pass. In eval mode reading the weights runs no further step, so the
    estimates stay put for what follows (a gradient, :func:`spectral_sigmas`).
    """
    positive_int("steps", steps)
    model.train()
    for _ in range(steps):
        model(*inputs)
    return model.eval()
