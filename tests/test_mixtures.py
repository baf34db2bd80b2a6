import math

import numpy as np
import pytest
import torch
from scipy import integrate, stats

import ganlab
from ganlab import mixtures


def test_ring_has_n_distinct_modes_on_the_circle():
    mix = ganlab.ring(n_modes=8, radius=2.0)
    assert mix.n_modes == 8 and mix.dim == 2
    radii = mix.centers.norm(dim=1)
    assert torch.allclose(radii, torch.full((8,), 2.0, dtype=torch.float64))
    gaps = torch.pdist(mix.centers)
    assert gaps.min() > 1.5  # 2·2·sin(π/8) ≈ 1.53: no repeated mode (the linspace(0, 2π, 8) bug)


def test_grid_is_the_5x5_benchmark():
    mix = ganlab.grid()
    assert mix.n_modes == 25
    assert sorted(set(mix.centers[:, 0].tolist())) == [-4.0, -2.0, 0.0, 2.0, 4.0]
    assert mix.std == 0.05


@pytest.mark.parametrize(
    "mix",
    [
        ganlab.ring(std=0.1),
        ganlab.grid(side=3, std=0.2),
        ganlab.mixture_1d([-1.0, 3.0], [0.5, 1.0], [0.3, 0.7]),
    ],
)
def test_sample_moments_match_the_mixture(mix):
    x = mix.sample(200_000, torch.Generator().manual_seed(0)).double()
    w, c, s = mix.weights, mix.centers, mix.stds
    mean = (w[:, None] * c).sum(0)
    second = (
        w[:, None, None]
        * (c[:, :, None] * c[:, None, :] + (s**2)[:, None, None] * torch.eye(mix.dim))
    ).sum(0)
    cov = second - mean[:, None] * mean[None, :]
    assert torch.allclose(x.mean(0), mean, atol=0.02)
    assert torch.allclose(torch.cov(x.T).reshape(mix.dim, mix.dim), cov, atol=0.03, rtol=0.01)


def test_log_prob_matches_scipy_and_integrates_to_one():
    mix = ganlab.mixture_1d([-1.0, 2.0], [0.5, 0.8], [0.3, 0.7])
    x = np.linspace(-4, 5, 50)
    expected = 0.3 * stats.norm.pdf(x, -1, 0.5) + 0.7 * stats.norm.pdf(x, 2, 0.8)
    assert np.allclose(mix.pdf(x), expected, rtol=1e-12)
    assert integrate.quad(lambda t: mix.pdf(np.array([t]))[0], -np.inf, np.inf)[0] == pytest.approx(
        1.0, abs=1e-9
    )
    ring = ganlab.ring(std=0.3)
    pts = torch.randn(10, 2, dtype=torch.float64)
    expected_2d = (
        sum(stats.multivariate_normal.pdf(pts.numpy(), c.numpy(), 0.09) for c in ring.centers) / 8
    )
    assert np.allclose(ring.pdf(pts.numpy()), expected_2d, rtol=1e-10)


def test_log_prob_keeps_tensor_type_and_is_finite_far_away():
    mix = ganlab.ring()
    lp = mix.log_prob(torch.tensor([[100.0, 0.0]]))
    assert isinstance(lp, torch.Tensor) and lp.dtype == torch.float32
    assert torch.isfinite(lp).all()  # log-sum-exp: no underflow to -inf
    with pytest.raises(ValueError, match=r"shape \(N, 2\)"):
        mix.log_prob(torch.zeros(3, 3))


def test_sampling_is_seeded():
    mix = ganlab.grid()
    a = mix.sample(100, torch.Generator().manual_seed(5))
    b = mix.sample(100, torch.Generator().manual_seed(5))
    assert torch.equal(a, b) and a.dtype == torch.float32 and a.shape == (100, 2)


def test_by_name_and_its_error():
    assert ganlab.by_name("ring", n_modes=4).n_modes == 4
    with pytest.raises(ValueError, match="unknown mixture 'rng'; choose one of: ring, grid"):
        ganlab.by_name("rng")


@pytest.mark.parametrize(
    "call",
    [
        lambda: ganlab.ring(std=0),
        lambda: ganlab.ring(std=-1),
        lambda: ganlab.ring(n_modes=0),
        lambda: ganlab.grid(spacing=float("nan")),
        lambda: ganlab.mixture_1d([0, 1], [1, -1]),
        lambda: ganlab.mixture_1d([0, 1], [1], [1, -1]),
        lambda: ganlab.bimodal_1d(weight=1.0),
        lambda: ganlab.mixture_1d([0, 1], [1, 1], [1, 1, 1]),
        lambda: ganlab.ring().sample(0),
    ],
)
def test_bad_mixture_input_is_a_value_error(call):
    with pytest.raises(ValueError):
        call()


def test_std_is_an_error_for_unequal_components():
    mix = ganlab.mixture_1d([0, 1], [0.5, 1.0])
    with pytest.raises(ValueError, match="use .stds"):
        _ = mix.std
    assert mixtures.bimodal_1d().std == 0.5
    assert math.isclose(float(mixtures.bimodal_1d(weight=0.25).weights[0]), 0.25)
