"""The density of a one-dimensional implicit model ``X = g(Z)``, ``Z ~ N(0, 1)`` (chapter 1).

In one dimension every preimage of ``x`` can be found by scanning ``g`` on a fine grid of ``z``,
so the density ``p_X(x) = Σ_k φ(z_k) / |g'(z_k)|`` can be computed for any map, a generator
network included; :func:`compare_histogram` then checks it against samples of ``g(Z)``.
"""

from __future__ import annotations

import copy

import numpy as np
import torch
from scipy import stats

__all__ = [
    "Z_GRID",
    "as_numpy_map",
    "bin_masses",
    "compare_histogram",
    "density_by_preimages",
    "kink_values",
    "preimages",
    "turning_values",
]

Z_GRID = np.linspace(-8, 8, 160_001)  # P(|Z| > 8) ≈ 1e-15: nothing of Z is missed


def bin_masses(density, edges, jumps=(), spikes=(), nodes: int = 16) -> np.ndarray:
    """Probability of each bin ``[edges[i], edges[i+1])`` under ``density``, ``(len(edges) - 1,)``.

    Gauss–Legendre quadrature with ``nodes`` points on each piece. Bins are cut at ``jumps``
    (where the density jumps) and at ``spikes`` (where it is infinite); towards a spike the
    pieces shrink geometrically, so that even a steep, integrable singularity is resolved.
    ``edges`` must be equally spaced and increasing.
    """
    edges = np.asarray(edges, dtype=np.float64)
    if edges.ndim != 1 or len(edges) < 2 or np.any(np.diff(edges) <= 0):
        raise ValueError("edges must be an increasing 1D array of at least two bin edges")
    width = edges[1] - edges[0]
    grading = width * 2.0 ** -np.arange(1, 40)  # offsets width/2, width/4, ... from each spike
    spikes = np.ravel(spikes)
    cuts = np.concatenate(
        [np.ravel(jumps), spikes] + [c + sign * grading for c in spikes for sign in (-1, 1)]
    )
    pts = np.union1d(edges, cuts[(cuts > edges[0]) & (cuts < edges[-1])])  # piece boundaries
    t, w = np.polynomial.legendre.leggauss(nodes)
    a, b = pts[:-1, None], pts[1:, None]
    x = (a + b) / 2 + (b - a) / 2 * t  # (pieces, nodes) quadrature points
    piece_mass = ((b - a) / 2 * w * density(x)).sum(axis=1)
    bin_of_piece = np.searchsorted(edges, pts[:-1], side="right") - 1
    return np.bincount(bin_of_piece, weights=piece_mass, minlength=len(edges) - 1)


def compare_histogram(samples, density, edges, jumps=(), spikes=()) -> tuple[float, float]:
    """``(L1, noise)``: the L1 distance between the samples' bin shares and the density's bin
    masses (0 for a perfect match, 2 for disjoint supports), and the level sampling noise alone
    gives, ``sqrt(2/π) Σ_b sqrt(P_b (1 − P_b) / N)``. Samples outside the edges count as missing."""
    samples = np.asarray(samples)
    counts, _ = np.histogram(samples, edges)
    share = counts / len(samples)
    mass = bin_masses(density, edges, jumps, spikes)
    noise = np.sqrt(2 / np.pi) * np.sqrt(np.clip(mass * (1 - mass), 0, None) / len(samples)).sum()
    return float(np.abs(share - mass).sum()), float(noise)


def preimages(g_grid, x: float, z_grid=Z_GRID) -> tuple[np.ndarray, np.ndarray]:
    """All ``z`` with ``g(z) = x`` and the slope ``g'(z)`` there, for ``g`` known on ``z_grid``
    (``g_grid = g(z_grid)``, linear in between): each grid segment that crosses the level x."""
    g0, g1 = g_grid[:-1], g_grid[1:]
    i = np.nonzero((np.minimum(g0, g1) <= x) & (x < np.maximum(g0, g1)))[0]
    slope = (g1[i] - g0[i]) / (z_grid[i + 1] - z_grid[i])
    return z_grid[i] + (x - g0[i]) / slope, slope


def density_by_preimages(g, z_grid=Z_GRID):
    """The density of ``X = g(Z)``, ``Z ~ N(0, 1)``: the function ``x ↦ Σ_k φ(z_k) / |g'(z_k)|``
    over the preimages ``z_k`` of ``x`` (numpy arrays in, same shape out)."""
    g_grid = g(z_grid)

    def p_x(x):
        x = np.asarray(x, dtype=np.float64)
        out = [
            np.sum(stats.norm.pdf(zk) / np.abs(slope))
            for zk, slope in (preimages(g_grid, v, z_grid) for v in x.ravel())
        ]
        return np.reshape(out, x.shape)

    return p_x


def turning_values(g, z_grid=Z_GRID) -> np.ndarray:
    """``g(z)`` where ``g`` turns around (its slope changes sign): there a 1D density is infinite"""
    g_grid = g(z_grid)
    return g_grid[1:-1][np.diff(np.sign(np.diff(g_grid))) != 0]


def kink_values(g, z_grid=Z_GRID) -> np.ndarray:
    """``g(z)`` at the kinks of a piecewise-linear ``g`` (a ReLU network): where its slope jumps,
    and so where its density jumps."""
    g_grid = g(z_grid)
    slope = np.diff(g_grid) / np.diff(z_grid)
    return g_grid[1:-1][np.abs(np.diff(slope)) > 1e-9]


def as_numpy_map(G: torch.nn.Module):
    """A generator with one latent and one output dimension as a float64 numpy function
    ``z ↦ G(z)`` (same shape in and out), computed on a copy: ``G`` itself is untouched."""
    G64 = copy.deepcopy(G).double().cpu().eval()

    @torch.no_grad()
    def g(z):
        z = np.asarray(z, dtype=np.float64)
        return G64(torch.from_numpy(z.reshape(-1, 1))).numpy().reshape(z.shape)

    return g
