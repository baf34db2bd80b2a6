import numpy as np
from scipy.special import xlogy

from ganlab import exercises


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
