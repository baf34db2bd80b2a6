"""The helpers chapter 3 calls in one line: theory.value_of_logit and theory.distance_from_half
(trapezoid integrals on a grid) against quadrature and closed forms, and games.growth_factor
against the closed-form rates of play on x·y."""

import math

import numpy as np
import pytest
import torch
from scipy.special import expit
from scipy.stats import gaussian_kde

import ganlab
from ganlab import games, theory

XS = np.linspace(-15, 15, 12001)
LOG4 = math.log(4.0)


def test_value_of_logit_matches_quadrature_for_d_star_and_for_one_half():
    p_data, p_g = ganlab.bimodal_1d(), ganlab.mixture_1d([0.0], [2.2])
    d_star = theory.optimal_discriminator(p_data, p_g)
    on_grid = theory.value_of_logit(p_data, p_g, d_star.logit, XS)
    assert on_grid == pytest.approx(theory.virtual_training_criterion(p_data, p_g), abs=1e-8)
    assert on_grid > -LOG4 + 0.1  # the bump is far from the data: D* gains a lot
    half = theory.value_of_logit(p_data, p_g, lambda x: np.zeros(len(x)), XS)
    assert half == pytest.approx(-LOG4, abs=1e-9)


def test_value_of_logit_of_a_linear_logit_matches_quadrature_of_the_sigmoid():
    p_data, p_g = ganlab.mixture_1d([1.0], [0.5]), ganlab.mixture_1d([-1.0], [0.7])
    on_grid = theory.value_of_logit(p_data, p_g, lambda x: 3.0 * x, XS)
    quad = theory.value(p_data, p_g, lambda x: expit(3.0 * np.asarray(x)))
    assert on_grid == pytest.approx(quad, abs=1e-8)
    assert on_grid < theory.virtual_training_criterion(p_data, p_g)  # D* is better still


def test_value_of_logit_stays_finite_where_d_rounds_to_0_or_1():
    p_data, p_g = ganlab.mixture_1d([2.0], [0.5]), ganlab.mixture_1d([-2.0], [0.5])
    # |logit| up to 3000 in the tails: sigmoid is exactly 0 or 1 in float64 there
    value = theory.value_of_logit(p_data, p_g, lambda x: 200.0 * x, XS)
    assert math.isfinite(value) and -1e-2 < value < 0.0  # almost perfect police: V near 0
    assert value > theory.value_of_logit(p_data, p_g, lambda x: 3.0 * x, XS)


def test_value_of_logit_accepts_a_kde_and_rejects_a_bad_grid():
    p_data = ganlab.bimodal_1d()
    samples = p_data.sample(2000, generator=torch.Generator().manual_seed(0)).numpy()[:, 0]
    kde = gaussian_kde(samples)
    v = theory.value_of_logit(p_data, kde, theory.optimal_discriminator(p_data, kde).logit, XS)
    assert -LOG4 <= v < -LOG4 + 0.05  # a KDE of the data's own samples: close to the equilibrium
    with pytest.raises(ValueError, match="increasing"):
        theory.value_of_logit(p_data, p_data, np.zeros_like, XS[::-1])


def test_distance_from_half_is_zero_at_one_half_and_matches_a_closed_form():
    p = ganlab.mixture_1d([0.0], [1.0])
    assert theory.distance_from_half(lambda x: np.full(len(x), 0.5), p, p, XS) == 0.0
    # D = 1 on x > 0, 0 on x < 0: |D − 1/2| = 1/2 everywhere, the most it can be
    step = theory.distance_from_half(lambda x: (x > 0).astype(float), p, p, XS)
    assert step == pytest.approx(0.5, abs=1e-6)
    # D = sigmoid(x) against a standard normal for both: E|sigmoid(x) − 1/2| by quadrature
    d = theory.distance_from_half(expit, p, p, XS)
    quad = theory.integrate_density(lambda x: p(x) * np.abs(expit(x) - 0.5), [p])
    assert d == pytest.approx(quad, abs=1e-6)  # the kink of |·| at 0 costs the trapezoid 1e-7


def test_distance_from_half_weighs_the_data_and_the_generator_equally():
    p_data, p_g = ganlab.mixture_1d([-3.0], [0.3]), ganlab.mixture_1d([3.0], [0.3])
    # D is 1 on the data's side only: half of the mass (the data's) sees |D − 1/2| = 1/2
    d = theory.distance_from_half(lambda x: np.where(x < 0, 1.0, 0.5), p_data, p_g, XS)
    assert d == pytest.approx(0.25, abs=1e-9)


@pytest.mark.parametrize("lr", [0.1, 0.2, 0.3])
def test_growth_factor_is_the_closed_form_rate_of_play_on_xy(lr):
    xy = games.bilinear()
    sim = games.trajectory(xy, (1.0, 0.5), lr, 100)
    assert games.growth_factor(sim) == pytest.approx(math.sqrt(1 + lr**2), rel=1e-12)
    eg = games.trajectory(xy, (1.0, 0.5), lr, 100, method="extragradient")
    assert games.growth_factor(eg, k=30) == pytest.approx(math.sqrt(1 - lr**2 + lr**4), rel=1e-12)
    og = games.trajectory(xy, (1.0, 0.5), lr, 300, method="optimistic")
    mu = np.abs(np.roots([1, -(1 + 2j * lr), 1j * lr])).max()
    assert games.growth_factor(og, k=50) == pytest.approx(mu, rel=1e-6)
    assert games.growth_factor(og, k=50) < 1 < games.growth_factor(sim)  # optimistic converges


def test_growth_factor_rejects_a_too_short_path():
    path = games.trajectory(games.bilinear(), (1.0, 0.0), 0.3, 5)
    assert games.growth_factor(path, k=5) == pytest.approx(math.sqrt(1.09), rel=1e-12)
    with pytest.raises(ValueError, match="fewer than k"):
        games.growth_factor(path, k=6)
