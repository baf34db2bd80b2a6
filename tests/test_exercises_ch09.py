"""Chapter 9 self-checks: right answers pass, typical wrong ones get their hint."""

import numpy as np

from ganlab import exercises
from ganlab.losses import DIVERGENCES


def test_hellinger_conjugate():
    right = exercises.check_hellinger_conjugate(lambda t: t / (1 - t))
    assert right and "t/(1 − t)" in right.message
    # the library's conjugate is the same function: the check and ganlab agree
    assert exercises.check_hellinger_conjugate(DIVERGENCES["hellinger"].conjugate)
    constant = exercises.check_hellinger_conjugate(lambda t: 1 / (1 - t))
    assert not constant and "constant 1" in constant.message
    sign = exercises.check_hellinger_conjugate(lambda t: t / (1 + t))
    assert not sign and "sign" in sign.message
    pearson = exercises.check_hellinger_conjugate(lambda t: t**2 / 4 + t)
    assert not pearson and "Pearson" in pearson.message
    too_small = exercises.check_hellinger_conjugate(lambda t: t - 2.0)
    assert not too_small and "Fenchel–Young" in too_small.message
    shape = exercises.check_hellinger_conjugate(lambda t: 0.0)
    assert not shape and "shape" in shape.message
    crash = exercises.check_hellinger_conjugate(lambda t: 1 / 0)
    assert not crash and "ZeroDivisionError" in crash.message
    other = exercises.check_hellinger_conjugate(lambda t: t / (1 - t) + 0.01 * t**2)
    assert not other and "maximise" in other.message


def test_kl_critic():
    right = exercises.check_kl_critic(lambda r: 1 + np.log(r))
    assert right and "1 + log" in right.message
    assert exercises.check_kl_critic(DIVERGENCES["kl"].f_prime)
    no_one = exercises.check_kl_critic(np.log)
    assert not no_one and "dropped a constant" in no_one.message
    f_itself = exercises.check_kl_critic(lambda r: r * np.log(r))
    assert not f_itself and "f(r)" in f_itself.message
    gan = exercises.check_kl_critic(lambda r: r / (1 + r))
    assert not gan and "original GAN" in gan.message
    sign = exercises.check_kl_critic(lambda r: -np.log(r))
    assert not sign and "sign" in sign.message
    other = exercises.check_kl_critic(lambda r: 2 * (r - 1))
    assert not other and "differentiate" in other.message


def test_alternative_divergence():
    right = exercises.check_alternative_divergence(lambda u: 1 / (2 * u) - 0.5)
    assert right and "1/(2u)" in right.message
    assert exercises.check_alternative_divergence(lambda u: 1 / (2 * u) - 0.5 + 3 * (u - 1))
    constant = exercises.check_alternative_divergence(lambda u: 1 / (2 * u))
    assert not constant and "h(1) must be 0" in constant.message
    f_itself = exercises.check_alternative_divergence(lambda u: -np.log(u))
    assert not f_itself and "f itself" in f_itself.message
    times_u = exercises.check_alternative_divergence(lambda u: u * np.log(u))
    assert not times_u and "divides by u" in times_u.message
    other = exercises.check_alternative_divergence(lambda u: (u - 1) ** 2)
    assert not other and "integrate twice" in other.message
    shape = exercises.check_alternative_divergence(lambda u: 0.0)
    assert not shape and "shape" in shape.message
