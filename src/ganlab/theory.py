"""Exact GAN theory for known densities: the optimal discriminator, KL, JSD and the value V(G, D).

Densities are vectorised callables ``p(x) -> ndarray`` (a :class:`~ganlab.mixtures.GaussianMixture`
qualifies: it is callable). In 1D the integrals are done by adaptive quadrature
(``scipy.integrate.quad``); in 2D by the trapezoid rule on a grid fine enough to resolve the
narrowest component. Logarithms are natural, so divergences are in nats (JSD ≤ log 2).
"""

from __future__ import annotations

import math
import warnings

import numpy as np
from scipy import integrate
from scipy.special import expit, log_expit, xlogy

LOG4 = math.log(4.0)


def _log_density(p, x) -> np.ndarray:
    """``log p(x)``, in log space when ``p`` has an exact ``log_prob`` (no underflow in the
    tails).
    """
    if hasattr(p, "log_prob"):
        return np.asarray(p.log_prob(x), dtype=np.float64)
    with np.errstate(divide="ignore"):
        return np.log(np.asarray(p(x), dtype=np.float64))


def _xlog_ratio(log_a: np.ndarray, log_b: np.ndarray) -> np.ndarray:
    """``a · log(a/b)`` from logs, with ``0 · log(0/b) = 0``."""
    a = np.exp(log_a)
    with np.errstate(invalid="ignore"):
        return np.where(a > 0, a * (log_a - log_b), 0.0)


class OptimalDiscriminator:
    """``D*(x) = p_data(x) / (p_data(x) + p_g(x))``, the maximiser of V(G, ·) for a fixed G.

    Computed in log space, ``D* = sigmoid(log p_data − log p_g)``, so it stays exact in the tails.
    Where both densities vanish every D is optimal; we return 1/2 there.
    """

    def __init__(self, p_data, p_g):
        self.p_data, self.p_g = p_data, p_g

    def logit(self, x) -> np.ndarray:
        """``log p_data(x) − log p_g(x)`` (NaN where both vanish)."""
        with np.errstate(invalid="ignore"):
            return _log_density(self.p_data, x) - _log_density(self.p_g, x)

    def __call__(self, x) -> np.ndarray:
        logit = self.logit(x)
        return np.where(np.isnan(logit), 0.5, expit(logit))


def optimal_discriminator(p_data, p_g) -> OptimalDiscriminator:
    """The optimal discriminator for densities ``p_data`` and ``p_g`` (a vectorised callable)."""
    return OptimalDiscriminator(p_data, p_g)


def _dim(densities) -> int:
    dims = {getattr(p, "dim", None) for p in densities} - {None}
    if len(dims) > 1:
        raise ValueError(f"densities of different dimensions: {sorted(dims)}")
    return dims.pop() if dims else 1


def _domain(densities, bounds):
    """Integration box and break points: given bounds, else the mixtures' own ±8 std."""
    mixtures = [p for p in densities if hasattr(p, "bounds")]
    if bounds is None:
        if len(mixtures) < len(densities):
            raise ValueError(
                "pass bounds=(low, high) (1D) or ((x0, x1), (y0, y1)) (2D) for plain callables"
            )
        per_dim = list(zip(*[m.bounds() for m in mixtures]))
        bounds = [(min(lo for lo, _ in d), max(hi for _, hi in d)) for d in per_dim]
    bounds = np.asarray(bounds, dtype=np.float64).reshape(-1, 2)
    if not (bounds[:, 1] > bounds[:, 0]).all():
        raise ValueError(f"bounds must have low < high, got {bounds.tolist()}")
    stds = [float(m.stds.min()) for m in mixtures]
    points = (
        np.concatenate([m.centers.numpy().ravel() for m in mixtures]) if mixtures else np.array([])
    )
    return bounds, points, (min(stds) if stds else None)


