"""Chapter 3 self-checks: one step of gradient play on x·y, and the Dirac GAN's vector field."""

from __future__ import annotations

import numpy as np
from scipy.special import expit

from ._check import Check, _call

__all__ = ["check_simultaneous_step", "check_dirac_field"]


def _pair(out, n: int, what: str):
    """``out`` as two arrays of length n, or a Check saying what shape was expected."""
    if out.shape != (2, n):
        return None, Check(
            False,
            f"return a pair ({what}), each with one value per input point "
            f"(shape {(n,)}); got an array of shape {out.shape}",
        )
    return out, None


def check_simultaneous_step(fn) -> Check:
    """Check ``fn(x, y, lr) -> (x_new, y_new)``: one simultaneous gradient step on
    ``min_x max_y x·y``.

    ``x`` and ``y`` are arrays of the same shape (many starting points at once), ``lr`` a float.
    """
    rng = np.random.default_rng(3)
    x, y, lr = rng.normal(size=50), rng.normal(size=50), 0.3
    out, error = _call(fn, x, y, lr)
    if error is not None:
        return error
    out, error = _pair(out, x.size, "x_new, y_new")
    if error is not None:
        return error
    mistakes = [
        ((x - lr * y, y + lr * x), None),
        (
            (x - lr * y, y + lr * (x - lr * y)),
            "that is the *alternating* step: y used the updated x. In a simultaneous step both "
            "players use the old point",
        ),
        (
            (x - lr * y, y - lr * x),
            "y descends x·y too: the maximising player takes a gradient *ascent* step, y + "
            "lr·∂(xy)/∂y",
        ),
        (
            (x + lr * y, y + lr * x),
            "x ascends x·y: the minimising player takes a gradient *descent* step, x − lr·∂(xy)/∂x",
        ),
        (
            (x + lr * y, y - lr * x),
            "the roles are swapped: x minimises x·y (descent), y maximises it (ascent)",
        ),
        (
            (x - lr * x, y + lr * y),
            "each player used its own coordinate as its gradient: ∂(xy)/∂x = y and ∂(xy)/∂y = x",
        ),
        ((x - y, y + x), "the step size is missing: multiply each gradient by lr"),
        ((x, y), "nothing moved: return the point after one step of each player"),
    ]
    for (x_ref, y_ref), hint in mistakes:
        if np.allclose(out[0], x_ref, atol=1e-10) and np.allclose(out[1], y_ref, atol=1e-10):
            if hint is None:
                return Check(
                    True,
                    "right: x ← x − lr·y and y ← y + lr·x, both from the old point; "
                    "the radius grows by √(1 + lr²) per step",
                )
            return Check(False, hint)
    return Check(
        False,
        "not one simultaneous step: x descends x·y (gradient y), y ascends it (gradient x), "
        "both computed at the old (x, y)",
    )


def check_dirac_field(fn) -> Check:
    """Check ``fn(theta, psi, gamma) -> (d_theta, d_psi)``: the Dirac GAN's vector field with R1.

    The value is ``V = −log 2 − softplus(psi·theta) − gamma/2·psi²``; G descends it
    (``d_theta = −∂V/∂theta``) and D ascends it (``d_psi = +∂V/∂psi``). Compare with
    ``ganlab.games.dirac_gan(gamma=...)``.
    """
    rng = np.random.default_rng(4)
    theta, psi, gamma = rng.normal(size=40), rng.normal(size=40), 0.7
    out, error = _call(fn, theta, psi, gamma)
    if error is not None:
        return error
    out, error = _pair(out, theta.size, "d_theta, d_psi")
    if error is not None:
        return error
    s = expit(psi * theta)
    right = (psi * s, -theta * s - gamma * psi)
    if np.allclose(out[0], right[0], atol=1e-8) and np.allclose(out[1], right[1], atol=1e-8):
        return Check(
            True,
            "right: v = σ(θψ)·(ψ, −θ) − (0, γψ); at (0, 0) its Jacobian has eigenvalues "
            "−γ/2 ± √(γ² − 1)/2",
        )
    mistakes = [
        (
            psi * expit(-psi * theta),
            None,
            "that d_theta is the non-saturating generator's (−log D(θ)); here G descends V itself: "
            "ψ·σ(θψ)",
        ),
        (
            -psi * s,
            None,
            "d_theta has the wrong sign: G *descends* V, so d_theta = −∂V/∂θ = ψ·σ(θψ)",
        ),
        (psi, None, "d_theta lacks the factor σ(θψ) = D(θ): the derivative of softplus(t) is σ(t)"),
        (
            None,
            theta * s + gamma * psi,
            "d_psi has the wrong sign: D *ascends* V, so d_psi = +∂V/∂ψ",
        ),
        (None, -theta * s, "d_psi lacks the R1 term: the penalty γ/2·ψ² contributes −γψ"),
        (None, -theta * s - 0.5 * gamma * psi, "the derivative of γ/2·ψ² is γψ, not γψ/2"),
        (
            None,
            -theta * s + gamma * psi,
            "the penalty is subtracted from D's objective, so it contributes −γψ",
        ),
        (
            None,
            -theta - gamma * psi,
            "d_psi lacks the factor σ(θψ): the derivative of softplus(t) is σ(t)",
        ),
    ]
    for d_theta, d_psi, hint in mistakes:
        got_theta = np.allclose(out[0], d_theta if d_theta is not None else right[0], atol=1e-8)
        got_psi = np.allclose(out[1], d_psi if d_psi is not None else right[1], atol=1e-8)
        if got_theta and got_psi:
            return Check(False, hint)
    wrong = "d_theta" if not np.allclose(out[0], right[0], atol=1e-8) else "d_psi"
    return Check(
        False,
        f"{wrong} is off: differentiate V = −log 2 − softplus(ψθ) − γ/2·ψ²; "
        "G moves along −∂V/∂θ, D along +∂V/∂ψ",
    )
