import math

import pytest
import torch
from torch import nn

from ganlab import losses, regularizers
from ganlab.models import MLPDiscriminator


class Linear(nn.Module):
    """``D(x) = <w, x> + b`` on flattened samples: ``∇_x D = w`` everywhere."""

    def __init__(self, w):
        super().__init__()
        self.w = nn.Parameter(torch.as_tensor(w, dtype=torch.float64))
        self.b = nn.Parameter(torch.tensor(0.3, dtype=torch.float64))

    def forward(self, x):
        return x.flatten(1) @ self.w + self.b


class HalfSquare(nn.Module):
    """``D(x) = s·‖x‖²/2``: ``∇_x D = s·x``, a different gradient at every point."""

    def __init__(self):
        super().__init__()
        self.s = nn.Parameter(torch.tensor(1.0, dtype=torch.float64))

    def forward(self, x):
        return self.s * x.flatten(1).pow(2).sum(1) / 2


def _batch(shape, seed):
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


SHAPES = [(32, 3), (8, 2, 4, 4)]  # toy points and images


def _assert_weights_get_gradients(D):
    """Every weight matrix / kernel gets a finite, nonzero gradient. (Biases may not: with
    piecewise-linear activations ∇_x D does not depend on them, and not at all on the last layer's.)
    """
    for name, p in D.named_parameters():
        assert p.grad is None or torch.isfinite(p.grad).all(), name
        if name.endswith("weight"):
            assert p.grad is not None and p.grad.abs().max() > 0, name


@pytest.mark.parametrize("shape", SHAPES)
def test_penalties_of_a_linear_critic_have_closed_forms(shape):
    x_real, x_fake = _batch(shape, 0), _batch(shape, 1)
    d = math.prod(shape[1:])
    w = _batch((d,), 2)
    D = Linear(w)
    norm = w.norm().item()
    assert regularizers.gradient_penalty(D, x_real, x_fake).item() == pytest.approx(
        (norm - 1) ** 2, rel=1e-12
    )
    assert regularizers.gradient_penalty(D, x_real, x_fake, target=2.0).item() == pytest.approx(
        (norm - 2) ** 2
    )
    assert regularizers.r1_penalty(D, x_real).item() == pytest.approx(norm**2, rel=1e-12)
    assert regularizers.r2_penalty(D, x_fake).item() == pytest.approx(norm**2, rel=1e-12)
    unit = Linear(w / w.norm())  # a 1-Lipschitz critic with gradient norm 1 everywhere: no penalty
    assert regularizers.gradient_penalty(unit, x_real, x_fake).item() == pytest.approx(
        0.0, abs=1e-24
    )


@pytest.mark.parametrize("shape", SHAPES)
def test_penalty_gradients_reach_the_critic_and_match_the_closed_form(shape):
    x_real, x_fake = _batch(shape, 0), _batch(shape, 1)
    w = _batch((math.prod(shape[1:]),), 2)
    D = Linear(w)
    regularizers.gradient_penalty(D, x_real, x_fake).backward()
    # d/dw (‖w‖ − 1)² = 2(‖w‖ − 1) w/‖w‖; the bias does not change the input gradient
    assert torch.allclose(D.w.grad, 2 * (w.norm() - 1) * w / w.norm())
    assert D.b.grad is None or D.b.grad.abs().max() == 0
    D.zero_grad()
    regularizers.r1_penalty(D, x_real).backward()
    assert torch.allclose(D.w.grad, 2 * w)  # d/dw ‖w‖² = 2w


def test_gradient_penalty_uses_one_epsilon_per_sample_from_the_generator():
    x_real, x_fake = _batch((16, 3, 2, 2), 0), _batch((16, 3, 2, 2), 1)
    D = HalfSquare()
    value = regularizers.gradient_penalty(D, x_real, x_fake, torch.Generator().manual_seed(7))
    eps = torch.rand((16, 1, 1, 1), generator=torch.Generator().manual_seed(7), dtype=torch.float64)
    x_hat = eps * x_real + (1 - eps) * x_fake  # ∇D(x̂) = x̂
    expected = ((x_hat.flatten(1).norm(dim=1) - 1) ** 2).mean()
    assert value.item() == pytest.approx(expected.item(), rel=1e-12)
    again = regularizers.gradient_penalty(D, x_real, x_fake, torch.Generator().manual_seed(7))
    other = regularizers.gradient_penalty(D, x_real, x_fake, torch.Generator().manual_seed(8))
    assert again.item() == value.item() and other.item() != value.item()
    # d/ds E[(s‖x̂‖ − 1)²] = E[2(s‖x̂‖ − 1)‖x̂‖] at s = 1
    value.backward()
    norms = x_hat.flatten(1).norm(dim=1)
    assert D.s.grad.item() == pytest.approx((2 * (norms - 1) * norms).mean().item(), rel=1e-10)


def test_r1_of_a_nonlinear_critic_and_nothing_flows_into_the_samples():
    x_real = _batch((20, 5), 3).requires_grad_(True)
    x_fake = _batch((20, 5), 4).requires_grad_(True)
    D = HalfSquare()
    r1 = regularizers.r1_penalty(D, x_real)
    assert r1.item() == pytest.approx(
        x_real.detach().pow(2).sum(1).mean().item(), rel=1e-12
    )  # E‖x‖²
    (r1 + regularizers.gradient_penalty(D, x_real, x_fake)).backward()
    assert (
        x_real.grad is None and x_fake.grad is None
    )  # D's regularizer: G gets no gradient from it


