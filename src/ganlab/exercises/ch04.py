"""Chapter 4 self-checks: the optimal discriminator and the Jensen–Shannon divergence."""

from __future__ import annotations

import numpy as np

from ._check import Check, _call

__all__ = ["check_optimal_discriminator", "check_jsd"]


def check_optimal_discriminator(fn) -> Check:
    """Check ``fn(p_data, p_g) -> D*`` on arrays of density values (same shape in and out)."""
    rng = np.random.default_rng(0)
    a, b = rng.uniform(0.01, 2.0, 200), rng.uniform(0.01, 2.0, 200)
    out, error = _call(fn, a, b)
    if error is not None:
        return error
    if out.shape != a.shape:
        return Check(False, f"expected one value per point, shape {a.shape}, got shape {out.shape}")
    expected = a / (a + b)
    if np.allclose(out, expected, atol=1e-8):
        return Check(
            True,
            "right: D*(x) = p_data(x) / (p_data(x) + p_g(x)), the maximiser of a·log y + b·log(1 − "
            "y)",
        )
    if np.allclose(out, 1 - expected, atol=1e-8):
        return Check(
            False, "you return p_g / (p_data + p_g): D is the probability that x is *real*"
        )
    if np.allclose(out, a / b, atol=1e-8):
        return Check(
            False, "p_data / p_g is a density ratio, not a probability: divide by the sum instead"
        )
    if np.any((out < 0) | (out > 1)):
        return Check(
            False,
            "D*(x) is a probability, so it must lie in [0, 1]; set the derivative of "
            "a·log y + b·log(1 − y) to zero and solve for y",
        )
    return Check(
        False, "not D*: set the derivative of a·log y + b·log(1 − y) to zero and solve for y"
    )


def check_jsd(fn) -> Check:
    """Check ``fn(p, q) -> JSD(p‖q)`` in nats for discrete distributions given as probability
    vectors.
    """
    rng = np.random.default_rng(1)
    p, q = rng.dirichlet(np.ones(10)), rng.dirichlet(np.ones(10))
    m = 0.5 * (p + q)
    expected = 0.5 * np.sum(p * np.log(p / m)) + 0.5 * np.sum(q * np.log(q / m))
    out, error = _call(fn, p, q)
    if error is not None:
        return error
    if out.size != 1:
        return Check(
            False, f"expected one number, got an array of shape {out.shape}: sum over the outcomes"
        )
    value = float(out)
    if np.isclose(value, expected, rtol=1e-6):
        disjoint, error = _call(fn, np.array([1.0, 0.0]), np.array([0.0, 1.0]))
        if error is not None or not np.isclose(float(disjoint), np.log(2), rtol=1e-6):
            return Check(
                False,
                "right on overlapping distributions, but for disjoint ones JSD = log 2: "
                "treat 0·log 0 as 0 (e.g. with scipy.special.xlogy)",
            )
        return Check(True, "right: JSD = ½ KL(p‖m) + ½ KL(q‖m) with m = (p + q)/2")
    if np.isclose(value, expected / np.log(2), rtol=1e-6):
        return Check(False, "you used log base 2; the book measures in nats (natural log)")
    if np.isclose(value, 2 * expected, rtol=1e-6):
        return Check(False, "twice the JSD: each KL term carries a factor ½")
    kl = float(np.sum(p * np.log(p / q)))
    if np.isclose(value, kl, rtol=1e-6):
        return Check(
            False, "that is KL(p‖q); JSD compares each distribution with the mixture m = (p + q)/2"
        )
    return Check(False, f"expected {expected:.6f}, got {value:.6f}: JSD = ½ KL(p‖m) + ½ KL(q‖m)")
