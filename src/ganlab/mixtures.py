"""Gaussian mixtures with exact densities: the toy data sets of the book.

Because ``log_prob`` is exact, every theoretical quantity (the optimal discriminator, the
Jensen–Shannon divergence, the value of the game) can be computed and checked against
training. Components are isotropic: component ``k`` is ``N(centers[k], stds[k]² I)``.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from ._checks import choice, positive, positive_int


class GaussianMixture:
    """A mixture of isotropic Gaussians in ``dim`` dimensions.

    Args:
        centers: ``(K, dim)`` component means (a ``(K,)`` sequence means ``dim = 1``).
        stds: one standard deviation per component, ``(K,)``, or a single number.
        weights: ``(K,)`` non-negative mixture weights (normalised here); default uniform.
    """

    def __init__(self, centers, stds, weights=None):
        centers = torch.as_tensor(np.asarray(centers, dtype=np.float64))
        if centers.ndim == 1:
            centers = centers[:, None]
        if centers.ndim != 2 or centers.shape[0] == 0:
            raise ValueError(
                f"centers must have shape (K, dim) with K >= 1, got {tuple(centers.shape)}"
            )
        if not torch.isfinite(centers).all():
            raise ValueError("centers must be finite")
        k = centers.shape[0]
        stds = torch.as_tensor(np.asarray(stds, dtype=np.float64)).reshape(-1)
        if stds.numel() == 1:
            stds = stds.expand(k).clone()
        if stds.numel() != k:
            raise ValueError(f"got {stds.numel()} stds for {k} components")
        if not (torch.isfinite(stds).all() and (stds > 0).all()):
            raise ValueError(f"every std must be a positive finite number, got {stds.tolist()}")
        if weights is None:
            weights = torch.full((k,), 1.0 / k, dtype=torch.float64)
        weights = torch.as_tensor(np.asarray(weights, dtype=np.float64)).reshape(-1)
        if weights.numel() != k:
            raise ValueError(f"got {weights.numel()} weights for {k} components")
        if not (torch.isfinite(weights).all() and (weights >= 0).all() and weights.sum() > 0):
            raise ValueError(
                f"weights must be non-negative with a positive sum, got {weights.tolist()}"
            )
        self.centers = centers  # (K, dim), float64
        self.stds = stds  # (K,), float64
        self.weights = weights / weights.sum()  # (K,), float64, sums to 1

    @property
    def dim(self) -> int:
        """Dimension of a sample."""
        return self.centers.shape[1]

    @property
    def n_modes(self) -> int:
        """Number of components K."""
        return self.centers.shape[0]

    @property
    def std(self) -> float:
        """The common standard deviation (an error when components differ: use ``stds``)."""
        if not torch.allclose(self.stds, self.stds[0]):
            raise ValueError("components have different stds; use .stds")
        return float(self.stds[0])

    def log_prob(self, x):
        """Exact log-density at ``x`` of shape ``(N, dim)`` (or ``(N,)`` when ``dim = 1``).

        Returns ``(N,)``: a tensor for a tensor input (its dtype and device), a float64 array
        for a numpy input or a scalar.
        """
        as_numpy = not isinstance(x, torch.Tensor)
        t = torch.as_tensor(np.asarray(x, dtype=np.float64)) if as_numpy else x
        out_dtype = t.dtype if t.is_floating_point() else torch.float64
        t = t.to(torch.float64)
        if t.ndim <= 1 and self.dim == 1:
            t = t.reshape(-1, 1)
        if t.ndim != 2 or t.shape[1] != self.dim:
            raise ValueError(f"expected points of shape (N, {self.dim}), got {tuple(t.shape)}")
        centers, stds, weights = (a.to(t.device) for a in (self.centers, self.stds, self.weights))
        sq = torch.cdist(t, centers).square()  # (N, K) squared distances
        log_comp = -0.5 * sq / stds**2 - self.dim * (torch.log(stds) + 0.5 * math.log(2 * math.pi))
        out = torch.logsumexp(log_comp + torch.log(weights), dim=1)
        return out.numpy() if as_numpy else out.to(out_dtype)

    def pdf(self, x) -> np.ndarray:
        """Exact density as a float64 numpy array: the callable form ``ganlab.theory`` takes."""
        lp = self.log_prob(np.asarray(x, dtype=np.float64))
        return np.exp(lp)

    __call__ = pdf

    def sample(self, n: int, generator: torch.Generator | None = None, device=None) -> torch.Tensor:
        """Draw ``n`` samples, float32 ``(n, dim)``, on ``generator``'s device (or ``device``)."""
        positive_int("n", n)
        if generator is not None:
            device = generator.device
        device = torch.device(device or "cpu")
        weights = self.weights.to(device, torch.float32)
        idx = torch.multinomial(weights, n, replacement=True, generator=generator)
        noise = torch.randn(n, self.dim, generator=generator, device=device)
        centers = self.centers.to(device, torch.float32)
        stds = self.stds.to(device, torch.float32)
        return centers[idx] + stds[idx, None] * noise

    def bounds(self, n_std: float = 8.0):
        """Per-dimension ``(low, high)`` covering every component to ``n_std`` standard
        deviations.
        """
        lo = (self.centers - n_std * self.stds[:, None]).min(dim=0).values
        hi = (self.centers + n_std * self.stds[:, None]).max(dim=0).values
        return [(float(a), float(b)) for a, b in zip(lo, hi)]

    def __repr__(self) -> str:
        return f"GaussianMixture(n_modes={self.n_modes}, dim={self.dim})"


