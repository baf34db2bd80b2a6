"""Benchmark: how close larger networks and longer training come to the grid goal of issue 5.

The goal: a configuration that captures all 25 modes of ``ganlab.grid()`` (std 0.05) with at least
90 % high-quality samples in the median seed. ``bench/variants.py`` compares every loss at one
equal, short budget; this script spends a larger budget on a few configurations instead, each
trained as ``--seeds`` members of one ``ganlab.sweep.run`` per step size and phase (a GPU runs them
in parallel).

A configuration is a loss, the MLP size (``--hidden`` units x ``--depth`` hidden layers for G and
D), a batch size, a first step size from ``--lrs`` and a schedule ``--phases``: each
``STEPS:FACTOR`` trains ``STEPS`` more generator steps at ``FACTOR`` x the first step size,
continuing from the last phase's weights with fresh Adam state. Scores are taken after every phase
with ``ganlab.metrics.generator_coverage`` on 2,500 samples of fixed noise (the VEEGAN / PacGAN
protocol).

    python bench/grid_goal.py --device cuda --hidden 400 --depth 4 --batch 512 --lrs 1e-4 3e-4 \\
        --phases 10000:1 4000:0.1 --seeds 8
    python bench/grid_goal.py --device cpu --hidden 32 --depth 2 --batch 64 --phases 100:1 \\
        --seeds 2   # a smoke run

It writes ``grid_goal_<device>.md`` and ``grid_goal_<device>.csv`` (one row per configuration, seed
and phase) under ``--out-dir``, rewritten after every phase. Nothing in them is copied by hand.
"""

from __future__ import annotations

import argparse
import csv
import statistics
import sys

import ganlab
from ganlab import sweep

from _common import RESULTS, Clock, add_device, add_out, add_threads, finish, machine, parser

GOAL_MODES, GOAL_HQ = 25, 0.90


def phase(text: str) -> tuple[int, float]:
    """``"10000:0.1"`` -> ``(10000, 0.1)``: steps and the factor on the first step size."""
    try:
        steps, factor = text.split(":")
        steps, factor = int(steps), float(factor)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"a phase is STEPS:FACTOR, e.g. 10000:0.1, got {text!r}"
        ) from None
    if steps < 1 or not factor > 0:
        raise argparse.ArgumentTypeError(f"a phase needs STEPS >= 1 and FACTOR > 0, got {text!r}")
    return steps, factor


def train_config(args, loss: str, num_steps: int, lr: float) -> ganlab.TrainConfig:
    b = args.batch
    return ganlab.TrainConfig(
        num_steps=num_steps,
        batch_real=b,
        batch_fake=b,
        batch_g=b,
        lr_g=lr,
        lr_d=lr,
        betas=tuple(args.betas),
        loss=loss,
        log_every=100,
        progress=args.progress,
        device=str(args.device),
    )


def run_loss(args, loss: str, mix, rows: list[dict], write) -> None:
    """Every step size of ``--lrs`` x every seed as members of one sweep per phase; score after each
    phase.
    """
    members = [(lr, s) for lr in args.lrs for s in range(args.seeds)]
    result, done, wall = None, 0, 0.0
    for p, (num_steps, factor) in enumerate(args.phases):
        # Seed s starts from the same weights at every step size; phase p of seed s draws its data
        # with seed s + 100003·p (fresh draws, still reproducible).
        ids = [s + 100003 * p for _, s in members]
        result = sweep.run(
            mix,
            ids,
            train_config(args, loss, num_steps, args.lrs[0] * factor),
            lr_g=[lr * factor for lr, _ in members],
            lr_d=[lr * factor for lr, _ in members],
            hidden=args.hidden,
            depth=args.depth,
            start=result,
        )
        done, wall = done + num_steps, wall + result.wall_time
        for (lr, s), cov, d in zip(members, result.coverage, result.diverged):
            rows.append(
                dict(
                    loss=loss,
                    hidden=args.hidden,
                    depth=args.depth,
                    batch=args.batch,
                    lr=lr,
                    seed=s,
                    phase=p + 1,
                    steps=done,
                    step_factor=factor,
                    modes=cov.modes_captured,
                    high_quality=round(cov.high_quality, 5),
                    reverse_kl=round(cov.reverse_kl, 5),
                    diverged=d is not None,
                    wall_s=round(wall, 2),
                    steps_per_s=round(num_steps / result.wall_time, 1),
                )
            )
        for lr in args.lrs:
            got = [r for r in rows if r["loss"] == loss and r["lr"] == lr and r["phase"] == p + 1]
            print(
                f"{loss} lr {lr:g} after {done} steps: modes "
                f"{statistics.median(r['modes'] for r in got):g}, "
                f"HQ {100 * statistics.median(r['high_quality'] for r in got):.1f} % "
                f"({num_steps / result.wall_time:.0f} steps/s for {len(members)} members)",
                flush=True,
            )
        write()


