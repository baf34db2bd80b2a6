"""The helpers chapter 9 (f-GAN) calls: the affine Gaussian GAN, D_f to a Gaussian by quadrature
and its local minima, and a trained critic's estimate of D_f."""

import functools
import math

import numpy as np
import pytest
import torch
from scipy.stats import norm
from torch import nn

import ganlab
from ganlab.losses import f_divergence, gaussian_divergence, gaussian_minima
from ganlab.metrics import critic_bound
from ganlab.models import affine_gaussian, affine_toy_gan

# the affine generator


def test_affine_toy_gan_is_exactly_a_z_plus_b_with_the_seeded_toy_critic():
    G, D = affine_toy_gan(3, a=1.5, b=0.5)
    z = torch.linspace(-2, 2, 9)[:, None]
    with torch.no_grad():
        assert torch.allclose(G.net(z), 1.5 * z + 0.5)
    assert isinstance(G, ganlab.MLPGenerator) and G.latent_dim == 1
    _, D_ref = ganlab.toy_gan(1, latent_dim=1, hidden=32, depth=2, seed=3)
    assert all(torch.equal(a, b) for a, b in zip(D.parameters(), D_ref.parameters()))
    assert affine_gaussian(G) == (0.5, 1.5)
    assert affine_gaussian(affine_toy_gan(0, a=-2.0, b=1.0)[0]) == (1.0, 2.0)  # sigma = |a|


def test_affine_toy_gan_draws_b_in_its_range_per_seed_and_mirrors_a_positive_range():
    middle = [affine_gaussian(affine_toy_gan(s, b=(-0.5, 0.5))[0])[0] for s in range(20)]
    assert all(-0.5 <= b <= 0.5 for b in middle) and len(set(middle)) == 20
    assert middle == [affine_gaussian(affine_toy_gan(s, b=(-0.5, 0.5))[0])[0] for s in range(20)]
    near = [affine_gaussian(affine_toy_gan(s, a=0.5, b=(1.5, 2.5))[0]) for s in range(20)]
    assert all(1.5 <= abs(b) <= 2.5 and sigma == 0.5 for b, sigma in near)
    assert {np.sign(b) for b, _ in near} == {-1.0, 1.0}  # both modes are reached


def test_affine_gaussian_refuses_a_generator_that_is_not_affine():
    G, _ = ganlab.toy_gan(1, latent_dim=1, hidden=8, depth=1, seed=0)
    with pytest.raises(ValueError, match="affine"):
        affine_gaussian(G)


def test_a_sweep_with_lr_g_zero_keeps_the_affine_generator_frozen():
    cfg = ganlab.TrainConfig(num_steps=5, batch_real=32, batch_fake=32, batch_g=32, progress=False)
    result = ganlab.sweep.run(
        ganlab.bimodal_1d(separation=4.0, std=0.5),
        seeds=[0, 1],
        cfg=cfg,
        lr_g=[0.0, 0.0],
        models=functools.partial(affine_toy_gan, a=1.5, b=0.5),
    )
    assert [affine_gaussian(result.member(i)[0]) for i in range(2)] == [(0.5, 1.5)] * 2


# D_f to a Gaussian, and its minima

X = np.linspace(-12, 12, 6001)


def test_gaussian_divergence_matches_the_closed_form_kl_of_two_gaussians():
    p = norm.pdf(X, 0.0, 1.0)
    # KL(N(0, 1) ‖ N(1, 2²)) = log 2 + (1 + 1) / 8 − 1/2; the reverse KL(N(1, 4) ‖ N(0, 1))
    assert gaussian_divergence("kl", p, X, 1.0, 2.0) == pytest.approx(
        math.log(2) + 2 / 8 - 0.5, abs=1e-8
    )
    assert gaussian_divergence("reverse-kl", p, X, 1.0, 2.0) == pytest.approx(
        -math.log(2) + (4 + 1) / 2 - 0.5,
        abs=1e-5,  # q's tail beyond the grid: ~1e-6
    )
    q = norm.pdf(X, 1.0, 2.0)
    assert gaussian_divergence("js", p, X, 1.0, 2.0) == f_divergence("js", p, q, X[1] - X[0])


