import numpy as np
import pytest
import torch
from scipy.special import xlogy

from ganlab import exercises
from ganlab.exercises._check import NOT_ANSWERED


def test_optimal_discriminator_check_right_and_wrong():
    assert exercises.check_optimal_discriminator(lambda a, b: a / (a + b))
    swapped = exercises.check_optimal_discriminator(lambda a, b: b / (a + b))
    assert not swapped and "real" in swapped.message
    ratio = exercises.check_optimal_discriminator(lambda a, b: a / b)
    assert not ratio and "ratio" in ratio.message
    assert "shape" in exercises.check_optimal_discriminator(lambda a, b: 0.5).message
    crash = exercises.check_optimal_discriminator(lambda a, b: 1 / 0)
    assert not crash and "ZeroDivisionError" in crash.message
    assert repr(swapped).startswith("❌")


def jsd(p, q):
    m = (p + q) / 2
    return 0.5 * np.sum(xlogy(p, p) - xlogy(p, m)) + 0.5 * np.sum(xlogy(q, q) - xlogy(q, m))


def test_jsd_check_right_and_the_usual_mistakes():
    assert exercises.check_jsd(jsd)
    assert "base 2" in exercises.check_jsd(lambda p, q: jsd(p, q) / np.log(2)).message
    assert "½" in exercises.check_jsd(lambda p, q: 2 * jsd(p, q)).message
    assert "KL(p‖q)" in exercises.check_jsd(lambda p, q: np.sum(p * np.log(p / q))).message

    def naive(p, q):  # right formula, but 0·log 0 gives nan
        m = (p + q) / 2
        return 0.5 * np.sum(p * np.log(p / m)) + 0.5 * np.sum(q * np.log(q / m))

    with np.errstate(all="ignore"):
        check = exercises.check_jsd(naive)
    assert not check and "0·log 0" in check.message


def _stub(*args):
    raise NotImplementedError  # replace with your answer


VALUE_CHECKS = {"check_diagnosis", "check_relu_atom"}  # these take a value, not a function


@pytest.mark.parametrize(
    "name", [n for n in exercises.__all__ if n.startswith("check_") and n not in VALUE_CHECKS]
)
def test_every_check_says_not_answered_yet_on_a_stub_and_gives_no_hint(name):
    check = getattr(exercises, name)
    stubs = [_stub] if name == "check_training_step" else [_stub, lambda *a: None, lambda *a: ...]
    for stub in stubs:  # (a training step returns None when done: only the raise is a stub there)
        verdict = check(stub)
        assert not verdict and not verdict.answered
        assert verdict.message == NOT_ANSWERED and repr(verdict).startswith("… not answered yet")


def test_the_diagnosis_quiz_is_not_answered_while_a_run_is_left_as_dots():
    verdict = exercises.check_diagnosis({"A": "healthy", "B": ..., "C": ..., "D": ..., "E": ...})
    assert not verdict and not verdict.answered and "Hints" not in verdict.message


def test_the_hints_of_exercises_2_1_and_3_1_do_not_spell_out_the_answer():
    def naive_bce(logits, labels):  # sigmoid-then-log: overflows
        D = torch.sigmoid(logits)
        return -(labels * torch.log(D) + (1 - labels) * torch.log(1 - D)).mean()

    overflow = exercises.check_bce(naive_bce)
    assert not overflow and "overflows" in overflow.message
    assert "log1p" not in overflow.message and "softplus(" not in overflow.message
    still = exercises.check_simultaneous_step(lambda x, y, lr: (x, y))
    assert not still and "nothing moved" in still.message and "lr·y" not in still.message


def test_chapter_1_checks_right_and_wrong():
    from scipy import stats

    right = lambda x: stats.norm.pdf(np.cbrt(x)) / (3 * np.abs(np.cbrt(x)) ** 2)  # noqa: E731
    assert exercises.check_density_cube(right)
    no_jacobian = exercises.check_density_cube(lambda x: stats.norm.pdf(np.cbrt(x)))
    assert not no_jacobian and "|dG⁻¹/dx|" in no_jacobian.message
    negative = exercises.check_density_cube(lambda x: right(x) * np.sign(x))
    assert not negative and "negative" in negative.message
    assert exercises.check_relu_atom(0.5) and exercises.check_relu_atom(np.float64(0.5))
    assert not exercises.check_relu_atom(0.0) and not exercises.check_relu_atom(0.3)
    assert "[0, 1]" in exercises.check_relu_atom(2).message
    assert not exercises.check_relu_atom(None).answered