def table(rows: list[dict]) -> list[str]:
    lines = [
        "| loss | lr | steps | seeds | modes: median [min–max] | all 25 | HQ %: median [min–max] | "
        "goal met (median) | steps/s (all members) |",
        "|---|---:|---:|---:|---|---:|---|---|---:|",
    ]
    keys = sorted(
        {(r["loss"], r["lr"], r["steps"]) for r in rows}, key=lambda k: (k[0], k[1], k[2])
    )
    for loss, lr, steps in keys:
        got = [r for r in rows if (r["loss"], r["lr"], r["steps"]) == (loss, lr, steps)]
        modes, hq = [r["modes"] for r in got], [r["high_quality"] for r in got]
        met = statistics.median(modes) >= GOAL_MODES and statistics.median(hq) >= GOAL_HQ
        lines.append(
            f"| {loss} | {lr:g} | {steps} | {len(got)} | {statistics.median(modes):g} "
            f"[{min(modes)}–{max(modes)}] | {sum(m == GOAL_MODES for m in modes)}/{len(got)} | "
            f"{100 * statistics.median(hq):.1f} [{100 * min(hq):.1f}–{100 * max(hq):.1f}] | "
            f"{'yes' if met else 'no'} | {got[0]['steps_per_s']:,.0f} |"
        )
    return lines


def report(args, rows, clock: Clock, device) -> str:
    sched = " then ".join(f"{s} steps at {f:g}x" for s, f in args.phases)
    return (
        "\n".join(
            [
                "# The grid goal: larger networks and longer training on 25 modes",
                "",
                "Written by `bench/grid_goal.py`; rerun it to regenerate this file and the CSV "
                "beside it. See `bench/README.md`.",
                "",
                "## Machine and run",
                "",
                *machine(device),
                *clock.lines(load=False),
                "",
                "## Protocol",
                "",
                f"`ganlab.grid()` (25 modes, std 0.05). G and D are MLPs of {args.depth} hidden "
                f"layers x {args.hidden} units (`ganlab.toy_gan`, latent dimension 2), batches "
                f"{args.batch}, Adam betas {tuple(args.betas)}, schedule: {sched} the first step "
                f"size, fresh Adam state at each phase. Seeds 0..{args.seeds - 1} for every step "
                "size, all trained as members of one `ganlab.sweep.run`. Scores: "
                "`generator_coverage` of 2,500 samples of fixed noise (high quality = within 3 std "
                "of the nearest mode; a mode is captured with one such sample). Goal (issue 5): "
                "median seed with 25 modes and >= 90 % high quality.",
                "",
                "## Results",
                "",
                *table(rows),
                "",
                "Published on this benchmark (their networks and budgets): PacGAN (Table 2) "
                "reports 17.3 modes / 94.8 % for its GAN and 23.8-24.8 modes / 91-94 % for "
                "PacGAN2-4 [lin2018pacgan]; VEEGAN (Table 1) reports 24.6 modes / 40 % "
                "[srivastava2017veegan].",
            ]
        )
        + "\n"
    )


def main(argv=None) -> int:
    p = parser(__doc__)
    p.add_argument("--losses", nargs="+", choices=list(ganlab.LOSSES), default=["nonsaturating"])
    p.add_argument("--hidden", type=int, default=400)
    p.add_argument("--depth", type=int, default=4)
    p.add_argument("--batch", type=int, default=512)
    p.add_argument(
        "--lrs",
        type=float,
        nargs="+",
        default=[1e-4, 3e-4],
        help="first-phase step sizes (both players)",
    )
    p.add_argument("--betas", type=float, nargs=2, default=[0.5, 0.9])
    p.add_argument(
        "--phases",
        type=phase,
        nargs="+",
        default=[(10000, 1.0), (4000, 0.1)],
        help="STEPS:FACTOR, one per phase (default 10000:1 4000:0.1)",
    )
    p.add_argument("--seeds", type=int, default=8, help="seeds per step size (default 8)")
    add_device(p)
    add_threads(p)
    p.add_argument("--progress", action="store_true", help="a progress bar per sweep")
    add_out(p, "bench/results", flag="--out-dir")
    args = finish(p, p.parse_args(argv), ("hidden", "depth", "batch", "seeds"))
    if not all(lr > 0 for lr in args.lrs):
        p.error(f"--lrs must all be > 0, got {args.lrs}")
    args.out_dir = args.out_dir or RESULTS
    device, clock, rows = args.device, Clock(), []
    md, csv_path = (args.out_dir / f"grid_goal_{device.type}.{ext}" for ext in ("md", "csv"))

    def write():
        args.out_dir.mkdir(parents=True, exist_ok=True)
        md.write_text(report(args, rows, clock, device))
        with open(csv_path, "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)

    mix = ganlab.grid()
    for loss in args.losses:
        run_loss(args, loss, mix, rows, write)
    print("\n".join(table(rows)))
    print(f"wrote {md} and {csv_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
