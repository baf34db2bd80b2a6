"""The helpers chapters 2 and 4 call in one line: the BCE terms at D*, the criterion and the JSD
on a grid, the error of a discriminator against D*, and a loss's value and gradient at one logit.
"""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from scipy import integrate, stats
from scipy.special import logsumexp

import ganlab
from ganlab import losses, theory

LOG2, LOG4 = math.log(2.0), math.log(4.0)


@pytest.fixture(scope="module")
def chapter_2():
    """Chapter 2's data and frozen generator: bimodal_1d against N(0.5, 1.5²)."""
    return ganlab.bimodal_1d(), ganlab.mixture_1d([0.5], [1.5])


def test_bce_term_moments_match_direct_quadrature_and_sampling(chapter_2):
    p_data, p_g = chapter_2
    (mean_r, var_r), (mean_f, var_f) = theory.bce_term_moments(p_data, p_g)
    # the means add up to −V(G, D*) = log 4 − 2 JSD
    assert mean_r + mean_f == pytest.approx(LOG4 - 2 * theory.jsd(p_data, p_g), abs=1e-9)
    # scipy straight from the definition: softplus(−l) under p_data, softplus(l) under p_g
    logit = lambda x: np.log(p_data(np.array([x]))[0] / p_g(np.array([x]))[0])  # noqa: E731
    real = lambda x, k: p_data(np.array([x]))[0] * np.logaddexp(0, -logit(x)) ** k  # noqa: E731
    fake = lambda x, k: p_g(np.array([x]))[0] * np.logaddexp(0, logit(x)) ** k  # noqa: E731
    quad = lambda f, k: integrate.quad(f, -12, 12, args=(k,), points=[-2, 0.5, 2])[0]  # noqa: E731
    assert mean_r == pytest.approx(quad(real, 1), rel=1e-7)
    assert var_r == pytest.approx(quad(real, 2) - quad(real, 1) ** 2, rel=1e-6)
    assert var_f == pytest.approx(quad(fake, 2) - quad(fake, 1) ** 2, rel=1e-6)
    # and a Monte Carlo check of the variance of the fake term
    x = p_g.sample(200_000, torch.Generator().manual_seed(0)).numpy()[:, 0]
    terms = np.logaddexp(0, theory.optimal_discriminator(p_data, p_g).logit(x))
    assert terms.mean() == pytest.approx(mean_f, abs=0.01)
    assert terms.var() == pytest.approx(var_f, rel=0.03)
    assert var_f > var_r > 0  # chapter 2: the fake term is the noisier one


def test_bce_terms_on_grid_closed_forms_and_bounds(chapter_2):
    p_data, _ = chapter_2
    x = np.linspace(-14, 14, 8001)
    # p_g exactly the right-hand mode: real term ½ log 3, fake term log 1.5 (chapter 2, §2.5),
    # up to the modes' overlap, 8 stds apart
    real, fake = theory.bce_terms_on_grid(p_data, ganlab.mixture_1d([2.0], [0.5]), x)
    assert real == pytest.approx(0.5 * math.log(3), abs=1e-4)
    assert fake == pytest.approx(math.log(1.5), abs=1e-4)
    # p_g = p_data: both terms are log 2; any other p_g: both in [0, log 2), sum log 4 − 2 JSD
    assert theory.bce_terms_on_grid(p_data, p_data, x) == pytest.approx((LOG2, LOG2), abs=1e-9)
    for mu, s in [(0.5, 1.5), (-1.0, 0.3), (3.0, 2.0)]:
        p_g = ganlab.mixture_1d([mu], [s])
        real, fake = theory.bce_terms_on_grid(p_data, p_g, x)
        assert 0 <= real < LOG2 and 0 <= fake < LOG2
        assert real + fake == pytest.approx(LOG4 - 2 * theory.jsd(p_data, p_g), abs=1e-7)


