"""Benchmark: ganlab's toy GAN trainer against a plain PyTorch loop of the same networks.

Both sides train the same seeded MLPs (``ganlab.toy_gan(2, seed=s)``) on ``ganlab.ring()`` with
the same algorithm: k = 1, batches of 256 real / 256 fake / 256 for G (fresh noise for the G
step), Adam(lr=1e-3, betas=(0.5, 0.999)), non-saturating loss. One "step" is one generator
update. Measured in one run, on one machine, interleaving the two sides:

(a) steps per second: median of ``--repeats`` timings of ``--steps`` steps after ``--warmup`` steps;
(b) wall time and steps until the generator first covers all 8 modes with >= 90 % high-quality
    samples (``ganlab.metrics.generator_coverage`` on 2,500 samples every ``--eval-every`` steps,
    the same code for both sides, its time excluded), for each seed, capped at ``--max-steps``.

    python bench/toy.py [--steps 1000] [--repeats 5] [--seeds 0 1 2] [--max-steps 6000]
                        [--device cpu|cuda] [--threads N] [--out bench/results/toy_cpu.md]

The Markdown results file is rewritten on every run; nothing in it is copied by hand.
"""

from __future__ import annotations

import statistics
import sys
import time

import torch
from torch import nn
from tqdm.auto import tqdm

import ganlab
from ganlab.metrics import SCORE_N, generator_coverage

from _common import (
    RESULTS,
    Clock,
    add_device,
    add_out,
    add_threads,
    censored_median,
    finish,
    machine,
    parser,
)

BATCH = 256  # real, fake and generator batch: TrainConfig's defaults
LR, BETAS = 1e-3, (0.5, 0.999)  # TrainConfig's defaults for both players
EVAL_N = SCORE_N  # 2,500 samples as in the VEEGAN/PacGAN tables, from fixed noise
TARGET_HQ = 0.9  # "high quality" share the generator must reach, with every mode captured


def sync(device: torch.device) -> None:
    """Wait for queued GPU work, so that a clock read means what it says."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def coverage(G: nn.Module, mix: ganlab.GaussianMixture):
    """The one evaluation both sides use: ``ganlab.metrics.generator_coverage`` (2,500 fixed z)."""
    return generator_coverage(G, mix, EVAL_N)


class Reached(Exception):
    """Raised by a probe to stop a run: the only way to end ``ganlab.train`` early."""


class Probe:
    """Called as ``probe(step, G)`` after every generator step, by both training loops alike.

    ``mode="rate"``: reads the clock after steps ``warmup`` and ``warmup + steps``.
    ``mode="target"``: every ``eval_every`` steps evaluates coverage with the clock stopped
    (the evaluation time is summed in ``eval_time`` and left out), and raises ``Reached`` the
    first time all modes are captured with at least ``TARGET_HQ`` high-quality samples.
    """

    def __init__(self, mode, device, *, warmup=0, steps=0, mix=None, eval_every=100, bar=None):
        self.mode, self.device, self.warmup, self.steps = mode, device, warmup, steps
        self.mix, self.eval_every, self.bar = mix, eval_every, bar
        self.stamps: list[float] = []  # rate: clock at the start and end of the timed steps
        self.start = 0.0  # target: clock when the run (set-up included) began
        self.eval_time = 0.0  # target: seconds spent evaluating, left out of the training time
        self.reached_step: int | None = None
        self.train_time: float | None = None  # target: training seconds to reach the target
        self.trained_steps, self.trained_time = (
            0,
            0.0,
        )  # target: steps and training seconds at the last check
        self.last = None  # target: last ModeCoverage

    def begin(self) -> None:
        sync(self.device)
        self.start = time.perf_counter()

    def __call__(self, step: int, G: nn.Module) -> None:
        if self.mode == "rate":
            if step in (self.warmup, self.warmup + self.steps):
                sync(self.device)
                self.stamps.append(time.perf_counter())
            return
        if step % self.eval_every:
            return
        sync(self.device)
        t0 = time.perf_counter()
        self.trained_steps, self.trained_time = step, t0 - self.start - self.eval_time
        self.last = cov = coverage(G, self.mix)
        done = cov.modes_captured == cov.n_modes and cov.high_quality >= TARGET_HQ
        if done:
            self.reached_step, self.train_time = step, self.trained_time
        if self.bar is not None:
            self.bar.set_postfix_str(
                f"step {step}: {cov.modes_captured}/{cov.n_modes} modes, "
                f"{100 * cov.high_quality:.0f}% HQ",
                refresh=False,
            )
            self.bar.update(self.eval_every)
        self.eval_time += time.perf_counter() - t0
        if done:
            raise Reached

    @property
    def rate(self) -> float:
        """Timed steps per second."""
        return self.steps / (self.stamps[1] - self.stamps[0])


def run_ganlab(mix, seed: int, num_steps: int, device: torch.device, probe: Probe) -> None:
    """ganlab's default toy set-up: ``toy_gan`` + ``train`` with a default ``TrainConfig``."""
    G, D = ganlab.toy_gan(2, seed=seed)
    cfg = ganlab.TrainConfig(num_steps=num_steps, progress=False, seed=seed, device=str(device))
    probe.begin()
    ganlab.train(G, D, mix.sample, cfg, callbacks=[lambda step, G, D, history: probe(step, G)])


