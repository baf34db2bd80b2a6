"""Benchmark: N toy GANs in one batched run (``ganlab.sweep.run``) against a Python loop of N
``ganlab.train`` runs.

A *GAN step* is one generator update of one GAN (with its ``k_disc = 1`` discriminator update), so
N members trained for S steps make N·S GAN steps. For each network size in ``--sizes`` and each N
in ``--members`` (default 1, 8, 32, 128), on ``ganlab.ring()``, seeds 0..N-1:

- **batched**: ``ganlab.sweep.run`` of the N members, timed over enough steps to take about
  ``--seconds``;
- **loop**: ``ganlab.train`` of the same seeded members one after another. The N runs are
  independent, so the loop's GAN steps per second do not depend on N: it is timed on the first
  ``min(N, --loop-members)`` members and extrapolated (the loop's time for N members is N times
  its time per member).

Both clocks cover the training loop only (``SweepResult.wall_time``, ``History.wall_time``), not
building the models or the final coverage. Each (size, N) is measured ``--repeats`` times, the two
sides back to back in alternating order; the table gives median rates and the median of the
per-repeat ratios, which a shared CPU's drift disturbs least.

    python bench/sweep.py [--sizes small failures default] [--members 1 8 32 128] [--threads 1]
                          [--seconds 3] [--repeats 3] [--device auto|cpu|cuda]
                          [--out bench/results/sweep_cpu.md]

The Markdown results file is rewritten on every run; nothing in it is copied by hand.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import statistics
import sys

import torch
from tqdm.auto import tqdm

import ganlab
from ganlab import sweep

from _common import RESULTS, Clock, add_device, add_out, add_threads, finish, machine, parser

# Network and batch sizes; everything else is TrainConfig's default (lr 1e-3, betas (0.5, 0.999), k
# = 1).
SIZES = {
    "small": dict(hidden=32, depth=2, batch=64),  # a classroom sweep: 32-unit MLPs, 2 hidden layers
    "failures": dict(
        hidden=64, depth=3, batch=128
    ),  # the sizes of ganlab.failures' healthy baseline
    "default": dict(hidden=128, depth=3, batch=256),  # toy_gan() and TrainConfig() as they come
}
GOAL_N, GOAL_RATIO = 32, 10.0  # the goal: at least 10x the loop at N = 32


def config(size: str, num_steps: int, device) -> ganlab.TrainConfig:
    b = SIZES[size]["batch"]
    return ganlab.TrainConfig(
        num_steps=num_steps,
        batch_real=b,
        batch_fake=b,
        batch_g=b,
        progress=False,
        device=str(device),
    )


def batched(size: str, n: int, num_steps: int, device: str) -> float:
    """GAN steps per second of ``sweep.run`` with ``n`` members."""
    s = SIZES[size]
    result = sweep.run(
        ganlab.ring(),
        seeds=range(n),
        cfg=config(size, num_steps, device),
        hidden=s["hidden"],
        depth=s["depth"],
        coverage_n=10,
    )
    return result.steps_per_second


def loop(size: str, members: int, num_steps: int, device: str) -> float:
    """GAN steps per second of ``ganlab.train`` run on seeds 0..members-1, one after another."""
    s, mix = SIZES[size], ganlab.ring()
    steps = seconds = 0.0
    cfg = config(size, num_steps, device)
    for seed in range(members):
        G, D = ganlab.toy_gan(2, hidden=s["hidden"], depth=s["depth"], seed=seed)
        history = ganlab.train(G, D, mix.sample, dataclasses.replace(cfg, seed=seed))
        steps, seconds = steps + len(history.step), seconds + history.wall_time
    return steps / seconds


def plan_steps(rate: float, n: int, seconds: float, least: int) -> int:
    """Steps for one member-count ``n`` at ``rate`` GAN steps/s to take about ``seconds``."""
    return max(least, round(seconds * rate / n))


def measure(args) -> dict:
    """``{size: {n: (batched rates, loop rates, batched steps, loop steps)}}``."""
    out = {}
    total = len(args.sizes) * len(args.members) * args.repeats
    bar = tqdm(total=total, desc="sweep vs loop", file=sys.stderr)
    for size in args.sizes:
        out[size] = {}
        # Warm-up runs, which also give the rates that size the timed runs.
        single = loop(size, 1, 30, args.device)
        for n in args.members:
            probe = batched(size, n, 3, args.device)
            steps_b = plan_steps(probe, n, args.seconds, 5)
            members = min(n, args.loop_members)
            steps_l = plan_steps(single, members, args.seconds, 20)
            rates_b, rates_l = [], []
            for r in range(args.repeats):
                sides = [
                    ("batched", functools.partial(batched, size, n, steps_b, args.device)),
                    ("loop", functools.partial(loop, size, members, steps_l, args.device)),
                ]
                for name, fn in sides if r % 2 == 0 else sides[::-1]:  # ABBA: drift hits both alike
                    (rates_b if name == "batched" else rates_l).append(fn())
                bar.set_postfix_str(
                    f"{size}, N={n}: {rates_b[-1] / rates_l[-1]:.1f}x", refresh=False
                )
                bar.update(1)
            out[size][n] = (rates_b, rates_l, steps_b, steps_l)
    bar.close()
    return out


def report(args, results, clock: Clock) -> str:
    """The results file, in Markdown."""
    device = args.device
    lines = [
        "# Sweep benchmark: N toy GANs batched (`ganlab.sweep.run`) vs a loop of `ganlab.train`",
        "",
        "Written by `bench/sweep.py`; rerun it to regenerate this file. See `bench/README.md`.",
        "",
        "## Machine",
        "",
        *machine(device),
        f"- torch threads: {torch.get_num_threads()} "
        f"({'set by --threads' if args.threads else 'torch default'}; OMP_NUM_THREADS="
        f"{os.environ.get('OMP_NUM_THREADS', 'unset')}), the same for both sides",
        *clock.lines(),
        "",
        "## Results",
        "",
        "GAN steps per second: one step is one generator update (and its one discriminator "
        "update) of one GAN, so N members trained for S steps make N·S. Ring of 8 Gaussians, "
        "seeds 0..N-1, lr 1e-3 for both players, Adam betas (0.5, 0.999), non-saturating loss. "
        "*batched*: one `ganlab.sweep.run` of N members. *loop*: `ganlab.train` of the members "
        f"one after another; it was timed on min(N, {args.loop_members}) members and extrapolated "
        "to N (the N runs are independent, so N runs take N times one run). Medians of "
        f"{args.repeats} repeats, the two sides back to back; the ratio is the median of the "
        "per-repeat ratios. Training loop only (not building the models or measuring coverage).",
        "",
    ]
    goal = None
    for size in args.sizes:
        s = SIZES[size]
        lines += [
            f"### {size}: MLPs of {s['depth']} hidden layers × {s['hidden']} units, batches of "
            f"{s['batch']}",
            "",
            "| N | batched GAN steps/s | loop GAN steps/s | batched / loop | steps timed (batched, "
            "loop per member) |",
            "|---:|---:|---:|---:|---|",
        ]
        for n, (rates_b, rates_l, steps_b, steps_l) in results[size].items():
            ratio = statistics.median(b / l for b, l in zip(rates_b, rates_l))
            lines.append(
                f"| {n} | {statistics.median(rates_b):.0f} | {statistics.median(rates_l):.0f} | "
                f"{ratio:.1f}x | {steps_b}, {steps_l} |"
            )
            if n == GOAL_N:
                goal = (goal or []) + [(size, ratio)]
        lines.append("")
    if goal:
        verdicts = "; ".join(
            f"{size} {ratio:.1f}x ({'met' if ratio >= GOAL_RATIO else 'not met'})"
            for size, ratio in goal
        )
        lines += [f"Goal (batched >= {GOAL_RATIO:.0f}x the loop at N = {GOAL_N}): {verdicts}.", ""]
    lines += [
        "Why the ratio shrinks as the networks grow: batching removes the per-operation cost that "
        "a small network's single run is made of (Python, dispatch, small kernels), but not the "
        "arithmetic. Once a single run's matrix products are big enough to keep a core busy, the "
        "batched run does the same number of floating-point operations, with no more cores to do "
        "them.",
        "",
        "The batched side also skips one piece of work the loop does: in the generator step "
        "`ganlab.train` back-propagates into D's weights too (and throws the result away at the "
        "next `zero_grad`); `sweep.run` asks autograd for G's gradients only.",
    ]
    return "\n".join(lines) + "\n"


def parse_args(argv=None):
    p = parser(__doc__)
    p.add_argument(
        "--sizes",
        nargs="+",
        choices=list(SIZES),
        default=list(SIZES),
        help="network sizes to measure (default: all of " + ", ".join(SIZES) + ")",
    )
    p.add_argument(
        "--members",
        type=int,
        nargs="+",
        default=[1, 8, 32, 128],
        help="values of N (default 1 8 32 128)",
    )
    p.add_argument(
        "--seconds", type=float, default=3.0, help="about how long each timed run takes (default 3)"
    )
    p.add_argument(
        "--repeats", type=int, default=3, help="measurements of each side per N (default 3)"
    )
    p.add_argument(
        "--loop-members", type=int, default=2, help="members the loop is timed on (default 2)"
    )
    add_device(p)
    add_threads(p)
    add_out(p, "bench/results/sweep_<device>.md")
    args = finish(p, p.parse_args(argv), ("repeats", "loop_members", "members"))
    if not args.seconds > 0:
        p.error(f"--seconds must be > 0, got {args.seconds}")
    return args


def main(argv=None) -> None:
    args = parse_args(argv)
    out = args.out or RESULTS / f"sweep_{args.device.type}.md"
    clock = Clock()
    results = measure(args)
    text = report(args, results, clock)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    print(text[text.index("## Results") :])
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
