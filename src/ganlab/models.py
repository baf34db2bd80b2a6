"""Networks: small MLPs for the toy mixtures.

The discriminator returns a *logit* ``l`` (``D(x) = sigmoid(l)``), never a probability: the
losses use ``binary_cross_entropy_with_logits``, which stays finite where ``log(sigmoid)`` would not.
"""

from __future__ import annotations

import torch
from torch import nn

from ._checks import positive_int


def _mlp(in_dim: int, out_dim: int, hidden: int, depth: int, activation) -> nn.Sequential:
    layers, width = [], in_dim
    for _ in range(depth):  # depth hidden layers of `hidden` units
        layers += [nn.Linear(width, hidden), activation()]
        width = hidden
    layers.append(nn.Linear(width, out_dim))
    return nn.Sequential(*layers)


def _check_last_dim(model: str, x: torch.Tensor, dim: int) -> None:
    if x.ndim != 2 or x.shape[1] != dim:
        raise ValueError(f"{model} expects inputs of shape (N, {dim}), got {tuple(x.shape)}")


class MLPGenerator(nn.Module):
    """``G: z ∈ R^latent_dim → x ∈ R^out_dim``, ``depth`` hidden ReLU layers of ``hidden`` units."""

    def __init__(self, latent_dim: int, out_dim: int, hidden: int = 128, depth: int = 3):
        super().__init__()
        for name, value in (("latent_dim", latent_dim), ("out_dim", out_dim), ("hidden", hidden), ("depth", depth)):
            positive_int(name, value)
        self.latent_dim, self.out_dim = latent_dim, out_dim
        self.net = _mlp(latent_dim, out_dim, hidden, depth, nn.ReLU)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        _check_last_dim("MLPGenerator", z, self.latent_dim)
        return self.net(z)  # (N, out_dim)


class MLPDiscriminator(nn.Module):
    """``D: x ∈ R^in_dim → logit``, ``depth`` hidden LeakyReLU(0.2) layers of ``hidden`` units."""

    def __init__(self, in_dim: int, hidden: int = 128, depth: int = 3):
        super().__init__()
        for name, value in (("in_dim", in_dim), ("hidden", hidden), ("depth", depth)):
            positive_int(name, value)
        self.in_dim = in_dim
        self.net = _mlp(in_dim, 1, hidden, depth, lambda: nn.LeakyReLU(0.2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_last_dim("MLPDiscriminator", x, self.in_dim)
        return self.net(x).squeeze(1)  # (N,) logits


def toy_gan(data_dim: int, latent_dim: int = 2, hidden: int = 128, depth: int = 3, seed: int = 0):
    """A seeded ``(G, D)`` pair of MLPs for a ``data_dim``-dimensional toy mixture."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        G = MLPGenerator(latent_dim, data_dim, hidden, depth)
        D = MLPDiscriminator(data_dim, hidden, depth)
    return G, D


@torch.no_grad()
def generate(G: nn.Module, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """``n`` samples ``G(z)``, ``z ~ N(0, I)``, on G's device, without gradients."""
    positive_int("n", n)
    device = next(G.parameters()).device
    z = torch.randn(n, G.latent_dim, generator=generator, device=device)
    return G(z)
