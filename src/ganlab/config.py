"""The settings of a training run, :class:`TrainConfig`, each classified once where it is defined.

Every field carries an :class:`Option` in its dataclass metadata, which says

- whether the field *defines the run* (a resumed run must keep its value) or only says how this
  session runs it (it may change on resume: the number of steps, the device, speed options);
- what the batched engine ``ganlab.sweep.run`` does with it: honours it, refuses every value but
  the one it needs, or ignores it (and why);
- its command-line flag, the group of ``python -m ganlab train ... -h`` it is listed in, and its
  help text (or why it has no flag).

The trainer's resume check (:func:`defines_run`), the sweep's refusals (:func:`sweep_refusals`) and
the command line's flags (``ganlab.cli``) are derived from these. A field without an ``Option``
makes this module fail at import, so a new setting cannot be forgotten in any of those places.
"""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass, field

import torch

from ._checks import choice, positive, positive_int
from .losses import LOSSES
from .profiles import default_device

HONOURS, REFUSES, IGNORES = "honours", "refuses", "ignores"  # what ganlab.sweep.run does
GROUPS = {  # command-line groups, in the order -h lists them
    "training": "the algorithm: steps, batches, Adam, the discriminator's steps",
    "loss": "the loss and its regularisers",
    "speed": "how a step runs on the hardware: the same algorithm, up to rounding",
    "run": "device, logging and checkpoints",
}


@dataclass(frozen=True)
class Option:
    """How one :class:`TrainConfig` field is treated; see the module docstring.

    ``defines_run``: a resumed run must have the checkpoint's value. ``sweep``: ``"honours"``,
    ``"refuses"`` (every value but ``sweep_needs``) or ``"ignores"`` (``sweep_why`` says why).
    ``flag``: the command-line flag, or None (``no_flag_why`` says why); ``group``: its group;
    ``metavar`` and ``choices`` as for ``argparse``.
    """

    help: str
    group: str
    defines_run: bool
    sweep: str
    sweep_needs: object = None
    sweep_why: str = ""
    flag: str | None = None
    no_flag_why: str = ""
    metavar: str | tuple[str, ...] | None = None
    choices: tuple | None = None

    def __post_init__(self):
        choice("option group", self.group, list(GROUPS))
        choice("sweep treatment", self.sweep, [HONOURS, REFUSES, IGNORES])
        if self.sweep == IGNORES and not self.sweep_why:
            raise ValueError("an option the sweep ignores needs sweep_why: the reason")
        if self.flag is None and not self.no_flag_why:
            raise ValueError("an option without a flag needs no_flag_why: the reason")


_AUTO = object()


def option(
    default,
    help: str,
    *,
    group: str,
    defines_run: bool,
    sweep: str = HONOURS,
    sweep_needs=None,
    sweep_why: str = "",
    flag=_AUTO,
    no_flag_why: str = "",
    metavar: str | tuple[str, ...] | None = None,
    choices: tuple | None = None,
):
    """A dataclass field with its :class:`Option`; ``flag`` defaults to ``--name-with-dashes``.

    The flag is filled in by :func:`options`, which knows the field's name.
    """
    meta = dict(
        help=help,
        group=group,
        defines_run=defines_run,
        sweep=sweep,
        sweep_needs=sweep_needs,
        sweep_why=sweep_why,
        no_flag_why=no_flag_why,
        metavar=metavar,
        choices=choices,
    )
    return field(default=default, metadata={"option": meta, "flag": flag})


