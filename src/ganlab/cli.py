"""Command line: train a DCGAN or a toy GAN into a run folder, and sample from a checkpoint.

    python -m ganlab train dcgan --data digits --image-size 32 --steps 2000 --out runs/digits
    python -m ganlab train toy --data ring --steps 2000 --out runs/ring
    python -m ganlab sample --checkpoint runs/digits/best.pt --n 64 --out grid.png
    torchrun --nproc-per-node 4 -m ganlab train dcgan --data mnist --image-size 64 --out runs/ddp

Under torchrun every process trains on its slice of the (global) ``--batch-size``; rank 0 writes
the run folder.

A run folder holds ``checkpoint.pt`` (the whole training state; ``--resume`` continues from it),
``best.pt`` (the generator at its best quality score, DCGAN on labelled data), ``samples/``
(grids from fixed noise every ``--sample-every`` steps), ``history.csv`` / ``history.png`` (losses,
D(x), D(G(z))), ``history_metrics.csv`` and ``summary.json``.
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only: no window, also on machines without a display

import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402

from . import data, distributed, grids, mixtures, models, plots, quality  # noqa: E402
from .checkpoint import CheckpointError, load_checkpoint  # noqa: E402
from .losses import LOSSES  # noqa: E402
from .metrics import CoverageTracker, mode_coverage  # noqa: E402
from .profiles import describe  # noqa: E402
from .training import TrainConfig, train  # noqa: E402


def _train_parser(sub, kind: str) -> argparse.ArgumentParser:
    p = sub.add_parser(
        kind, help=f"train a {kind} GAN", formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    p.add_argument("--out", type=Path, required=True, help="run folder (created)")
    p.add_argument("--steps", type=int, default=2000, help="generator steps")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:1, ...")
    p.add_argument("--k-disc", type=int, default=1, help="discriminator steps per generator step")
    p.add_argument(
        "--loss",
        default="nonsaturating",
        choices=list(LOSSES),
        help="a loss of ganlab.losses.LOSSES",
    )
    p.add_argument("--r1", type=float, default=0.0, help="R1 penalty weight gamma on D (0: none)")
    p.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.pt")
    p.add_argument("--checkpoint-every", type=int, default=500)
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    return p


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m ganlab",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True)
    train_p = commands.add_parser("train", help="train a GAN into a run folder")
    kinds = train_p.add_subparsers(dest="kind", required=True)

    p = _train_parser(kinds, "dcgan")
    p.add_argument("--data", default="digits", help=f"one of {', '.join(data.DATASETS)}")
    p.add_argument(
        "--root", default="data", help="where the data set lives (the folder itself for 'folder')"
    )
    p.add_argument("--download", action="store_true", help="let torchvision download the data set")
    p.add_argument("--image-size", type=int, default=32, choices=models.IMAGE_SIZES)
    p.add_argument(
        "--channels", type=int, default=None, choices=(1, 3), help="default: the data set's own"
    )
    p.add_argument(
        "--width", type=int, default=64, help="channels of the widest-resolution layer (ngf = ndf)"
    )
    p.add_argument("--latent-dim", type=int, default=100)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument(
        "--lr", type=float, default=2e-4, help="Adam step size of both players (Radford et al.)"
    )
    p.add_argument("--bf16", action="store_true", help="bfloat16 autocast")
    p.add_argument("--channels-last", action="store_true")
    p.add_argument("--compile", action="store_true", help="torch.compile G and D")
    p.add_argument(
        "--cuda-graph",
        action="store_true",
        help="replay each training step as one CUDA graph (GPU)",
    )
    p.add_argument(
        "--reuse-fake", action="store_true", help="the G step reuses the D step's fake batch"
    )
    p.add_argument(
        "--ema", type=float, default=0.0, help="EMA decay of a generator copy (0: none), e.g. 0.999"
    )
    p.add_argument(
        "--conditional", action="store_true", help="a class-conditional GAN: G(z, y), D(x, y)"
    )
    p.add_argument(
        "--spectral-norm",
        action="store_true",
        help="spectral normalisation in D (no batch norm there)",
    )
    p.add_argument("--sample-every", type=int, default=250, help="steps between fixed-noise grids")
    p.add_argument(
        "--eval-every", type=int, default=500, help="steps between quality scores (0: none)"
    )
    p.add_argument("--eval-samples", type=int, default=1000, help="images per quality score")

    p = _train_parser(kinds, "toy")
    p.add_argument("--data", default="ring", help=f"one of {', '.join(mixtures.MIXTURES)}")
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--hidden", type=int, default=128)
    p.add_argument("--depth", type=int, default=3)
    p.add_argument("--latent-dim", type=int, default=2)
    p.add_argument("--eval-every", type=int, default=250, help="steps between mode-coverage scores")

    p = commands.add_parser(
        "sample",
        help="draw samples from a checkpoint into a PNG",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument(
        "--checkpoint", type=Path, required=True, help="checkpoint.pt or best.pt of a run"
    )
    p.add_argument("--n", type=int, default=64, help="number of samples")
    p.add_argument("--out", type=Path, required=True, help="PNG file to write")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--ema", action="store_true", help="use the EMA generator of the checkpoint")
    p.add_argument("--nrow", type=int, default=8, help="images per row")
    p.add_argument(
        "--label",
        type=int,
        default=None,
        help="conditional G: draw this class only (default: row r shows class r mod classes)",
    )
    return parser


def _config(args, batch: int, **extra) -> TrainConfig:
    return TrainConfig(
        num_steps=args.steps,
        batch_real=batch,
        batch_fake=batch,
        batch_g=batch,
        k_disc=args.k_disc,
        lr_g=args.lr,
        lr_d=args.lr,
        seed=args.seed,
        device=args.device,
        loss=args.loss,
        r1=args.r1,
        progress=not args.no_progress,
        checkpoint_path=str(args.out / "checkpoint.pt"),
        checkpoint_every=args.checkpoint_every,
        **extra,
    )


def _resume_path(args) -> Path | None:
    path = args.out / "checkpoint.pt"
    if not args.resume:
        if path.exists():
            raise SystemExit(
                f"{path} exists: pass --resume to continue that run, or choose another --out"
            )
        return None
    if not path.exists():
        raise SystemExit(f"--resume: no checkpoint at {path}")
    return path


def _finish(args, history, summary: dict) -> None:
    history.to_csv(args.out / "history.csv")
    axes = plots.plot_history(history, smooth=max(1, len(history.step) // 100))
    axes[0].figure.savefig(args.out / "history.png", dpi=110, bbox_inches="tight")
    plt.close("all")
    summary = {
        "steps": history.step[-1],
        "wall_time_s": round(history.wall_time, 2),
        "steps_per_s": round(history.steps_per_second, 2),
        **summary,
        "config": history.config,
    }
    (args.out / "summary.json").write_text(json.dumps(summary, indent=2, default=str) + "\n")
    print(json.dumps({k: v for k, v in summary.items() if k != "config"}))


def train_dcgan(args, w: distributed.World) -> None:
    device = w.device if w.size > 1 else TrainConfig(device=args.device).resolved_device()
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = (
            True  # fixed image shapes: let cuDNN time its convolution algorithms once
        )
    for turn in (
        "main",
        "others",
    ):  # rank 0 first: it alone may download, the others read its files
        if w.is_main == (turn == "main"):
            images = data.load(
                args.data,
                image_size=args.image_size,
                root=args.root,
                channels=args.channels,
                download=args.download and w.is_main,
                device=device,
            )
        distributed.barrier(w)
    resume = _resume_path(args)
    num_classes = images.num_classes if args.conditional else None
    if args.conditional and not (num_classes and num_classes > 1):
        raise ValueError(f"--conditional needs a labelled data set; {args.data} has no classes")
    G, D = models.dcgan(
        args.latent_dim,
        images.channels,
        args.image_size,
        args.width,
        seed=args.seed,
        num_classes=num_classes,
        spectral_norm=args.spectral_norm,
        batchnorm_D=not args.spectral_norm,
    )
    sample_real = images.sample_labeled if num_classes else images.sample
    G_ema = copy.deepcopy(G) if args.ema > 0 else None
    cfg = _config(
        args,
        args.batch_size,
        bf16=args.bf16,
        channels_last=args.channels_last,
        compile=args.compile,
        cuda_graph=args.cuda_graph,
        reuse_fake=args.reuse_fake,
        ema_decay=args.ema if args.ema > 0 else 0.999,
    )
    if not w.is_main:  # the other processes train; rank 0 looks, scores and writes
        train(G, D, sample_real, cfg, G_ema=G_ema, resume=resume)
        return
    callbacks = [
        grids.GridSnapshots(
            args.latent_dim,
            every=args.sample_every,
            out_dir=args.out / "samples",
            labels=_grid_labels(64, num_classes),
        )
    ]
    tracker = None
    if (
        args.eval_every
        and getattr(images, "num_classes", 0) > 1
        and isinstance(images, data.ImageData)
    ):
        metric = quality.QualityMetric.from_data(
            images.to("cpu"), seed=args.seed, num_samples=args.eval_samples
        )
        tracker = quality.QualityTracker(
            metric, every=args.eval_every, G_ema=G_ema, best_path=args.out / "best.pt"
        )
        callbacks.append(tracker)
        print("real-vs-real floor:", {k: round(v, 4) for k, v in metric.floor.items()})
    else:
        print(
            "no quality score for this data set (it needs class labels to train the feature network)"
        )
    print(describe(), "|", images)
    history = train(G, D, sample_real, cfg, callbacks, G_ema=G_ema, resume=resume)
    final = grids.render(
        G_ema if G_ema is not None else G,
        grids.fixed_noise(64, args.latent_dim),
        y=_grid_labels(64, num_classes),
    )
    grids.save_grid(final, args.out / "samples" / "final.png")
    summary = {
        "real_images_per_s": round(history.steps_per_second * args.batch_size * args.k_disc, 1)
    }
    if tracker is not None and tracker.best is not None:
        summary |= {
            "best_step": tracker.best_step,
            "best": tracker.best,
            "floor": tracker.metric.floor,
        }
    _finish(args, history, summary)


def _grid_labels(n: int, num_classes: int | None, label: int | None = None, nrow: int = 8):
    """Labels for a grid of a conditional G: one class per row (or ``label`` everywhere); None otherwise."""
    if not num_classes:
        return None
    if label is not None:
        if not 0 <= label < num_classes:
            raise SystemExit(f"--label must be in 0..{num_classes - 1}, got {label}")
        return torch.full((n,), label)
    return (torch.arange(n) // nrow) % num_classes


def train_toy(args, w: distributed.World) -> None:
    mix = mixtures.by_name(args.data)
    resume = _resume_path(args)
    G, D = models.toy_gan(mix.dim, args.latent_dim, args.hidden, args.depth, seed=args.seed)
    cfg = _config(args, args.batch_size)
    callbacks = [CoverageTracker(mix, every=args.eval_every)] if w.is_main else []
    history = train(G, D, mix.sample, cfg, callbacks, resume=resume)
    if not w.is_main:
        return
    x_fake = grids.render(G, grids.fixed_noise(2500, args.latent_dim))
    coverage = mode_coverage(x_fake, mix)
    _save_toy_samples(G, x_fake, mix, args.out / "samples.png")
    _finish(
        args,
        history,
        {
            "modes": coverage.modes_captured,
            "n_modes": mix.n_modes,
            "high_quality": round(coverage.high_quality, 4),
            "reverse_kl": coverage.reverse_kl,
        },
    )


def _save_toy_samples(G, x_fake, mix, path: Path) -> None:
    if mix.dim == 2:
        ax = plots.plot_samples_2d(mix, samples=x_fake.numpy())
    else:
        ax = plots.plot_density_1d(mix, G=G)
    ax.figure.savefig(path, dpi=110, bbox_inches="tight")
    plt.close("all")


def sample(args) -> None:
    try:
        state = load_checkpoint(args.checkpoint)
    except CheckpointError as err:
        raise SystemExit(str(err)) from err
    # A training checkpoint holds G and (with --ema) G_ema; best.pt holds the generator that was scored,
    # the EMA one when the run had --ema (its "ema" entry says which).
    hparams = state.get("G_hparams")
    weights = state.get("G_ema") if args.ema and not state.get("ema") else state.get("G")
    if hparams is None or weights is None:
        what = "EMA generator (train with --ema)" if args.ema else "generator with its hparams"
        raise SystemExit(f"{args.checkpoint} holds no {what}")
    G = (
        models.DCGANGenerator(**hparams)
        if "image_size" in hparams
        else models.MLPGenerator(**hparams)
    )
    G.load_state_dict(weights)
    z = torch.randn(args.n, G.latent_dim, generator=torch.Generator().manual_seed(args.seed))
    x_fake = grids.render(
        G, z, y=_grid_labels(args.n, hparams.get("num_classes"), args.label, args.nrow)
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(G, models.DCGANGenerator):
        grids.save_grid(x_fake, args.out, nrow=args.nrow)
    else:
        fig, ax = plt.subplots(figsize=(5, 5))
        ax.scatter(*x_fake.numpy().T[:2], s=3) if x_fake.shape[1] > 1 else ax.hist(
            x_fake.numpy()[:, 0], bins=80
        )
        fig.savefig(args.out, dpi=110, bbox_inches="tight")
        plt.close(fig)
    print(f"wrote {args.n} samples of step {state.get('step')} to {args.out}")


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "sample":
        sample(args)
    else:
        args.out.mkdir(parents=True, exist_ok=True)
        w = distributed.setup()  # a single process unless launched by torchrun
        try:
            (train_dcgan if args.kind == "dcgan" else train_toy)(args, w)
        except (
            ValueError,
            FileNotFoundError,
            ImportError,
        ) as err:  # bad settings or missing data: say so, no traceback
            raise SystemExit(f"error: {err}") from err
        finally:
            distributed.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
