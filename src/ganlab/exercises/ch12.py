"""Chapter 12 self-checks: a collapsed generator's samples, and the bake-off's goal over seeds."""

from __future__ import annotations

import math

import numpy as np

from ._check import Check, _call

__all__ = ["check_collapsed_samples", "check_goal_met"]


def _scores(x: np.ndarray, centers: np.ndarray, stds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For points ``x`` (N, dim): index of the nearest mode (N,) and whether each is within 3 std of
    it (N,).
    """
    dist = np.linalg.norm(x[:, None, :] - centers[None, :, :], axis=2)  # (N, K)
    nearest = dist.argmin(axis=1)
    return nearest, dist[np.arange(len(x)), nearest] <= 3 * stds[nearest]


def check_collapsed_samples(fn) -> Check:
    """Check ``fn(mixture, n, generator) -> (n, dim)`` points that all sit within 3 std of ONE mode.

    ``mixture`` is a ``ganlab`` Gaussian mixture (``.centers`` (K, dim), ``.stds`` (K,),
    ``.sample``), ``n`` the number of points, ``generator`` a seeded ``torch.Generator`` to draw
    with (or to ignore). The check tries the ring and the grid with a few sizes.
    """
    import torch

    from ..mixtures import grid, ring

    for name, mixture in (("ring()", ring()), ("grid()", grid())):
        centers, stds = mixture.centers.numpy(), mixture.stds.numpy()
        k, dim = len(centers), centers.shape[1]
        for n in (2500, 37):
            out, error = _call(fn, mixture, n, torch.Generator().manual_seed(n))
            if error is not None:
                return error
            if out.shape == (dim, n) and n != dim:
                return Check(
                    False,
                    f"for {name} and n={n} you return shape {out.shape}: transposed, "
                    f"one row per point is ({n}, {dim})",
                )
            if out.shape != (n, dim):
                return Check(
                    False, f"for {name} and n={n} expected shape ({n}, {dim}), got {out.shape}"
                )
            if not np.isfinite(out).all():
                return Check(False, f"for {name} your points contain NaN or infinite values")
            nearest, hq = _scores(out, centers, stds)
            modes = len(np.unique(nearest[hq]))
            if not hq.any():
                return Check(
                    False,
                    f"for {name} none of your points is within 3 std of a mode (the nearest is "
                    f"{np.min(np.linalg.norm(out[:, None] - centers[None], axis=2)):.3g} away, "
                    f"std {stds[0]:g}): put them at a mode, e.g. around mixture.centers[0]",
                )
            if modes > 1:
                return Check(
                    False,
                    f"for {name} your high-quality points cover {modes} of {k} modes; a collapsed "
                    "generator puts every sample on a single mode: use one center for all of them",
                )
            if not hq.all():
                share = 1 - hq.mean()
                gaussian = math.exp(-4.5) if dim == 2 else float("nan")
                return Check(
                    False,
                    f"for {name}, {share:.1%} of your points lie farther than 3 std from the mode. "
                    f"Even the real data do that: a 2-D Gaussian puts exp(-4.5) = {gaussian:.1%} "
                    "of its mass beyond 3 std. A collapsed generator is narrower than the mode: "
                    "shrink the spread (e.g. 0.5 std) or put every point on the center",
                )
    return Check(
        True,
        "right: mode_coverage of these samples gives 1 mode, 100 % high quality and reverse KL "
        "log K, the largest it can be; high quality alone says nothing about coverage",
    )


def _goal_right(modes, hq, n_modes):
    return bool(np.median(modes) == n_modes and np.median(hq) >= 0.9)


def _upper_median(values):
    return sorted(values)[len(values) // 2]


# (modes per seed, HQ fraction per seed, modes of the mixture): each row separates the right rule
# from a wrong one
_GOAL_CASES = [
    ([25, 25, 25, 25, 25], [0.95, 0.96, 0.94, 0.95, 0.97], 25),  # every seed meets it
    ([25, 25, 25, 20, 18], [0.95, 0.93, 0.92, 0.95, 0.94], 25),  # median 25 modes; the mean is 22.6
    ([25, 25, 25, 25, 25], [0.95, 0.95, 0.95, 0.3, 0.3], 25),  # median HQ 0.95; the mean is 0.68
    ([25, 24, 25, 24], [0.95, 0.95, 0.95, 0.95], 25),  # even count: median 24.5 modes, not met
    ([25, 25, 25, 25, 25], [0.9, 0.9, 0.9, 0.5, 0.95], 25),  # median HQ exactly 0.9: met
    ([25, 25, 25, 25, 25], [0.85, 0.88, 0.89, 0.95, 0.96], 25),  # median HQ 0.89: not met
    ([8, 8, 7, 8, 8], [0.99, 0.98, 0.99, 0.97, 0.99], 8),  # the ring: 8 modes is all of them
    (
        [24, 24, 24, 24, 24],
        [0.99, 0.99, 0.99, 0.99, 0.99],
        25,
    ),  # near-perfect quality, a mode missing
    ([25, 25, 3, 25, 1], [0.95, 0.92, 0.99, 0.91, 1.0], 25),  # median 25 modes and median HQ 0.95
]

_GOAL_MISTAKES = [
    (
        lambda m, h, n: bool(np.median(m) == n and np.median(h) >= 90),
        "you compare the HQ share with 90, but it is a fraction in [0, 1]: the goal is a median of "
        "at least 0.9",
    ),
    (
        lambda m, h, n: bool(np.median(m) == 25 and np.median(h) >= 0.9),
        "on the ring (8 modes) you still ask for 25: compare with n_modes",
    ),
    (
        lambda m, h, n: bool(np.mean(m) == n and np.mean(h) >= 0.9),
        "you take means; the goal is about the median seed, which one or two bad seeds do not move",
    ),
    (
        lambda m, h, n: bool(min(m) == n and min(h) >= 0.9),
        "you ask every seed to meet the goal; it is about the median seed",
    ),
    (
        lambda m, h, n: bool(_upper_median(m) == n and _upper_median(h) >= 0.9),
        "with an even number of seeds the median is the mean of the two middle values (np.median "
        "does that); sorted(values)[n // 2] is the upper one",
    ),
    (
        lambda m, h, n: bool(np.median(m) == n and np.median(h) > 0.9),
        "the goal is HQ >= 90 %: a median of exactly 0.9 meets it (use >=, not >)",
    ),
]


def check_goal_met(fn) -> Check:
    """Check ``fn(modes, hq, n_modes) -> bool``: median modes == n_modes and median HQ >= 0.9.

    ``modes`` is a list of modes captured, one per seed; ``hq`` the high-quality share per seed,
    as a fraction in [0, 1]; ``n_modes`` the mixture's number of modes.
    """
    outs = []
    for modes, hq, n_modes in _GOAL_CASES:
        out, error = _call(fn, list(modes), list(hq), n_modes)
        if error is not None:
            return error
        if out.size != 1:
            return Check(False, f"expected one True / False, got an array of shape {out.shape}")
        outs.append(bool(out.item()))
    right = [_goal_right(*case) for case in _GOAL_CASES]
    if outs == right:
        return Check(
            True, "right: the median seed must capture every mode and have >= 90 % high quality"
        )
    for wrong, hint in _GOAL_MISTAKES:
        if outs == [wrong(*case) for case in _GOAL_CASES]:
            return Check(False, hint)
    i = next(j for j, (a, b) in enumerate(zip(outs, right)) if a != b)
    modes, hq, n_modes = _GOAL_CASES[i]
    return Check(
        False,
        f"for modes {modes}, HQ {hq} on {n_modes} modes you return {outs[i]}, expected {right[i]}: "
        "take np.median of each list; met when the median modes equal n_modes and the median HQ "
        "is at least 0.9",
    )
