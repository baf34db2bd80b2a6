"""Command line: train a DCGAN or a toy GAN into a run folder, and sample from a checkpoint.

    python -m ganlab train dcgan --data digits --image-size 32 --steps 2000 --out runs/digits
    python -m ganlab train toy --data ring --steps 2000 --out runs/ring
    python -m ganlab sample --checkpoint runs/digits/best.pt --n 64 --out grid.png
    torchrun --nproc-per-node 4 -m ganlab train dcgan --data mnist --image-size 64 --out runs/ddp

The training flags come from ``ganlab.config``: one per ``TrainConfig`` option (``--lr-g``,
``--betas``, ``--r2``, ``--k-disc``, ...), grouped and with its help in ``train dcgan -h``;
``--lr`` and ``--batch-size`` set several at once. Under torchrun every process trains on its
slice of the (global) batch; rank 0 writes the run folder.

A run folder holds ``checkpoint.pt`` (the whole training state; ``--resume`` continues from it),
``best.pt`` (the generator at its best quality score, DCGAN on labelled data), ``samples/``
(grids from fixed noise every ``--sample-every`` steps), ``history.csv`` / ``history.png`` (losses,
D(x), D(G(z))), ``history_metrics.csv`` and ``summary.json``.
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import json
import sys
import typing
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only: no window, also on machines without a display

import matplotlib.pyplot as plt
import torch

from . import __version__, config, data, distributed, grids, mixtures, models, plots, quality
from .checkpoint import CheckpointError, load_generator
from .config import TrainConfig
from .metrics import CoverageTracker, generator_coverage, score_samples
from .profiles import describe
from .training import train

_VERSION = f"ganlab {__version__} (torch {torch.__version__})"


# Where the command line's defaults differ from TrainConfig's (DCGAN: Radford et al.'s settings).
KIND_DEFAULTS = {
    "dcgan": dict(batch_real=128, batch_fake=128, batch_g=128, lr_g=2e-4, lr_d=2e-4),
    "toy": {},
}
CLI_DEFAULTS = dict(checkpoint_every=500)  # both kinds


def _defaults(kind: str) -> dict:
    """The TrainConfig values the command line starts from for ``kind``."""
    base = {f.name: f.default for f in dataclasses.fields(TrainConfig)}
    return base | CLI_DEFAULTS | KIND_DEFAULTS[kind]


def _argparse_options(annotation, o: config.Option) -> dict:
    """``add_argument`` keywords for a TrainConfig field of type ``annotation``."""
    if annotation is bool:
        return dict(action="store_true")
    if annotation == bool | None:  # None: automatic
        return dict(action=argparse.BooleanOptionalAction)
    if typing.get_origin(annotation) is tuple:
        kinds = typing.get_args(annotation)
        if kinds[-1] is Ellipsis:  # tuple[int, ...]: any number, none included
            return dict(type=kinds[0], nargs="*", metavar=o.metavar)
        return dict(type=kinds[0], nargs=len(kinds), metavar=o.metavar)
    kind = next((t for t in typing.get_args(annotation) if t is not type(None)), annotation)
    return dict(type=kind, metavar=o.metavar, choices=o.choices)


def _show(value) -> str:
    return " ".join(map(str, value)) if isinstance(value, tuple) else str(value)


def _add_config_flags(p: argparse.ArgumentParser, kind: str) -> None:
    """One flag per TrainConfig field that has one, in its group, with its help and default."""
    defaults, types = _defaults(kind), config.field_types()
    groups = {
        name: p.add_argument_group(f"{name} options", text) for name, text in config.GROUPS.items()
    }
    groups["training"].add_argument(
        "--batch-size",
        type=int,
        metavar="N",
        help=f"sets --batch-real, --batch-fake and --batch-g (default: {defaults['batch_real']})",
    )
    groups["training"].add_argument(
        "--lr", type=float, metavar="LR", help="sets --lr-g and --lr-d, unless they are given"
    )
    for name, o in config.options().items():
        if o.flag is None:
            continue
        if name == "progress":  # on by default: --no-progress switches it off
            kwargs = dict(action=argparse.BooleanOptionalAction)
        else:
            kwargs = _argparse_options(types[name], o)
        groups[o.group].add_argument(
            o.flag,
            dest=name,
            default=None,
            help=f"{o.help} (default: {_show(defaults[name])})",
            **{k: v for k, v in kwargs.items() if v is not None},
        )


def _run_parser(kinds, kind: str, help: str) -> tuple[argparse.ArgumentParser, dict]:
    p = kinds.add_parser(kind, help=help, description=help)
    p.add_argument("--version", action="version", version=_VERSION)
    groups = {
        "run folder": p.add_argument_group("run folder"),
        "data": p.add_argument_group("data"),
        "model": p.add_argument_group("model"),
        "evaluation": p.add_argument_group("evaluation and samples"),
    }
    groups["run folder"].add_argument(
        "--out", type=Path, required=True, help="run folder (created)"
    )
    groups["run folder"].add_argument(
        "--resume", action="store_true", help="continue the run in OUT from OUT/checkpoint.pt"
    )
    return p, groups


def build_parser(prog: str = "ganlab") -> argparse.ArgumentParser:
    """The parser of ``python -m ganlab`` (``prog``: the command as the user typed it)."""
    parser = argparse.ArgumentParser(
        prog=prog, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--version", action="version", version=_VERSION)
    commands = parser.add_subparsers(dest="command", required=True)
    train_p = commands.add_parser("train", help="train a GAN into a run folder")
    train_p.add_argument("--version", action="version", version=_VERSION)
    kinds = train_p.add_subparsers(dest="kind", required=True)

    _dcgan_flags(*_run_parser(kinds, "dcgan", "train a DCGAN on images into a run folder"))
    _toy_flags(
        *_run_parser(kinds, "toy", "train a toy GAN on a Gaussian mixture into a run folder")
    )
    _sample_flags(commands)
    return parser


def _dcgan_flags(p: argparse.ArgumentParser, g: dict) -> None:
    """``train dcgan``'s own flags (data, model, evaluation), then TrainConfig's."""
    g["data"].add_argument(
        "--data", default="digits", help=f"one of {', '.join(data.DATASETS)} (default: digits)"
    )
    g["data"].add_argument(
        "--root",
        default="data",
        help="where the data set lives (the folder itself for 'folder') (default: data)",
    )
    g["data"].add_argument(
        "--download", action="store_true", help="let torchvision download the data set"
    )
    g["data"].add_argument(
        "--image-size",
        type=int,
        default=32,
        choices=models.IMAGE_SIZES,
        help="image side in pixels (default: 32)",
    )
    g["data"].add_argument(
        "--channels", type=int, default=None, choices=(1, 3), help="default: the data set's own"
    )
    g["model"].add_argument(
        "--width",
        type=int,
        default=64,
        help="channels of the widest-resolution layer, ngf = ndf (default: 64)",
    )
    g["model"].add_argument(
        "--latent-dim", type=int, default=100, help="size of G's noise (default: 100)"
    )
    g["model"].add_argument(
        "--conditional", action="store_true", help="a class-conditional GAN: G(z, y), D(x, y)"
    )
    g["model"].add_argument(
        "--spectral-norm",
        action="store_true",
        help="spectral normalisation in D (no batch norm there)",
    )
    g["model"].add_argument(
        "--ema",
        type=float,
        default=0.0,
        metavar="DECAY",
        help="keep an EMA copy of G with this decay, e.g. 0.999; 0: none (default: 0)",
    )
    g["evaluation"].add_argument(
        "--sample-every",
        type=int,
        default=250,
        metavar="N",
        help="steps between fixed-noise grids (default: 250)",
    )
    g["evaluation"].add_argument(
        "--eval-every",
        type=int,
        default=500,
        metavar="N",
        help="steps between quality scores, 0: none (default: 500)",
    )
    g["evaluation"].add_argument(
        "--eval-samples",
        type=int,
        default=1000,
        metavar="N",
        help="images per quality score (default: 1000)",
    )
    _add_config_flags(p, "dcgan")


def _toy_flags(p: argparse.ArgumentParser, g: dict) -> None:
    """``train toy``'s own flags (data, model, evaluation), then TrainConfig's."""
    g["data"].add_argument(
        "--data", default="ring", help=f"one of {', '.join(mixtures.MIXTURES)} (default: ring)"
    )
    g["model"].add_argument(
        "--hidden", type=int, default=128, help="units per hidden layer (default: 128)"
    )
    g["model"].add_argument("--depth", type=int, default=3, help="hidden layers (default: 3)")
    g["model"].add_argument(
        "--latent-dim", type=int, default=2, help="size of G's noise (default: 2)"
    )
    g["evaluation"].add_argument(
        "--eval-every",
        type=int,
        default=250,
        metavar="N",
        help="steps between mode-coverage scores (default: 250)",
    )
    _add_config_flags(p, "toy")


def _sample_flags(commands) -> None:
    """The ``sample`` command and its flags."""
    p = commands.add_parser(
        "sample",
        help="draw samples from a checkpoint into a PNG",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--version", action="version", version=_VERSION)
    p.add_argument(
        "--checkpoint", type=Path, required=True, help="checkpoint.pt or best.pt of a run"
    )
    p.add_argument("--n", type=int, default=64, help="number of samples")
    p.add_argument("--out", type=Path, required=True, help="PNG file to write")
    p.add_argument("--seed", type=int, default=0, help="seed of the noise")
    p.add_argument("--ema", action="store_true", help="use the EMA generator of the checkpoint")
    p.add_argument("--nrow", type=int, default=8, help="images per row")
    p.add_argument(
        "--label",
        type=int,
        default=None,
        help="conditional G: draw this class only (default: row r shows class r mod classes)",
    )


def _config(args, kind: str, **extra) -> TrainConfig:
    """The run's TrainConfig: the kind's defaults, then the flags given, then ``extra``."""
    values = _defaults(kind)
    if args.batch_size is not None:
        values |= dict.fromkeys(("batch_real", "batch_fake", "batch_g"), args.batch_size)
    if args.lr is not None:
        values |= dict(lr_g=args.lr, lr_d=args.lr)
    for name, o in config.options().items():
        value = getattr(args, name, None) if o.flag is not None else None
        if value is not None:
            values[name] = tuple(value) if isinstance(value, list) else value
    values |= dict(checkpoint_path=str(args.out / "checkpoint.pt"), **extra)
    return TrainConfig(**values)


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
    cfg = _config(args, "dcgan", **(dict(ema_decay=args.ema) if args.ema > 0 else {}))
    device = w.device if w.size > 1 else cfg.resolved_device()
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
        seed=cfg.seed,
        num_classes=num_classes,
        spectral_norm=args.spectral_norm,
        batchnorm_D=not args.spectral_norm,
    )
    sample_real = images.sample_labeled if num_classes else images.sample
    G_ema = copy.deepcopy(G) if args.ema > 0 else None
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
            images.to("cpu"), seed=cfg.seed, num_samples=args.eval_samples
        )
        tracker = quality.QualityTracker(
            metric, every=args.eval_every, G_ema=G_ema, best_path=args.out / "best.pt"
        )
        callbacks.append(tracker)
        print("real-vs-real floor:", {k: round(v, 4) for k, v in metric.floor.items()})
    else:
        print(
            "no quality score for this data set (it needs class labels to train the feature "
            "network)"
        )
    print(describe(), "|", images)
    history = train(G, D, sample_real, cfg, callbacks, G_ema=G_ema, resume=resume)
    final = models.render(
        G_ema if G_ema is not None else G,
        models.fixed_noise(64, args.latent_dim),
        y=_grid_labels(64, num_classes),
    )
    grids.save_grid(final, args.out / "samples" / "final.png")
    summary = {
        "real_images_per_s": round(history.steps_per_second * cfg.batch_real * cfg.k_disc, 1)
    }
    if tracker is not None and tracker.best is not None:
        summary |= {
            "best_step": tracker.best_step,
            "best": tracker.best,
            "floor": tracker.metric.floor,
        }
    _finish(args, history, summary)


def _grid_labels(n: int, num_classes: int | None, label: int | None = None, nrow: int = 8):
    """Labels for a grid of a conditional G: one class per row (or ``label`` everywhere); None
    otherwise.
    """
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
    cfg = _config(args, "toy")
    G, D = models.toy_gan(mix.dim, args.latent_dim, args.hidden, args.depth, seed=cfg.seed)
    callbacks = [CoverageTracker(mix, every=args.eval_every)] if w.is_main else []
    history = train(G, D, mix.sample, cfg, callbacks, resume=resume)
    if not w.is_main:
        return
    coverage = generator_coverage(G, mix)
    _save_toy_samples(G, score_samples(G).cpu(), mix, args.out / "samples.png")
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
    try:  # a training checkpoint holds G and G_ema; best.pt the generator that was scored
        G, state = load_generator(args.checkpoint, ema=args.ema)
    except CheckpointError as err:
        raise SystemExit(f"error: {err}") from err
    hparams = state["G_hparams"]
    z = torch.randn(args.n, G.latent_dim, generator=torch.Generator().manual_seed(args.seed))
    x_fake = models.render(
        G, z, y=_grid_labels(args.n, hparams.get("num_classes"), args.label, args.nrow)
    )
    if isinstance(G, models.DCGANGenerator):
        grids.save_grid(x_fake, args.out, nrow=args.nrow)
    else:
        fig, ax = plt.subplots(figsize=(5, 5))
        if x_fake.shape[1] > 1:
            ax.scatter(*x_fake.numpy().T[:2], s=3)
        else:
            ax.hist(x_fake.numpy()[:, 0], bins=80)
        fig.savefig(args.out, dpi=110, bbox_inches="tight")
        plt.close(fig)
    print(f"wrote {args.n} samples of step {state.get('step')} to {args.out}")


def _make_folder(path: Path, flag: str) -> None:
    """Create folder ``path`` (and its parents), or exit with one line saying why it cannot be."""
    for folder in [path, *path.parents]:
        if folder.exists() and not folder.is_dir():
            raise SystemExit(
                f"error: {flag} {path}: {folder} is a file, not a folder; choose another {flag}"
            )
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise SystemExit(
            f"error: {flag} {path}: cannot create the folder ({err.strerror}); "
            f"choose another {flag}"
        ) from err


def main(argv: list[str] | None = None, prog: str = "ganlab") -> int:
    """Run the command line ``argv`` (default: ``sys.argv``); ``prog`` names it in messages."""
    args = build_parser(prog).parse_args(argv)
    if args.command == "sample":
        _make_folder(args.out.parent, "--out")
        sample(args)
        return 0
    _make_folder(args.out, "--out")
    w = distributed.setup()  # a single process unless launched by torchrun
    try:
        (train_dcgan if args.kind == "dcgan" else train_toy)(args, w)
    except (ValueError, FileNotFoundError, ImportError) as err:  # bad settings, missing data
        raise SystemExit(f"error: {err}") from err
    finally:
        distributed.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
