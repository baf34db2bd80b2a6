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


def affine_toy_gan(seed: int, a: float = 1.0, b=0.0, hidden: int = 32, depth: int = 2):
    """A seeded ``(G, D)`` for 1D data whose G is exactly ``G(z) = a·z + b``: one Gaussian.

    G is an ``MLPGenerator`` (``latent_dim=1``) whose network is a single ``nn.Linear(1, 1)``, so
    its samples are distributed as ``N(b, a²)``; D is ``toy_gan``'s MLP discriminator with
    ``depth`` hidden layers of ``hidden`` units, seeded by ``seed``. ``b`` is a number, or a range
    ``(low, high)`` to draw it from uniformly (seeded by ``seed``); a range of positive numbers is
    mirrored to a random side, so the start is near one of two modes at ``±b``. Plain modules, as
    ``ganlab.sweep.run(models=...)`` needs (give it ``functools.partial(affine_toy_gan, a=...)``);
    :func:`affine_gaussian` reads ``(b, |a|)`` back.
    """
    G, D = toy_gan(1, latent_dim=1, hidden=hidden, depth=depth, seed=seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        G.net = nn.Sequential(nn.Linear(1, 1))  # no hidden layer: G is affine
        with torch.no_grad():
            G.net[0].weight.fill_(a)
            if isinstance(b, (tuple, list)):
                low, high = b
                G.net[0].bias.uniform_(low, high)
                if low > 0:
                    G.net[0].bias.mul_(torch.randint(2, ()) * 2 - 1)
            else:
                G.net[0].bias.fill_(float(b))
    return G, D


def affine_gaussian(G: MLPGenerator) -> tuple[float, float]:
    """``(mu, sigma)`` of the Gaussian ``N(b, a²)`` that the affine G of :func:`affine_toy_gan`
    makes: its bias ``b`` and the size ``|a|`` of its weight.
    """
    layer = G.net[0]
    if not (isinstance(layer, nn.Linear) and len(G.net) == 1 and layer.weight.shape == (1, 1)):
        raise ValueError("G must be affine: a network of one nn.Linear(1, 1) (affine_toy_gan)")
    return layer.bias.item(), abs(layer.weight.item())
