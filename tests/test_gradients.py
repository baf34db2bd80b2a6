import copy

import numpy as np
import pytest
import torch
from scipy.special import expit

import ganlab
from ganlab import gradients, theory


@pytest.mark.parametrize("loss", ["minimax", "nonsaturating"])
def test_logit_gradient_matches_the_closed_form(loss):
    logits = torch.linspace(-30, 30, 241, dtype=torch.float64)
    by_autograd = gradients.logit_gradient(loss, logits)
    closed_form = theory.generator_gradient(loss, expit(logits.numpy()))
    assert by_autograd.dtype == torch.float64 and by_autograd.shape == logits.shape
    np.testing.assert_allclose(by_autograd.numpy(), closed_form, rtol=1e-12, atol=1e-15)


def test_logit_gradient_against_finite_differences():
    logits, eps = torch.tensor([-5.0, -0.3, 2.0], dtype=torch.float64), 1e-6
    for loss in ("minimax", "nonsaturating"):
        fn = ganlab.get_loss(loss).generator
        numeric = [(fn(l + eps) - fn(l - eps)).item() / (2 * eps) for l in logits.reshape(-1, 1)]
        np.testing.assert_allclose(
            gradients.logit_gradient(loss, logits).numpy(), numeric, rtol=1e-7
        )


def test_minimax_gradient_vanishes_and_nonsaturating_does_not():
    g_mm = gradients.logit_gradient("minimax", torch.tensor([-20.0, 0.0]))
    g_ns = gradients.logit_gradient("nonsaturating", torch.tensor([-20.0, 0.0]))
    assert abs(g_mm[0].item()) < 1e-8 and g_ns[0].item() == pytest.approx(-1.0, abs=1e-8)
    assert g_mm[1].item() == pytest.approx(-0.5) and g_ns[1].item() == pytest.approx(
        -0.5
    )  # equal at D = 1/2


def test_logit_gradient_rejects_bad_input():
    with pytest.raises(ValueError, match="unknown loss 'hinge-x'"):
        gradients.logit_gradient("hinge-x", torch.zeros(3))
    with pytest.raises(ValueError, match="floating-point tensor of shape"):
        gradients.logit_gradient("minimax", torch.zeros(3, dtype=torch.long))
    with pytest.raises(ValueError, match=r"shape \(N,\)"):
        gradients.logit_gradient("minimax", torch.zeros(3, 2))
    with pytest.raises(ValueError, match="floating-point tensor"):
        gradients.logit_gradient("minimax", [0.0, 1.0])


@pytest.fixture
def pair():
    G, D = ganlab.toy_gan(1, hidden=16, depth=2, seed=3)
    z = torch.randn(64, 2, generator=torch.Generator().manual_seed(0))
    return G, D, z


def test_measure_equals_backward_and_touches_nothing(pair):
    G, D, z = pair
    before = [p.detach().clone() for p in G.parameters()]
    result = gradients.measure(G, D, z, "minimax")
    assert all(p.grad is None for p in [*G.parameters(), *D.parameters()])
    assert all(torch.equal(a, b) for a, b in zip(before, G.parameters()))

    G2, D2 = copy.deepcopy(G), copy.deepcopy(D)
    loss = ganlab.losses.generator_minimax(D2(G2(z)))
    loss.backward()
    expected = torch.sqrt(sum((p.grad**2).sum() for p in G2.parameters())).item()
    assert result.param_norm == pytest.approx(expected, rel=1e-5)
    assert result.loss == pytest.approx(loss.item(), rel=1e-6)
    assert result.d_fake.shape == (64,) and torch.allclose(result.logit_grad, -result.d_fake)


def test_the_two_losses_differ_by_the_factor_one_minus_d_over_d(pair):
    G, D, z = pair
    with torch.no_grad():  # make D confident that G's samples are fake: D(G(z)) ≈ 0.018
        D.net[-1].bias -= 4.0
    for i in range(3):  # one sample at a time: same direction, lengths in the ratio (1 − D)/D
        mm, ns = (
            gradients.measure(G, D, z[i : i + 1], "minimax"),
            gradients.measure(G, D, z[i : i + 1], "nonsaturating"),
        )
        d = mm.d_fake.item()
        assert d < 0.05
        assert ns.param_norm / mm.param_norm == pytest.approx((1 - d) / d, rel=1e-4)


def test_measure_rejects_bad_input(pair):
    G, D, z = pair
    with pytest.raises(ValueError, match="unknown loss"):
        gradients.measure(G, D, z, "least-squares")
    with pytest.raises(ValueError, match=r"MLPGenerator expects inputs of shape \(N, 2\)"):
        gradients.measure(G, D, torch.zeros(4, 3))
    frozen = copy.deepcopy(G).requires_grad_(False)
    with pytest.raises(ValueError, match="no trainable parameters"):
        gradients.measure(frozen, D, z)


def test_tracker_reads_the_gradient_left_by_the_generator_step():
    G, D = ganlab.toy_gan(1, hidden=8, depth=1, seed=0)
    for p in G.parameters():
        p.grad = torch.full_like(p, 2.0)
    history, tracker = ganlab.History(), gradients.GradientTracker()
    tracker(1, G, D, history)
    n_params = sum(p.numel() for p in G.parameters())
    assert history.metric("step_grad_norm_g") == ([1], [pytest.approx(2.0 * n_params**0.5)])
    assert "update_norm_g" not in history.metrics  # nothing to compare with yet
    with torch.no_grad():
        for p in G.parameters():
            p += 0.5
    tracker(2, G, D, history)
    assert history.metric("update_norm_g") == ([2], [pytest.approx(0.5 * n_params**0.5)])


def test_tracker_in_a_short_run():
    mixture = ganlab.mixture_1d([3.0], [0.5])
    G, D = ganlab.toy_gan(1, hidden=16, depth=2, seed=0)
    cfg = ganlab.TrainConfig(
        num_steps=6,
        batch_real=32,
        batch_fake=32,
        batch_g=32,
        seed=0,
        progress=False,
        log_every=2,
        device="cpu",
    )
    history = ganlab.train(
        G, D, mixture.sample, cfg, callbacks=[gradients.GradientTracker(every=2)]
    )
    steps, norms = history.metric("step_grad_norm_g")
    assert steps == [2, 4, 6] and all(0 < v < 100 for v in norms)
    steps, updates = history.metric("update_norm_g")
    assert steps == [4, 6] and all(
        0 < v < 1 for v in updates
    )  # Adam moves each weight by about lr per step


def test_tracker_rejects_bad_use():
    with pytest.raises(ValueError, match="every must be an integer >= 1"):
        gradients.GradientTracker(every=0)
    G, D = ganlab.toy_gan(1, hidden=8, depth=1, seed=0)
    with pytest.raises(ValueError, match="no .grad"):
        gradients.GradientTracker()(1, G, D, ganlab.History())
