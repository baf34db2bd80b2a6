"""Benchmark: the measured bake-off of GAN losses on the toy mixtures (and the digits), over seeds.

For each mixture in ``--mixtures`` (``ring``: 8 modes, std 0.02; ``grid``: 25 modes, std 0.05) and
each loss in ``--losses`` (default: every key of ``ganlab.LOSSES`` but the ``fgan-*-bound``
variants, i.e. the 13 losses of the committed results), ``--seeds`` seeded runs with
the *same* networks, optimiser and number of generator steps; only the loss differs. Each run is
scored with ``ganlab.metrics.generator_coverage`` on 2,500 samples (the VEEGAN / PacGAN protocol: a
sample is high quality within 3 std of its nearest mode; a mode is captured with at least one such
sample). Then extra rows for tuned configurations (``TUNED``), searched for the goal of issue 5: all
25 grid modes with >= 90 % high-quality samples in the median seed.

How the runs are trained: losses that ``ganlab.sweep.run`` supports are trained as one batched run
of all seeds (member ``i`` is the single run ``ganlab.train`` would give, up to float rounding);
``wgan`` (weight clipping) and ``wgan-gp`` (a gradient penalty) are trained one seed after another
with ``ganlab.train``. Wall time per run is the batched run's time divided by the number of seeds,
or the single run's own time: the column says which.

With ``--digits``: DCGANs on the 16x16 scikit-learn digits (the quick configuration of
``book/08_dcgan.ipynb``) for ``--digit-losses`` and ``--digit-seeds``, scored by the Fréchet
distance in the features of a digit classifier (``ganlab.quality.QualityMetric``) beside its
real-vs-real floor.

    python bench/variants.py [--seeds 10] [--steps 1000] [--mixtures ring grid] [--losses ...]
                             [--tuned/--no-tuned] [--digits/--no-digits] [--threads 1]
                             [--out-dir bench/results] [--quick]

It writes ``variants_<device>.md`` (tables) and ``variants_<device>.csv`` (one row per mixture,
configuration and seed, for plots) under ``--out-dir``. Nothing in them is copied by hand.
"""

from __future__ import annotations

import argparse
import copy
import csv
import dataclasses
import os
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import torch
from tqdm.auto import tqdm

import ganlab
from ganlab import sweep
from ganlab.metrics import mode_coverage, score_samples

from _common import RESULTS, Clock, add_out, add_threads, finish, machine, parser

GOAL_HQ = 0.9  # the goal: every grid mode and >= 90 % high quality in the median seed
SINGLE_ONLY = (
    "wgan",
    "wgan-gp",
)  # losses sweep.run refuses (clipping, gradient penalty): trained one by one

# Published toy results, as reported (2,500 samples, 3 std): (method, modes, high-quality %).
PUBLISHED = {
    "ring": (
        "srivastava2017veegan",
        "VEEGAN, Table 1",
        [("GAN", 1, 99.3), ("ALI", 2.8, 0.13), ("Unrolled GAN", 7.6, 35.6), ("VEEGAN", 8.0, 52.9)],
    ),
    "grid": (
        "srivastava2017veegan",
        "VEEGAN, Table 1",
        [
            ("GAN", 3.3, 0.5),
            ("ALI", 15.8, 1.6),
            ("Unrolled GAN", 23.6, 16.0),
            ("VEEGAN", 24.6, 40.0),
        ],
    ),
}
PACGAN = (
    "lin2018pacgan",
    "PacGAN, Table 2 (grid; a larger network than VEEGAN's)",
    [
        ("GAN", 17.3, 94.8),
        ("PacGAN2", 23.8, 91.3),
        ("PacGAN3", 24.6, 94.2),
        ("PacGAN4", 24.8, 93.6),
    ],
)


