import math

import numpy as np
import pytest
import torch
from scipy import stats

import ganlab
from ganlab import losses, theory


def random_mixture(rng):
    k = int(rng.integers(1, 4))
    return ganlab.mixture_1d(
        rng.uniform(-3, 3, k), rng.uniform(0.2, 1.5, k), rng.uniform(0.1, 1, k)
    )


@pytest.mark.parametrize("seed", range(5))
def test_criterion_equals_minus_log4_plus_twice_jsd_on_random_mixtures(seed):
    rng = np.random.default_rng(seed)
    p, q = random_mixture(rng), random_mixture(rng)
    c = theory.virtual_training_criterion(p, q)
    assert c == pytest.approx(-math.log(4) + 2 * theory.jsd(p, q), abs=1e-6)
    assert c >= -math.log(4) - 1e-9


@pytest.mark.parametrize("seed", range(3))
def test_d_star_beats_any_other_discriminator(seed):
    rng = np.random.default_rng(10 + seed)
    p, q = random_mixture(rng), random_mixture(rng)
    d_star = theory.optimal_discriminator(p, q)
    best = theory.value(p, q, d_star)
    for other in (
        lambda x: np.full(len(x), 0.5),
        lambda x: np.clip(d_star(x) * 0.9 + 0.05, 0, 1),
        lambda x: 1 / (1 + np.exp(-np.asarray(x).reshape(-1))),
    ):
        assert theory.value(p, q, other) < best


def test_d_star_matches_the_closed_form():
    p, q = ganlab.mixture_1d([0.0], [1.0]), ganlab.mixture_1d([1.0], [2.0])
    x = np.linspace(-5, 5, 101)
    a, b = stats.norm.pdf(x, 0, 1), stats.norm.pdf(x, 1, 2)
    assert np.allclose(theory.optimal_discriminator(p, q)(x), a / (a + b), rtol=1e-10)
    assert np.allclose(theory.optimal_discriminator(p, p)(x), 0.5)


def test_d_one_half_gives_minus_log_4_for_any_pair():
    p, q = ganlab.mixture_1d([-2.0, 1.0], [0.3, 0.7]), ganlab.bimodal_1d()
    assert theory.value(p, q, lambda x: np.full(len(x), 0.5)) == pytest.approx(
        -math.log(4), abs=1e-9
    )


def test_kl_of_two_gaussians_matches_the_closed_form():
    m1, s1, m2, s2 = 0.3, 0.7, -1.0, 1.6
    closed = math.log(s2 / s1) + (s1**2 + (m1 - m2) ** 2) / (2 * s2**2) - 0.5
    assert theory.kl(ganlab.mixture_1d([m1], [s1]), ganlab.mixture_1d([m2], [s2])) == pytest.approx(
        closed, abs=1e-8
    )


def test_jsd_bounds_and_global_optimum():
    p = ganlab.bimodal_1d()
    assert theory.jsd(p, p) == pytest.approx(0.0, abs=1e-10)
    assert theory.virtual_training_criterion(p, p) == pytest.approx(-math.log(4), abs=1e-9)
    far = ganlab.mixture_1d([60.0], [0.5])
    assert theory.jsd(p, far) == pytest.approx(math.log(2), abs=1e-8)  # disjoint supports
    shifted = ganlab.bimodal_1d(separation=4.5)
    assert 0 < theory.jsd(p, shifted) < math.log(2)


def test_plain_callables_need_bounds():
    f = lambda x: stats.norm.pdf(np.asarray(x).reshape(-1))  # noqa: E731
    with pytest.raises(ValueError, match="pass bounds"):
        theory.jsd(f, f)
    assert theory.jsd(f, f, bounds=(-10, 10)) == pytest.approx(0.0, abs=1e-12)


def test_2d_identity_on_the_ring_grid_quadrature():
    p, q = ganlab.ring(std=0.1), ganlab.ring(std=0.2)
    j = theory.jsd(p, q)
    assert 0.02 < j < math.log(2)
    assert theory.virtual_training_criterion(p, q) == pytest.approx(-math.log(4) + 2 * j, abs=1e-6)
    assert theory.integrate_density(p.pdf, [p]) == pytest.approx(1.0, abs=1e-3)


def test_generator_gradient_curves_match_autograd_of_the_losses():
    d = np.array([0.001, 0.1, 0.5, 0.9])
    logits = torch.tensor(np.log(d / (1 - d)), requires_grad=True)
    for name in ("minimax", "nonsaturating"):
        logits.grad = None
        (losses.get_loss(name).generator(logits) * len(d)).backward()  # the loss is a mean
        assert np.allclose(logits.grad.numpy(), theory.generator_gradient(name, d), atol=1e-6)
    # early in training (D(G(z)) → 0) the minimax gradient vanishes, the non-saturating one does not
    assert (
        abs(theory.generator_gradient("minimax", 0.001))
        < 0.01
        < abs(theory.generator_gradient("nonsaturating", 0.001))
    )
    with pytest.raises(ValueError):
        theory.generator_gradient("minimax", 1.5)
    with pytest.raises(ValueError, match="unknown loss"):
        theory.generator_gradient("hinge", 0.5)


def test_value_of_a_network_discriminator_is_integrated_without_a_roundoff_warning():
    """A float32 network as D: quad cannot reach its 1e-11 tolerance and used to print an
    IntegrationWarning (with a path of the machine) into the chapters; the value is still right."""
    import warnings

    from ganlab import plots

    p, q = ganlab.bimodal_1d(), ganlab.mixture_1d([0.0], [1.5])
    torch.manual_seed(1)
    D = ganlab.MLPDiscriminator(1, hidden=64, depth=2)
    d = lambda x: plots.discriminator_output(D, np.reshape(x, (-1, 1)))  # noqa: E731
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any warning fails the test
        v = theory.value(p, q, d)
    xs = np.linspace(-12, 12, 200_001)
    dx = d(xs)
    integrand = p.pdf(xs) * np.log(dx) + q.pdf(xs) * np.log1p(-dx)
    assert abs(v - np.trapezoid(integrand, xs)) < 1e-6
