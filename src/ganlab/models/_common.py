"""What the MLP and DCGAN models share: their options (conditioning, spectral norm) and label
checks.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils import parametrizations

from .._checks import choice, positive_int

CONDITIONINGS = ("concat", "projection")  # how a conditional D uses its labels
LABEL_DIM_MAX = (
    50  # e_y has min(num_classes, 50) entries: as many as a one-hot code, capped for many classes
)


def _label_dim(num_classes: int | None) -> int:
    return 0 if num_classes is None else min(num_classes, LABEL_DIM_MAX)


def _check_options(num_classes: int | None, conditioning: str = "concat") -> None:
    if num_classes is not None:
        positive_int("num_classes", num_classes)
    choice("conditioning", conditioning, CONDITIONINGS)


def _options(
    num_classes=None, conditioning=None, spectral_norm=False, batchnorm=True, attention_at=None
) -> dict:
    """The options that are on, for ``hparams`` (a plain model's ``hparams`` stay as they always
    were).
    """
    options = {} if num_classes is None else dict(num_classes=num_classes)
    if num_classes is not None and conditioning is not None:
        options["conditioning"] = conditioning
    if spectral_norm:
        options["spectral_norm"] = True
    if not batchnorm:
        options["batchnorm"] = False
    if attention_at is not None:
        options["attention_at"] = attention_at
    return options


def _spectral_norm(module: nn.Module) -> None:
    """Spectrally normalise every Linear, Conv2d and ConvTranspose2d inside ``module`` (in
    place).
    """
    for m in list(module.modules()):
        if isinstance(m, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)):
            parametrizations.spectral_norm(
                m
            )  # W / σ(W); ConvTranspose2d is reshaped along its output channels


def _init_projection(embed: nn.Embedding, spectral_norm: bool) -> None:
    """The projection's class vectors start small, N(0, 0.02) (D's init scale), so D starts nearly
    unconditional; with spectral norm they are normalised too (y ↦ e_y is a linear map of the
    one-hot y), as by Miyato & Koyama.
    """
    nn.init.normal_(embed.weight, 0.0, 0.02)
    if spectral_norm:
        parametrizations.spectral_norm(embed)


def _labels(model: str, y, n: int, num_classes: int | None) -> torch.Tensor | None:
    """Check the labels given to a forward pass: (n,) integers for a conditional model, None
    otherwise.
    """
    if num_classes is None:
        if y is not None:
            raise ValueError(
                f"{model} is unconditional (num_classes=None) and takes no labels y; "
                "build it with num_classes=K for a conditional model"
            )
        return None
    if y is None:
        raise ValueError(
            f"{model} is conditional (num_classes={num_classes}): pass integer labels y of shape "
            f"({n},)"
        )
    if (
        not isinstance(y, torch.Tensor)
        or y.shape != (n,)
        or y.is_floating_point()
        or y.dtype == torch.bool
    ):
        got = (
            f"{y.dtype} tensor of shape {tuple(y.shape)}"
            if isinstance(y, torch.Tensor)
            else type(y).__name__
        )
        raise ValueError(f"{model} expects integer labels y of shape ({n},), got a {got}")
    # checked on the CPU only: on a GPU the check would stall every step (the embedding lookup still
    # fails there)
    if y.device.type == "cpu" and n and (y.min() < 0 or y.max() >= num_classes):
        raise ValueError(
            f"labels y must be in 0..{num_classes - 1}, got values from {y.min()} to {y.max()}"
        )
    return y.long()
