"""Measuring the gradient that reaches the generator (chapter 6, saturation).

The generator's loss depends on its parameters θ only through the discriminator's logits
``l = D(G(z; θ))``, so for one sample ``∇_θ ℓ = (∂ℓ/∂l) · ∇_θ l``: the loss sets the factor
``∂ℓ/∂l`` and D sets the direction. :func:`logit_gradient` gives the factor by autograd through
:mod:`ganlab.losses` (``ganlab.theory.generator_gradient`` is its closed form), :func:`measure`
gives the whole gradient on G's parameters for a given G, D and noise, and
:class:`GradientTracker` records, during training, the gradient G actually received and the
step its optimiser actually took.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ._checks import positive_int
from .losses import get_loss
from .models import frozen


def logit_gradient(loss: str, logits_fake: torch.Tensor) -> torch.Tensor:
    """Per-sample ``∂ℓ/∂l`` of the generator loss ``loss`` at each logit, by autograd.

    ``logits_fake`` is a floating tensor of shape ``(N,)``; the result has the same shape and dtype.
    The losses in :mod:`ganlab.losses` are batch means, so the gradient of the mean is multiplied
    by ``N`` to give the derivative of one sample's loss.
    """
    generator_loss = get_loss(loss).generator
    if (
        not isinstance(logits_fake, torch.Tensor)
        or not logits_fake.is_floating_point()
        or logits_fake.ndim != 1
    ):
        raise ValueError(
            f"logits_fake must be a floating-point tensor of shape (N,), got {logits_fake!r:.80}"
        )
    logits = logits_fake.detach().clone().requires_grad_(True)
    generator_loss(logits).backward()
    return logits.grad * logits.numel()


def _norm(tensors) -> float:
    """Euclidean norm of a list of tensors taken as one vector."""
    return float(torch.sqrt(sum((t.detach().double() ** 2).sum() for t in tensors)))


@dataclass(frozen=True)
class GeneratorGradient:
    """What :func:`measure` returns; tensors are on the CPU, one entry per noise vector."""

    loss: float  # the generator loss on this batch
    d_fake: torch.Tensor  # (N,) D(G(z))
    logit_grad: torch.Tensor  # (N,) ∂ℓ/∂l for each sample's own loss
    param_norm: float  # ‖∇_θ loss‖ over all of G's parameters (of the batch-mean loss)


def measure(
    G: nn.Module, D: nn.Module, z: torch.Tensor, loss: str = "nonsaturating"
) -> GeneratorGradient:
    """The generator loss ``loss`` on noise ``z`` ``(N, latent_dim)`` and the gradient it sends to
    G.

    Uses ``torch.autograd.grad``, so neither G's nor D's ``.grad`` is touched, and runs G and D
    :func:`~ganlab.models.frozen`, so their buffers (batch norm, spectral norm) and modes are left
    as they were: measuring during training does not change the run.
    """
    generator_loss = get_loss(loss).generator
    params = [p for p in G.parameters() if p.requires_grad]
    if not params:
        raise ValueError("G has no trainable parameters")
    device = params[0].device
    with frozen(G, D):
        logits = D(G(z.to(device)))
        value = generator_loss(logits)
        grads = torch.autograd.grad(value, params)
    logits = logits.detach()
    return GeneratorGradient(
        loss=float(value.detach()),
        d_fake=torch.sigmoid(logits).cpu(),
        logit_grad=logit_gradient(loss, logits).cpu(),
        param_norm=_norm(grads),
    )


class GradientTracker:
    """A training callback: every ``every`` steps, log what the last generator step did to G.

    Metrics (in ``history.metrics``):

    - ``step_grad_norm_g``: ‖∇_θ loss_g‖ of the training batch, read from G's ``.grad``, which
      ``ganlab.train`` leaves holding the gradient of the generator step just taken (not to be
      confused with ``probe_grad_norm_g`` of ``failures.GradNormTracker``, on fixed noise);
    - ``update_norm_g``: ‖θ_now − θ_before‖ over the last ``every`` steps, the optimiser's actual
      move (Adam rescales the gradient, so this need not shrink with it). The first call logs
      nothing for it, having no earlier parameters.
    """

    def __init__(self, every: int = 1):
        positive_int("every", every)
        self.every = every
        self._previous: list[torch.Tensor] | None = None

    def __call__(self, step, G, D, history) -> None:
        if step % self.every:
            return
        params = [p for p in G.parameters() if p.requires_grad]
        grads = [p.grad for p in params]
        if any(g is None for g in grads):
            raise ValueError(
                "G's parameters have no .grad: use GradientTracker as a callback of ganlab.train, "
                "which calls it right after a generator step"
            )
        history.log_metric("step_grad_norm_g", step, _norm(grads))
        current = [p.detach().clone() for p in params]
        if self._previous is not None:
            history.log_metric(
                "update_norm_g", step, _norm([a - b for a, b in zip(current, self._previous)])
            )
        self._previous = current