def test_criterion_on_grid_agrees_with_quadrature():
    p = ganlab.mixture_1d([-2.0, 1.5], [0.6, 0.5], [0.5, 0.5])
    x = np.linspace(-16, 16, 16001)
    assert theory.criterion_on_grid(p, p, x) == pytest.approx(-LOG4, abs=1e-12)
    for shift in [-3.0, 0.4, 2.0]:
        q = ganlab.mixture_1d([-2.0 + shift, 1.5 + shift], [0.6, 0.5], [0.5, 0.5])
        c = theory.criterion_on_grid(p, q, x)
        assert c == pytest.approx(theory.virtual_training_criterion(p, q), abs=1e-9)
    far = ganlab.mixture_1d([-2.0 + 40, 1.5 + 40], [0.6, 0.5], [0.5, 0.5])
    x_far = np.linspace(-10, 50, 30001)
    assert theory.criterion_on_grid(p, far, x_far) == pytest.approx(0.0, abs=1e-9)  # disjoint


def test_discrete_criterion_and_jsd_of_probability_vectors():
    grid = np.linspace(-6, 6, 1201)
    log_p = stats.norm.logpdf(grid, -1, 0.7)
    log_p -= logsumexp(log_p)
    log_q = stats.norm.logpdf(grid, 1.5, 1.2)
    log_q -= logsumexp(log_q)
    p, q = np.exp(log_p), np.exp(log_q)
    m = (p + q) / 2
    jsd = 0.5 * np.sum(p * np.log(p / m)) + 0.5 * np.sum(q * np.log(q / m))
    assert theory.discrete_jsd(log_p, log_q) == pytest.approx(jsd, rel=1e-10)
    assert theory.discrete_criterion(log_p, log_q) == pytest.approx(-LOG4 + 2 * jsd, rel=1e-10)
    assert theory.discrete_jsd(log_p, log_p) == pytest.approx(0.0, abs=1e-12)
    # disjoint supports (log 0 = −inf outside): the JSD is log 2, C is 0
    left = np.where(grid < 0, 0.0, -np.inf)
    right = np.where(grid >= 0, 0.0, -np.inf)
    left, right = left - logsumexp(left), right - logsumexp(right)
    assert theory.discrete_jsd(left, right) == pytest.approx(LOG2, abs=1e-12)
    assert theory.discrete_criterion(left, right) == pytest.approx(0.0, abs=1e-12)


def test_d_star_error_is_zero_for_d_star_and_weights_where_the_samples_are(chapter_2):
    p_data, p_g = chapter_2
    xs = np.linspace(-5, 5, 1001)
    d_star = theory.optimal_discriminator(p_data, p_g)
    assert theory.d_star_error(d_star(xs), p_data, p_g, xs) == pytest.approx(0.0, abs=1e-15)
    # a constant D = 1/2: the weighted mean of |1/2 − D*|
    weight = p_data(xs) + p_g(xs)
    expected = np.sum(weight * np.abs(0.5 - d_star(xs))) / weight.sum()
    assert theory.d_star_error(np.full_like(xs, 0.5), p_data, p_g, xs) == pytest.approx(expected)
    # an error far out in the tails, where neither density has mass, barely counts
    wrong_tails = np.where(np.abs(xs) > 4.8, 1 - d_star(xs), d_star(xs))
    assert theory.d_star_error(wrong_tails, p_data, p_g, xs) < 1e-3


def test_value_and_grad_shows_where_sigmoid_then_log_breaks():
    naive = lambda l: -torch.log(torch.sigmoid(l))  # noqa: E731
    stable = lambda l: F.binary_cross_entropy_with_logits(l, torch.ones(1))  # noqa: E731
    value, grad = losses.value_and_grad(stable, -3.0)
    assert value == pytest.approx(math.log1p(math.exp(3.0)), rel=1e-6)
    assert grad == pytest.approx(1 / (1 + math.exp(3.0)) - 1, rel=1e-6)  # σ(l) − 1
    assert losses.value_and_grad(stable, -1000.0) == pytest.approx((1000.0, -1.0))
    value, grad = losses.value_and_grad(naive, -1000.0)  # float32: σ(−1000) = 0
    assert math.isinf(value) and math.isnan(grad)
    clamped = lambda l: F.binary_cross_entropy(torch.sigmoid(l), torch.ones(1))  # noqa: E731
    assert losses.value_and_grad(clamped, -1000.0) == (100.0, 0.0)  # finite, but no gradient
