"""Chapter 10 self-checks: the Wasserstein-1 distance and the gradient penalty, in closed form."""

from __future__ import annotations

import numpy as np

from ._check import Check, _call

__all__ = ["check_w1_uniform", "check_linear_critic_penalty", "check_penalised_slope"]


def check_w1_uniform(fn) -> Check:
    """Check ``fn(theta) -> W1(U[0, 1], U[0, theta])`` for ``theta > 0`` (arrays of theta in, same
    shape out).
    """
    theta = np.array([0.1, 0.5, 0.9, 1.0, 1.5, 2.0, 4.0])
    expected = np.abs(1.0 - theta) / 2
    out, error = _call(fn, theta)
    if error is not None:
        return error
    if out.shape != theta.shape:
        return Check(
            False, f"expected one value per theta, shape {theta.shape}, got shape {out.shape}"
        )
    if np.allclose(out, expected, atol=1e-8):
        return Check(
            True, "right: the quantile functions are u and θ·u, so W1 = ∫₀¹ |u − θu| du = |1 − θ|/2"
        )
    if np.allclose(out, np.abs(1.0 - theta), atol=1e-8):
        return Check(
            False,
            "twice too large: |1 − θ| is how far the right ends move, but the point at "
            "quantile u moves only |1 − θ|·u; average that over u ∈ [0, 1]",
        )
    if np.allclose(out, (1.0 - theta) / 2, atol=1e-8):
        return Check(
            False, "negative for θ > 1: a distance is never negative, take the absolute value"
        )
    if np.allclose(out, np.abs(1.0 - theta) / 2 * np.log(2), atol=1e-8) or np.allclose(
        out, np.log(2)
    ):
        return Check(
            False, "that looks like a Jensen–Shannon value; W1 is a transport cost in units of x"
        )
    return Check(
        False,
        "not W1: in 1D, W1(P, Q) = ∫₀¹ |F_P⁻¹(u) − F_Q⁻¹(u)| du, with quantile functions "
        "F_P⁻¹(u) = u and F_Q⁻¹(u) = θ·u here",
    )


def check_linear_critic_penalty(fn) -> Check:
    """Check ``fn(w) -> E[(‖∇T(x̂)‖ − 1)²]`` for the linear critic ``T(x) = w·x + b`` (``w`` a 1D
    array).
    """
    cases = [
        np.array([0.3, -0.4]),
        np.array([2.0]),
        np.array([1.0, 1.0, 1.0]),
        np.array([-3.0, 0.0]),
        np.array([0.6, 0.8]),
    ]
    for w in cases:
        norm = float(np.linalg.norm(w))
        expected = (norm - 1.0) ** 2
        out, error = _call(fn, w)
        if error is not None:
            return error
        if out.size != 1:
            return Check(
                False,
                f"expected one number for w = {w.tolist()}, got shape {out.shape}: "
                "the penalty is an average, a scalar",
            )
        value = out.item()
        if np.isclose(value, expected, atol=1e-9):
            continue
        where = f"for w = {w.tolist()}"
        if np.isclose(value, (norm**2 - 1.0) ** 2, atol=1e-9):
            return Check(
                False, f"{where} you squared the norm first: the penalty uses ‖∇T‖, not ‖∇T‖²"
            )
        if np.isclose(value, norm - 1.0, atol=1e-9) or np.isclose(
            value, abs(norm - 1.0), atol=1e-9
        ):
            return Check(False, f"{where} you forgot to square (‖∇T‖ − 1)")
        if np.isclose(value, 10 * expected, atol=1e-9):
            return Check(
                False,
                f"{where} you included λ = 10; the question asks for the penalty before weighting",
            )
        if np.isclose(value, float(np.sum((np.abs(w) - 1.0) ** 2)), atol=1e-9):
            return Check(
                False, f"{where} you penalised each component of w; the penalty is on the norm ‖w‖"
            )
        return Check(
            False,
            f"{where} expected {expected:.6g}, got {value:.6g}: ∇T(x) = w at every x, "
            "so the expectation over x̂ is easy",
        )
    return Check(
        True,
        "right: ∇T = w everywhere, so the penalty is (‖w‖ − 1)², whatever x_real and x_fake are",
    )


def check_penalised_slope(fn) -> Check:
    """Check ``fn(delta, lam) -> s*``, the best slope ``s > 0`` of ``T(x) = s·x`` for two
    distributions whose means differ by ``delta > 0``, when the critic maximises
    ``s·delta − lam·(s − 1)²``.
    """
    cases = [(2.0, 10.0), (1.0, 10.0), (0.5, 1.0), (3.0, 2.0), (4.0, 0.5)]
    for delta, lam in cases:
        expected = 1.0 + delta / (2 * lam)
        out, error = _call(fn, delta, lam)
        if error is not None:
            return error
        if out.size != 1:
            return Check(False, f"expected one number, got shape {out.shape}")
        value = out.item()
        if np.isclose(value, expected, atol=1e-9):
            continue
        where = f"for delta = {delta}, lam = {lam}"
        if np.isclose(value, 1.0):
            return Check(
                False,
                f"{where} you give s = 1, the hard constraint's answer; with a soft penalty a "
                "slightly steeper critic earns more than the penalty costs",
            )
        if np.isclose(value, 1.0 + delta / lam):
            return Check(
                False, f"{where} you are off by a factor 2: d/ds of lam·(s − 1)² is 2·lam·(s − 1)"
            )
        if np.isclose(value, 1.0 - delta / (2 * lam)):
            return Check(False, f"{where} wrong sign: the gain s·delta pulls s above 1, not below")
        return Check(
            False,
            f"{where} expected {expected:.6g}, got {value:.6g}: set d/ds [s·delta − lam·(s − 1)²] "
            "= 0",
        )
    return Check(
        True, "right: s* = 1 + delta/(2λ), so the critic overestimates W1 = delta by a factor s*"
    )