def run_reference(mix, seed: int, num_steps: int, device: torch.device, probe: Probe) -> None:
    """The same GAN written the plain way (pytorch/examples' dcgan loop), on the same networks.

    ``G.net`` and ``D.net`` are the bare ``nn.Sequential`` MLPs inside ganlab's models, so the
    initial weights are identical; D outputs a ``(N, 1)`` logit, squashed by ``torch.sigmoid``.
    Two departures from pytorch/examples keep the arithmetic equal to ganlab's: G's step draws
    fresh noise (the examples reuse the D step's fake batch), and the D step's fake batch is made
    under ``no_grad`` (the examples build its graph and ``detach``, which is slower).
    """
    model, D = ganlab.toy_gan(2, seed=seed)
    G, D = model.net, D.net  # the probe scores G through its wrapper, which holds latent_dim
    probe.begin()
    torch.manual_seed(seed)
    G.to(device)
    D.to(device)
    criterion = nn.BCELoss()
    optimizer_d = torch.optim.Adam(D.parameters(), lr=LR, betas=BETAS)
    optimizer_g = torch.optim.Adam(G.parameters(), lr=LR, betas=BETAS)
    real_label, fake_label = 1.0, 0.0
    losses_d, losses_g, d_real, d_fake = [], [], [], []
    for step in range(1, num_steps + 1):
        # (1) Update D: maximize log(D(x)) + log(1 - D(G(z)))
        D.zero_grad()
        x_real = mix.sample(BATCH, device=device)  # (256, 2)
        label = torch.full((BATCH,), real_label, device=device)
        output = torch.sigmoid(D(x_real)).view(-1)  # (256,) D(x)
        loss_d_real = criterion(output, label)
        loss_d_real.backward()
        d_real.append(output.mean().item())
        z = torch.randn(BATCH, 2, device=device)  # (256, latent_dim)
        with torch.no_grad():
            x_fake = G(z)  # (256, 2)
        label.fill_(fake_label)
        output = torch.sigmoid(D(x_fake)).view(-1)
        loss_d_fake = criterion(output, label)
        loss_d_fake.backward()
        d_fake.append(output.mean().item())
        loss_d = loss_d_real + loss_d_fake
        optimizer_d.step()
        # (2) Update G: maximize log(D(G(z))) on a fresh batch of noise
        G.zero_grad()
        z = torch.randn(BATCH, 2, device=device)
        label = torch.full((BATCH,), real_label, device=device)  # fake labels are real for G
        output = torch.sigmoid(D(G(z))).view(-1)
        loss_g = criterion(output, label)
        loss_g.backward()
        optimizer_g.step()
        losses_d.append(loss_d.item())
        losses_g.append(loss_g.item())
        probe(step, model)


RUNNERS = {"ganlab": run_ganlab, "reference": run_reference}


def measure_rates(args, mix, device) -> dict[str, list[float]]:
    """Steps per second of each side, ``args.repeats`` times, alternating which side goes first."""
    rates = {name: [] for name in RUNNERS}
    bar = tqdm(total=2 * args.repeats, desc="steps/s", file=sys.stderr)
    for r in range(args.repeats):
        order = list(RUNNERS) if r % 2 == 0 else list(RUNNERS)[::-1]  # ABBA: drift hits both alike
        for name in order:
            probe = Probe("rate", device, warmup=args.warmup, steps=args.steps)
            RUNNERS[name](mix, args.seeds[0], args.warmup + args.steps, device, probe)
            rates[name].append(probe.rate)
            bar.set_postfix_str(f"{name}: {probe.rate:.1f} steps/s", refresh=False)
            bar.update(1)
    bar.close()
    return rates


