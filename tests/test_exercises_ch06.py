import numpy as np
import pytest
from scipy.special import expit

from ganlab import exercises


def test_generator_gradient_right_answers():
    assert exercises.check_generator_gradient(lambda l: -expit(l), "minimax")
    assert exercises.check_generator_gradient(lambda l: expit(l) - 1, "nonsaturating")
    assert exercises.check_generator_gradient(lambda l: -expit(l))  # minimax is the default
    assert repr(exercises.check_generator_gradient(lambda l: -expit(l))).startswith("✅")


@pytest.mark.parametrize(
    "loss, wrong, word",
    [
        ("minimax", lambda l: expit(l), "sign"),
        ("nonsaturating", lambda l: 1 - expit(l), "sign"),
        ("minimax", lambda l: -1 / (1 - expit(l)), "sigmoid"),
        ("nonsaturating", lambda l: -1 / expit(l), "sigmoid"),
        ("minimax", lambda l: expit(l) - 1, "nonsaturating loss"),
        ("nonsaturating", lambda l: -expit(l), "minimax loss"),
        ("minimax", lambda l: np.log1p(-expit(l)), "loss itself"),
        ("nonsaturating", lambda l: np.zeros_like(l), "not ∂ℓ/∂l"),
        ("minimax", lambda l: 0.0, "shape"),
        ("minimax", lambda l: undefined_name, "NameError"),  # noqa: F821
    ],
)
def test_generator_gradient_names_the_mistake(loss, wrong, word):
    check = exercises.check_generator_gradient(wrong, loss)
    assert not check and word in check.message
    assert repr(check).startswith("❌")


def test_generator_gradient_unknown_loss():
    with pytest.raises(
        ValueError, match="unknown loss 'wgan'; choose one of: minimax, nonsaturating"
    ):
        exercises.check_generator_gradient(lambda l: l, "wgan")


def test_gradient_ratio_right_and_wrong():
    assert exercises.check_gradient_ratio(lambda d: (1 - d) / d)
    assert exercises.check_gradient_ratio(lambda d: 1 / d - 1)
    assert "upside down" in exercises.check_gradient_ratio(lambda d: d / (1 - d)).message
    assert "positive" in exercises.check_gradient_ratio(lambda d: (d - 1) / d).message
    assert "equal" in exercises.check_gradient_ratio(lambda d: 1 / d).message
    assert "not the ratio" in exercises.check_gradient_ratio(lambda d: np.ones_like(d)).message
    assert "shape" in exercises.check_gradient_ratio(lambda d: d[:3]).message
    crash = exercises.check_gradient_ratio(lambda d: 1 / 0)
    assert not crash and "ZeroDivisionError" in crash.message
