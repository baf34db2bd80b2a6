"""What ``ganlab.train`` prepares before its first step: one :class:`Run`, made by :func:`prepare`.

Preparing a run means refusing what cannot work (:func:`check`), putting the models on the device
in the memory layout the config asks for, building both Adams and the seeded generator every
draw comes from, restoring a checkpoint, wrapping the models for several processes (DDP) or the
compiler (:func:`wrapped`), and the draws of one step's inputs: noise, labels and real batches,
each process keeping its slice of the global batch. The training loop itself is
:mod:`ganlab.training`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from torch import nn

from . import cudagraph, distributed
from .checkpoint import load_checkpoint, restore_training, training_state
from .config import TrainConfig
from .history import History
from .losses import GANLoss, get_loss
from .regularizers import regularizers_for, total_penalty


@dataclass
class Run:
    """A prepared run: the models, optimisers, draws and settings a training step uses."""

    cfg: TrainConfig
    world: distributed.World
    device: torch.device
    loss: GANLoss
    penalties: list  # the gradient penalties on D (regularizers_for); empty: none
    num_classes: int | None  # a conditional GAN: G(z, y) and D(x, y)
    memory: torch.memory_format  # of images and conv weights
    sample_real: Callable
    G: nn.Module
    D: nn.Module
    G_ema: nn.Module | None
    G_run: nn.Module  # what forward passes go through: G, or G wrapped (DDP, compile)
    D_run: nn.Module
    opt_g: torch.optim.Adam
    opt_d: torch.optim.Adam
    gen: torch.Generator  # every draw of the run: noise, labels, real batches
    penalty_gen: torch.Generator  # WGAN-GP's interpolation weights
    done: int  # steps already taken (a resumed run)
    history: History

    def noise(self, n: int) -> torch.Tensor:
        """This process's slice of ``n`` latent vectors (every process draws the global batch)."""
        z = torch.randn(n, self.G.latent_dim, generator=self.gen, device=self.device)
        return distributed.shard(z, self.world)

    def labels(self, n: int) -> torch.Tensor | None:
        """Class labels of a fake batch, uniform over the classes; None unless conditional."""
        if not self.num_classes:
            return None
        y = torch.randint(self.num_classes, (n,), generator=self.gen, device=self.device)
        return distributed.shard(y, self.world)

    def real(self, n: int) -> tuple[torch.Tensor, torch.Tensor | None]:
        """This process's slice of ``n`` real samples and their labels (None unless conditional)."""
        drawn = self.sample_real(n, self.gen)
        if self.num_classes and not isinstance(drawn, (tuple, list)):
            raise ValueError(
                "a conditional G needs sample_real to return (x, y), e.g. ImageData.sample_labeled"
            )
        x, y = drawn if self.num_classes else (drawn, None)
        x = distributed.shard(x, self.world)
        x = x.to(self.device, memory_format=self.memory) if x.ndim == 4 else x.to(self.device)
        return x, None if y is None else distributed.shard(y, self.world).to(self.device)

    def penalty(self, x_real, x_fake, y_real=None, y_fake=None) -> torch.Tensor:
        """D's gradient penalties, on the plain D (a double backward goes through neither
        compile nor DDP); a conditional D is penalised with each batch's own labels."""
        D = self.D
        if y_real is None:
            return total_penalty(self.penalties, D, x_real, x_fake, self.penalty_gen)
        return total_penalty(
            self.penalties,
            lambda x: D(x, y_real),
            x_real,
            x_fake,
            self.penalty_gen,
            D_fake=lambda x: D(x, y_fake),
        )

    def autocast(self):
        """bf16 autocast when asked for (a CUDA graph capture needs its weight cache off)."""
        return torch.autocast(
            self.device.type,
            dtype=torch.bfloat16,
            enabled=self.cfg.bf16,
            cache_enabled=not self.cfg.cuda_graph,
        )

    def sync_d(self) -> None:
        """Average D's gradients over the processes where DDP does not (a penalised D)."""
        distributed.average_gradients(self.D, self.world)

    def state(self, step: int) -> dict:
        """The checkpoint of this run at ``step``."""
        return training_state(
            step,
            self.cfg,
            self.G,
            self.D,
            self.opt_g,
            self.opt_d,
            self.gen,
            self.G_ema,
            self.history,
        )