def measure_targets(args, mix, device) -> dict[str, dict[int, Probe]]:
    """For each seed and side, the probe of a run stopped at the target or at the step cap."""
    probes = {name: {} for name in RUNNERS}
    bar = tqdm(
        total=2 * len(args.seeds) * args.max_steps,
        desc=f"time to {mix.n_modes} modes",
        unit="step",
        file=sys.stderr,
    )
    for i, seed in enumerate(args.seeds):
        order = list(RUNNERS) if i % 2 == 0 else list(RUNNERS)[::-1]
        for name in order:
            bar.set_description(f"time to {mix.n_modes} modes: {name}, seed {seed}")
            probe = Probe("target", device, mix=mix, eval_every=args.eval_every, bar=bar)
            try:
                RUNNERS[name](mix, seed, args.max_steps, device, probe)
            except Reached:
                bar.update(args.max_steps - probe.reached_step)
            probes[name][seed] = probe
    bar.close()
    return probes


def report(args, device, mix, rates, probes, clock: Clock) -> str:
    """The results file, in Markdown."""
    rate = {name: statistics.median(values) for name, values in rates.items()}
    # Repeat r of both sides ran back to back, so their ratio is spared most of the machine's drift.
    pair_ratios = [g / r for g, r in zip(rates["ganlab"], rates["reference"])]
    paired = statistics.median(pair_ratios)
    long_rate = {
        name: sum(p.trained_steps for p in probes[name].values())
        / sum(p.trained_time for p in probes[name].values())
        for name in RUNNERS
    }
    times = {
        name: censored_median([p.train_time for p in probes[name].values()]) for name in RUNNERS
    }
    steps = {
        name: censored_median([p.reached_step for p in probes[name].values()]) for name in RUNNERS
    }
    ratio_rate = rate["ganlab"] / rate["reference"]
    ratio_time = (
        None
        if None in (times["ganlab"], times["reference"])
        else times["ganlab"] / times["reference"]
    )
    ratio_steps = (
        None
        if None in (steps["ganlab"], steps["reference"])
        else steps["ganlab"] / steps["reference"]
    )
    cap = f"> {args.max_steps} steps"
    seeds = " ".join(map(str, args.seeds))
    lines = [
        "# Toy GAN benchmark: ganlab vs a plain PyTorch loop",
        "",
        "Written by `bench/toy.py`; rerun it to regenerate this file. See `bench/README.md`.",
        "",
        "## Machine",
        "",
        *machine(device),
        *clock.lines(),
        "",
        "## Results",
        "",
        f"Steps/s: median of {args.repeats} runs of {args.steps} steps after {args.warmup} warm-up "
        f"steps (seed {args.seeds[0]}), the two sides alternating. Time to {mix.n_modes} modes: "
        f"training seconds (evaluation excluded) until `generator_coverage` of {EVAL_N} samples, "
        f"checked every {args.eval_every} steps, first shows all {mix.n_modes} modes and >= "
        f"{100 * TARGET_HQ:.0f} % high-quality samples; median over seeds {seeds}, a seed that "
        f"never gets there counting as slower than any that does (cap {args.max_steps} steps).",
        "",
        "| measure | ganlab | reference | ganlab / reference |",
        "|---|---:|---:|---:|",
        f"| training steps/s (higher is faster) | {rate['ganlab']:.1f} | {rate['reference']:.1f} | "
        f"{ratio_rate:.3f} |",
        f"| time to {mix.n_modes} modes, s (lower is faster) | {fmt(times['ganlab'], '.1f', cap)} "
        f"| {fmt(times['reference'], '.1f', cap)} | {fmt(ratio_time, '.3f', 'n/a')} |",
        f"| steps to {mix.n_modes} modes | {fmt(steps['ganlab'], '.0f', cap)} | "
        f"{fmt(steps['reference'], '.0f', cap)} | {fmt(ratio_steps, '.3f', 'n/a')} |",
        "",
        f"Goal (ganlab at least as fast as the reference): steps/s ratio {ratio_rate:.3f}, "
        f"{verdict(ratio_rate, pair_ratios)}; time-to-{mix.n_modes}-modes ratio "
        f"{fmt(ratio_time, '.3f', 'n/a')}, "
        f"{'n/a' if ratio_time is None else 'met' if ratio_time <= 1 else 'not met'}.",
        "",
        "Two steadier views of the same speed, since a shared or virtual CPU drifts by 10-30 % "
        "between runs:",
        "",
        f"- median of the per-repeat ratios (each pair run back to back): {paired:.3f} "
        f"(range {min(pair_ratios):.3f}-{max(pair_ratios):.3f})",
        f"- steps/s over all the time-to-{mix.n_modes}-modes runs (training time only, "
        f"{sum(p.trained_steps for p in probes['ganlab'].values())} and "
        f"{sum(p.trained_steps for p in probes['reference'].values())} steps): ganlab "
        f"{long_rate['ganlab']:.1f}, reference {long_rate['reference']:.1f}, ratio "
        f"{long_rate['ganlab'] / long_rate['reference']:.3f}",
        "",
        "### Every run",
        "",
        "| side | steps/s of each repeat |",
        "|---|---|",
        *(f"| {name} | {', '.join(f'{v:.1f}' for v in rates[name])} |" for name in RUNNERS),
        "",
        "| seed | ganlab: steps | ganlab: s | reference: steps | reference: s | last coverage: "
        "ganlab | last coverage: reference |",
        "|---:|---:|---:|---:|---:|---|---|",
    ]
    for seed in args.seeds:
        g, r = probes["ganlab"][seed], probes["reference"][seed]
        lines.append(
            f"| {seed} | {fmt(g.reached_step, 'd', cap)} | {fmt(g.train_time)} | "
            f"{fmt(r.reached_step, 'd', cap)} | "
            f"{fmt(r.train_time)} | {g.last} | {r.last} |"
        )
    lines += [
        "",
        "Both sides start from identical weights with the same seed, but draw their random numbers "
        "in their own order and compute the losses differently (`binary_cross_entropy_with_logits` "
        "vs `sigmoid` + `BCELoss`); even rounding alone is enough, since Adam's first steps turn "
        "it into full-size updates, so the trajectories drift apart. Steps to 8 modes therefore "
        "vary by seed on both sides, and the time ratio mixes speed per step with that luck; the "
        "steps/s rows are the like-for-like speed comparison.",
    ]
    return "\n".join(lines) + "\n"


