"""Chapter 2 self-checks: the discriminator's binary cross-entropy, computed stably from logits."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from ._check import Check, Unanswered, _call, not_answered, run

__all__ = ["check_bce", "check_smoothed_optimum"]


def _reference_bce(logits: torch.Tensor, labels: torch.Tensor) -> float:
    """Mean BCE of ``sigmoid(logits)`` against ``labels``, in float64 (the oracle)."""
    return float(F.binary_cross_entropy_with_logits(logits.double(), labels.double()))


def _run_bce(fn, logits: torch.Tensor, labels: torch.Tensor):
    """Call the student's ``fn`` on a fresh leaf copy of ``logits``.

    Returns ``(value, gradient_or_None, leaf, error_check_or_None)``; the gradient is ``None``
    when the result is not a torch expression of the logits.
    """
    leaf = logits.detach().clone().requires_grad_(True)
    try:
        out = run(fn, leaf, labels.clone())
    except Unanswered:
        return None, None, leaf, not_answered()
    except Exception as error:  # the student's code: report, don't crash the notebook
        return (
            None,
            None,
            leaf,
            Check(False, f"your function raised {type(error).__name__}: {error}"),
        )
    grad = None
    if isinstance(out, torch.Tensor):
        if out.numel() != 1:
            return (
                None,
                None,
                leaf,
                Check(
                    False,
                    f"expected one number (the mean over the batch), got a tensor of "
                    f"shape {tuple(out.shape)}",
                ),
            )
        if out.requires_grad:
            (grad,) = torch.autograd.grad(out.reshape(()), leaf, allow_unused=True)
        value = float(out.detach().double().reshape(()))
    else:
        value_array, error = _call(lambda: out)
        if error is not None:
            return None, None, leaf, error
        if value_array.size != 1:
            return (
                None,
                None,
                leaf,
                Check(
                    False,
                    f"expected one number (the mean over the batch), got an array of "
                    f"shape {value_array.shape}",
                ),
            )
        value = float(value_array.reshape(()))
    return value, grad, leaf, None


def check_bce(fn) -> Check:
    """Check ``fn(logits, labels) -> mean BCE`` of ``D = sigmoid(logits)`` against ``labels``.

    ``logits`` and ``labels`` are float32 tensors of shape ``(N,)``; the answer must be a scalar
    torch tensor (so gradients flow to the logits), equal to
    ``mean(−y·log σ(l) − (1 − y)·log(1 − σ(l)))``, finite for logits as large as ±1000, with the
    right gradient ``(σ(l) − y) / N``, and correct for soft labels such as 0.9.
    """
    gen = torch.Generator().manual_seed(0)
    logits = torch.randn(64, generator=gen) * 3
    labels = (torch.rand(64, generator=gen) < 0.5).float()
    value, _, _, error = _run_bce(fn, logits, labels)
    if error is not None:
        return error
    expected = _reference_bce(logits, labels)
    if not np.isclose(value, expected, rtol=1e-4, atol=1e-6):
        if not np.isfinite(value):
            return Check(
                False,
                f"your loss is {value} on ordinary logits (|l| < 10): check for log(0) or 0/0",
            )
        if np.isclose(value, expected * len(logits), rtol=1e-4):
            return Check(
                False,
                "you return the sum over the batch; the loss is the mean (a Monte Carlo estimate "
                "of an expectation), so that its scale does not depend on the batch size",
            )
        if np.isclose(value, -expected, rtol=1e-4):
            return Check(
                False,
                "wrong sign: BCE is −[y·log σ(l) + (1 − y)·log(1 − σ(l))], a non-negative number",
            )
        if np.isclose(value, _reference_bce(logits, 1 - labels), rtol=1e-4):
            return Check(
                False,
                "swapped labels: −log σ(l) belongs to label 1 (real), −log(1 − σ(l)) to label 0 "
                "(fake)",
            )
        return Check(
            False,
            f"expected {expected:.6f} on ordinary logits, got {value:.6f}: the mean of "
            "−y·log σ(l) − (1 − y)·log(1 − σ(l))",
        )

    big = torch.tensor([-1000.0, -200.0, -120.0, -30.0, 30.0, 120.0, 200.0, 1000.0])
    big_logits = torch.cat([big, big])
    big_labels = torch.cat([torch.ones(8), torch.zeros(8)])
    value, grad, _, error = _run_bce(fn, big_logits, big_labels)
    if error is not None:
        return error
    expected = _reference_bce(big_logits, big_labels)
    if not np.isfinite(value):
        return Check(
            False,
            f"right on ordinary logits, but your loss is {value} for logits like ±200: "
            "sigmoid-then-log overflows, because σ(l) rounds to exactly 0 or 1 in float32 and "
            "log 0 = −inf. Compute −log σ(l) and −log(1 − σ(l)) from the logit itself, so that "
            "nothing is exponentiated with a large positive argument",
        )
    if not np.isclose(value, expected, rtol=1e-4):
        clamped = float(
            F.binary_cross_entropy(torch.sigmoid(big_logits), big_labels)
        )  # float32, as in training
        hint = (
            " That is what F.binary_cross_entropy on probabilities gives: it clamps log at −100, "
            "so the loss stops growing and its gradient is zero exactly where D is most wrong."
            if np.isclose(value, clamped, rtol=1e-3)
            else ""
        )
        return Check(
            False,
            f"right on ordinary logits, but for logits up to ±1000 expected {expected:.2f}, got "
            f"{value:.2f}: a confidently wrong logit l should cost about |l|.{hint} "
            "Compute log σ from the logit, e.g. with softplus or logaddexp",
        )
    if grad is None:
        return Check(
            False,
            "the value is right, but gradients do not reach the logits: compute the loss with "
            "torch operations on the tensor you are given (no .item(), numpy or torch.tensor(...) "
            "copies)",
        )
    expected_grad = (torch.sigmoid(big_logits.double()) - big_labels.double()) / len(big_logits)
    grad = grad.double()
    if not torch.isfinite(grad).all():
        return Check(
            False,
            "the value is right, but the gradient contains NaN or inf. A usual cause: torch.where "
            "with a naive branch (log of sigmoid) — both branches are differentiated, and 0·inf = "
            "NaN. Use a formula that is finite everywhere, e.g. softplus",
        )
    if not torch.allclose(grad, expected_grad, rtol=1e-3, atol=1e-7):
        return Check(
            False,
            "the value is right, but the gradient is not (σ(l) − y)/N; for a confidently wrong "
            "logit it should be ±1/N, not 0: avoid clamping the probabilities",
        )

    soft_labels = torch.full_like(logits, 0.9)
    value, _, _, error = _run_bce(fn, logits, soft_labels)
    if error is not None:
        return error
    if not np.isclose(value, _reference_bce(logits, soft_labels), rtol=1e-4, atol=1e-6):
        return Check(
            False,
            "right for labels 0 and 1, but labels may be soft (0.9 with one-sided label "
            "smoothing): use y·softplus(−l) + (1 − y)·softplus(l), not a branch on the label",
        )
    return Check(
        True,
        "right: mean of y·softplus(−l) + (1 − y)·softplus(l), finite for any logit, with gradient "
        "(σ(l) − y)/N",
    )


def check_smoothed_optimum(fn) -> Check:
    """Check ``fn(p_data, p_g, alpha) -> D*`` for one-sided label smoothing (real label ``alpha``,
    fake label 0).

    ``p_data`` and ``p_g`` are arrays of density values at some points; ``alpha`` is a number in (0,
    1].
    """
    rng = np.random.default_rng(2)
    a, b = rng.uniform(0.01, 2.0, 200), rng.uniform(0.01, 2.0, 200)
    alpha = 0.9
    out, error = _call(fn, a, b, alpha)
    if error is not None:
        return error
    if out.shape != a.shape:
        return Check(False, f"expected one value per point, shape {a.shape}, got shape {out.shape}")
    expected = alpha * a / (a + b)
    if np.allclose(out, expected, atol=1e-8):
        at_one, error = _call(fn, a, b, 1.0)
        if error is None and np.allclose(at_one, a / (a + b), atol=1e-8):
            return Check(
                True,
                "right: D*_α = α·p_data / (p_data + p_g); it never exceeds α, so D cannot become "
                "arbitrarily confident on real data",
            )
        return Check(
            False, "right for α = 0.9 but not for α = 1: use the argument alpha, not a fixed number"
        )
    if np.allclose(out, a / (a + b), atol=1e-8):
        return Check(
            False,
            "that is the D* of unsmoothed labels: with real label α the pointwise objective is "
            "p_data·[α log y + (1 − α) log(1 − y)] + p_g·log(1 − y)",
        )
    if np.allclose(out, (alpha * a + (1 - alpha) * b) / (a + b), atol=1e-8):
        return Check(
            False,
            "you smoothed both labels (fake label 1 − α); one-sided smoothing keeps the fake "
            "label at 0",
        )
    if np.allclose(out, alpha * a / (alpha * a + b), atol=1e-8):
        return Check(
            False,
            "α·p_data / (α·p_data + p_g) treats α as a prior weight; the real term is "
            "p_data·[α log y + (1 − α) log(1 − y)]: collect the coefficients of log y and log(1 − "
            "y)",
        )
    return Check(
        False,
        "not the optimum: write the pointwise objective as A·log y + B·log(1 − y), collect A and "
        "B, and use y* = A / (A + B)",
    )
