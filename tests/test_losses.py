import math

import pytest
import torch
import torch.nn.functional as F

from ganlab import losses


@pytest.fixture
def logits():
    g = torch.Generator().manual_seed(0)
    return torch.randn(64, generator=g) * 3, torch.randn(64, generator=g) * 3


def test_discriminator_loss_is_minus_the_value(logits):
    real, fake = logits
    value = torch.log(torch.sigmoid(real)).mean() + torch.log(1 - torch.sigmoid(fake)).mean()
    assert torch.allclose(losses.discriminator_bce(real, fake), -value, atol=1e-5)
    expected = F.binary_cross_entropy(torch.sigmoid(real), torch.ones(64)) + \
        F.binary_cross_entropy(torch.sigmoid(fake), torch.zeros(64))
    assert torch.allclose(losses.discriminator_bce(real, fake), expected, atol=1e-5)


def test_generator_losses_equal_their_definitions(logits):
    _, fake = logits
    d = torch.sigmoid(fake)
    assert torch.allclose(losses.generator_minimax(fake), torch.log(1 - d).mean(), atol=1e-5)
    assert torch.allclose(losses.generator_nonsaturating(fake), -torch.log(d).mean(), atol=1e-5)
    assert torch.allclose(losses.generator_nonsaturating(fake),
                          F.binary_cross_entropy_with_logits(fake, torch.ones(64)))


def test_d_equal_one_half_gives_log_4():
    zero = torch.zeros(10)
    assert losses.discriminator_bce(zero, zero).item() == pytest.approx(math.log(4))


def test_losses_stay_finite_where_log_sigmoid_would_not():
    huge = torch.tensor([-200.0, 200.0])
    for value in (losses.discriminator_bce(huge, huge), losses.generator_minimax(huge),
                  losses.generator_nonsaturating(huge)):
        assert torch.isfinite(value)
    assert losses.generator_nonsaturating(torch.tensor([-200.0])).item() == pytest.approx(200.0)


def test_gradient_at_the_logit_matches_the_closed_form():
    fake = torch.tensor([-4.0, 0.0, 4.0], requires_grad=True)
    losses.generator_minimax(fake).backward()
    d = torch.sigmoid(fake.detach())
    assert torch.allclose(fake.grad * 3, -d)  # ∂ log(1 − σ(l)) / ∂l = −σ(l)


def test_table_and_unknown_name():
    assert set(losses.LOSSES) >= {"minimax", "nonsaturating"}
    assert losses.get_loss("minimax").generator is losses.generator_minimax
    with pytest.raises(ValueError, match="unknown loss 'wgan-x'; choose one of: minimax, nonsaturating"):
        losses.get_loss("wgan-x")