def prepare(
    G: nn.Module,
    D: nn.Module,
    sample_real: Callable,
    cfg: TrainConfig,
    G_ema: nn.Module | None = None,
    resume: str | Path | None = None,
) -> Run:
    """Check, place, wrap and (with ``resume``) restore all that ``train`` needs; see the module."""
    w = distributed.world()
    device = cfg.resolved_device() if w.size == 1 else w.device
    loss = get_loss(cfg.loss)
    penalties = regularizers_for(loss, r1=cfg.r1, r2=cfg.r2)
    num_classes = check(G, D, cfg, w, device, G_ema, penalties)
    memory = (
        torch.channels_last if cfg.channels_last and not cfg.compile else torch.contiguous_format
    )
    for module in (G, D) if G_ema is None else (G, D, G_ema):
        module.to(device, memory_format=memory).train()
    fused = cfg.fused_adam if cfg.fused_adam is not None else device.type == "cuda"
    capturable = cfg.cuda_graph and device.type == "cuda"  # Adam's step count inside the graph
    opt_g, opt_d = (
        torch.optim.Adam(m.parameters(), lr=lr, betas=cfg.betas, fused=fused, capturable=capturable)
        for m, lr in ((G, cfg.lr_g), (D, cfg.lr_d))
    )
    gen = torch.Generator(device).manual_seed(cfg.seed)
    done, history = 0, History(config=asdict(cfg))
    if resume is not None:
        done, history = restore_training(
            load_checkpoint(resume), cfg, G, D, opt_g, opt_d, gen, G_ema
        )
        history.config = asdict(cfg)
    G_run, D_run = wrapped(G, D, cfg, w, device, penalised=bool(penalties))
    # With several processes, a penalty draws its interpolation weights from a generator of its
    # own per process (the slices need different ones).
    penalty_gen = (
        gen if w.size == 1 else torch.Generator(device).manual_seed(cfg.seed * 1_000_003 + w.rank)
    )
    return Run(
        cfg=cfg,
        world=w,
        device=device,
        loss=loss,
        penalties=penalties,
        num_classes=num_classes,
        memory=memory,
        sample_real=sample_real,
        G=G,
        D=D,
        G_ema=G_ema,
        G_run=G_run,
        D_run=D_run,
        opt_g=opt_g,
        opt_d=opt_d,
        gen=gen,
        penalty_gen=penalty_gen,
        done=done,
        history=history,
    )


def check(G, D, cfg: TrainConfig, w, device: torch.device, G_ema, penalties) -> int | None:
    """Refuse what ``train`` cannot do with these models and settings; return G's number of
    classes (None for an unconditional GAN)."""
    if not hasattr(G, "latent_dim"):
        raise ValueError("G needs a latent_dim attribute (the size of its input noise)")
    num_classes = getattr(G, "num_classes", None)  # a conditional GAN: G(z, y) and D(x, y)
    if (getattr(D, "num_classes", None) or None) != (num_classes or None):
        raise ValueError(
            "G and D must both be conditional on the same classes, got "
            f"G.num_classes={num_classes!r} and D.num_classes={getattr(D, 'num_classes', None)!r}"
        )
    for name in ("batch_real", "batch_fake", "batch_g"):
        if getattr(cfg, name) % w.size:
            raise ValueError(
                f"{name}={getattr(cfg, name)} must divide by the number of processes, {w.size}"
            )
    if cfg.sync_batchnorm and device.type != "cuda":
        raise ValueError(
            "sync_batchnorm needs CUDA devices (torch's SyncBatchNorm does not run on CPUs)"
        )
    shapes = [p.shape for p in G.parameters()]
    if G_ema is not None and [p.shape for p in G_ema.parameters()] != shapes:
        raise ValueError("G_ema must have G's architecture (make it with copy.deepcopy(G))")
    if cfg.cuda_graph:
        cudagraph.check_device(device)
        refused = [
            what
            for what, on in (
                ("compile", cfg.compile),
                ("several processes", w.size > 1),
                ("gradient penalties (wgan-gp, r1, r2)", bool(penalties)),
            )
            if on
        ]
        if refused:
            raise ValueError(
                f"cuda_graph=True does not support {', '.join(refused)}: switch one of them off"
            )
    return num_classes


def wrapped(
    G: nn.Module, D: nn.Module, cfg: TrainConfig, w, device: torch.device, penalised: bool = False
) -> tuple[nn.Module, nn.Module]:
    """The modules forward passes go through: G and D, wrapped for several processes (DDP) and /
    or compiled.

    Parameters and state dicts stay G's and D's own. A ``penalised`` D is not wrapped in DDP (its
    penalty needs a double backward through the plain module): ``train`` averages its gradients.
    """
    G_run, D_run = G, D
    if w.size > 1:
        from torch.nn.parallel import DistributedDataParallel as DDP

        if cfg.sync_batchnorm:
            G_run, D_run = (nn.SyncBatchNorm.convert_sync_batchnorm(m) for m in (G, D))
        ids = [device.index] if device.type == "cuda" else None
        G_run = DDP(G_run, device_ids=ids)
        D_run = D_run if penalised else DDP(D_run, device_ids=ids)
    if cfg.compile:
        G_run, D_run = (
            torch.compile(m, backend=cfg.compile_backend, mode=cfg.compile_mode)
            for m in (G_run, D_run)
        )
    return G_run, D_run