def verdict(ratio: float, pair_ratios: list[float]) -> str:
    """Whether a ganlab / reference speed ratio meets the goal, given the spread of paired
    ratios.
    """
    if ratio >= 1:
        return "met"
    lo, hi = min(pair_ratios), max(pair_ratios)
    if lo <= 1 <= hi:
        return (
            f"below 1 but within the run-to-run spread (paired ratios {lo:.2f}-{hi:.2f}): "
            "no measurable difference"
        )
    return f"not met (every paired ratio below 1: {lo:.2f}-{hi:.2f})"


def fmt(value, spec=".1f", missing="not reached"):
    """``value`` formatted with ``spec``, or ``missing`` for ``None``."""
    return missing if value is None else format(value, spec)


def parse_args(argv=None):
    p = parser(__doc__)
    p.add_argument(
        "--steps", type=int, default=1000, help="timed steps per steps/s measurement (default 1000)"
    )
    p.add_argument(
        "--warmup", type=int, default=100, help="untimed steps before them (default 100)"
    )
    p.add_argument(
        "--repeats", type=int, default=5, help="steps/s measurements per side (default 5)"
    )
    p.add_argument(
        "--seeds",
        type=int,
        nargs="+",
        default=[0, 1, 2],
        help="seeds for time to 8 modes (default 0 1 2)",
    )
    p.add_argument(
        "--max-steps", type=int, default=6000, help="step cap for time to 8 modes (default 6000)"
    )
    p.add_argument(
        "--eval-every", type=int, default=100, help="steps between coverage checks (default 100)"
    )
    add_device(p)
    add_threads(p)
    add_out(p, "bench/results/toy_<device>.md")
    args = finish(p, p.parse_args(argv), ("steps", "warmup", "repeats", "max_steps", "eval_every"))
    if args.eval_every > args.max_steps:
        p.error(
            f"--eval-every {args.eval_every} exceeds --max-steps {args.max_steps}: "
            "nothing would be checked"
        )
    return args


def main(argv=None) -> None:
    args = parse_args(argv)
    device, clock = args.device, Clock()
    out = args.out or RESULTS / f"toy_{device.type}.md"
    mix = ganlab.ring()
    rates = measure_rates(args, mix, device)
    probes = measure_targets(args, mix, device)
    text = report(args, device, mix, rates, probes, clock)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    print(text[text.index("| measure") : text.index("### Every run")].rstrip())
    print(f"\nwrote {out}")


if __name__ == "__main__":
    main()
