"""Sample-based measures of a generator against a known mixture.

``mode_coverage`` follows the toy benchmark of VEEGAN (Srivastava et al. 2017) and PacGAN
(Lin et al. 2018): a sample is *high quality* when it lies within ``n_std`` standard deviations
of its nearest mode; a mode is *captured* when it has at least one high-quality sample; the
*reverse KL* compares the histogram of high-quality samples over modes with the mixture weights.
Use 2,500 samples to compare with the published tables.

End-of-run scores have one definition, :func:`generator_coverage`: the coverage of G's samples
from :func:`~ganlab.models.fixed_noise` (``SCORE_N`` = 2,500 vectors, seed ``SCORE_SEED``, drawn
on the CPU, so every device scores G on the same noise). ``CoverageTracker``,
``failures.compare``, ``sweep.run`` and the command line all use it, so their numbers compare.

For WGANs (chapter 10): :func:`critic_estimate` (a critic's mean gap, its estimate of W1),
:func:`w1_assignment` (the exact W1 of two point clouds) and :class:`W1Tracker` (both over
training).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from scipy.optimize import linear_sum_assignment
from scipy.spatial.distance import cdist
from scipy.stats import gaussian_kde, norm

from . import theory
from ._checks import choice, positive, positive_int
from .losses import FDivergence, bound, get_divergence
from .mixtures import GaussianMixture
from .models import fixed_noise, frozen

SCORE_N, SCORE_SEED = 2500, 1234  # samples of an end-of-run score (VEEGAN, PacGAN); their noise


@dataclass(frozen=True)
class ModeCoverage:
    """Result of :func:`mode_coverage`. ``counts[k]`` is the number of high-quality samples at mode
    k.
    """

    modes_captured: int
    n_modes: int
    high_quality: float  # share of samples within n_std·std of their nearest mode, in [0, 1]
    reverse_kl: (
        float  # KL(high-quality mode histogram ‖ mixture weights), nats; inf with no HQ sample
    )
    counts: tuple[int, ...]

    def __str__(self) -> str:
        return (
            f"{self.modes_captured}/{self.n_modes} modes, {100 * self.high_quality:.1f}% high "
            f"quality, reverse KL {self.reverse_kl:.3f}"
        )


def _as_points(samples, dim: int) -> torch.Tensor:
    x = torch.as_tensor(
        np.asarray(
            samples.detach().cpu() if isinstance(samples, torch.Tensor) else samples,
            dtype=np.float64,
        )
    )
    if x.ndim == 1 and dim == 1:
        x = x[:, None]
    if x.ndim != 2 or x.shape[1] != dim or x.shape[0] == 0:
        raise ValueError(f"expected samples of shape (N, {dim}) with N >= 1, got {tuple(x.shape)}")
    if not torch.isfinite(x).all():
        raise ValueError("samples contain NaN or infinite values")
    return x


def mode_coverage(samples, mixture: GaussianMixture, n_std: float = 3.0) -> ModeCoverage:
    """Modes captured, high-quality share and reverse KL of ``samples`` ``(N, dim)`` on
    ``mixture``.
    """
    positive("n_std", n_std)
    x = _as_points(samples, mixture.dim)
    dist, nearest = torch.cdist(x, mixture.centers).min(
        dim=1
    )  # (N,) distance to, index of nearest mode
    hq = dist <= n_std * mixture.stds[nearest]
    counts = torch.bincount(nearest[hq], minlength=mixture.n_modes)
    if hq.any():
        hist = counts.double() / counts.sum()
        reverse_kl = float(torch.where(hist > 0, hist * (hist / mixture.weights).log(), 0.0).sum())
    else:
        reverse_kl = float("inf")
    return ModeCoverage(
        int((counts > 0).sum()),
        mixture.n_modes,
        float(hq.double().mean()),
        reverse_kl,
        tuple(int(c) for c in counts),
    )


def generator_coverage(
    G: torch.nn.Module, mixture: GaussianMixture, n: int = SCORE_N, seed: int = SCORE_SEED
) -> ModeCoverage:
    """:func:`mode_coverage` of ``G(z)`` for ``z = fixed_noise(n, G.latent_dim, seed)``: the score.

    The noise is drawn on the CPU and moved to G's device; a conditional G draws every class
    equally often (``y = arange(n) % num_classes``). G is run :func:`~ganlab.models.frozen`, in
    its own mode, so scoring during training changes nothing.
    """
    return mode_coverage(score_samples(G, n, seed), mixture)


def score_samples(G: torch.nn.Module, n: int = SCORE_N, seed: int = SCORE_SEED) -> torch.Tensor:
    """The samples a score looks at: ``G(z)``, ``z = fixed_noise(n, G.latent_dim, seed)``.

    As :func:`generator_coverage` describes: noise drawn on the CPU, classes equally often, G
    frozen. On G's device, without gradients.
    """
    positive_int("n", n)
    device = next(G.parameters()).device
    z = fixed_noise(n, G.latent_dim, seed).to(device)
    classes = getattr(G, "num_classes", None)
    with torch.no_grad(), frozen(G):
        return G(z) if not classes else G(z, torch.arange(n, device=device) % classes)


def jsd_1d(samples, p_data, method: str = "hist", bins: int = 100, bounds=None) -> float:
    """Estimate ``JSD(p_data ‖ p_g)`` in nats from 1D generated ``samples`` and a known density.

    ``hist``: both distributions binned on ``bins`` equal bins (``p_data``'s bin masses are exact
    for a mixture); ``kde``: a Gaussian KDE of the samples, integrated against ``p_data`` by
    quadrature. Both are biased upward by sampling noise, by roughly ``bins / (4·N)`` for ``hist``.
    """
    choice("method", method, ["hist", "kde"])
    positive_int("bins", bins)
    x = _as_points(samples, 1)[:, 0].numpy()
    if bounds is None:
        lo, hi = p_data.bounds(n_std=5.0)[0] if hasattr(p_data, "bounds") else (x.min(), x.max())
        bounds = (min(lo, x.min()), max(hi, x.max()))
    if method == "kde":
        kde = gaussian_kde(x)
        return theory.jsd(p_data, kde, bounds=bounds)
    edges = np.linspace(bounds[0], bounds[1], bins + 1)
    q = np.histogram(x, bins=edges)[0] / len(x)
    if isinstance(p_data, GaussianMixture):
        cdf = sum(
            w * norm.cdf(edges, m, s)
            for w, m, s in zip(
                p_data.weights.numpy(), p_data.centers[:, 0].numpy(), p_data.stds.numpy()
            )
        )
        p = np.diff(cdf)
    else:
        mids = 0.5 * (edges[1:] + edges[:-1])
        p = np.asarray(p_data(mids)) * np.diff(edges)
    p = p / p.sum()
    m = 0.5 * (p + q)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(p > 0, p * np.log(p / m), 0.0) + np.where(q > 0, q * np.log(q / m), 0.0)
    return float(0.5 * terms.sum())


class CoverageTracker:
    """A training callback: every ``every`` steps, log :func:`generator_coverage` of ``n`` samples.

    Adds metrics ``modes``, ``high_quality`` and ``reverse_kl`` to the History: the score a run
    gets at its end, over training. Its noise is its own and G is run
    :func:`~ganlab.models.frozen`, so tracking does not change the training run.
    """

    def __init__(
        self,
        mixture: GaussianMixture,
        every: int = 250,
        n: int = SCORE_N,
        seed: int = SCORE_SEED,
    ):
        positive_int("every", every)
        positive_int("n", n)
        self.mixture, self.every, self.n, self.seed = mixture, every, n, seed

    def __call__(self, step, G, D, history) -> None:
        if step % self.every:
            return
        cov = generator_coverage(G, self.mixture, self.n, self.seed)
        history.log_metric("modes", step, cov.modes_captured)
        history.log_metric("high_quality", step, cov.high_quality)
        history.log_metric("reverse_kl", step, cov.reverse_kl)


class JSDTracker:
    """A training callback for 1D data: every ``every`` steps, log ``jsd`` = :func:`jsd_1d` of ``n``
    :func:`score_samples` of G against the exact ``p_data``. Its noise is seeded separately and G is
    run :func:`~ganlab.models.frozen`, so tracking does not change the training run.
    """

    def __init__(
        self,
        p_data: GaussianMixture,
        every: int = 100,
        n: int = 5000,
        seed: int = SCORE_SEED,
        method: str = "hist",
    ):
        positive_int("every", every)
        positive_int("n", n)
        choice("method", method, ["hist", "kde"])
        if p_data.dim != 1:
            raise ValueError(
                f"JSDTracker needs 1D data, got dim={p_data.dim}; use CoverageTracker in 2D"
            )
        self.p_data, self.every, self.n, self.seed, self.method = p_data, every, n, seed, method

    def __call__(self, step, G, D, history) -> None:
        if step % self.every:
            return
        samples = score_samples(G, self.n, self.seed)
        history.log_metric("jsd", step, jsd_1d(samples.cpu(), self.p_data, method=self.method))


def critic_bound(
    divergence: str | FDivergence, D: torch.nn.Module, x_real, x_fake
) -> tuple[float, float]:
    """A trained f-GAN critic's estimate of ``D_f(P‖Q)`` and its standard error, in nats.

    ``D`` outputs ``V(x)`` for a batch ``(N, dim)``; with ``T = g_f(V)`` the estimate is the
    variational bound ``mean T(x_real) − mean f*(T(x_fake))`` (:func:`ganlab.losses.bound`, in
    float64) on the samples ``x_real ~ P`` and ``x_fake ~ Q``, and its standard error
    ``sqrt(var T(x_real) / N_real + var f*(T(x_fake)) / N_fake)``. D is run
    :func:`~ganlab.models.frozen`, without gradients. Up to sampling error the estimate lies below
    ``D_f``; it reaches it only for the optimal critic ``T* = f'(p/q)``.
    """
    div = get_divergence(divergence)
    with frozen(D), torch.no_grad():
        T_real = div.activation(D(x_real)).double()
        T_fake = div.activation(D(x_fake)).double()
    n_real, n_fake = len(T_real), len(T_fake)
    if n_real < 2 or n_fake < 2:
        raise ValueError(f"need at least 2 samples of each, got {n_real} and {n_fake}")
    variance = T_real.var().item() / n_real + div.conjugate(T_fake).var().item() / n_fake
    return bound(div, T_real, T_fake).item(), float(np.sqrt(variance))


def critic_estimate(D, sample_real, sample_fake, n: int = 20_000, seed: int = 12345) -> float:
    """A critic's estimate of W1: its mean gap ``E_real D − E_fake D`` on ``n`` fresh samples of
    each (a lower bound on W1 if D is 1-Lipschitz; ``K·W1`` at best if it is K-Lipschitz).

    ``sample_real(n, generator)`` and ``sample_fake(n, generator)`` give ``(n, d)`` batches, drawn
    in that order from one generator seeded ``seed``, so every critic is scored on the same points.
    """
    positive_int("n", n)
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad(), frozen(D):
        x_real, x_fake = sample_real(n, g).float(), sample_fake(n, g).float()
        return (D(x_real).mean() - D(x_fake).mean()).item()


def w1_assignment(a, b, n: int = 500) -> float:
    """W1 between the empirical distributions of the first ``n`` points of ``a`` and of ``b``,
    exactly: the mean Euclidean distance of an optimal one-to-one matching
    (``scipy.optimize.linear_sum_assignment`` on the ``(n, n)`` distance matrix).

    ``a`` and ``b`` are arrays of shape ``(N, d)`` with at least ``n`` rows each (fewer rows: all
    of them, the same number in both). Cost O(n³): a few hundred points.
    """
    positive_int("n", n)
    a, b = np.asarray(a)[:n], np.asarray(b)[:n]
    if len(a) != len(b):
        raise ValueError(f"need as many points in a as in b, got {len(a)} and {len(b)}")
    cost = cdist(a, b)
    rows, cols = linear_sum_assignment(cost)
    return float(cost[rows, cols].mean())


class W1Tracker:
    """A training callback: every ``every`` steps, log ``w1_estimate``, the critic's mean gap
    ``E D(x_real) − E D(G(z))``, and ``w1``, :func:`w1_assignment` (the first ``n_exact`` points)
    between the same real points and G's samples.

    ``n`` real points of ``mixture`` and ``n`` noise vectors of ``latent_dim`` are drawn once, in
    that order, from a generator seeded ``seed``, so every step is measured on the same points.
    G and D are run :func:`~ganlab.models.frozen`, so tracking does not change the training run.
    """

    def __init__(
        self,
        mixture: GaussianMixture,
        every: int = 25,
        n: int = 2000,
        seed: int = 7,
        latent_dim: int = 2,
        n_exact: int = 500,
    ):
        positive_int("every", every)
        positive_int("n", n)
        positive_int("n_exact", n_exact)
        self.every, self.n_exact = every, n_exact
        g = torch.Generator().manual_seed(seed)
        self.x_real = mixture.sample(n, g).float()
        self.z = torch.randn(n, latent_dim, generator=g)

    def __call__(self, step, G, D, history) -> None:
        if step % self.every:
            return
        device = next(G.parameters()).device
        with torch.no_grad(), frozen(G, D):
            x_real, x_fake = self.x_real.to(device), G(self.z.to(device))
            gap = D(x_real).mean() - D(x_fake).mean()
        history.log_metric("w1_estimate", step, gap.item())
        x_real, x_fake = x_real.cpu().numpy(), x_fake.float().cpu().numpy()
        history.log_metric("w1", step, w1_assignment(x_real, x_fake, self.n_exact))
