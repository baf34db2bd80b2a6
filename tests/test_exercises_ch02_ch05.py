"""Self-checks of chapters 2 and 5: each accepts a right answer and names the usual mistakes."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from ganlab import exercises
from ganlab.losses import discriminator_bce, generator_minimax, generator_nonsaturating

# Chapter 2: binary cross-entropy from logits -------------------------------------------------


def stable_bce(logits, labels):
    """The right answer, written without F.softplus: max(−l, 0) + log1p(exp(−|l|)) = −log σ(l)."""
    neg_log_d = torch.clamp(-logits, min=0) + torch.log1p(torch.exp(-logits.abs()))
    return (labels * neg_log_d + (1 - labels) * (neg_log_d + logits)).mean()


def test_stable_bce_matches_torch_oracle():
    logits = torch.tensor([-1000.0, -30.0, -1.0, 0.0, 2.0, 30.0, 1000.0])
    labels = torch.tensor([1.0, 0.0, 0.9, 1.0, 0.0, 1.0, 0.0])
    expected = F.binary_cross_entropy_with_logits(logits.double(), labels.double()).item()
    assert stable_bce(logits, labels).item() == pytest.approx(expected, rel=1e-6)


def test_check_bce_accepts_right_answers():
    assert exercises.check_bce(stable_bce)
    assert exercises.check_bce(lambda l, y: F.binary_cross_entropy_with_logits(l, y))
    assert repr(exercises.check_bce(stable_bce)).startswith("✅")


def naive(logits, labels):
    d = torch.sigmoid(logits)
    return -(labels * torch.log(d) + (1 - labels) * torch.log(1 - d)).mean()


@pytest.mark.parametrize(
    "fn, words",
    [
        (naive, "overflow"),
        (lambda l, y: F.binary_cross_entropy(torch.sigmoid(l), y), "clamps log at −100"),
        (lambda l, y: stable_bce(l, y) * len(l), "sum"),
        (lambda l, y: -stable_bce(l, y), "wrong sign"),
        (lambda l, y: stable_bce(l, 1 - y), "swapped labels"),
        (lambda l, y: torch.where(y > 0.5, F.softplus(-l), F.softplus(l)).mean(), "soft"),
        (
            lambda l, y: torch.where(
                l.abs() > 20,
                y * F.softplus(-l) + (1 - y) * F.softplus(l),
                -(y * torch.log(torch.sigmoid(l)) + (1 - y) * torch.log(1 - torch.sigmoid(l))),
            ).mean(),
            "NaN or inf",
        ),
        (lambda l, y: stable_bce(l, y).item(), "gradients do not reach"),
        (lambda l, y: y * F.softplus(-l) + (1 - y) * F.softplus(l), "one number"),
        (lambda l, y: torch.zeros(()), "expected"),
        (lambda l, y: 1 / 0, "ZeroDivisionError"),
    ],
)
def test_check_bce_names_the_mistake(fn, words):
    with np.errstate(all="ignore"):
        check = exercises.check_bce(fn)
    assert not check and words in check.message, check.message
    assert repr(check).startswith("❌")


def test_check_smoothed_optimum_right_and_wrong():
    assert exercises.check_smoothed_optimum(lambda p, q, a: a * p / (p + q))
    assert "unsmoothed" in exercises.check_smoothed_optimum(lambda p, q, a: p / (p + q)).message
    assert (
        "both labels"
        in exercises.check_smoothed_optimum(lambda p, q, a: (a * p + (1 - a) * q) / (p + q)).message
    )
    assert (
        "prior weight"
        in exercises.check_smoothed_optimum(lambda p, q, a: a * p / (a * p + q)).message
    )
    assert (
        "fixed number"
        in exercises.check_smoothed_optimum(lambda p, q, a: 0.9 * p / (p + q)).message
    )
    assert "shape" in exercises.check_smoothed_optimum(lambda p, q, a: 0.5).message


def test_smoothed_optimum_maximises_the_pointwise_objective():
    """The closed form the check uses, against a grid search of the smoothed objective."""
    a, b, alpha = 0.7, 0.4, 0.9
    y = np.linspace(1e-6, 1 - 1e-6, 200_001)
    objective = a * (alpha * np.log(y) + (1 - alpha) * np.log1p(-y)) + b * np.log1p(-y)
    assert y[np.argmax(objective)] == pytest.approx(alpha * a / (a + b), abs=1e-5)


# Chapter 5: one training step ------------------------------------------------------------------


def right_step(G, D, opt_g, opt_d, x_real, z_d, z_g):
    opt_d.zero_grad()
    with torch.no_grad():
        x_fake = G(z_d)
    discriminator_bce(D(x_real), D(x_fake)).backward()
    opt_d.step()
    opt_g.zero_grad()
    generator_nonsaturating(D(G(z_g))).backward()
    opt_g.step()


def make_step(
    detach=True,
    zero_d=True,
    zero_g=True,
    step_d_in_g=False,
    z_for_g="z_g",
    g_loss=generator_nonsaturating,
    swap=False,
    g_first=False,
):
    """A hand-written step with one mistake switched on (independent of the check's own
    reference).
    """

    def step(G, D, opt_g, opt_d, x_real, z_d, z_g):
        def d_part():
            if zero_d:
                D.zero_grad()
            x_fake = G(z_d).detach() if detach else G(z_d)
            loss = (
                discriminator_bce(D(x_fake), D(x_real))
                if swap
                else discriminator_bce(D(x_real), D(x_fake))
            )
            loss.backward()
            opt_d.step()

        def g_part():
            if zero_g:
                G.zero_grad()
            g_loss(D(G(z_d if z_for_g == "z_d" else z_g))).backward()
            opt_g.step()
            if step_d_in_g:
                opt_d.step()

        for part in (g_part, d_part) if g_first else (d_part, g_part):
            part()

    return step


def test_check_training_step_accepts_the_right_step():
    check = exercises.check_training_step(right_step)
    assert check and "right" in check.message
    assert exercises.check_training_step(
        make_step()
    )  # the same step written with module.zero_grad()


@pytest.mark.parametrize(
    "kwargs, words",
    [
        (dict(detach=False), "detach x_fake"),
        (dict(detach=False, zero_g=False), "gradient of D's loss"),
        (dict(zero_d=False), "opt_d.zero_grad()"),
        (dict(zero_g=False), "opt_g.zero_grad()"),
        (dict(step_d_in_g=True), "D was updated in the G step"),
        (dict(z_for_g="z_d"), "reused z_d"),
        (dict(g_loss=generator_minimax), "minimax"),
        (dict(g_loss=lambda l: -generator_minimax(l)), "wrong label"),
        (dict(swap=True), "swapped"),
        (dict(g_first=True), "updated G first"),
    ],
)
def test_check_training_step_names_the_mistake(kwargs, words):
    check = exercises.check_training_step(make_step(**kwargs))
    assert not check and words in check.message, check.message


def test_check_training_step_other_failures():
    assert "neither G nor D changed" in exercises.check_training_step(lambda *args: None).message

    def only_d(G, D, opt_g, opt_d, x_real, z_d, z_g):
        opt_d.zero_grad()
        discriminator_bce(D(x_real), D(G(z_d).detach())).backward()
        opt_d.step()

    assert "G did not change" in exercises.check_training_step(only_d).message
    crash = exercises.check_training_step(lambda *args: 1 / 0)
    assert not crash and "ZeroDivisionError" in crash.message


def test_check_training_step_leaves_global_rng_alone():
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    exercises.check_training_step(right_step)
    assert torch.equal(torch.rand(3), expected)