@dataclasses.dataclass(frozen=True)
class Variant:
    """One configuration: a loss, the networks, batches and a step-size schedule.

    ``phases`` is a list of ``(num_steps, lr)``: training continues from the previous phase's
    weights with fresh Adam state at the new step size (a piecewise-constant schedule).
    """

    name: str
    loss: str
    hidden: int
    depth: int
    batch: int
    phases: tuple[tuple[int, float], ...]
    betas: tuple[float, float] = (0.5, 0.9)
    seeds: int | None = None  # fewer seeds than --seeds for a costly row (None: all of them)

    @property
    def num_steps(self) -> int:
        return sum(s for s, _ in self.phases)

    def describe(self) -> str:
        sched = " then ".join(f"{s} steps at lr {lr:g}" for s, lr in self.phases)
        return (
            f"`{self.name}`: loss {self.loss}, MLPs of {self.depth} hidden layers x {self.hidden} "
            f"units, batches {self.batch}, Adam betas {self.betas}, {sched}"
        )


# Tuned configurations tried beyond the equal-budget rows (named after what they change). Probes on
# the grid (4-5 seeds) before the run: 64x3 MLPs reached 10-15 % HQ after 2,000 + 1,000 steps and a
# further 1,000 steps at lr 1e-5 added little (the median sample sat 11 std from its nearest mode:
# spread out, not yet concentrated); 128x3 MLPs captured 23-24 modes at 12-19 % HQ after 1,500
# steps. What was missing was time: bench/grid_goal.py found the same 128x3 networks at 25 modes and
# ~95 % HQ after 8,000 + 4,000 steps (the last row; ``goal_steps`` is its first phase, the second is
# half).
def tuned(steps: int, goal_steps: int = 8000) -> list[Variant]:
    return [
        Variant(
            "nonsaturating, 64x3, batch 256, lr 1e-3 then 1e-4",
            "nonsaturating",
            64,
            3,
            256,
            ((steps, 1e-3), (steps // 2, 1e-4)),
        ),
        Variant(
            "nonsaturating, 128x3, batch 256, lr 1e-3 then 1e-4",
            "nonsaturating",
            128,
            3,
            256,
            ((steps * 3 // 4, 1e-3), (steps * 3 // 8, 1e-4)),
            seeds=5,
        ),  # 4x the arithmetic: 5 seeds
        Variant(
            f"nonsaturating, 128x3, batch 256, {goal_steps} steps at lr 1e-3 then "
            f"{goal_steps // 2} at 1e-4",
            "nonsaturating",
            128,
            3,
            256,
            ((goal_steps, 1e-3), (goal_steps // 2, 1e-4)),
        ),
    ]


def base_config(v: Variant, num_steps: int, lr: float) -> ganlab.TrainConfig:
    return ganlab.TrainConfig(
        num_steps=num_steps,
        batch_real=v.batch,
        batch_fake=v.batch,
        batch_g=v.batch,
        lr_g=lr,
        lr_d=lr,
        betas=v.betas,
        loss=v.loss,
        k_disc=1,
        log_every=50,
        progress=False,
        device="cpu",
    )


def coverage(G, mix):
    """``ganlab.metrics.generator_coverage`` of G (2,500 fixed z), or None if its samples are not
    finite.
    """
    x_fake = score_samples(G)
    return mode_coverage(x_fake, mix) if torch.isfinite(x_fake).all() else None


def run_batched(v: Variant, name: str, mix, seeds) -> list[dict]:
    """All seeds of ``v`` as ``sweep.run`` members, phase after phase."""
    result, t, diverged = None, 0.0, {}
    for p, (num_steps, lr) in enumerate(v.phases):
        cfg = base_config(v, num_steps, lr)
        # Phase p of seed s draws its data with seed s + 100003·p (fresh draws, still reproducible).
        result = sweep.run(
            mix,
            [s + 100003 * p for s in seeds],
            cfg,
            hidden=v.hidden,
            depth=v.depth,
            start=result,
        )
        t += result.wall_time
        for s, d in zip(seeds, result.diverged):
            if d is not None and s not in diverged:
                diverged[s] = sum(n for n, _ in v.phases[:p]) + d
    rows = []
    for i, s in enumerate(seeds):
        G, _ = result.member(i)
        cov = None if s in diverged else coverage(G, mix)
        rows.append(_row(v, name, mix, s, cov, diverged.get(s), t / len(seeds), "batched / seeds"))
    return rows


def run_single(v: Variant, name: str, mix, seeds) -> list[dict]:
    """Each seed of ``v`` with ``ganlab.train`` (losses the batched trainer does not implement)."""
    rows = []
    for s in seeds:
        G, D = ganlab.toy_gan(mix.dim, 2, v.hidden, v.depth, seed=s)
        wall, diverged_at = 0.0, None
        for p, (num_steps, lr) in enumerate(v.phases):
            cfg = dataclasses.replace(base_config(v, num_steps, lr), seed=s + 100003 * p)
            try:
                wall += ganlab.train(G, D, mix.sample, cfg).wall_time
            except ganlab.TrainingDiverged as e:
                diverged_at = sum(n for n, _ in v.phases[:p]) + e.step
                break
        cov = None if diverged_at is not None else coverage(G, mix)
        rows.append(_row(v, name, mix, s, cov, diverged_at, wall, "single run"))
    return rows


def _row(v, name, mix, seed, cov, diverged, wall, timing) -> dict:
    return dict(
        mixture=name,
        config=v.name,
        loss=v.loss,
        seed=seed,
        hidden=v.hidden,
        depth=v.depth,
        batch=v.batch,
        num_steps=v.num_steps,
        schedule=" ".join(f"{s}@{lr:g}" for s, lr in v.phases),
        n_modes=mix.n_modes,
        modes=0 if cov is None else cov.modes_captured,
        high_quality=0.0 if cov is None else cov.high_quality,
        reverse_kl=float("inf") if cov is None else cov.reverse_kl,
        diverged_step="" if diverged is None else diverged,
        wall_time_s=round(wall, 3),
        timing=timing,
        fd="",
        fd_floor="",
    )


def summarise(rows: list[dict]) -> dict:
    """Statistics over seeds of one (mixture, configuration)."""
    modes = np.array([r["modes"] for r in rows])
    hq = np.array([r["high_quality"] for r in rows])
    n = rows[0]["n_modes"]
    q = lambda a: np.percentile(a, [25, 50, 75])  # noqa: E731
    return dict(
        seeds=len(rows),
        modes=q(modes),
        modes_min=int(modes.min()),
        modes_max=int(modes.max()),
        all_modes=float(np.mean(modes == n)),
        hq=q(hq),
        rkl=float(np.median([r["reverse_kl"] for r in rows])),
        diverged=sum(r["diverged_step"] != "" for r in rows),
        wall=float(np.median([r["wall_time_s"] for r in rows])),
        timing=rows[0]["timing"],
        goal=bool(np.median(modes) == n and np.median(hq) >= GOAL_HQ),
    )


def toy_table(rows: list[dict], configs: list[str]) -> list[str]:
    lines = [
        "| configuration | seeds | modes: median [min–max] (IQR) | all modes | HQ %: median [IQR] "
        "| reverse KL (median) | diverged | wall time / run (s) |",
        "|---|---:|---|---:|---|---:|---:|---|",
    ]
    for name in configs:
        sub = [r for r in rows if r["config"] == name]
        if not sub:
            continue
        s = summarise(sub)
        m, h = s["modes"], 100 * s["hq"]
        lines.append(
            f"| {name}{' **(goal met)**' if s['goal'] and sub[0]['n_modes'] == 25 else ''} | "
            f"{s['seeds']} | {m[1]:g} [{s['modes_min']}–{s['modes_max']}] ({m[0]:g}–{m[2]:g}) | "
            f"{s['all_modes']:.0%} | {h[1]:.1f} [{h[0]:.1f}–{h[2]:.1f}] | {s['rkl']:.3f} | "
            f"{s['diverged']} | {s['wall']:.1f} ({s['timing']}) |"
        )
    return lines


def published_table(mixture: str) -> list[str]:
    blocks = [PUBLISHED[mixture]] + ([PACGAN] if mixture == "grid" else [])
    lines = ["| method (as reported) | source | modes | HQ % |", "|---|---|---:|---:|"]
    for key, where, entries in blocks:
        lines += [f"| {m} | {where} [{key}] | {modes:g} | {hq:g} |" for m, modes, hq in entries]
    return lines


# ---- digits -----------------------------------------------------------------------------------

DIGITS = dict(
    image_size=16, width=32, latent=32, batch=64, lr=2e-4, ema_decay=0.99
)  # book/08's quick profile


def run_digits(losses, seeds, num_steps) -> tuple[list[dict], dict]:
    from ganlab import data, quality
    from ganlab.models import fixed_noise, render

    digits = data.digits(DIGITS["image_size"])
    metric = quality.QualityMetric.from_data(digits, seed=0, num_samples=800)
    z_eval = fixed_noise(800, DIGITS["latent"], seed=7)
    rows = []
    for loss in losses:
        for s in seeds:
            G, D = ganlab.dcgan(
                DIGITS["latent"],
                channels=1,
                image_size=DIGITS["image_size"],
                width=DIGITS["width"],
                seed=s,
            )
            G_ema = copy.deepcopy(G)
            cfg = ganlab.TrainConfig(
                num_steps=num_steps,
                batch_real=DIGITS["batch"],
                batch_fake=DIGITS["batch"],
                batch_g=DIGITS["batch"],
                lr_g=DIGITS["lr"],
                lr_d=DIGITS["lr"],
                betas=(0.5, 0.999),
                loss=loss,
                ema_decay=DIGITS["ema_decay"],
                seed=s,
                progress=False,
                device="cpu",
            )
            fd, wall, diverged = float("nan"), 0.0, ""
            try:
                wall = ganlab.train(G, D, digits.sample, cfg, G_ema=G_ema).wall_time
                fd = metric(render(G_ema, z_eval))["fd"]
            except ganlab.TrainingDiverged as e:
                diverged = e.step
            rows.append(
                dict(
                    mixture="digits16",
                    config=loss,
                    loss=loss,
                    seed=s,
                    hidden="",
                    depth="",
                    batch=DIGITS["batch"],
                    num_steps=num_steps,
                    schedule=f"{num_steps}@{DIGITS['lr']:g}",
                    n_modes="",
                    modes="",
                    high_quality="",
                    reverse_kl="",
                    diverged_step=diverged,
                    wall_time_s=round(wall, 3),
                    timing="single run",
                    fd=round(fd, 4),
                    fd_floor=round(metric.floor["fd"], 4),
                )
            )
    return rows, metric.floor


def digits_table(rows, losses, floor) -> list[str]:
    lines = [
        "| loss | seeds | FD (G_ema): median [min–max] | FD floor (real vs real) | diverged | wall "
        "time / run (s) |",
        "|---|---:|---|---:|---:|---:|",
    ]
    for loss in losses:
        sub = [r for r in rows if r["config"] == loss]
        fd = np.array([r["fd"] for r in sub], dtype=float)
        ok = fd[np.isfinite(fd)]
        cell = f"{np.median(ok):.2f} [{ok.min():.2f}–{ok.max():.2f}]" if len(ok) else "—"
        lines.append(
            f"| {loss} | {len(sub)} | {cell} | {floor['fd']:.2f} | "
            f"{sum(r['diverged_step'] != '' for r in sub)} | "
            f"{np.median([r['wall_time_s'] for r in sub]):.0f} |"
        )
    return lines


# ---- report -----------------------------------------------------------------------------------


def report(args, main: Variant, variants, rows, digit_rows, floor, clock: Clock) -> str:
    lines = [
        "# Bake-off: GAN losses on the toy mixtures and the digits, over seeds",
        "",
        "Written by `bench/variants.py`; rerun it to regenerate this file and `variants_cpu.csv` "
        "(one row per mixture, configuration and seed). See `bench/README.md`.",
        "",
        "## Machine and run",
        "",
        *machine(torch.device("cpu")),
        f"- torch threads per worker: {args.threads}, {args.jobs} worker processes running rows "
        f"side by side (OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')})",
        *clock.lines(),
        f"- seeds: {args.seeds[0]}..{args.seeds[-1]} ({len(args.seeds)}) for every main row; a "
        "costly tuned row may take the first few only (its seeds column says how many)",
        "",
        "## Protocol",
        "",
        "Main rows (one per loss): the same networks and step budget for every loss, "
        f"{main.describe()[main.describe().index('MLPs') :]}; k_disc = 1; latent dimension 2; "
        "seeded `ganlab.toy_gan(2, 2, hidden, depth, seed)`. Only the loss differs, so `wgan` "
        "(clip 0.01) and `wgan-gp` (lambda 10) run at this budget, not at their papers' settings "
        "(RMSprop / Adam at 5e-5 to 1e-4, k_disc = 5): read their rows as equal-budget, not "
        "best-case.",
        "",
        "Scores: `ganlab.metrics.generator_coverage` of 2,500 samples from fixed noise after "
        "training (VEEGAN / PacGAN protocol): high quality (HQ) = within 3 std of the nearest "
        "mode; a mode is captured with at least one HQ sample; reverse KL = KL(HQ histogram over "
        "modes ‖ mixture weights), nats (inf when no sample is HQ). A diverged run (non-finite "
        "loss) counts as 0 modes, 0 % HQ. Wall time: training only, median over seeds; *batched / "
        "seeds* = one `ganlab.sweep.run` of all seeds divided by their number, *single run* = "
        "`ganlab.train` alone.",
        "",
        "Tuned rows: "
        + (
            "; ".join(
                v.describe()
                for v in variants
                if v is not main
                and v.name in {r["config"] for r in rows if r["config"] not in args.losses}
            )
            or "none"
        )
        + ". "
        "A later phase continues from the previous phase's weights with fresh Adam state.",
        "",
    ]
    for mixture in [m for m in ("ring", "grid") if any(r["mixture"] == m for r in rows)]:
        sub = [r for r in rows if r["mixture"] == mixture]
        if not sub:
            continue
        n_modes = sub[0]["n_modes"]
        std = ganlab.by_name(mixture).std
        lines += [
            f"## {mixture}: {n_modes} modes, std {std:g}",
            "",
            *toy_table(
                sub, [*args.losses, *[v.name for v in variants if v.name not in args.losses]]
            ),
            "",
            "Published results on the same benchmark, as reported (not rerun here; their networks, "
            "budgets and seeds differ from ours):",
            "",
            *published_table(mixture),
            "",
        ]
    goal_rows = [
        v.name
        for v in variants
        if [r for r in rows if r["mixture"] == "grid" and r["config"] == v.name]
        and summarise([r for r in rows if r["mixture"] == "grid" and r["config"] == v.name])["goal"]
    ]
    if any(r["mixture"] == "grid" for r in rows):
        best = best_config(rows, "grid")
        lines += [
            "## Goal",
            "",
            "Issue 5's goal: 25/25 grid modes with >= 90 % high-quality samples in the median "
            "seed. "
            + (f"**Met** by: {', '.join(goal_rows)}." if goal_rows else "**Not met** in this run.")
            + (
                " Best grid configuration by median HQ among those with the most median modes: "
                f"`{best}`."
                if best
                else ""
            ),
            "",
        ]
    if digit_rows:
        losses = list(dict.fromkeys(r["config"] for r in digit_rows))
        lines += [
            "## digits (16x16, DCGAN)",
            "",
            f"The quick DCGAN of `book/08_dcgan.ipynb`: `dcgan({DIGITS['latent']}, channels=1, "
            f"image_size=16, width={DIGITS['width']})`, batches of {DIGITS['batch']}, Adam "
            f"{DIGITS['lr']:g}, betas (0.5, 0.999), {digit_rows[0]['num_steps']} steps, EMA "
            f"{DIGITS['ema_decay']}; scored on 800 EMA samples from fixed noise by the Fréchet "
            "distance in the features of a digit classifier (`ganlab.quality.QualityMetric`, seed "
            "0), beside the real-vs-real floor. Fewer losses and seeds than the toy rows "
            f"({len(losses)} losses, {len({r['seed'] for r in digit_rows})} seeds each): a CPU "
            "budget.",
            "",
            *digits_table(digit_rows, losses, floor),
            "",
        ]
    return "\n".join(lines) + "\n"


def best_config(rows, mixture) -> str | None:
    configs = list(dict.fromkeys(r["config"] for r in rows if r["mixture"] == mixture))
    if not configs:
        return None
    scored = [
        (summarise([r for r in rows if r["mixture"] == mixture and r["config"] == c]), c)
        for c in configs
    ]
    return max(scored, key=lambda sc: (sc[0]["modes"][1], sc[0]["hq"][1]))[1]


def write(args, main_variant, variants, rows, digit_rows, floor, clock: Clock) -> str:
    """Write ``variants_cpu.md`` and ``variants_cpu.csv`` under ``args.out_dir``; return the
    Markdown.
    """
    args.out_dir.mkdir(parents=True, exist_ok=True)
    text = report(args, main_variant, variants, rows, digit_rows, floor, clock)
    (args.out_dir / "variants_cpu.md").write_text(text)
    with open(args.out_dir / "variants_cpu.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list((rows or digit_rows)[0]))
        writer.writeheader()
        writer.writerows(rows + digit_rows)
    return text


def run_job(job, args):
    """One job in a worker process: ``(rows, None)`` for a toy row, ``(rows, floor)`` for a digit
    loss.
    """
    kind, what, v = job
    if kind == "toy":
        mix = ganlab.by_name(what)
        seeds = args.seeds[: v.seeds] if v.seeds else args.seeds
        return (run_single if v.loss in SINGLE_ONLY else run_batched)(v, what, mix, seeds), None
    return run_digits([what], list(range(args.digit_seeds)), args.digit_steps)


def parse_args(argv=None):
    p = parser(__doc__)
    p.add_argument("--seeds", type=int, default=10, help="seeds per toy row, 0..N-1 (default 10)")
    p.add_argument(
        "--steps", type=int, default=1000, help="generator steps of the main rows (default 1000)"
    )
    p.add_argument(
        "--hidden", type=int, default=32, help="hidden units of the main rows' MLPs (default 32)"
    )
    p.add_argument(
        "--depth", type=int, default=2, help="hidden layers of the main rows' MLPs (default 2)"
    )
    p.add_argument(
        "--batch",
        type=int,
        default=64,
        help="real, fake and generator batch of the main rows (default 64)",
    )
    p.add_argument(
        "--lr",
        type=float,
        default=1e-3,
        help="Adam step size of both players in the main rows (default 1e-3)",
    )
    p.add_argument("--mixtures", nargs="+", choices=["ring", "grid"], default=["ring", "grid"])
    p.add_argument(
        "--losses",
        nargs="+",
        choices=list(ganlab.LOSSES),
        default=[k for k in ganlab.LOSSES if not k.endswith("-bound")],  # the committed 13
    )
    p.add_argument(
        "--tuned",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also run the tuned configurations (default: on)",
    )
    p.add_argument(
        "--tuned-mixtures",
        nargs="+",
        choices=["ring", "grid"],
        default=["grid"],
        help="mixtures for the tuned rows (default: grid, the goal's)",
    )
    p.add_argument(
        "--tuned-steps",
        type=int,
        default=2000,
        help="first-phase steps of the tuned 64x3 row; the 128x3 row takes 3/4 (default 2000)",
    )
    p.add_argument(
        "--goal-steps",
        type=int,
        default=8000,
        help="first-phase steps of the tuned row aimed at the grid goal; a second phase of half "
        "as many follows at lr 1e-4 (default 8000)",
    )
    p.add_argument(
        "--digits",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also train DCGANs on 16x16 digits (default: on)",
    )
    p.add_argument(
        "--digit-losses",
        nargs="+",
        choices=list(ganlab.LOSSES),
        default=["nonsaturating", "hinge", "lsgan"],
    )
    p.add_argument("--digit-seeds", type=int, default=2, help="seeds per digit loss (default 2)")
    p.add_argument(
        "--digit-steps", type=int, default=300, help="generator steps per digit run (default 300)"
    )
    p.add_argument(
        "--quick",
        action="store_true",
        help="a smoke run: 3 seeds, 200 steps, 32x2 MLPs, 2 digit losses x 1 seed x 50 steps",
    )
    add_threads(p, default=1)
    p.add_argument(
        "--jobs", type=int, default=2, help="worker processes, one row at a time each (default 2)"
    )
    add_out(p, "bench/results", flag="--out-dir")
    args = p.parse_args(argv)
    if args.quick:
        args.seeds, args.steps, args.hidden, args.depth, args.batch = 3, 200, 32, 2, 64
        args.digit_losses, args.digit_seeds, args.digit_steps = args.digit_losses[:2], 1, 50
    positive = ("seeds", "steps", "hidden", "depth", "batch", "goal_steps", "digit_seeds")
    args = finish(p, args, (*positive, "digit_steps", "jobs"))
    args.out_dir = args.out_dir or RESULTS
    if not args.lr > 0:
        p.error(f"--lr must be > 0, got {args.lr}")
    args.seeds = list(range(args.seeds))
    return args


def main(argv=None) -> None:
    args = parse_args(argv)
    clock = Clock()
    variants = [
        Variant(loss, loss, args.hidden, args.depth, args.batch, ((args.steps, args.lr),))
        for loss in args.losses
    ]
    main_variant = (
        variants[0]
        if variants
        else Variant(
            "-", "nonsaturating", args.hidden, args.depth, args.batch, ((args.steps, args.lr),)
        )
    )
    if args.tuned:
        extra = tuned(200, 300) if args.quick else tuned(args.tuned_steps, args.goal_steps)
        if args.quick:
            extra = [
                dataclasses.replace(
                    v, name=v.name + " (quick: 32x2, batch 64)", hidden=32, depth=2, batch=64
                )
                for v in extra
            ]
        variants += extra
    # Jobs: one per (mixture, configuration), one per digit loss; --jobs worker processes share
    # them. Longest first, so that the workers finish together: tuned rows, then the single-run
    # losses.
    jobs = [
        ("toy", mixture, v) for v in variants[len(args.losses) :] for mixture in args.tuned_mixtures
    ]
    jobs += [
        ("toy", mixture, v)
        for v in sorted(variants[: len(args.losses)], key=lambda v: v.loss not in SINGLE_ONLY)
        for mixture in args.mixtures
    ]
    if args.digits:
        jobs += [("digits", loss, None) for loss in args.digit_losses]
    rows, digit_rows, floor = [], [], None
    with ProcessPoolExecutor(
        args.jobs, initializer=torch.set_num_threads, initargs=(args.threads,)
    ) as pool:
        futures = [pool.submit(run_job, job, args) for job in jobs]
        for job, future in zip(jobs, tqdm(futures, desc="jobs")):
            kind, what, v = job
            new, extra = future.result()
            if kind == "toy":
                rows += new
                s = summarise(new)
                print(
                    f"{what:5s} {v.name:45s} modes {s['modes'][1]:g} "
                    f"[{s['modes_min']}-{s['modes_max']}] "
                    f"HQ {100 * s['hq'][1]:.1f}% rKL {s['rkl']:.3f} wall/run {s['wall']:.1f} s",
                    flush=True,
                )
            else:
                digit_rows += new
                floor = extra
                print(
                    f"digits {what}: FD {[r['fd'] for r in new]} (floor {extra['fd']:.2f})",
                    flush=True,
                )
            # Rewrite both files after every job: a run cut short still leaves what it measured.
            text = write(args, main_variant, variants, rows, digit_rows, floor, clock)
    print(text[text.index("## Protocol") :])
    print(f"wrote {args.out_dir / 'variants_cpu.md'} and {args.out_dir / 'variants_cpu.csv'}")


if __name__ == "__main__":
    main()
