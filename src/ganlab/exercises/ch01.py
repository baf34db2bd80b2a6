"""Chapter 1 self-checks: the density of X = Z³, and the atom of X = max(Z, 0)."""

from __future__ import annotations

import numpy as np
import torch
from scipy import stats

from .. import implicit
from ._check import Check, Unanswered, is_stub, not_answered, run

__all__ = ["check_density_cube", "check_relu_atom"]


def check_density_cube(fn) -> Check:
    """Check ``fn(x) -> p_X(x)`` for ``X = Z³``, ``Z ~ N(0, 1)``, on a numpy array ``x`` (same shape
    out): its bin masses against a histogram of 200,000 samples of ``Z³`` on [−3, 3]."""
    z = torch.randn(200_000, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    edges = np.linspace(-3, 3, 61)
    try:
        values = np.asarray(run(fn, np.linspace(-3, 3, 100)), dtype=np.float64)  # not at 0
        l1, noise = implicit.compare_histogram(z.numpy() ** 3, fn, edges, spikes=[0.0])
        total = implicit.bin_masses(fn, edges, spikes=[0.0]).sum()
    except Unanswered:
        return not_answered()
    except Exception as error:  # the student's code: report, don't crash the notebook
        return Check(False, f"your function raised {type(error).__name__}: {error}")
    if values.shape != (100,):
        return Check(False, f"return one density value per point: shape (100,), got {values.shape}")
    if l1 < 3 * noise + 0.01:
        return Check(True, f"right: L1 to the histogram of Z³ = {l1:.4f} (noise about {noise:.4f})")
    if np.any(values[np.isfinite(values)] < 0):
        return Check(
            False, "your density is negative somewhere: a density is never negative (and x < 0?)"
        )
    expected = 2 * stats.norm.cdf(np.cbrt(3)) - 1  # P(|Z³| < 3)
    if abs(total - expected) > 0.05:
        return Check(
            False,
            f"your density puts mass {total:.3f} on [−3, 3], but Z³ has {expected:.3f} there: "
            "check the factor |dG⁻¹/dx|",
        )
    return Check(False, f"L1 to the histogram of Z³ = {l1:.3f}; it should be about {noise:.3f}")


def check_relu_atom(p_atom) -> Check:
    """Check ``p_atom``, your value of ``P(X = 0)`` for ``X = max(Z, 0)``, ``Z ~ N(0, 1)``."""
    if is_stub(p_atom):
        return not_answered()
    try:
        p = float(p_atom)
    except (TypeError, ValueError):
        return Check(False, f"p_atom must be a number, got {type(p_atom).__name__}")
    if not 0 <= p <= 1:
        return Check(False, f"a probability is in [0, 1], got {p}")
    if abs(p - 0.5) < 1e-3:
        return Check(True, "right: every z ≤ 0 is sent to 0, so P(X = 0) = P(Z ≤ 0) = 1/2")
    if p == 0:
        return Check(False, "X = 0 happens for a whole range of z, not for one point")
    return Check(False, f"{p} is not it: which values of z does max(z, 0) send to 0?")
