"""GAN losses as pure functions of discriminator logits, picked by name from one table.

With ``D(x) = sigmoid(l)``, the value of the game is
``V(G, D) = E_data[log D(x)] + E_z[log(1 − D(G(z)))]``. D maximises V, so its loss is ``−V``:
binary cross-entropy with label 1 for real and 0 for fake samples. Every loss here is built on
``binary_cross_entropy_with_logits``, which computes ``log sigmoid`` stably (never ``log(sigmoid(l))``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn.functional as F

from ._checks import choice


def _bce(logits: torch.Tensor, label: float) -> torch.Tensor:
    return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, label))


def discriminator_bce(logits_real: torch.Tensor, logits_fake: torch.Tensor) -> torch.Tensor:
    """``−V``: ``−E[log D(x_real)] − E[log(1 − D(x_fake))]``, the sum of the two BCE terms."""
    return _bce(logits_real, 1.0) + _bce(logits_fake, 0.0)


def generator_minimax(logits_fake: torch.Tensor) -> torch.Tensor:
    """The saturating loss of the original game: ``E[log(1 − D(G(z)))]``, minimised by G."""
    return -_bce(logits_fake, 0.0)


def generator_nonsaturating(logits_fake: torch.Tensor) -> torch.Tensor:
    """The practical loss: ``−E[log D(G(z))]`` (BCE with flipped labels), minimised by G."""
    return _bce(logits_fake, 1.0)


@dataclass(frozen=True)
class GANLoss:
    """A named pair of losses: ``discriminator(logits_real, logits_fake)`` and ``generator(logits_fake)``."""

    name: str
    discriminator: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
    generator: Callable[[torch.Tensor], torch.Tensor]


LOSSES = {
    "minimax": GANLoss("minimax", discriminator_bce, generator_minimax),
    "nonsaturating": GANLoss("nonsaturating", discriminator_bce, generator_nonsaturating),
}


def get_loss(name: str) -> GANLoss:
    """The loss pair called ``name`` (one of ``LOSSES``)."""
    choice("loss", name, list(LOSSES))
    return LOSSES[name]
