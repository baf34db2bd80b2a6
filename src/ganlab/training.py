"""The training loop: alternating gradient steps on D and G, for any model pair and data.

One step is ``k_disc`` discriminator updates on fresh real and generated minibatches, then one
generator update on fresh noise (Goodfellow et al., Algorithm 1, with Adam). Nothing here is
specific to the toy MLPs: the same loop trains the DCGAN. Speed options (bf16 autocast,
channels-last, ``torch.compile``, fused Adam, reusing the fake batch), a generator EMA and
checkpoints come in through the config (:mod:`ganlab.config`); metrics and snapshots through
callbacks. What the loop needs before its first step (checks, devices, optimisers, several
processes, resuming) is prepared by :mod:`ganlab.training_setup`; the per-step traces and their
NaN check are :mod:`ganlab.history`'s.

Also here, for the chapters: :func:`discriminator_step` (one update of D),
:func:`fit_discriminator` (D alone against a fixed generator) and :func:`fit_critic` (a WGAN
critic alone between two fixed distributions).
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import torch
from torch import nn
from tqdm.auto import tqdm

from . import cudagraph, distributed
from ._checks import positive, positive_int
from .checkpoint import save_checkpoint
from .config import TrainConfig
from .history import History, TraceBuffer, TrainingDiverged
from .losses import get_loss
from .models import toy_gan
from .regularizers import clip_weights_, regularizers_for, total_penalty
from .training_setup import Run, prepare

Callback = Callable[[int, nn.Module, nn.Module, History], None]


def every(n: int, fn: Callback) -> Callback:
    """Wrap ``fn`` to run at steps n, 2n, 3n, ... only."""
    positive_int("n", n)

    def callback(step, G, D, history):
        if step % n == 0:
            fn(step, G, D, history)

    return callback


def _call(net, x, y):
    """``net(x)``, or ``net(x, y)`` for a conditional network given labels ``y``."""
    return net(x) if y is None else net(x, y)


def discriminator_step(
    D,
    opt_d,
    loss_d_fn,
    x_real,
    x_fake,
    autocast=contextlib.nullcontext,
    y_real=None,
    y_fake=None,
    penalty=None,
    clip=None,
    sync=None,
):
    """One update of D on a real and a generated minibatch; returns ``(loss, logits_real,
    logits_fake)``.

    ``autocast`` is a context-manager factory for the forward pass (e.g. bf16 autocast);
    ``y_real`` and ``y_fake`` are the class labels of the two batches for a conditional D;
    ``penalty(x_real, x_fake)``, or ``penalty(x_real, x_fake, y_real, y_fake)`` when there are
    labels, is added to the loss (gradient penalties, in float32, included in the returned loss);
    ``clip`` clamps D's weights after the update (WGAN); ``sync()`` runs between the backward pass
    and the update (averaging the gradients over processes, where DDP does not).
    """
    with autocast():
        logits_real = _call(D, x_real, y_real).float()  # losses in float32
        logits_fake = _call(D, x_fake, y_fake).float()
        loss_d = loss_d_fn(logits_real, logits_fake)
    if penalty is not None:  # a conditional D's penalty also needs the batches' labels
        labelled = y_real is not None or y_fake is not None
        loss_d = loss_d + (
            penalty(x_real, x_fake, y_real, y_fake) if labelled else penalty(x_real, x_fake)
        )
    opt_d.zero_grad(set_to_none=True)
    loss_d.backward()
    if sync is not None:
        sync()
    opt_d.step()
    if clip is not None:
        clip_weights_(D, clip)
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
    betas: tuple[float, float] = (0.5, 0.999),
    clip: float | None = None,
) -> list[float]:
    """Train D alone to tell ``sample_real`` from a *fixed* ``sample_fake`` (G held still).

    This is the inner maximisation ``max_D V(G, D)`` of the game: with enough capacity and steps
    D approaches ``D* = p_data / (p_data + p_g)``. Returns the loss of every step. Adam with
    ``betas``; ``clip`` clamps D's weights after each step (default: the loss's own, WGAN's 0.01).
    """
    positive_int("num_steps", num_steps)
    positive_int("batch_size", batch_size)
    positive("lr", lr)
    device = next(D.parameters()).device
    loss = get_loss(loss)
    penalties = regularizers_for(loss)  # wgan-gp's gradient penalty; wgan clips instead
    opt_d = torch.optim.Adam(D.parameters(), lr=lr, betas=betas)
    gen = torch.Generator(device).manual_seed(seed)

    def penalty(x_real, x_fake, y_real=None, y_fake=None):  # an unconditional D: no labels
        return total_penalty(penalties, D, x_real, x_fake, gen)

    D.train()
    losses = []
    for _ in tqdm(range(num_steps), desc="fit D", disable=not progress):
        x_real = sample_real(batch_size, gen).to(device)
        x_fake = sample_fake(batch_size, gen).to(device)
        step = discriminator_step(
            D,
            opt_d,
            loss.discriminator,
            x_real,
            x_fake,
            penalty=penalty if penalties else None,
            clip=loss.clip if clip is None else clip,
        )
        losses.append(step[0].item())
    bad = next((i for i, v in enumerate(losses, 1) if not math.isfinite(v)), None)
    if bad is not None:
        raise TrainingDiverged(bad, "loss_d")
    return losses


@torch.no_grad()
def _ema_update(G_ema: nn.Module, G: nn.Module, decay: float) -> None:
    for p_ema, p in zip(G_ema.parameters(), G.parameters()):
        p_ema.lerp_(p, 1.0 - decay)  # p_ema <- decay * p_ema + (1 - decay) * p
    for b_ema, b in zip(G_ema.buffers(), G.buffers()):
        b_ema.copy_(b)  # batch-norm statistics are copied, not averaged


def train(
    G: nn.Module,
    D: nn.Module,
    sample_real: Callable[[int, torch.Generator], torch.Tensor],
    cfg: TrainConfig = TrainConfig(),
    callbacks: Sequence[Callback] = (),
    G_ema: nn.Module | None = None,
    resume: str | Path | None = None,
) -> History:
    """Train ``G`` and ``D`` in place; return the History.

    Args:
        G: a generator module with a ``latent_dim`` attribute, mapping ``(N, latent_dim)`` noise
            to samples.
        D: a discriminator module mapping samples to ``(N,)`` logits.
        sample_real: ``sample_real(n, generator)`` returns ``n`` real samples, e.g.
            ``mixture.sample`` or ``ganlab.data.ImageData.sample`` (keep image data on the
            training device). For a conditional G (``G.num_classes`` set) it returns ``(x, y)``,
            e.g. ``ImageData.sample_labeled``; fakes then get labels drawn uniformly, and D sees
            ``D(x, y)``.
        cfg: the run's settings.
        callbacks: each is called as ``cb(step, G, D, history)`` after every generator step.
        G_ema: optional copy of G (``copy.deepcopy(G)``) that tracks an exponential moving average
            of G's weights with ``cfg.ema_decay``; often gives smoother samples than G itself.
        resume: a checkpoint written by a run with ``cfg.checkpoint_path``: continue from its step
            to ``cfg.num_steps``. On a CPU this gives exactly the weights of an uninterrupted run.

    The same ``cfg.seed``, initial weights and device give an identical History and samples.
    Raises ``TrainingDiverged`` (naming the step) when a loss becomes NaN or infinite; the last
    checkpoint written before that step stays as it was.

    Launched on several processes (``torchrun``, after ``ganlab.distributed.setup()``), G and D are
    wrapped in ``DistributedDataParallel``; the batch sizes are global, each process draws the
    global batch from the same seeded generator and trains on its slice; traces are averaged over
    the processes and only rank 0 writes checkpoints and shows progress. A D with a gradient
    penalty is not wrapped (the penalty needs a double backward): its gradients are averaged
    after each backward pass instead, and WGAN-GP's interpolation weights come from a generator
    per process, so that run matches one process statistically rather than number for number
    (and a resumed run draws them afresh).
    """
    run = prepare(G, D, sample_real, cfg, G_ema, resume)
    inputs = dict(noise=run.noise, labels=run.labels, real=run.real)

    def one_step(noise, labels, real):  # the inputs: drawn, or a CUDA graph's fixed tensors
        return _step(run, noise, labels, real)

    run_step = (
        cudagraph.StepGraph(one_step, inputs, run.device)
        if cfg.cuda_graph
        else (lambda: one_step(**inputs))
    )
    history, traces = run.history, TraceBuffer(cfg.log_every, run.device)
    w, start, wall_before = run.world, time.perf_counter(), history.wall_time
    bar = tqdm(
        range(run.done + 1, cfg.num_steps + 1),
        initial=run.done,
        total=cfg.num_steps,
        desc=f"train ({cfg.loss})",
        disable=not (cfg.progress and w.is_main),
    )
    factor = 1.0  # the step sizes prepare() gave the optimisers
    for step in bar:
        if cfg.lr_factor(step) != factor:  # a milestone of the step-size decay (also on resume)
            factor = cfg.lr_factor(step)
            for opt, lr in ((run.opt_g, cfg.lr_g), (run.opt_d, cfg.lr_d)):
                for group in opt.param_groups:
                    group["lr"] = lr * factor
        traces.add(run_step())
        save = cfg.checkpoint_path is not None and (
            step % cfg.checkpoint_every == 0 or step == cfg.num_steps
        )
        if traces.full or step == cfg.num_steps or save:
            mean = (lambda rows: distributed.mean_over_processes(rows, w)) if w.size > 1 else None
            (bad,) = traces.flush([history], step, reduce=mean)
            if bad is not None:
                raise TrainingDiverged(*bad)  # before a bad state is saved
            bar.set_postfix(
                loss_d=f"{history.loss_d[-1]:.3f}",
                loss_g=f"{history.loss_g[-1]:.3f}",
                refresh=False,
            )
        if save and w.is_main:
            history.wall_time = wall_before + time.perf_counter() - start
            save_checkpoint(run.state(step), cfg.checkpoint_path)
        for callback in callbacks:
            callback(step, G, D, history)
    history.wall_time = wall_before + time.perf_counter() - start
    return history


def _step(run: Run, noise, labels, real) -> torch.Tensor:
    """One training step: ``k_disc`` updates of D, then one of G (and G_ema); returns the traces.

    The inputs come through ``noise(n)``, ``labels(n)`` and ``real(n)``, drawn fresh by the run or
    replayed from a CUDA graph's fixed tensors, in this order.
    """
    cfg, loss, G_run, D_run = run.cfg, run.loss, run.G_run, run.D_run
    penalty = run.penalty if run.penalties else None
    sync_d = run.sync_d if run.penalties and run.world.size > 1 else None
    # Discriminator: ascend V, i.e. descend -V = BCE(real, 1) + BCE(fake, 0), k_disc times.
    for i in range(cfg.k_disc):
        keep_graph = cfg.reuse_fake and i == cfg.k_disc - 1  # the G step will reuse this batch
        z, y_fake = noise(cfg.batch_fake), labels(cfg.batch_fake)
        with torch.set_grad_enabled(keep_graph), run.autocast():
            x_fake = _call(G_run, z, y_fake)
        x_real, y_real = real(cfg.batch_real)
        loss_d, logits_real, logits_fake = discriminator_step(
            D_run,
            run.opt_d,
            loss.discriminator,
            x_real,
            x_fake.detach(),
            run.autocast,
            y_real,
            y_fake,
            penalty,
            loss.clip,
            sync_d,
        )
    # Generator: its samples are just another input to D; gradients flow through D into G.
    with run.autocast():
        if not cfg.reuse_fake:
            z, y_fake = noise(cfg.batch_g), labels(cfg.batch_g)
            x_fake = _call(G_run, z, y_fake)
        loss_g = loss.generator(_call(D_run, x_fake, y_fake).float())
    run.opt_g.zero_grad(set_to_none=True)
    loss_g.backward()
    run.opt_g.step()
    if run.G_ema is not None:
        _ema_update(run.G_ema, run.G, cfg.ema_decay)
    with torch.no_grad():
        d_real, d_fake = torch.sigmoid(logits_real).mean(), torch.sigmoid(logits_fake).mean()
        return torch.stack([loss_d, loss_g, d_real, d_fake])


def fit_critic(
    sample_real: Callable[[int, torch.Generator], torch.Tensor],
    sample_fake: Callable[[int, torch.Generator], torch.Tensor],
    dim: int,
    loss: str = "wgan-gp",
    clip: float | None = None,
    num_steps: int = 400,
    lr: float = 1e-3,
    seed: int = 0,
) -> nn.Module:
    """Train a fresh WGAN critic alone between two fixed distributions of ``dim``-dimensional
    points; return it (an MLP, 2 hidden layers of 64 units, from ``toy_gan(dim, seed=seed)``).

    ``sample_real(n, generator)`` and ``sample_fake(n, generator)`` give ``(n, dim)`` batches;
    ``num_steps`` updates on 256 of each (:func:`fit_discriminator`, Adam with betas (0.5, 0.9)).
    ``loss`` is ``"wgan-gp"`` (the critic's loss plus
    λ·:func:`~ganlab.regularizers.gradient_penalty`, λ = 10) or ``"wgan"`` (every weight clamped
    to ``[−clip, clip]`` after each step; ``clip`` defaults to the loss's 0.01). One generator
    seeded ``seed`` draws the batches and the penalty's interpolation weights, so the same
    arguments give the same critic. Its mean gap ``E_real D − E_fake D`` estimates W1
    (:func:`ganlab.metrics.critic_estimate`).
    """
    _, D = toy_gan(dim, hidden=64, depth=2, seed=seed)
    fit_discriminator(
        D, sample_real, sample_fake, num_steps, 256, lr, seed, loss, betas=(0.5, 0.9), clip=clip
    )
    return D
