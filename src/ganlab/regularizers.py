"""Penalties on the discriminator's input gradient, added to its loss, and WGAN's weight clipping.

Each penalty is a function of ``(D, x_real, x_fake, generator)`` that returns a scalar tensor to
*add* to the discriminator's loss; it is differentiable in D's weights (``create_graph=True``), so
one ``backward()`` of the sum trains D on both. Batches are ``(N, d)`` points or ``(N, C, H, W)``
images; ``D`` maps them to ``(N,)`` outputs. The input gradient of each sample is taken from
``D(x).sum()``, which is right only while D treats the samples of a batch independently: use no
batch norm in a penalised D (Gulrajani et al. suggest layer norm instead).

* :func:`gradient_penalty` — WGAN-GP (Gulrajani et al. 2017): ``E[(‖∇D(x̂)‖₂ − 1)²]`` on random
  interpolates ``x̂`` between real and fake samples; the soft version of "V is 1-Lipschitz".
* :func:`r1_penalty` / :func:`r2_penalty` — Mescheder et al. 2018: ``E[‖∇D(x)‖²]`` on real (R1) or
  fake (R2) samples, weighted ``γ/2``; keeps D flat on the data, which makes the game converge
  locally.
* :func:`clip_weights_` — WGAN (Arjovsky et al. 2017): clamp every weight to ``[−c, c]`` after each
  D step.

A conditional D, ``D(x, y)``, is penalised as the function of ``x`` it is for the batch's labels:
pass ``D_real = lambda x: D(x, y_real)`` and ``D_fake = lambda x: D(x, y_fake)`` to
:func:`total_penalty`. R1 uses ``D_real``, R2 ``D_fake``, and the gradient penalty ``D_real`` at the
interpolates (each interpolate is asked about its real end's class).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from ._checks import positive
from .losses import GANLoss

Critic = Callable[[torch.Tensor], torch.Tensor]  # an nn.Module D, or D bound to a batch's labels
# fn(D_real, D_fake, x_real, x_fake, generator) -> scalar tensor to add to D's loss
Regularizer = Callable[
    [Critic, Critic, torch.Tensor, torch.Tensor, "torch.Generator | None"], torch.Tensor
]


def _check_batch(name: str, x) -> None:
    if not isinstance(x, torch.Tensor) or not x.is_floating_point() or x.ndim < 2 or len(x) == 0:
        raise ValueError(
            f"{name} must be a non-empty floating-point batch of shape (N, d) or (N, C, H, W), "
            f"got {x!r:.80}"
        )


def input_gradient(D: Critic, x: torch.Tensor) -> torch.Tensor:
    """``∇_x D(x)`` for each sample, shape of ``x``, kept in the graph so that it can be
    differentiated again.

    ``x`` is detached first: the gradient is D's alone, nothing flows back into G.
    """
    _check_batch("x", x)
    x = x.detach().requires_grad_(True)
    out = D(x).float()
    if out.shape != (len(x),):
        raise ValueError(
            f"D must return shape ({len(x)},) for a batch of {len(x)}, got {tuple(out.shape)}"
        )
    # Samples are independent, so the gradient of the sum holds each sample's own gradient.
    (grad,) = torch.autograd.grad(out.sum(), x, create_graph=True)
    return grad


def gradient_penalty(
    D: Critic,
    x_real: torch.Tensor,
    x_fake: torch.Tensor,
    generator: torch.Generator | None = None,
    target: float = 1.0,
) -> torch.Tensor:
    """WGAN-GP: ``E[(‖∇_x̂ D(x̂)‖₂ − target)²]`` at ``x̂ = ε·x_real + (1 − ε)·x_fake``,
    ``ε ~ U[0, 1]``.

    One ``ε`` per sample, drawn from ``generator`` (on the batch's device) when given, so a
    seeded generator gives the same penalty. ``x_real`` and ``x_fake`` have the same shape,
    ``(N, d)`` or ``(N, C, H, W)``. Returns a scalar; multiply by λ (10 in the paper).
    """
    _check_batch("x_real", x_real)
    _check_batch("x_fake", x_fake)
    if x_real.shape != x_fake.shape:
        raise ValueError(
            f"x_real and x_fake must have the same shape, got {tuple(x_real.shape)} "
            f"and {tuple(x_fake.shape)}"
        )
    positive("target", target)
    shape = (len(x_real),) + (1,) * (x_real.ndim - 1)  # (N, 1) or (N, 1, 1, 1): one ε per sample
    eps = torch.rand(shape, generator=generator, device=x_real.device, dtype=x_real.dtype)
    x_hat = eps * x_real + (1 - eps) * x_fake  # input_gradient detaches it: nothing flows into G
    grad_norm = torch.linalg.vector_norm(input_gradient(D, x_hat).flatten(1), dim=1)  # (N,)
    return ((grad_norm - target) ** 2).mean()


def r1_penalty(D: Critic, x_real: torch.Tensor) -> torch.Tensor:
    """R1 (Mescheder et al.): ``E[‖∇_x D(x_real)‖₂²]``, a scalar; the paper weights it ``γ/2``.

    ``x_real``: ``(N, d)`` or ``(N, C, H, W)``.
    """
    return input_gradient(D, x_real).flatten(1).pow(2).sum(1).mean()


def r2_penalty(D: Critic, x_fake: torch.Tensor) -> torch.Tensor:
    """R2: R1 on the generated samples, ``E[‖∇_x D(x_fake)‖₂²]``."""
    return r1_penalty(D, x_fake)


@torch.no_grad()
def clip_weights_(D: nn.Module, c: float) -> None:
    """Clamp every parameter of ``D`` in place to ``[−c, c]`` (WGAN's crude Lipschitz bound; c =
    0.01).
    """
    positive("c", c)
    for p in D.parameters():
        p.clamp_(-c, c)


@dataclass(frozen=True)
class Penalty:
    """A named :data:`Regularizer`: ``penalty(D, x_real, x_fake, generator)`` is a scalar to add to
    D's loss.

    ``D_fake`` (keyword): D as it scores the fake batch when that differs from ``D`` (a conditional
    D bound to each batch's labels; see the module docstring).
    """

    name: str
    fn: Regularizer

    def __call__(
        self,
        D: Critic,
        x_real: torch.Tensor,
        x_fake: torch.Tensor,
        generator: torch.Generator | None = None,
        *,
        D_fake: Critic | None = None,
    ) -> torch.Tensor:
        return self.fn(D, D if D_fake is None else D_fake, x_real, x_fake, generator)


def regularizers_for(loss: GANLoss, r1: float = 0.0, r2: float = 0.0) -> list[Penalty]:
    """The penalties to add to D's loss for ``loss``: its gradient penalty, then R1 and R2 with
    ``γ = r1, r2``.

    ``loss.gradient_penalty`` (λ) > 0 adds ``λ · gradient_penalty``; ``r1`` > 0 adds
    ``r1/2 · E‖∇D(x_real)‖²`` and ``r2`` > 0 the same on ``x_fake``. Zero weights add nothing,
    so most losses get an empty list. Weight clipping is not a penalty: see ``loss.clip``.
    """
    for name, value in (("r1", r1), ("r2", r2)):
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            or not value >= 0
            or value == float("inf")
        ):
            raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    penalties = []
    if loss.gradient_penalty > 0:
        lam = loss.gradient_penalty
        penalties.append(
            Penalty(
                f"{lam:g}*gradient_penalty",
                lambda D_real, D_fake, x_real, x_fake, gen: (
                    lam * gradient_penalty(D_real, x_real, x_fake, gen)
                ),
            )
        )
    if r1 > 0:
        penalties.append(
            Penalty(
                f"{r1:g}/2*r1",
                lambda D_real, D_fake, x_real, x_fake, gen: r1 / 2 * r1_penalty(D_real, x_real),
            )
        )
    if r2 > 0:
        penalties.append(
            Penalty(
                f"{r2:g}/2*r2",
                lambda D_real, D_fake, x_real, x_fake, gen: r2 / 2 * r2_penalty(D_fake, x_fake),
            )
        )
    return penalties


def total_penalty(
    penalties: list[Penalty],
    D: Critic,
    x_real: torch.Tensor,
    x_fake: torch.Tensor,
    generator: torch.Generator | None = None,
    *,
    D_fake: Critic | None = None,
) -> torch.Tensor:
    """The sum of ``penalties`` on one batch: a scalar tensor (0 on ``x_real``'s device for none).

    ``D`` scores the real batch (and the interpolates), ``D_fake`` the fake one (default: ``D``).
    """
    total = torch.zeros((), device=x_real.device)
    for penalty in penalties:
        total = total + penalty(D, x_real, x_fake, generator, D_fake=D_fake)
    return total
