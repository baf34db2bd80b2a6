"""Chapter 9 self-checks: a convex conjugate and an optimal f-GAN critic."""

from __future__ import annotations

import numpy as np

from ._check import Check, _call

__all__ = ["check_hellinger_conjugate", "check_kl_critic"]


def check_hellinger_conjugate(fn) -> Check:
    """Check ``fn(t) -> f*(t)`` for the squared Hellinger ``f(u) = (√u − 1)²``, on an array of
    ``t < 1``.
    """
    t = np.concatenate([np.linspace(-20.0, 0.95, 60), [0.0, 0.5]])
    out, error = _call(fn, t)
    if error is not None:
        return error
    if out.shape != t.shape:
        return Check(False, f"expected one value per t, shape {t.shape}, got shape {out.shape}")
    expected = t / (1.0 - t)
    if np.allclose(out, expected, rtol=1e-8, atol=1e-10):
        return Check(
            True,
            "right: f*(t) = t/(1 − t) for t < 1, reached at u = 1/(1 − t)²; "
            "for t ≥ 1 the sup is +∞, so dom f* = (−∞, 1)",
        )
    if np.allclose(out, 1.0 / (1.0 - t), rtol=1e-8):
        return Check(
            False,
            "off by a constant 1: check f*(0) = sup_u (−f(u)) = −min f = 0, "
            "since f ≥ 0 and f(1) = 0",
        )
    if np.allclose(out, t / (1.0 + t), rtol=1e-8, equal_nan=True) or np.allclose(
        out, -expected, rtol=1e-8
    ):
        return Check(
            False,
            "a sign slipped: set the derivative of t·u − (√u − 1)² to zero, "
            "t − 1 + 1/√u = 0, so √u = 1/(1 − t)",
        )
    if np.allclose(out, 0.25 * t**2 + t, rtol=1e-8):
        return Check(False, "that is the conjugate of Pearson's f(u) = (u − 1)², not of (√u − 1)²")
    if np.allclose(out, (np.sqrt(np.maximum(t, 0.0)) - 1.0) ** 2, rtol=1e-8, equal_nan=True):
        return Check(False, "you evaluated f at t; f*(t) is sup over u > 0 of t·u − f(u)")
    if not np.all(out + 1e-9 >= t):
        return Check(
            False,
            "too small: Fenchel–Young says f*(t) ≥ t·u − f(u) for every u; at u = 1 that is "
            "f*(t) ≥ t. Maximise t·u − (√u − 1)² over u > 0",
        )
    return Check(
        False,
        "not f*: maximise t·u − (√u − 1)² over u > 0 (substitute s = √u and complete the "
        "square, or set the derivative to zero), then plug the maximiser back in",
    )


def check_kl_critic(fn) -> Check:
    """Check ``fn(r) -> T*`` for the KL divergence, ``f(u) = u log u``, on an array of ratios
    ``r = p/q > 0``.
    """
    r = np.concatenate([np.geomspace(1e-3, 1e3, 50), [1.0, np.e]])
    out, error = _call(fn, r)
    if error is not None:
        return error
    if out.shape != r.shape:
        return Check(False, f"expected one value per ratio, shape {r.shape}, got shape {out.shape}")
    expected = 1.0 + np.log(r)
    if np.allclose(out, expected, rtol=1e-8, atol=1e-10):
        return Check(
            True, "right: T*(x) = f'(p/q) = 1 + log(p(x)/q(x)); then f*(T*) = exp(T* − 1) = p/q"
        )
    if np.allclose(out, np.log(r), rtol=1e-8, atol=1e-10):
        return Check(
            False,
            "you dropped a constant: the derivative of u·log u is 1 + log u. (log r is the optimal "
            "critic of f(u) = u log u − u + 1, the same divergence with a different f and f*)",
        )
    if np.allclose(out, r * np.log(r), rtol=1e-8, atol=1e-10):
        return Check(False, "that is f(r); the optimal critic is the derivative f'(r)")
    if np.allclose(out, r / (1.0 + r), rtol=1e-8) or np.allclose(
        out, np.log(r / (1.0 + r)), rtol=1e-8
    ):
        return Check(
            False,
            "that is the original GAN's optimal discriminator (or its log); "
            "for KL use f'(u) of u log u",
        )
    if np.allclose(out, -np.log(r), rtol=1e-8, atol=1e-10) or np.allclose(
        out, 1.0 - np.log(r), rtol=1e-8
    ):
        return Check(
            False,
            "a sign slipped: T* grows with p/q, since the critic scores samples that P makes "
            "likelier than Q higher",
        )
    return Check(
        False,
        "not T*: Fenchel–Young is tight at t = f'(u), so T*(x) = f'(p(x)/q(x)); "
        "differentiate f(u) = u log u",
    )