def ring(n_modes: int = 8, radius: float = 2.0, std: float = 0.02) -> GaussianMixture:
    """``n_modes`` equal Gaussians evenly spaced on a circle (the VEEGAN / PacGAN benchmark).

    Angles are ``2π·i/n_modes`` for ``i = 0..n_modes-1`` (``linspace(0, 2π, n)`` would repeat a
    mode).
    """
    positive_int("n_modes", n_modes)
    positive("radius", radius)
    positive("std", std)
    angles = 2 * math.pi * torch.arange(n_modes, dtype=torch.float64) / n_modes
    centers = radius * torch.stack([torch.cos(angles), torch.sin(angles)], dim=1)
    return GaussianMixture(centers, std)


def grid(side: int = 5, spacing: float = 2.0, std: float = 0.05) -> GaussianMixture:
    """``side × side`` equal Gaussians on a square grid centred at 0 (25 modes at -4..4 by
    default).
    """
    positive_int("side", side)
    positive("spacing", spacing)
    positive("std", std)
    axis = (torch.arange(side, dtype=torch.float64) - (side - 1) / 2) * spacing
    xx, yy = torch.meshgrid(axis, axis, indexing="ij")
    return GaussianMixture(torch.stack([xx.reshape(-1), yy.reshape(-1)], dim=1), std)


def mixture_1d(means, stds, weights=None) -> GaussianMixture:
    """A 1D mixture from its means, standard deviations and (optional) weights."""
    means = np.asarray(means, dtype=np.float64).reshape(-1)
    return GaussianMixture(means[:, None], stds, weights)


def bimodal_1d(separation: float = 4.0, std: float = 0.5, weight: float = 0.5) -> GaussianMixture:
    """Two 1D Gaussians at ``±separation/2``; ``weight`` is the left mode's share."""
    positive("separation", separation)
    positive("std", std)
    if not 0 < weight < 1:
        raise ValueError(f"weight must lie strictly between 0 and 1, got {weight!r}")
    return mixture_1d([-separation / 2, separation / 2], std, [weight, 1 - weight])


MIXTURES = {"ring": ring, "grid": grid, "bimodal_1d": bimodal_1d, "mixture_1d": mixture_1d}


def by_name(name: str, **kwargs) -> GaussianMixture:
    """Build a mixture by name: ``by_name("ring", n_modes=8)``."""
    choice("mixture", name, list(MIXTURES))
    return MIXTURES[name](**kwargs)
