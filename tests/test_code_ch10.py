"""Chapter 10's helpers in ganlab: the uniform density, the critic's loop and estimate, the exact
W1 of two point clouds and the W1 callback."""

import math

import numpy as np
import pytest
import torch
from scipy import stats

import ganlab
from ganlab import metrics, theory
from ganlab.training import fit_critic


class Linear(torch.nn.Module):
    """A linear critic ``T(x) = w·x``, output of shape (N,)."""

    def __init__(self, w):
        super().__init__()
        self.lin = torch.nn.Linear(len(w), 1, bias=False)
        with torch.no_grad():
            self.lin.weight.copy_(torch.tensor([w]))

    def forward(self, x):
        return self.lin(x).squeeze(1)


class Shift(torch.nn.Module):
    """A generator ``G(z) = z + b``."""

    latent_dim = 2

    def __init__(self, b):
        super().__init__()
        self.b = torch.nn.Parameter(torch.tensor(b))

    def forward(self, z):
        return z + self.b


def test_uniform_density_is_flat_on_its_interval_and_gives_the_shifted_jsd():
    p = theory.uniform_density(1.0, 3.0)
    x = np.array([[0.0, 0.99, 1.0], [2.0, 3.0, 3.5]])
    assert p(x).shape == (2, 3)
    assert p(x).tolist() == [[0.0, 0.0, 0.5], [0.5, 0.5, 0.0]]
    assert float(p(2.5)) == 0.5
    # U[0, 1] against its shift by θ: JSD = min(|θ|, 1)·log 2, as chapter 10 derives
    p0 = theory.uniform_density(0, 1)
    for theta in (0.5, 2.0):
        p_theta = theory.uniform_density(theta, theta + 1)
        jsd = theory.jsd(p0, p_theta, bounds=(-0.5, theta + 1.5))
        assert jsd == pytest.approx(min(theta, 1.0) * math.log(2), abs=1e-3)
    with pytest.raises(ValueError, match="low < high"):
        theory.uniform_density(1.0, 1.0)


def test_w1_assignment_is_the_shift_of_a_shuffled_copy_and_matches_scipy_in_1d():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(300, 2))
    b = a[rng.permutation(300)] + np.array([3.0, 4.0])  # every point moved by (3, 4)
    assert metrics.w1_assignment(a, b, n=300) == pytest.approx(5.0)
    # only the first n points of each count
    assert metrics.w1_assignment(a, a, n=50) == 0.0
    assert metrics.w1_assignment(a[:50], b[:50]) == metrics.w1_assignment(a, b, n=50)
    # in 1D, equal-size samples: the exact W1 that scipy computes from the sorted points
    x, y = rng.normal(size=(200, 1)), rng.normal(1.0, 2.0, size=(200, 1))
    exact = stats.wasserstein_distance(x[:, 0], y[:, 0])
    assert metrics.w1_assignment(x, y, n=200) == pytest.approx(exact, rel=1e-9)
    with pytest.raises(ValueError, match="as many points"):
        metrics.w1_assignment(a[:10], b[:20])


def test_critic_estimate_of_the_optimal_linear_critic_is_w1():
    P = ganlab.GaussianMixture([[0.0, 0.0]], 1.0)
    Q = ganlab.GaussianMixture([[2.0, 0.0]], 1.0)
    T = Linear([-1.0, 0.0])  # T(x) = −x₁ attains the dual: W1 = 2
    estimate = metrics.critic_estimate(T, P.sample, Q.sample)
    assert estimate == pytest.approx(2.0, abs=0.05)  # sampling error ~ √(2/20 000) = 0.01
    assert metrics.critic_estimate(T, P.sample, Q.sample) == estimate  # its own fixed seed
    assert metrics.critic_estimate(T, P.sample, Q.sample, seed=1) != estimate
    # a 3-Lipschitz critic estimates 3·W1; the reversed one −W1
    assert metrics.critic_estimate(Linear([-3.0, 0.0]), P.sample, Q.sample) == pytest.approx(
        3 * estimate, rel=1e-5
    )
    assert metrics.critic_estimate(Linear([1.0, 0.0]), P.sample, Q.sample) == pytest.approx(
        -estimate, rel=1e-5
    )


