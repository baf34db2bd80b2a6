"""Small MLPs for the toy mixtures: ``MLPGenerator``, ``MLPDiscriminator`` and the seeded pair
``toy_gan``.
"""

from __future__ import annotations

import torch
from torch import nn

from .._checks import positive_int
from ._common import _check_options, _init_projection, _label_dim, _labels, _options, _spectral_norm


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
    """``G: z ∈ R^latent_dim → x ∈ R^out_dim``, ``depth`` hidden ReLU layers of ``hidden`` units.

    With ``num_classes``: ``G(z, y) = net([z, e_y])``, ``e_y`` a learned vector of
    ``min(num_classes, 50)`` numbers per class (Mirza & Osindero 2014).
    """

    def __init__(
        self,
        latent_dim: int,
        out_dim: int,
        hidden: int = 128,
        depth: int = 3,
        *,
        num_classes: int | None = None,
        spectral_norm: bool = False,
    ):
        super().__init__()
        for name, value in (
            ("latent_dim", latent_dim),
            ("out_dim", out_dim),
            ("hidden", hidden),
            ("depth", depth),
        ):
            positive_int(name, value)
        _check_options(num_classes)
        self.latent_dim, self.out_dim, self.num_classes = latent_dim, out_dim, num_classes
        self.hparams = dict(
            latent_dim=latent_dim, out_dim=out_dim, hidden=hidden, depth=depth
        )  # to rebuild it
        self.hparams.update(_options(num_classes, spectral_norm=spectral_norm))
        self.net = _mlp(latent_dim + _label_dim(num_classes), out_dim, hidden, depth, nn.ReLU)
        if num_classes is not None:
            self.embed = nn.Embedding(
                num_classes, _label_dim(num_classes)
            )  # e_y ~ N(0, I) at first, like z
        if spectral_norm:
            _spectral_norm(self.net)

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        _check_last_dim("MLPGenerator", z, self.latent_dim)
        y = _labels("MLPGenerator", y, len(z), self.num_classes)
        if y is not None:
            z = torch.cat([z, self.embed(y)], 1)  # (N, latent_dim + label_dim)
        return self.net(z)  # (N, out_dim)


class MLPDiscriminator(nn.Module):
    """``D: x ∈ R^in_dim → logit``, ``depth`` hidden LeakyReLU(0.2) layers of ``hidden`` units.

    With ``num_classes``: ``conditioning="concat"`` computes ``D(x, y) = net([x, e_y])``;
    ``"projection"`` computes ``ψ(ξ(x)) + ⟨e_y, ξ(x)⟩`` with ``ξ(x)`` the last hidden layer
    (``hidden`` features), ``ψ`` the output layer and ``e_y ∈ R^hidden`` (Miyato & Koyama 2018).
    """

    def __init__(
        self,
        in_dim: int,
        hidden: int = 128,
        depth: int = 3,
        *,
        num_classes: int | None = None,
        conditioning: str = "concat",
        spectral_norm: bool = False,
    ):
        super().__init__()
        for name, value in (("in_dim", in_dim), ("hidden", hidden), ("depth", depth)):
            positive_int(name, value)
        _check_options(num_classes, conditioning)
        self.in_dim, self.num_classes, self.conditioning = in_dim, num_classes, conditioning
        self.hparams = dict(in_dim=in_dim, hidden=hidden, depth=depth)
        self.hparams.update(_options(num_classes, conditioning, spectral_norm))
        concat = num_classes is not None and conditioning == "concat"
        self.net = _mlp(
            in_dim + (_label_dim(num_classes) if concat else 0),
            1,
            hidden,
            depth,
            lambda: nn.LeakyReLU(0.2),
        )
        if num_classes is not None:
            self.embed = nn.Embedding(num_classes, _label_dim(num_classes) if concat else hidden)
            if not concat:
                _init_projection(self.embed, spectral_norm)
        if spectral_norm:
            _spectral_norm(self.net)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        _check_last_dim("MLPDiscriminator", x, self.in_dim)
        y = _labels("MLPDiscriminator", y, len(x), self.num_classes)
        if y is None:
            return self.net(x).squeeze(1)  # (N,) logits
        if self.conditioning == "concat":
            return self.net(torch.cat([x, self.embed(y)], 1)).squeeze(1)
        h = self.net[:-1](x)  # ξ(x): (N, hidden)
        return self.net[-1](h).squeeze(1) + (self.embed(y) * h).sum(1)  # ψ(ξ(x)) + ⟨e_y, ξ(x)⟩


def toy_gan(
    data_dim: int,
    latent_dim: int = 2,
    hidden: int = 128,
    depth: int = 3,
    seed: int = 0,
    *,
    num_classes: int | None = None,
    conditioning: str = "concat",
    spectral_norm: bool = False,
    spectral_norm_G: bool = False,
):
    """A seeded ``(G, D)`` pair of MLPs for a ``data_dim``-dimensional toy mixture.

    Options: ``num_classes`` makes both conditional (D with ``conditioning``); ``spectral_norm``
    on D, ``spectral_norm_G`` on G.
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        G = MLPGenerator(
            latent_dim,
            data_dim,
            hidden,
            depth,
            num_classes=num_classes,
            spectral_norm=spectral_norm_G,
        )
        D = MLPDiscriminator(
            data_dim,
            hidden,
            depth,
            num_classes=num_classes,
            conditioning=conditioning,
            spectral_norm=spectral_norm,
        )
    return G, D