@dataclass(frozen=True)
class TrainConfig:
    """Everything that defines a training run. Override with ``dataclasses.replace(cfg, ...)``.

    Each field's help text, and how a resume, a sweep and the command line treat it, is in
    :func:`options` (``python -m ganlab train toy -h`` lists them).
    """

    num_steps: int = option(
        2000,
        "generator updates; a resumed run continues to this step",
        group="training",
        defines_run=False,
        flag="--steps",
        metavar="N",
    )
    batch_real: int = option(
        256,
        "N_real: real samples per discriminator step",
        group="training",
        defines_run=True,
        metavar="N",
    )
    batch_fake: int = option(
        256,
        "N_fake: generated samples per discriminator step",
        group="training",
        defines_run=True,
        metavar="N",
    )
    batch_g: int = option(
        256,
        "generated samples per generator step",
        group="training",
        defines_run=True,
        metavar="N",
    )
    k_disc: int = option(
        1,
        "discriminator steps per generator step (1 as in Goodfellow et al.); per member in a sweep",
        group="training",
        defines_run=True,
        metavar="K",
    )
    lr_g: float = option(
        1e-3,
        "Adam step size of G; toy MLPs tolerate more than the DCGAN's 2e-4; per member in a sweep",
        group="training",
        defines_run=True,
        metavar="LR",
    )
    lr_d: float = option(
        1e-3,
        "Adam step size of D; per member in a sweep",
        group="training",
        defines_run=True,
        metavar="LR",
    )
    betas: tuple[float, float] = option(
        (0.5, 0.999),
        "Adam's (beta1, beta2); beta1 = 0.5 damps the oscillation (Radford et al.)",
        group="training",
        defines_run=True,
        metavar=("BETA1", "BETA2"),
    )
    lr_milestones: tuple[int, ...] = option(
        (),
        "generator steps after which both step sizes are multiplied by lr_gamma (a step-wise "
        "decay, as torch's MultiStepLR; Adam's state is kept); (): constant step sizes",
        group="training",
        defines_run=True,
        sweep=REFUSES,
        sweep_needs=(),
        metavar="STEP",
    )
    lr_gamma: float = option(
        0.1,
        "the factor on both step sizes at each of lr_milestones",
        group="training",
        defines_run=True,
        sweep=IGNORES,
        sweep_why="used only with lr_milestones, which the sweep refuses (its start= continues "
        "a sweep at another step size instead)",
        metavar="FACTOR",
    )
    loss: str = option(
        "nonsaturating",
        "a key of ganlab.losses.LOSSES (wgan clips D, wgan-gp adds its gradient penalty; "
        "the sweep refuses those two)",
        group="loss",
        defines_run=True,
        choices=tuple(LOSSES),
    )
    r1: float = option(
        0.0,
        "gamma of the R1 penalty gamma/2 E|grad D(x_real)|^2 on D (Mescheder et al. 2018); 0: none",
        group="loss",
        defines_run=True,
        sweep=REFUSES,
        sweep_needs=0.0,
        metavar="GAMMA",
    )
    r2: float = option(
        0.0,
        "the same penalty on generated samples (R2); 0: none",
        group="loss",
        defines_run=True,
        sweep=REFUSES,
        sweep_needs=0.0,
        metavar="GAMMA",
    )
    seed: int = option(
        0,
        "seeds the data and noise draws (the models are seeded where they are built); "
        "a sweep replaces it by each member's seed",
        group="training",
        defines_run=True,
    )
    device: str = option(
        "auto",
        "auto (cuda when present, else cpu), cpu, cuda, cuda:1, ...",
        group="run",
        defines_run=False,
    )
    log_every: int = option(
        50,
        "losses reach the History (and are checked for NaN) every n steps",
        group="run",
        defines_run=False,
        metavar="N",
    )
    progress: bool = option(
        True,
        "show a tqdm progress bar",
        group="run",
        defines_run=False,
    )
    bf16: bool = option(
        False,
        "bfloat16 autocast for forward passes; weights, Adam state and losses stay float32",
        group="speed",
        defines_run=True,
        sweep=REFUSES,
        sweep_needs=False,
    )
    channels_last: bool = option(
        False,
        "NHWC layout for images and conv weights: faster convolutions on GPUs",
        group="speed",
        defines_run=False,
        sweep=REFUSES,
        sweep_needs=False,
    )
    compile: bool = option(
        False,
        "torch.compile G and D: minutes of compiling on a CPU, pays off on long GPU runs; the "
        "memory layout is then left to the compiler (torch 2.11's inductor failed on the NHWC "
        "weight gradient of the generator's 1x1-input first layer)",
        group="speed",
        defines_run=False,
        sweep=REFUSES,
        sweep_needs=False,
    )
    compile_backend: str = option(
        "inductor",
        "torch.compile's backend; aot_eager traces the graphs without generating kernels",
        group="speed",
        defines_run=False,
        sweep=IGNORES,
        sweep_why="used only with compile, which the sweep refuses",
    )
    compile_mode: str | None = option(
        None,
        "torch.compile's mode: None (no flag: its default), reduce-overhead (CUDA graphs), ...",
        group="speed",
        defines_run=False,
        sweep=IGNORES,
        sweep_why="used only with compile, which the sweep refuses",
    )
    cuda_graph: bool = option(
        False,
        "replay each whole step (D and G updates, Adam, EMA) as one CUDA graph after 3 ordinary "
        "steps, with the same draws (ganlab.cudagraph); CUDA only, not with compile, several "
        "processes or gradient penalties",
        group="speed",
        defines_run=False,
        sweep=REFUSES,
        sweep_needs=False,
    )
    fused_adam: bool | None = option(
        None,
        "Adam's update as one fused kernel; None (no flag): on for CUDA, off on a CPU",
        group="speed",
        defines_run=False,
        sweep=IGNORES,
        sweep_why="its BatchedAdam stands in, which only rounds differently from a fused Adam",
    )
    reuse_fake: bool = option(
        False,
        "the G step reuses the last D step's fake batch (batch_fake): one G forward pass fewer",
        group="speed",
        defines_run=True,
        sweep=REFUSES,
        sweep_needs=False,
    )
    ema_decay: float = option(
        0.999,
        "G_ema <- decay * G_ema + (1 - decay) * G after each step, if train() is given a G_ema",
        group="training",
        defines_run=True,
        sweep=IGNORES,
        sweep_why="a sweep keeps no EMA copy",
        flag=None,
        no_flag_why="the command line's own --ema DECAY sets it and makes the EMA copy",
    )
    checkpoint_path: str | None = option(
        None,
        "where checkpoints of the whole training state go (saved atomically; continue with "
        "train(..., resume=path)); None: no checkpoints",
        group="run",
        defines_run=False,
        sweep=REFUSES,
        sweep_needs=None,
        flag=None,
        no_flag_why="the command line writes OUT/checkpoint.pt",
    )
    checkpoint_every: int = option(
        1000,
        "generator steps between checkpoints (one is also written at the end)",
        group="run",
        defines_run=False,
        sweep=IGNORES,
        sweep_why="used only with checkpoint_path, which the sweep refuses",
        metavar="N",
    )
    sync_batchnorm: bool = option(
        False,
        "with several processes (torchrun), share batch-norm statistics across GPUs, so that N "
        "GPUs normalise like one; may change on resume, like the number of processes",
        group="speed",
        defines_run=False,
        sweep=REFUSES,
        sweep_needs=False,
    )

    def __post_init__(self):
        for name in (
            "num_steps",
            "batch_real",
            "batch_fake",
            "batch_g",
            "k_disc",
            "log_every",
            "checkpoint_every",
        ):
            positive_int(name, getattr(self, name))
        for name in ("r1", "r2"):
            value = getattr(self, name)
            if (
                isinstance(value, bool)
                or not isinstance(value, (int, float))
                or not 0 <= value < float("inf")
            ):
                raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
        if not 0 <= self.ema_decay < 1:
            raise ValueError(f"ema_decay must be in [0, 1), got {self.ema_decay!r}")
        positive("lr_g", self.lr_g)
        positive("lr_d", self.lr_d)
        if len(self.betas) != 2 or not all(0 <= b < 1 for b in self.betas):
            raise ValueError(f"betas must be two numbers in [0, 1), got {self.betas!r}")
        choice("loss", self.loss, list(LOSSES))
        milestones = self.lr_milestones
        if not isinstance(milestones, tuple) or not all(
            isinstance(m, int) and not isinstance(m, bool) and m >= 1 for m in milestones
        ):
            raise ValueError(f"lr_milestones must be a tuple of steps >= 1, got {milestones!r}")
        if list(milestones) != sorted(set(milestones)):
            raise ValueError(f"lr_milestones must be increasing, got {milestones!r}")
        positive("lr_gamma", self.lr_gamma)
        if milestones and self.cuda_graph:
            raise ValueError("lr_milestones and cuda_graph: a CUDA graph keeps its step sizes")
        if not isinstance(self.seed, int):
            raise ValueError(f"seed must be an integer, got {self.seed!r}")

    def lr_factor(self, step: int) -> float:
        """The factor on ``lr_g`` and ``lr_d`` at generator step ``step`` (counted from 1):
        ``lr_gamma`` to the number of ``lr_milestones`` before ``step``."""
        return self.lr_gamma ** sum(step > m for m in self.lr_milestones)

    def resolved_device(self) -> torch.device:
        return torch.device(default_device() if self.device == "auto" else self.device)