def test_fit_critic_with_the_penalty_estimates_w1_with_slope_near_one():
    P = ganlab.GaussianMixture([[0.0, 0.0]], 1.0)
    Q = ganlab.GaussianMixture([[2.0, 0.0]], 1.0)
    D = fit_critic(P.sample, Q.sample, 2, "wgan-gp", seed=0)
    estimate = metrics.critic_estimate(D, P.sample, Q.sample)
    # above W1 = 2, near a penalised linear critic's W1·(1 + W1/(2λ)) = 2.2 (chapter 10)
    assert 2.0 < estimate < 2.2 * 1.1
    between = torch.stack([torch.linspace(0, 2, 101), torch.zeros(101)], 1)
    slope = ganlab.regularizers.input_gradient(D, between).norm(dim=1).median().item()
    assert 0.85 < slope < 1.3


def test_fit_critic_clips_every_weight_and_is_reproducible():
    P1, Q1 = ganlab.mixture_1d([0.0], [1.0]), ganlab.mixture_1d([2.0], [1.0])
    D = fit_critic(P1.sample, Q1.sample, 1, "wgan", num_steps=50)  # the loss's c = 0.01
    assert max(p.abs().max().item() for p in D.parameters()) <= 0.01
    assert abs(metrics.critic_estimate(D, P1.sample, Q1.sample)) < 0.05  # far flatter than W1 = 2
    wide = fit_critic(P1.sample, Q1.sample, 1, "wgan", clip=0.1, num_steps=50)
    assert max(p.abs().max().item() for p in wide.parameters()) == pytest.approx(0.1)
    again = fit_critic(P1.sample, Q1.sample, 1, "wgan", clip=0.1, num_steps=50)
    assert all(torch.equal(p, q) for p, q in zip(wide.parameters(), again.parameters()))
    with pytest.raises(ValueError, match="num_steps"):
        fit_critic(P1.sample, Q1.sample, 1, num_steps=0)


def test_w1_tracker_logs_the_critics_gap_and_the_exact_w1_every_n_steps():
    mix = ganlab.GaussianMixture([[0.0, 0.0]], 1.0)
    G, T = Shift([3.0, 4.0]), Linear([-0.6, -0.8])  # G shifts by (3, 4); T's slope 1 along it
    tracker = metrics.W1Tracker(mix, every=25, n=600, n_exact=300)
    history = ganlab.History()
    tracker(24, G, T, history)
    assert history.metrics == {}
    tracker(25, G, T, history)
    tracker(50, G, T, history)
    steps, w1 = history.metric("w1")
    assert steps == [25, 50] and w1[0] == w1[1]  # the same points every time
    with torch.no_grad():
        x_fake = G(tracker.z)
        gap = (T(tracker.x_real).mean() - T(x_fake).mean()).item()
    assert history.metric("w1_estimate")[1] == pytest.approx([gap, gap])
    exact = metrics.w1_assignment(tracker.x_real.numpy(), x_fake.numpy(), n=300)
    assert w1[0] == pytest.approx(exact)
    assert 4.8 < gap < 5.2 and 5.0 <= w1[0] < 5.5  # both near the shift's length, 5


def test_w1_tracker_does_not_change_the_training_run():
    cfg = ganlab.TrainConfig(
        num_steps=10, batch_real=32, batch_fake=32, batch_g=32, k_disc=2, loss="wgan-gp",
        progress=False, device="cpu",
    )  # fmt: skip
    mix = ganlab.ring()
    runs = []
    for callbacks in ([], [metrics.W1Tracker(mix, every=5, n=200, n_exact=50)]):
        G, D = ganlab.toy_gan(2, hidden=16, depth=1, seed=3)
        history = ganlab.train(G, D, mix.sample, cfg, callbacks)
        runs.append((G, history))
    (G0, h0), (G1, h1) = runs
    assert all(torch.equal(p, q) for p, q in zip(G0.parameters(), G1.parameters()))
    assert h0.loss_d == h1.loss_d
    assert h1.metric("w1")[0] == [5, 10] and all(v > 0 for v in h1.metric("w1")[1])
