"""Chapter 6 self-checks: the generator's gradient at the logit, for the minimax and non-saturating
losses.
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit

from .._checks import choice
from ._check import Check, _call

__all__ = ["check_generator_gradient", "check_gradient_ratio"]

_LOSSES = ("minimax", "nonsaturating")
_FORMULA = {
    "minimax": "∂/∂l log(1 − σ(l)) = −σ(l) = −D(G(z))",
    "nonsaturating": "∂/∂l (−log σ(l)) = σ(l) − 1 = −(1 − D(G(z)))",
}


def _logit_gradient(loss: str, d: np.ndarray) -> np.ndarray:
    """The right answer, ``∂ℓ/∂l`` as a function of ``d = σ(l)``."""
    return -d if loss == "minimax" else d - 1.0


def _d_gradient(loss: str, d: np.ndarray) -> np.ndarray:
    """``∂ℓ/∂D``: the derivative with respect to D(G(z)) instead of the logit (no sigmoid
    factor).
    """
    return -1.0 / (1.0 - d) if loss == "minimax" else -1.0 / d


def _loss_value(loss: str, d: np.ndarray) -> np.ndarray:
    return np.log1p(-d) if loss == "minimax" else -np.log(d)


def check_generator_gradient(fn, loss: str = "minimax") -> Check:
    """Check ``fn(logits) -> ∂ℓ/∂l`` for one sample's generator loss ``loss``, elementwise on an
    array.

    ``loss`` is ``"minimax"`` (``ℓ = log(1 − D(G(z)))``) or ``"nonsaturating"``
    (``ℓ = −log D(G(z))``), with ``D(G(z)) = σ(l)``.
    """
    choice("loss", loss, list(_LOSSES))
    logits = np.linspace(-6.0, 6.0, 49)
    d = expit(logits)
    out, error = _call(fn, logits)
    if error is not None:
        return error
    if out.shape != logits.shape:
        return Check(
            False, f"expected one derivative per logit, shape {logits.shape}, got shape {out.shape}"
        )
    expected = _logit_gradient(loss, d)
    other = "nonsaturating" if loss == "minimax" else "minimax"
    if np.allclose(out, expected, atol=1e-8):
        return Check(True, f"right: {_FORMULA[loss]}")
    if np.allclose(out, -expected, atol=1e-8):
        return Check(
            False,
            "the sign is flipped: G *minimises* its loss, and both losses fall as D(G(z)) rises, "
            "so ∂ℓ/∂l is negative",
        )
    if np.allclose(out, _logit_gradient(other, d), atol=1e-8):
        return Check(
            False,
            f"that is the gradient of the {other} loss; the {loss} loss is "
            + ("log(1 − D(G(z)))" if loss == "minimax" else "−log D(G(z))"),
        )
    if np.allclose(np.abs(out), np.abs(_d_gradient(loss, d)), atol=1e-8):
        return Check(
            False,
            "that is ∂ℓ/∂D, the derivative with respect to D(G(z)); the logit passes through the "
            "sigmoid first, so multiply by σ'(l) = D(1 − D)",
        )
    if np.allclose(out, _loss_value(loss, d), atol=1e-8):
        return Check(False, "that is the loss itself, not its derivative")
    return Check(
        False,
        "not ∂ℓ/∂l: write ℓ as a function of l through D = σ(l), and use σ'(l) = σ(l)(1 − σ(l))",
    )


def check_gradient_ratio(fn) -> Check:
    """Check ``fn(d_fake) -> |∂ℓ_NS/∂l| / |∂ℓ_MM/∂l|``, the factor by which the non-saturating
    loss's gradient exceeds the minimax one, as a function of ``D(G(z))`` in (0, 1), elementwise.
    """
    d = np.concatenate([np.logspace(-6, -1, 11), np.linspace(0.2, 0.95, 16)])
    out, error = _call(fn, d)
    if error is not None:
        return error
    if out.shape != d.shape:
        return Check(
            False,
            f"expected one ratio per value of D(G(z)), shape {d.shape}, got shape {out.shape}",
        )
    expected = (1.0 - d) / d
    if np.allclose(out, expected, rtol=1e-8):
        return Check(
            True, "right: (1 − D)/D, which grows like 1/D as D(G(z)) → 0 and is 1 at D = 1/2"
        )
    if np.allclose(out, 1.0 / expected, rtol=1e-8):
        return Check(
            False,
            "upside down: that is minimax over non-saturating; the non-saturating gradient is the "
            "larger one when D(G(z)) is small",
        )
    if np.allclose(out, -expected, rtol=1e-8):
        return Check(
            False,
            "a ratio of magnitudes is positive; both derivatives are negative, so their ratio is "
            "too",
        )
    if np.allclose(out, 1.0 / d, rtol=1e-8):
        return Check(
            False,
            "close for small D, but at D = 1/2 the two gradients are equal, so the ratio must be 1 "
            "there: the non-saturating derivative is −(1 − D), not −1",
        )
    return Check(
        False,
        "not the ratio: write both derivatives ∂ℓ/∂l as functions of D (the previous exercise) "
        "and divide their magnitudes",
    )
