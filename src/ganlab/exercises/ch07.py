"""Chapter 7 self-checks: counting captured modes, and diagnosing a failed run from its
measurements.
"""

from __future__ import annotations

import numpy as np

from ._check import Check, Unanswered, is_stub, not_answered, run

__all__ = ["check_mode_coverage", "diagnosis_quiz", "check_diagnosis"]


def _coverage_cases():
    """Hand-made samples with known answers: (samples, centers, std, modes, high-quality share)."""
    rng = np.random.default_rng(7)
    angles = 2 * np.pi * np.arange(6) / 6
    centers = 2.0 * np.stack([np.cos(angles), np.sin(angles)], axis=1)  # 6 modes on a circle
    std = 0.1
    directions = rng.normal(size=(45, 2))
    directions /= np.linalg.norm(directions, axis=1, keepdims=True)
    close = centers[5] + 0.5 * std * directions[:5]  # 5 high quality at mode 5 (0.5 std)
    near = centers[0] + 1.5 * std * directions[5:15]  # 10 high quality at mode 0 (1.5 std)
    edge = centers[1] + 2.9 * std * directions[15:25]  # 10 high quality at mode 1 (2.9 std)
    outside = (
        centers[2] + 3.5 * std * directions[25:35]
    )  # 10 just outside 3 std of mode 2: not captured
    between = 0.5 * (centers[3] + centers[4]) + 0.05 * directions[35:45]  # 10 between modes 3 and 4
    exact = np.repeat(centers[4:5], 3, axis=0)  # 3 exactly on mode 4
    samples = np.concatenate([close, near, edge, outside, between, exact])
    cases = [(samples, centers, std, 4, 28 / 48)]
    # the same samples when the modes are wider (std 0.2): mode 2's ring of samples now counts too
    cases.append((samples, centers, 0.2, 5, 38 / 48))
    # every sample exactly on a center: all six modes, all high quality
    cases.append((np.repeat(centers, 3, axis=0), centers, std, 6, 1.0))
    return cases


def check_mode_coverage(fn) -> Check:
    """Check ``fn(samples, centers, std) -> (modes_captured, high_quality_share)``.

    ``samples`` is ``(N, 2)``, ``centers`` ``(K, 2)``, ``std`` the common standard deviation. A
    sample is of high quality within 3 std of its nearest center; a mode is captured with at least
    one high-quality sample (the VEEGAN / PacGAN protocol).
    """
    for samples, centers, std, modes, share in _coverage_cases():
        try:
            out = run(fn, samples.copy(), centers.copy(), std)
            got_modes, got_share = (float(v) for v in out)
        except Unanswered:
            return not_answered()
        except Exception as error:  # the student's code: report, don't crash the notebook
            return Check(
                False,
                f"your function raised or returned something other than two numbers: "
                f"{type(error).__name__}: {error}",
            )
        if got_modes == modes and np.isclose(got_share, share):
            continue
        if np.isclose(got_share, share * len(samples)):
            return Check(
                False,
                "the high-quality share is a fraction of all samples, in [0, 1]: divide the count "
                "by N",
            )
        dist = np.linalg.norm(samples[:, None] - centers[None], axis=2)  # (N, K)
        d_min, nearest = dist.min(axis=1), dist.argmin(axis=1)
        if got_modes == len(np.unique(nearest)) != modes:
            return Check(
                False,
                "you count every mode that is the nearest one to some sample; a mode is captured "
                "only by a *high-quality* sample, within 3 std of it",
            )
        wrong_thresholds = {
            "1 std": std,
            "2 std": 2 * std,
            "3·std² (compare distances with 3·std, not variances)": 3 * std**2,
        }
        for wrong, threshold in wrong_thresholds.items():
            hq = d_min <= threshold
            if got_modes == len(np.unique(nearest[hq])) and np.isclose(got_share, hq.mean()):
                return Check(
                    False,
                    f"your threshold looks like {wrong}; high quality means within 3 std of the "
                    "nearest mode",
                )
        return Check(
            False,
            f"on {len(centers)} modes with std {std}: expected {modes} modes and a share of "
            f"{share:.2f}, got {got_modes:g} and {got_share:.3f}; measure each sample's distance "
            "to its nearest center and compare it with 3·std",
        )
    return Check(
        True,
        "right: high quality = within 3 std of the nearest mode; captured = at least one such "
        "sample",
    )


# The quiz: five runs of chapter 7, one per setting, shown under the letters A to E in this order.
_QUIZ = {
    "A": "oscillation",
    "B": "d_too_weak",
    "C": "healthy",
    "D": "d_too_strong",
    "E": "collapse_under_capacity",
}
_HINTS = {
    "healthy": "settled traces near 1/2 mean little alone; here they come with every mode captured "
    "and many high-quality samples",
    "collapse_under_capacity": "compare the modes captured with the high-quality share: the "
    "samples are precise, but they sit on very few modes",
    "oscillation": "look at D(x) and D(G(z)) together: both move a lot, in bursts, and D stays "
    "ahead (D(x) > D(G(z))) most of the time",
    "d_too_strong": "D(G(z)) is pinned near 0 and the gradient norm reaching G is almost zero: G "
    "cannot move",
    "d_too_weak": "D(x) stays near 1/2 and D(G(z)) is as high or higher: D rates the fakes at "
    "least as real as the data, yet no sample is of high quality",
}


def diagnosis_quiz(comparison, seed: int = 0) -> dict:
    """The quiz runs: ``{letter: Run}`` with one run of each setting for ``seed``, setting names
    hidden.
    """
    return {letter: comparison.get(name, seed) for letter, name in _QUIZ.items()}


def check_diagnosis(answers) -> Check:
    """Check ``answers``, a dict ``{"A": name, ..., "E": name}`` of failure-setting names for the
    quiz runs.
    """
    if not isinstance(answers, dict):
        return Check(
            False,
            f"answers must be a dict like {{'A': 'healthy', ...}}, got {type(answers).__name__}",
        )
    names = sorted(set(_QUIZ.values()))
    if not answers or any(is_stub(name) for name in answers.values()):
        return not_answered()
    missing = [letter for letter in _QUIZ if letter not in answers]
    if missing:
        return Check(False, f"give an answer for every run; missing: {', '.join(missing)}")
    unknown = {letter: name for letter, name in answers.items() if name not in names}
    if unknown:
        return Check(False, f"unknown names {unknown}; choose from: {', '.join(names)}")
    wrong = [letter for letter in _QUIZ if answers[letter] != _QUIZ[letter]]
    if not wrong:
        return Check(True, "right: all five diagnosed from the measurements alone")
    hints = "; ".join(f"{letter}: {_HINTS[_QUIZ[letter]]}" for letter in wrong)
    return Check(False, f"{len(_QUIZ) - len(wrong)} of {len(_QUIZ)} right. Hints: {hints}")