def integrate_density(f, densities, bounds=None, grid_points: int | None = None) -> float:
    """``∫ f(x) dx`` where ``f`` is vectorised; the domain comes from ``densities`` or
    ``bounds``.
    """
    dim = _dim(densities)
    box, points, min_std = _domain(densities, bounds)
    if dim == 1:
        lo, hi = box[0]
        pts = np.sort(points[(points > lo) & (points < hi)])
        with warnings.catch_warnings():
            # An integrand computed by a network in float32 (a trained D) cannot reach 1e-11:
            # quad then warns of roundoff, and its value is as accurate as the integrand is.
            # Other warnings (the subdivision limit, divergence) still show.
            warnings.filterwarnings(
                "ignore", "The occurrence of roundoff error", integrate.IntegrationWarning
            )
            value, _ = integrate.quad(
                lambda t: float(f(np.array([t]))[0]),
                lo,
                hi,
                points=pts if len(pts) else None,
                limit=500,
                epsabs=1e-11,
                epsrel=1e-11,
            )
        return float(value)
    if dim == 2:
        if grid_points is None:  # about 6 points per narrowest std, capped for memory
            span = float((box[:, 1] - box[:, 0]).max())
            grid_points = int(min(2001, max(401, 6 * span / min_std if min_std else 401)))
        xs = np.linspace(*box[0], grid_points)
        ys = np.linspace(*box[1], grid_points)
        xx, yy = np.meshgrid(xs, ys, indexing="ij")
        values = f(np.stack([xx.ravel(), yy.ravel()], axis=1)).reshape(xx.shape)
        return float(integrate.trapezoid(integrate.trapezoid(values, ys, axis=1), xs))
    raise ValueError(f"exact integrals are implemented in 1D and 2D, not {dim}D")


def value(p_data, p_g, D, bounds=None) -> float:
    """``V(G, D) = E_data[log D(x)] + E_g[log(1 − D(x))]`` for a discriminator ``D(x) ∈ [0, 1]``.

    For an :class:`OptimalDiscriminator` the logs are taken from the densities, exactly.
    """
    if isinstance(D, OptimalDiscriminator):

        def f(x):
            log_a, log_b = _log_density(p_data, x), _log_density(p_g, x)
            log_total = np.logaddexp(log_a, log_b)  # log(p_data + p_g); V(D*) = Σ p·log(p / total)
            return _xlog_ratio(log_a, log_total) + _xlog_ratio(log_b, log_total)

    else:

        def f(x):
            d = np.asarray(D(x), dtype=np.float64)
            return xlogy(p_data(x), d) + xlogy(p_g(x), 1.0 - d)

    return integrate_density(f, [p_data, p_g], bounds)


def kl(p, q, bounds=None) -> float:
    """``KL(p‖q) = ∫ p log(p/q)`` in nats (``inf`` where q vanishes on p's support)."""
    return integrate_density(
        lambda x: _xlog_ratio(_log_density(p, x), _log_density(q, x)), [p, q], bounds
    )


def jsd(p, q, bounds=None) -> float:
    """``JSD(p‖q) = ½ KL(p‖m) + ½ KL(q‖m)``, ``m = (p + q)/2``, in nats (between 0 and log 2)."""

    def f(x):
        log_a, log_b = _log_density(p, x), _log_density(q, x)
        log_m = np.logaddexp(log_a, log_b) - math.log(2.0)
        return 0.5 * (_xlog_ratio(log_a, log_m) + _xlog_ratio(log_b, log_m))

    return integrate_density(f, [p, q], bounds)


def virtual_training_criterion(p_data, p_g, bounds=None) -> float:
    """``C(G) = max_D V(G, D) = V(G, D*)``; equals ``−log 4 + 2·JSD(p_data‖p_g)``."""
    return value(p_data, p_g, optimal_discriminator(p_data, p_g), bounds)


def generator_gradient(loss: str, d_fake):
    """Closed-form ``∂(generator loss)/∂l`` for one sample, as a function of
    ``D(G(z)) = sigmoid(l)``.

    ``minimax`` (``log(1 − D)``): ``−D`` — vanishes as D(G(z)) → 0, early in training.
    ``nonsaturating`` (``−log D``): ``D − 1`` — close to −1 there, the strongest signal.
    """
    d = np.asarray(d_fake, dtype=np.float64)
    if np.any((d < 0) | (d > 1)):
        raise ValueError("D(G(z)) must lie in [0, 1]")
    if loss == "minimax":
        return -d
    if loss == "nonsaturating":
        return d - 1.0
    raise ValueError(f"unknown loss {loss!r}; choose one of: minimax, nonsaturating")