def options(cls: type = TrainConfig) -> dict[str, Option]:
    """Every field of ``cls`` with its :class:`Option`; a field without one raises ``TypeError``."""
    out = {}
    for f in dataclasses.fields(cls):
        if "option" not in f.metadata:
            raise TypeError(
                f"{cls.__name__}.{f.name} is not classified: define it with ganlab.config.option("
                "default, help, group=..., defines_run=..., sweep=...), which says how a resume, "
                "a sweep and the command line treat it"
            )
        flag = f.metadata["flag"]
        flag = "--" + f.name.replace("_", "-") if flag is _AUTO else flag
        out[f.name] = Option(**f.metadata["option"], flag=flag)
    return out


def field_types(cls: type = TrainConfig) -> dict[str, object]:
    """Each field's annotation, resolved (``int``, ``str | None``, ``tuple[float, float]``, ...)."""
    return typing.get_type_hints(cls)


def defines_run(cls: type = TrainConfig) -> tuple[str, ...]:
    """The fields a resumed run may not change."""
    return tuple(name for name, o in options(cls).items() if o.defines_run)


def changed(saved: dict, cfg: TrainConfig) -> dict[str, tuple]:
    """``{name: (saved value, cfg's value)}`` for the run-defining fields that differ."""
    return {
        name: (saved.get(name), getattr(cfg, name))
        for name in defines_run(type(cfg))
        if _plain(saved.get(name)) != _plain(getattr(cfg, name))
    }


def _plain(value):
    return list(value) if isinstance(value, (tuple, list)) else value


def sweep_refusals(cfg: TrainConfig) -> dict[str, tuple]:
    """``{name: (cfg's value, the value a sweep needs)}`` for each setting a sweep refuses."""
    return {
        name: (getattr(cfg, name), o.sweep_needs)
        for name, o in options(type(cfg)).items()
        if o.sweep == REFUSES and getattr(cfg, name) != o.sweep_needs
    }


options()  # every field classified, or fail at import