def test_penalties_match_per_sample_gradients_of_a_network():
    # the batch trick (gradient of the sum) against one backward pass per sample
    torch.manual_seed(0)
    D = nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1),
        nn.LeakyReLU(0.2),
        nn.Flatten(),
        nn.Linear(64, 1),
        nn.Flatten(0),
    ).double()
    x = _batch((6, 1, 4, 4), 5)
    per_sample = []
    for xi in x:
        xi = xi[None].clone().requires_grad_(True)
        per_sample.append(torch.autograd.grad(D(xi).sum(), xi)[0].pow(2).sum())
    assert regularizers.r1_penalty(D, x).item() == pytest.approx(
        torch.stack(per_sample).mean().item(), rel=1e-10
    )
    regularizers.r1_penalty(D, x).backward()  # double backward through conv and LeakyReLU
    _assert_weights_get_gradients(D)


def test_wgan_gp_critic_on_two_gaussians_reaches_its_closed_form_optimum():
    # P = N(0, 1), Q = N(−1, 1) in 1D; a linear critic V(x) = w·x + b. The WGAN-GP objective
    # E_P[V] − E_Q[V] − λ(|w| − 1)² = w − λ(|w| − 1)² peaks at w = 1 + 1/(2λ) (and has a lower,
    # local peak at w = −1 + 1/(2λ): start on the positive side).
    n = 100
    levels = (torch.arange(n, dtype=torch.float64) + 0.5) / n
    x_real = torch.special.ndtri(levels)[:, None]
    x_fake = x_real - 1
    loss = losses.get_loss("wgan-gp")
    penalties = regularizers.regularizers_for(loss)
    D = Linear([0.1])
    opt = torch.optim.Adam(D.parameters(), lr=0.05)
    gen = torch.Generator().manual_seed(0)
    for _ in range(300):
        penalty = regularizers.total_penalty(penalties, D, x_real, x_fake, gen)
        loss_d = loss.discriminator(D(x_real), D(x_fake)) + penalty
        opt.zero_grad()
        loss_d.backward()
        opt.step()
    assert D.w.item() == pytest.approx(1 + 1 / 20, abs=1e-4)
    assert -loss_d.item() == pytest.approx(
        1 + 1 / 40, abs=1e-4
    )  # the estimate of W1 = 1, plus λ·(1/(2λ))²


def test_regularizers_for_each_loss():
    x_real, x_fake = _batch((10, 3), 0), _batch((10, 3), 1)
    D = HalfSquare()
    assert regularizers.regularizers_for(losses.get_loss("nonsaturating")) == []
    assert regularizers.regularizers_for(losses.get_loss("wgan")) == []  # clipping is not a penalty
    assert regularizers.total_penalty([], D, x_real, x_fake).item() == 0.0
    gp = regularizers.regularizers_for(losses.get_loss("wgan-gp"))
    assert [p.name for p in gp] == ["10*gradient_penalty"]
    seeded = dict(generator=torch.Generator().manual_seed(1))
    expected = 10 * regularizers.gradient_penalty(
        D, x_real, x_fake, torch.Generator().manual_seed(1)
    )
    assert gp[0](D, x_real, x_fake, **seeded).item() == pytest.approx(expected.item())
    both = regularizers.regularizers_for(losses.get_loss("hinge"), r1=10.0, r2=0.5)
    assert [p.name for p in both] == ["10/2*r1", "0.5/2*r2"]
    total = regularizers.total_penalty(both, D, x_real, x_fake)
    r1, r2 = x_real.pow(2).sum(1).mean(), x_fake.pow(2).sum(1).mean()  # ∇D = x
    assert total.item() == pytest.approx((5 * r1 + 0.25 * r2).item(), rel=1e-12)


def test_clip_weights_bounds_every_parameter_and_keeps_the_small_ones():
    torch.manual_seed(0)
    D = MLPDiscriminator(2, hidden=16, depth=2)
    before = [p.detach().clone() for p in D.parameters()]
    regularizers.clip_weights_(D, 0.05)
    for old, new in zip(before, D.parameters()):
        assert new.abs().max() <= 0.05
        assert torch.equal(new, old.clamp(-0.05, 0.05))
    assert any((p.abs() == 0.05).any() for p in D.parameters())  # some weights were clipped
    assert any(
        ((p.abs() < 0.05) & (p != 0)).any() for p in D.parameters()
    )  # others kept as they were


def test_gradient_penalty_on_the_toy_discriminator_is_finite_and_trainable():
    torch.manual_seed(0)
    D = MLPDiscriminator(2, hidden=16, depth=2)
    x_real, x_fake = torch.randn(64, 2), torch.randn(64, 2) + 2
    value = regularizers.gradient_penalty(D, x_real, x_fake, torch.Generator().manual_seed(0))
    value.backward()
    assert torch.isfinite(value) and value > 0
    _assert_weights_get_gradients(D)


@pytest.mark.parametrize(
    "call, message",
    [
        (
            lambda D, x: regularizers.gradient_penalty(D, x, x[:3]),
            r"x_real and x_fake must have the same shape",
        ),
        (
            lambda D, x: regularizers.gradient_penalty(D, x, x, target=0.0),
            "target must be a positive finite number",
        ),
        (
            lambda D, x: regularizers.r1_penalty(D, x[:, 0]),
            r"x must be a non-empty floating-point batch of shape",
        ),
        (
            lambda D, x: regularizers.r1_penalty(lambda y: D(y)[:, None], x),
            r"D must return shape \(10,\)",
        ),
        (
            lambda D, x: regularizers.clip_weights_(D, -1.0),
            "c must be a positive finite number, got -1.0",
        ),
        (
            lambda D, x: regularizers.regularizers_for(losses.get_loss("hinge"), r1=-1.0),
            "r1 must be a finite number >= 0, got -1.0",
        ),
    ],
)
def test_bad_arguments_are_named(call, message):
    with pytest.raises(ValueError, match=message):
        call(HalfSquare(), _batch((10, 3), 0))