def _grid(xs) -> np.ndarray:
    """``xs`` as a float64 array, checked to be an increasing 1D grid of at least 2 points."""
    xs = np.asarray(xs, dtype=np.float64)
    if xs.ndim != 1 or len(xs) < 2 or not (np.diff(xs) > 0).all():
        raise ValueError("xs must be an increasing 1D grid of at least 2 points")
    return xs


def value_of_logit(p_data, p_g, logit, xs) -> float:
    """``V(G, D)`` for ``D = sigmoid(logit)``, by the trapezoid rule on the 1D grid ``xs``.

    ``V = ∫ p_data(x) log σ(ℓ(x)) + p_g(x) log σ(−ℓ(x)) dx`` (nats). ``p_data``, ``p_g``: vectorised
    densities (a :class:`~ganlab.mixtures.GaussianMixture`, a ``scipy.stats.gaussian_kde``, any
    callable ``(n,) -> (n,)``); ``logit``: the discriminator's logit ``ℓ``, a callable ``(n,) ->
    (n,)``; ``xs``: an increasing grid ``(n,)`` that holds all the mass of both densities (what
    lies outside counts as zero). The logs come from ``scipy.special.log_expit``, so a D that
    rounds to 0 or 1 in the tails costs no ``log 0``. Far faster than :func:`value`'s adaptive
    quadrature, and as accurate for smooth densities on a grid as fine as the narrowest one needs.
    """
    xs = _grid(xs)
    l = logit(xs)
    integrand = p_data(xs) * log_expit(l) + p_g(xs) * log_expit(-l)
    return float(integrate.trapezoid(integrand, xs))


def distance_from_half(D, p_data, p_g, xs) -> float:
    """How far a discriminator is from the equilibrium's ``D ≡ 1/2``, where the data lie.

    ``∫ |D(x) − 1/2| · (p_data(x) + p_g(x)) / 2 dx``, by the trapezoid rule on the 1D grid ``xs``
    (increasing, ``(n,)``, holding all the mass of both densities): the mean of ``|D − 1/2|`` over
    an even mixture of real and generated points. ``D``: a callable ``(n,) -> (n,)`` with values in
    ``[0, 1]``; ``p_data``, ``p_g``: vectorised densities. 0 exactly when D is 1/2 wherever either
    density lives; at most 1/2.
    """
    xs = _grid(xs)
    weight = 0.5 * (p_data(xs) + p_g(xs))
    return float(integrate.trapezoid(weight * np.abs(D(xs) - 0.5), xs))


def uniform_density(low: float, high: float):
    """The density of ``U[low, high]`` as a vectorised callable ``p(x) -> ndarray``.

    ``1 / (high − low)`` on the closed interval, 0 outside; ``x`` is a scalar or an array of 1D
    points (any shape), and the result has its shape. Usable wherever this module takes a density
    (:func:`jsd`, :func:`kl`), e.g. for the shifted uniforms of chapter 10, whose supports stop
    overlapping.
    """
    if not high > low:
        raise ValueError(f"need low < high, got [{low}, {high}]")
    return lambda x: ((np.asarray(x) >= low) & (np.asarray(x) <= high)) / (high - low)


def bce_term_moments(p_data, p_g, bounds=None):
    """Mean and variance of the two per-sample terms of the discriminator's BCE at ``D*``.

    The real term is ``r(x) = −log D*(x) = softplus(−l(x))`` for ``x ~ p_data``, the fake term
    ``f(x) = −log(1 − D*(x)) = softplus(l(x))`` for ``x ~ p_g``, with ``l = log p_data − log p_g``
    the logit of D*. Returns ``((mean_r, var_r), (mean_f, var_f))``, in nats and nats², by
    adaptive quadrature (:func:`integrate_density`, 1D). The means add up to
    ``−V(G, D*) = log 4 − 2 JSD(p_data‖p_g)``; a minibatch estimate of the loss from
    ``N_real`` and ``N_fake`` samples has the variance ``var_r / N_real + var_f / N_fake``.
    """
    d_star = optimal_discriminator(p_data, p_g)
    moments = []
    for density, sign in ((p_data, -1.0), (p_g, 1.0)):

        def weighted(x, power, density=density, sign=sign):  # p(x) · softplus(∓l(x))^power
            return np.asarray(density(x)) * np.logaddexp(0.0, sign * d_star.logit(x)) ** power

        mean = integrate_density(lambda x: weighted(x, 1), [p_data, p_g], bounds)
        second = integrate_density(lambda x: weighted(x, 2), [p_data, p_g], bounds)
        moments.append((mean, second - mean**2))
    return tuple(moments)


