"""Chapter 11 self-checks: the projection discriminator's logit and the spectral norm by power
iteration.
"""

from __future__ import annotations

import numpy as np

from ._check import Check, _call

__all__ = ["check_projection_logit", "check_spectral_norm"]


def _projection_case(seed: int = 0):
    """Features ξ (N, F), the last layer ψ (weights w (F,), bias b), class vectors E (K, F), labels
    y (N,).
    """
    rng = np.random.default_rng(seed)
    n, f, k = 12, 6, 4
    xi, w, b = rng.normal(size=(n, f)), rng.normal(size=f), float(rng.normal())
    E, y = rng.normal(size=(k, f)), rng.integers(0, k, size=n)
    y[:k] = np.arange(k)  # every class at least once
    return xi, w, b, E, y


def check_projection_logit(fn) -> Check:
    """Check ``fn(xi, w, b, E, y) -> (N,) logits ψ(ξ) + ⟨e_y, ξ⟩`` with ``ψ(ξ) = ξ·w + b``.

    Shapes: ``xi`` (N, F) features, ``w`` (F,), ``b`` a number, ``E`` (K, F) one vector per class,
    ``y`` (N,) integer labels in ``0..K-1``.
    """
    xi, w, b, E, y = _projection_case()
    out, error = _call(fn, xi, w, b, E, y)
    if error is not None:
        return error
    psi, inner = xi @ w + b, np.sum(E[y] * xi, axis=1)
    expected = psi + inner
    if out.shape == (len(y), len(E)):
        return Check(
            False,
            f"you return shape {out.shape}, one logit per class for every image (ξ Eᵀ); "
            "D(x, y) scores each image with its own label: pick row e_y of E for each image",
        )
    if out.shape != expected.shape:
        return Check(
            False, f"expected one logit per image, shape {expected.shape}, got shape {out.shape}"
        )
    if np.allclose(out, expected, atol=1e-8):
        return Check(
            True,
            "right: logit = ξ·w + b + ⟨e_y, ξ⟩; the class enters only through the inner product",
        )
    if np.allclose(out, inner, atol=1e-8):
        return Check(
            False,
            "you return ⟨e_y, ξ⟩ only: the unconditional part ψ(ξ) = ξ·w + b, which says "
            "whether x looks real at all, is missing",
        )
    if np.allclose(out, psi, atol=1e-8):
        return Check(False, "you return ψ(ξ) only, so the logit ignores the label: add ⟨e_y, ξ⟩")
    if np.allclose(out, expected - b, atol=1e-8):
        return Check(False, "almost: the bias b of the last layer is missing")
    if np.allclose(out, psi + E[y] @ w, atol=1e-8) or np.allclose(
        out, psi + np.sum(E[y], axis=1), atol=1e-8
    ):
        return Check(
            False,
            "the class term must be the inner product of e_y with the features ξ(x) of this image",
        )
    return Check(False, "not ψ(ξ) + ⟨e_y, ξ⟩: compute xi @ w + b, then add (E[y] * xi).sum(axis=1)")


def _with_singular_values(rows: int, cols: int, sigmas, seed: int) -> np.ndarray:
    """A random ``rows × cols`` matrix U diag(σ) Vᵀ with the given singular values."""
    rng = np.random.default_rng(seed)
    U, _ = np.linalg.qr(rng.normal(size=(rows, len(sigmas))))
    V, _ = np.linalg.qr(rng.normal(size=(cols, len(sigmas))))
    return U @ np.diag(sigmas) @ V.T


def check_spectral_norm(fn) -> Check:
    """Check ``fn(W) -> σ_max(W)``, the largest singular value of a 2-D array ``W`` (any shape), to
    0.1 %.
    """
    cases = [
        ("a 2×2 upper-triangular matrix", np.array([[1.0, 4.0], [0.0, 1.0]])),
        ("a 6×4 matrix", _with_singular_values(6, 4, [3.0, 1.0, 0.5, 0.2], seed=1)),
        ("a 5×9 matrix", _with_singular_values(5, 9, [0.7, 0.4, 0.3, 0.1, 0.05], seed=2)),
        (
            "an 8×8 matrix with σ₁ = 2, σ₂ = 1.95",
            _with_singular_values(8, 8, [2.0, 1.95, 1.0, 0.5], seed=3),
        ),
    ]
    for name, W in cases:
        out, error = _call(fn, W.copy())
        if error is not None:
            return error
        if out.size != 1:
            return Check(
                False, f"for {name} expected one number, got an array of shape {out.shape}"
            )
        value, sigmas = float(out), np.linalg.svd(W, compute_uv=False)
        expected = sigmas[0]
        if np.isclose(value, expected, rtol=1e-3):
            continue
        if np.isclose(value, expected**2, rtol=1e-3):
            return Check(
                False,
                f"for {name} you return σ² = {value:.4f}: the iteration on WᵀW converges to σ², "
                "or take the norm ‖W v‖ for a unit vector v instead",
            )
        if np.isclose(value, np.linalg.norm(W), rtol=1e-3):
            return Check(
                False,
                f"for {name} you return the Frobenius norm √(Σσᵢ²) = {value:.4f}, an upper "
                "bound: the spectral norm is the largest σᵢ alone",
            )
        square = W.shape[0] == W.shape[1]
        if square and np.isclose(value, np.max(np.abs(np.linalg.eigvals(W))), rtol=1e-3):
            return Check(
                False,
                f"for {name} you return the largest |eigenvalue| {value:.4f}; for a matrix that "
                f"is not symmetric that is not σ_max = {expected:.4f}: iterate with WᵀW, which is",
            )
        if np.isclose(value, np.abs(W).max(), rtol=1e-6):
            return Check(
                False,
                f"for {name} you return the largest entry |W_ij| = {value:.4f}, a lower bound "
                f"(σ_max = {expected:.4f}): σ_max is the most W stretches a unit vector, "
                "max ‖W v‖",
            )
        if sigmas[1] * (1 - 1e-3) < value < expected:
            return Check(
                False,
                f"for {name} you get {value:.4f} < σ_max = {expected:.4f}: the iteration has "
                "not converged. Its error shrinks like (σ₂/σ₁)^(2k) after k steps, slowly when "
                "σ₂ ≈ σ₁: iterate more, or until the estimate stops changing",
            )
        return Check(
            False,
            f"for {name} expected σ_max = {expected:.4f}, got {value:.4f}: repeat "
            "v ← WᵀW v / ‖WᵀW v‖, then σ_max = ‖W v‖",
        )
    return Check(
        True, "right: power iteration on WᵀW finds the top singular vector v, and σ_max = ‖W v‖"
    )
