"""Chapter 10 self-checks: right answers pass, typical wrong ones get their hint."""

import numpy as np

from ganlab import exercises


def test_w1_uniform():
    assert exercises.check_w1_uniform(lambda t: np.abs(1 - t) / 2)
    for wrong, hint in [
        (lambda t: np.abs(1 - t), "twice too large"),
        (lambda t: (1 - t) / 2, "never negative"),
        (lambda t: np.full_like(t, np.log(2)), "Jensen–Shannon"),
        (lambda t: t, "quantile"),
        (lambda t: t[:2], "one value per theta"),
        (lambda t: 1 / 0, "ZeroDivisionError"),
    ]:
        verdict = exercises.check_w1_uniform(wrong)
        assert not verdict and hint in verdict.message, verdict


def test_linear_critic_penalty():
    assert exercises.check_linear_critic_penalty(lambda w: (np.linalg.norm(w) - 1) ** 2)
    for wrong, hint in [
        (lambda w: (np.sum(w**2) - 1) ** 2, "squared the norm"),
        (lambda w: np.linalg.norm(w) - 1, "forgot to square"),
        (lambda w: 10 * (np.linalg.norm(w) - 1) ** 2, "λ = 10"),
        (lambda w: np.sum((np.abs(w) - 1) ** 2), "each component"),
        (lambda w: 0, "expected"),
        (lambda w: w, "one number"),
    ]:
        verdict = exercises.check_linear_critic_penalty(wrong)
        assert not verdict and hint in verdict.message, verdict


def test_penalised_slope():
    assert exercises.check_penalised_slope(lambda delta, lam: 1 + delta / (2 * lam))
    for wrong, hint in [
        (lambda delta, lam: 1.0, "hard constraint"),
        (lambda delta, lam: 1 + delta / lam, "factor 2"),
        (lambda delta, lam: 1 - delta / (2 * lam), "wrong sign"),
        (lambda delta, lam: delta, "expected"),
    ]:
        verdict = exercises.check_penalised_slope(wrong)
        assert not verdict and hint in verdict.message, verdict


def test_registered():
    from ganlab.exercises import ch10

    assert set(ch10.__all__) <= set(exercises.__all__)