def bce_terms_on_grid(p_data, p_g, x) -> tuple[float, float]:
    """The two terms of the discriminator's BCE at ``D*``, by the trapezoid rule on a 1D grid.

    ``(E_data[−log D*], E_g[−log(1 − D*)]) = (∫ p_data softplus(−l), ∫ p_g softplus(l))`` with
    ``l = log p_data − log p_g``, in nats; ``x`` is an increasing grid that holds both
    densities' mass. Computed from log-densities, so nothing underflows in the tails. Each term
    lies in [0, log 2] and their sum is ``log 4 − 2 JSD(p_data‖p_g)``. One vectorised pass: fast
    enough to recompute for every point of a curve or every move of a slider.
    """
    x = _grid(x)
    log_a, log_b = _log_density(p_data, x), _log_density(p_g, x)
    logit = log_a - log_b
    return (
        float(np.trapezoid(np.exp(log_a) * np.logaddexp(0.0, -logit), x)),
        float(np.trapezoid(np.exp(log_b) * np.logaddexp(0.0, logit), x)),
    )


def _criterion_integrand(log_p: np.ndarray, log_q: np.ndarray) -> np.ndarray:
    """``p log(p / (p + q)) + q log(q / (p + q))`` from logs."""
    log_total = np.logaddexp(log_p, log_q)
    return _xlog_ratio(log_p, log_total) + _xlog_ratio(log_q, log_total)


def criterion_on_grid(p_data, p_g, x) -> float:
    """``C(G) = V(G, D*) = −log 4 + 2 JSD(p_data‖p_g)`` by the trapezoid rule on a 1D grid ``x``.

    The integrand ``p log(p / (p + q)) + q log(q / (p + q))`` is formed from log-densities (no
    underflow); ``x`` must hold both densities' mass. One vectorised pass instead of
    :func:`virtual_training_criterion`'s adaptive quadrature: fast for a scan over many generators.
    """
    x = _grid(x)
    integrand = _criterion_integrand(_log_density(p_data, x), _log_density(p_g, x))
    return float(np.trapezoid(integrand, x))


def discrete_criterion(log_p, log_q) -> float:
    """``C = Σ p log(p / (p + q)) + q log(q / (p + q))`` for two probability vectors on a grid,
    given their logs (each ``logsumexp`` to 0): ``−log 4 + 2 JSD(p‖q)``, in [−log 4, 0].
    """
    return float(np.sum(_criterion_integrand(np.asarray(log_p), np.asarray(log_q))))


def discrete_jsd(log_p, log_q) -> float:
    """``JSD(p‖q) = (C + log 4) / 2`` in nats for two probability vectors given by their logs
    (see :func:`discrete_criterion`): 0 for equal vectors, log 2 for disjoint supports.
    """
    return (discrete_criterion(log_p, log_q) + LOG4) / 2


def d_star_error(d, p_data, p_g, x) -> float:
    """How far a discriminator is from ``D*`` where the samples are: the mean of
    ``|D(x) − D*(x)|`` over a 1D grid ``x``, weighted by ``(p_data(x) + p_g(x)) / 2``.

    ``d``: D's outputs (probabilities) at ``x``, shape ``(len(x),)``. The tails, where neither
    density puts samples and a network extrapolates freely, count for little. In [0, 1].
    """
    weight = 0.5 * (p_data(x) + p_g(x))
    return float(np.sum(weight * np.abs(d - optimal_discriminator(p_data, p_g)(x))) / weight.sum())
