"""The training loop: alternating gradient steps on D and G, for any model pair and data.

One step is ``k_disc`` discriminator updates on fresh real and generated minibatches, then one
generator update on fresh noise (Goodfellow et al., Algorithm 1, with Adam). Nothing here is
specific to the toy MLPs; metrics and snapshots come in through callbacks.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from typing import Callable, Sequence

import torch
from torch import nn
from tqdm.auto import tqdm

from ._checks import choice, positive, positive_int
from .losses import LOSSES, get_loss
from .profile import default_device


class TrainingDiverged(RuntimeError):
    """A loss became NaN or infinite; ``step`` is the first generator step where it did."""

    def __init__(self, step: int, what: str):
        self.step = step
        super().__init__(
            f"training diverged at step {step}: {what} is not finite; "
            "lower lr_d / lr_g, or check the data for NaN or huge values"
        )


@dataclass(frozen=True)
class TrainConfig:
    """Everything that defines a training run. Override with ``dataclasses.replace(cfg, ...)``."""

    num_steps: int = 2000  # generator updates
    batch_real: int = 256  # N_real: real samples per discriminator step
    batch_fake: int = 256  # N_fake: generated samples per discriminator step
    batch_g: int = 256  # generated samples per generator step
    k_disc: int = 1  # discriminator steps per generator step; K = 1 as in Goodfellow et al.
    lr_g: float = 1e-3  # Adam step sizes; toy MLPs tolerate more than the DCGAN's 2e-4
    lr_d: float = 1e-3
    betas: tuple[float, float] = (0.5, 0.999)  # beta1 = 0.5 damps the oscillation (Radford et al.)
    loss: str = "nonsaturating"  # a key of ganlab.losses.LOSSES
    seed: int = 0  # seeds the data and noise draws (seed the models where you build them)
    device: str = "auto"  # "auto" picks cuda when present, else cpu
    log_every: int = 50  # losses reach the History (and are checked for NaN) every n steps
    progress: bool = True  # show a tqdm progress bar

    def __post_init__(self):
        for name in ("num_steps", "batch_real", "batch_fake", "batch_g", "k_disc", "log_every"):
            positive_int(name, getattr(self, name))
        positive("lr_g", self.lr_g)
        positive("lr_d", self.lr_d)
        if len(self.betas) != 2 or not all(0 <= b < 1 for b in self.betas):
            raise ValueError(f"betas must be two numbers in [0, 1), got {self.betas!r}")
        choice("loss", self.loss, list(LOSSES))
        if not isinstance(self.seed, int):
            raise ValueError(f"seed must be an integer, got {self.seed!r}")

    def resolved_device(self) -> torch.device:
        return torch.device(default_device() if self.device == "auto" else self.device)


@dataclass
class History:
    """What a run recorded: one entry per generator step, plus metrics logged by callbacks.

    ``loss_d`` and ``loss_g`` are the last discriminator loss and the generator loss of each
    step; ``d_real`` and ``d_fake`` the mean ``D(x)`` and ``D(G(z))`` of the last D step.
    ``metrics[name]`` is a list of ``(step, value)``. ``wall_time`` is in seconds.
    """

    step: list[int] = field(default_factory=list)
    loss_d: list[float] = field(default_factory=list)
    loss_g: list[float] = field(default_factory=list)
    d_real: list[float] = field(default_factory=list)
    d_fake: list[float] = field(default_factory=list)
    metrics: dict[str, list[tuple[int, float]]] = field(default_factory=dict)
    wall_time: float = 0.0
    config: dict = field(default_factory=dict)

    def log_metric(self, name: str, step: int, value: float) -> None:
        """Record ``value`` for metric ``name`` at ``step``."""
        self.metrics.setdefault(name, []).append((step, float(value)))

    def metric(self, name: str) -> tuple[list[int], list[float]]:
        """Steps and values of metric ``name``."""
        if name not in self.metrics:
            raise KeyError(f"no metric {name!r}; recorded: {', '.join(self.metrics) or 'none'}")
        steps, values = zip(*self.metrics[name])
        return list(steps), list(values)

    @property
    def steps_per_second(self) -> float:
        return len(self.step) / self.wall_time if self.wall_time > 0 else float("nan")


Callback = Callable[[int, nn.Module, nn.Module, History], None]
_TRACES = ("loss_d", "loss_g", "d_real", "d_fake")


def every(n: int, fn: Callback) -> Callback:
    """Wrap ``fn`` to run at steps n, 2n, 3n, ... only."""
    positive_int("n", n)

    def callback(step, G, D, history):
        if step % n == 0:
            fn(step, G, D, history)

    return callback


def _flush(history: History, buffer: torch.Tensor, first_step: int, bar) -> None:
    """Move buffered per-step traces to the History, failing at the first non-finite one."""
    rows = buffer.cpu().tolist()
    for offset, row in enumerate(rows):
        for name, value in zip(_TRACES, row):
            if value != value or value in (float("inf"), float("-inf")):
                raise TrainingDiverged(first_step + offset, name)
        history.step.append(first_step + offset)
        for name, value in zip(_TRACES, row):
            getattr(history, name).append(value)
    bar.set_postfix(loss_d=f"{rows[-1][0]:.3f}", loss_g=f"{rows[-1][1]:.3f}", refresh=False)


def discriminator_step(D, opt_d, loss_d_fn, x_real, x_fake):
    """One update of D on a real and a generated minibatch; returns (loss, logits_real, logits_fake)."""
    logits_real, logits_fake = D(x_real), D(x_fake)
    loss_d = loss_d_fn(logits_real, logits_fake)
    opt_d.zero_grad(set_to_none=True)
    loss_d.backward()
    opt_d.step()
    return loss_d, logits_real, logits_fake


def fit_discriminator(
    D: nn.Module,
    sample_real: Callable[[int, torch.Generator], torch.Tensor],
    sample_fake: Callable[[int, torch.Generator], torch.Tensor],
    num_steps: int = 1000,
    batch_size: int = 256,
    lr: float = 1e-3,
    seed: int = 0,
    loss: str = "nonsaturating",
    progress: bool = False,
) -> list[float]:
    """Train D alone to tell ``sample_real`` from a *fixed* ``sample_fake`` (G held still).

    This is the inner maximisation ``max_D V(G, D)`` of the game: with enough capacity and steps
    D approaches ``D* = p_data / (p_data + p_g)``. Returns the loss of every step.
    """
    positive_int("num_steps", num_steps)
    positive_int("batch_size", batch_size)
    positive("lr", lr)
    device = next(D.parameters()).device
    loss_d_fn = get_loss(loss).discriminator
    opt_d = torch.optim.Adam(D.parameters(), lr=lr, betas=(0.5, 0.999))
    gen = torch.Generator(device).manual_seed(seed)
    D.train()
    losses = []
    for _ in tqdm(range(num_steps), desc="fit D", disable=not progress):
        x_real = sample_real(batch_size, gen).to(device)
        x_fake = sample_fake(batch_size, gen).to(device)
        losses.append(discriminator_step(D, opt_d, loss_d_fn, x_real, x_fake)[0].item())
    bad = next((i for i, v in enumerate(losses, 1) if not math.isfinite(v)), None)
    if bad is not None:
        raise TrainingDiverged(bad, "loss_d")
    return losses


def train(
    G: nn.Module,
    D: nn.Module,
    sample_real: Callable[[int, torch.Generator], torch.Tensor],
    cfg: TrainConfig = TrainConfig(),
    callbacks: Sequence[Callback] = (),
) -> History:
    """Train ``G`` and ``D`` in place; return the History.

    Args:
        G: a generator module with a ``latent_dim`` attribute, mapping ``(N, latent_dim)`` noise to samples.
        D: a discriminator module mapping samples to ``(N,)`` logits.
        sample_real: ``sample_real(n, generator)`` returns ``n`` real samples, e.g. ``mixture.sample``.
        cfg: the run's settings.
        callbacks: each is called as ``cb(step, G, D, history)`` after every generator step.

    The same ``cfg.seed``, initial weights and device give an identical History and samples.
    Raises ``TrainingDiverged`` (naming the step) when a loss becomes NaN or infinite.
    """
    if not hasattr(G, "latent_dim"):
        raise ValueError("G needs a latent_dim attribute (the size of its input noise)")
    device = cfg.resolved_device()
    G.to(device).train()
    D.to(device).train()
    loss = get_loss(cfg.loss)
    opt_g = torch.optim.Adam(G.parameters(), lr=cfg.lr_g, betas=cfg.betas)
    opt_d = torch.optim.Adam(D.parameters(), lr=cfg.lr_d, betas=cfg.betas)
    gen = torch.Generator(device).manual_seed(cfg.seed)
    history = History(config=asdict(cfg))
    buffer = torch.empty(cfg.log_every, len(_TRACES), device=device)  # traces between flushes
    filled, start = 0, time.perf_counter()

    def noise(n):
        return torch.randn(n, G.latent_dim, generator=gen, device=device)

    bar = tqdm(range(1, cfg.num_steps + 1), desc=f"train ({cfg.loss})", disable=not cfg.progress)
    for step in bar:
        # Discriminator: ascend V, i.e. descend -V = BCE(real, 1) + BCE(fake, 0), k_disc times.
        for _ in range(cfg.k_disc):
            with torch.no_grad():
                x_fake = G(noise(cfg.batch_fake))
            loss_d, logits_real, logits_fake = discriminator_step(
                D, opt_d, loss.discriminator, sample_real(cfg.batch_real, gen).to(device), x_fake)
        # Generator: its samples are just another input to D; gradients flow through D into G.
        loss_g = loss.generator(D(G(noise(cfg.batch_g))))
        opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        opt_g.step()

        with torch.no_grad():
            buffer[filled] = torch.stack(
                [loss_d, loss_g, torch.sigmoid(logits_real).mean(), torch.sigmoid(logits_fake).mean()]
            )
        filled += 1
        if filled == cfg.log_every or step == cfg.num_steps:
            _flush(history, buffer[:filled], step - filled + 1, bar)
            filled = 0
        for callback in callbacks:
            callback(step, G, D, history)
    history.wall_time = time.perf_counter() - start
    return history
