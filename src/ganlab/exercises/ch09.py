"""Chapter 9 self-checks: a convex conjugate, an optimal f-GAN critic, and the divergence that
the alternative generator update descends."""

from __future__ import annotations

import numpy as np

from ._check import Check, _call

__all__ = ["check_alternative_divergence", "check_hellinger_conjugate", "check_kl_critic"]


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


def check_alternative_divergence(fn) -> Check:
    """Check ``fn(u) -> h(u)``: the generator function of the divergence ``D_h`` that the
    alternative update of ``fgan-reverse-kl`` (``f(u) = −log u``) descends, ``h'' = f''/u``,
    ``h(1) = 0``. Any added ``c·(u − 1)`` is accepted (it does not change ``D_h``).
    """
    u = np.geomspace(0.05, 20.0, 200)
    out, error = _call(fn, u)
    if error is not None:
        return error
    if out.shape != u.shape:
        return Check(False, f"expected one value per u, shape {u.shape}, got shape {out.shape}")
    expected = 0.5 / u - 0.5
    rest = out - expected  # must be c·(u − 1)
    c = np.sum(rest * (u - 1.0)) / np.sum((u - 1.0) ** 2)
    if np.allclose(rest, c * (u - 1.0), rtol=1e-7, atol=1e-8):
        return Check(
            True,
            "right: h''(u) = f''(u)/u = 1/u³ gives h(u) = 1/(2u) − 1/2 (+ c·(u − 1)), so "
            "D_h = ½ ∫ q²/p − ½, half the Pearson χ² of Q from P: even more mode-seeking than "
            "the reverse KL",
        )
    rest = out - 0.5 / u  # right h'' but a wrong constant: rest is affine, a + b·u
    coef = np.linalg.lstsq(np.stack([np.ones_like(u), u], 1), rest, rcond=None)[0]
    if np.allclose(rest, coef[0] + coef[1] * u, rtol=1e-7, atol=1e-8):
        return Check(False, "h'' is right, but h(1) must be 0: subtract a constant")
    if np.allclose(out, -np.log(u), rtol=1e-8, atol=1e-10):
        return Check(
            False,
            "that is f itself (the reverse KL); the alternative update of fgan-kl descends the "
            "reverse KL, but here f(u) = −log u, so h''(u) = f''(u)/u = 1/u³",
        )
    if np.allclose(out, u * np.log(u) - u + 1.0, rtol=1e-8, atol=1e-10) or np.allclose(
        out, u * np.log(u), rtol=1e-8, atol=1e-10
    ):
        return Check(
            False,
            "h'' = 1/u is f''·u; the rule divides by u: h''(u) = f''(u)/u with f''(u) = 1/u²",
        )
    return Check(
        False,
        "not h: with f(u) = −log u, f''(u) = 1/u², so h''(u) = 1/u³; integrate twice and "
        "choose the constants so that h(1) = 0",
    )