def test_gaussian_divergence_sums_only_where_both_densities_are_positive():
    p = np.where(np.abs(X) < 3, 1 / 6, 0.0)  # uniform on (−3, 3): zero outside
    value = gaussian_divergence("reverse-kl", p, X, 0.0, 1.0)
    inside = np.abs(X) < 3
    q = norm.pdf(X[inside])
    assert value == pytest.approx(np.sum(q * np.log(q * 6)) * (X[1] - X[0]), rel=1e-12)
    with pytest.raises(ValueError, match="1D grids"):
        gaussian_divergence("kl", p[:-1], X, 0.0, 1.0)


def test_gaussian_minima_find_a_gaussian_data_distribution_and_warn_when_they_stall():
    p = norm.pdf(X, 0.7, 1.3)
    for name in ("kl", "reverse-kl", "hellinger"):
        for mu, sigma, value in gaussian_minima(name, p, X, starts=(0.0, -1.0, 1.0)):
            assert mu == pytest.approx(0.7, abs=1e-4) and sigma == pytest.approx(1.3, abs=1e-4)
            assert abs(value) < 1e-8
    with pytest.warns(RuntimeWarning, match="mu0=2.0 did not converge"):
        ((_, _, value),) = gaussian_minima("kl", p, X, starts=(2.0,))  # runs out of evaluations
    assert value > 0.01


def test_gaussian_minima_on_two_modes_kl_covers_and_reverse_kl_seeks_from_a_mode():
    data = ganlab.bimodal_1d(separation=4.0, std=0.5)  # modes at ±2, chapter 9's data
    p = data.pdf(X)
    (mu_c, sigma_c, _), (mu_m, sigma_m, _) = gaussian_minima("kl", p, X, starts=(0.0, 2.0))
    for mu, sigma in ((mu_c, sigma_c), (mu_m, sigma_m)):  # moment matching from both starts
        assert abs(mu) < 1e-3 and sigma == pytest.approx(math.sqrt(2**2 + 0.5**2), abs=1e-3)
    centred, on_mode = gaussian_minima("reverse-kl", p, X, starts=(0.0, 2.0))
    assert abs(centred[0]) < 1e-3 and centred[1] == pytest.approx(1.74, abs=0.01)
    assert on_mode[:2] == pytest.approx((2.0, 0.5), abs=0.01)
    assert on_mode[2] == pytest.approx(math.log(2), abs=0.01) and on_mode[2] < centred[2]


# a critic's estimate of D_f


def _linear_critic(weight: float, bias: float) -> nn.Module:
    """``V(x) = weight·x + bias`` for a batch ``(N, 1)``, shape ``(N,)`` like an MLP critic."""
    layer = nn.Linear(1, 1)
    with torch.no_grad():
        layer.weight.fill_(weight)
        layer.bias.fill_(bias)
    return nn.Sequential(layer, nn.Flatten(0))


def test_critic_bound_of_the_optimal_kl_critic_estimates_the_kl():
    # P = N(0, 1), Q = N(1, 1): T*(x) = 1 + log(p/q) = 1.5 − x, and KL(P‖Q) = 1/2
    gen = torch.Generator().manual_seed(0)
    n = 200_000
    x_real, x_fake = torch.randn(n, 1, generator=gen), 1 + torch.randn(n, 1, generator=gen)
    D = _linear_critic(-1.0, 1.5)
    estimate, error = critic_bound("kl", D, x_real, x_fake)
    T_real, T_fake = (1.5 - x_real).double(), (1.5 - x_fake).double()
    expected = T_real.var().item() / n + torch.exp(T_fake - 1).var().item() / n
    assert error == pytest.approx(math.sqrt(expected), rel=1e-5)
    assert 0.001 < error < 0.01
    assert abs(estimate - 0.5) < 4 * error
    worse, _ = critic_bound("kl", _linear_critic(-0.5, 1.2), x_real, x_fake)
    assert worse < estimate - 0.05  # a critic other than T* gives less
    assert not any(p.requires_grad is False for p in D.parameters())  # D is left as it was


def test_critic_bound_of_a_constant_critic_and_its_checks():
    x = torch.zeros(10, 1)
    estimate, error = critic_bound("kl", _linear_critic(0.0, 1.0), x, x)  # T = 1: 1 − e⁰ = 0
    assert estimate == 0.0 and error == 0.0
    with pytest.raises(ValueError, match="at least 2"):
        critic_bound("kl", _linear_critic(0.0, 1.0), x[:1], x)
