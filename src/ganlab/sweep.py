"""Many toy GANs trained as one batched computation: seed statistics and step-size sweeps in
seconds.

One GAN run is an anecdote: the same settings capture every mode with one seed and collapse with
the next. :func:`run` trains ``N`` independent *members* together. Member ``i`` is the single run

    G, D = ganlab.toy_gan(mixture.dim, latent_dim, hidden, depth, seed=seeds[i])
    ganlab.train(G, D, mixture.sample,
                 replace(cfg, seed=seeds[i], lr_g=lr_g[i], lr_d=lr_d[i], k_disc=k_disc[i]))

How: the weights, Adam states and draws of the N members are stacked along a leading member
axis (:mod:`ganlab.batched`), so one step of every member is one batched computation. Each
member's loss is its own batch mean (``torch.func.vmap`` over the loss from :mod:`ganlab.losses`),
and their sum is differentiated: member ``i``'s weights get exactly the gradient of member
``i``'s loss.

What holds: member ``i`` equals ``train`` alone up to float rounding, because a batched matrix
product may round differently from a single one in the last bit (the tests hold 30 steps to
1e-5; the Adam update alone is bit for bit). The game is chaotic and amplifies that rounding over
a long run (``bench/README.md`` says how far), so compare a long sweep with single runs by its
statistics over seeds, not run by run.

Per member: ``seeds``, ``lr_g``, ``lr_d`` and ``k_disc`` (a member with a smaller ``k_disc``
sits out the extra discriminator steps: it draws nothing and its weights and Adam state are left
as they are). Shared by all members (sweep them with separate calls): the loss, batch sizes,
betas, number of steps and the networks' sizes. ``train``'s speed and infrastructure options
(bf16, compile, checkpoints, ...) are refused; on a GPU ``train`` uses a fused Adam by default,
which rounds differently. A member whose loss becomes NaN or infinite is marked diverged at that
step (the step ``train`` raises ``TrainingDiverged`` for) and frozen; the others go on.

Several sweeps (different losses, betas or networks) go side by side with :func:`run_many`, one
worker process per CPU core.

How much faster than a loop of ``train`` this is depends on the networks' size (small ones gain
most): ``bench/sweep.py`` measures it, and ``bench/README.md`` has the numbers.
"""

from __future__ import annotations

import copy
import itertools
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch import nn
from torch.func import vmap
from tqdm.auto import tqdm

from . import parallel
from ._checks import positive_int
from .batched import BatchedAdam, StackedMLP, noise_members, sample_members
from .config import TrainConfig, sweep_refusals
from .history import History, TraceBuffer
from .losses import get_loss
from .metrics import SCORE_N, SCORE_SEED, ModeCoverage, mode_coverage
from .mixtures import GaussianMixture
from .models import MLPDiscriminator, MLPGenerator, fixed_noise, toy_gan


def _nothing_captured(mixture: GaussianMixture) -> ModeCoverage:
    """The coverage recorded for a diverged member: its samples are not numbers, so no mode is
    hit.
    """
    return ModeCoverage(0, mixture.n_modes, 0.0, float("inf"), (0,) * mixture.n_modes)


@dataclass(frozen=True, repr=False)
class SweepResult:
    """What :func:`run` returns: per member (index ``i``), its settings, History and final
    coverage.
    """

    histories: list[History]  # as train() fills them: one entry per step until a member diverges
    coverage: list[
        ModeCoverage
    ]  # of coverage_n samples after training; nothing captured if diverged
    seeds: tuple[int, ...]
    lr_g: tuple[float, ...]
    lr_d: tuple[float, ...]
    k_disc: tuple[int, ...]
    diverged: tuple[int | None, ...]  # the first step with a non-finite loss, or None
    mixture: GaussianMixture
    wall_time: float  # seconds of training, all members together (as History.wall_time)
    G: StackedMLP  # the trained members, stacked; member(i) gives plain modules
    D: StackedMLP
    templates: tuple[nn.Module, nn.Module]  # untrained (G, D) of member 0, copied by member()
    # processor seconds of training in this process: unlike wall_time, not stretched when other
    # work shares the CPU (sweeps side by side in run_many each have one thread)
    cpu_time: float = math.nan

    def __len__(self) -> int:
        return len(self.seeds)

    def __repr__(self) -> str:
        steps = max((len(h.step) for h in self.histories), default=0)
        return (
            f"<SweepResult: {len(self)} members, {steps} steps on a {self.mixture!r}; "
            "print() it for the table>"
        )

    @property
    def steps_per_second(self) -> float:
        """GAN steps per second summed over members: ``N · num_steps / wall_time``."""
        return (
            sum(len(h.step) for h in self.histories) / self.wall_time
            if self.wall_time > 0
            else float("nan")
        )

    def member(self, i: int) -> tuple[nn.Module, nn.Module]:
        """Member ``i``'s trained ``(G, D)`` as ordinary modules, e.g. for ``ganlab.generate`` or
        plots.
        """
        if isinstance(i, bool) or not isinstance(i, int) or not 0 <= i < len(self):
            raise ValueError(f"member index must be an integer in [0, {len(self)}), got {i!r}")
        G, D = (copy.deepcopy(m) for m in self.templates)
        return self.G.copy_to(i, G), self.D.copy_to(i, D)

    def modes(self) -> np.ndarray:
        """``(N,)`` modes captured by each member at the end (0 for a diverged member)."""
        return np.array([c.modes_captured for c in self.coverage])

    def members(self) -> list[dict]:
        """One row per member: its settings and final measurements."""
        return [
            dict(
                seed=s,
                lr_g=a,
                lr_d=b,
                k_disc=k,
                modes=c.modes_captured,
                high_quality=c.high_quality,
                reverse_kl=c.reverse_kl,
                diverged=d,
            )
            for s, a, b, k, c, d in zip(
                self.seeds, self.lr_g, self.lr_d, self.k_disc, self.coverage, self.diverged
            )
        ]

    def summary(self) -> list[dict]:
        """One row per distinct ``(lr_g, lr_d, k_disc)``, statistics over its members (seeds).

        Keys: the three settings, ``members``, ``modes_median``, ``modes_q1`` and ``modes_q3`` (the
        interquartile range), ``modes_min``, ``modes_max``, ``share_all_modes`` (members that
        captured every mode), ``share_diverged`` and ``high_quality_median``.
        """
        groups: dict[tuple, list[dict]] = {}
        for row in self.members():
            groups.setdefault((row["lr_g"], row["lr_d"], row["k_disc"]), []).append(row)
        out = []
        for (lr_g, lr_d, k_disc), rows in groups.items():
            modes = np.array([r["modes"] for r in rows])
            q1, median, q3 = np.percentile(modes, [25, 50, 75])
            out.append(
                dict(
                    lr_g=lr_g,
                    lr_d=lr_d,
                    k_disc=k_disc,
                    members=len(rows),
                    modes_median=float(median),
                    modes_q1=float(q1),
                    modes_q3=float(q3),
                    modes_min=int(modes.min()),
                    modes_max=int(modes.max()),
                    share_all_modes=float(np.mean(modes == self.mixture.n_modes)),
                    share_diverged=float(np.mean([r["diverged"] is not None for r in rows])),
                    high_quality_median=float(np.median([r["high_quality"] for r in rows])),
                )
            )
        return out

    def table(self) -> str:
        """:meth:`summary` as aligned text, one line per setting."""
        header = [
            "lr_g",
            "lr_d",
            "k_disc",
            "seeds",
            "modes: median [IQR]",
            "min-max",
            "all modes",
            "diverged",
            "high quality",
        ]
        body = [
            [
                f"{r['lr_g']:g}",
                f"{r['lr_d']:g}",
                str(r["k_disc"]),
                str(r["members"]),
                f"{r['modes_median']:g} [{r['modes_q1']:g}, {r['modes_q3']:g}]",
                f"{r['modes_min']}-{r['modes_max']}",
                f"{r['share_all_modes']:.0%}",
                f"{r['share_diverged']:.0%}",
                f"{r['high_quality_median']:.0%}",
            ]
            for r in self.summary()
        ]
        widths = [max(len(line[i]) for line in [header, *body]) for i in range(len(header))]
        lines = [
            "  ".join(text.ljust(w) for text, w in zip(line, widths)).rstrip()
            for line in [header, *body]
        ]
        note = (
            f"{self.mixture.n_modes}-mode mixture; modes captured at the end, over seeds; high "
            "quality = median share of samples within 3 std of their nearest mode"
        )
        return "\n".join([lines[0], "-" * len(lines[0]), *lines[1:], note])

    __str__ = table


def cross(seeds: Sequence[int], lr_g=None, lr_d=None, k_disc=None) -> dict:
    """Every combination of the given axes, as per-member lists for :func:`run`, seeds varying
    fastest.

    ``run(mix, **cross(range(8), lr_d=[1e-4, 1e-3]))`` trains 16 members: seeds 0-7 with each lr_d.
    """
    axes = {
        name: list(values)
        for name, values in (("lr_g", lr_g), ("lr_d", lr_d), ("k_disc", k_disc))
        if values is not None
    }
    seeds = list(seeds)
    for name, values in [("seeds", seeds), *axes.items()]:
        if not values:
            raise ValueError(f"{name} is empty: give at least one value")
    combos = list(itertools.product(*axes.values()))
    out = {"seeds": [s for _ in combos for s in seeds]}
    for j, name in enumerate(axes):
        out[name] = [combo[j] for combo in combos for _ in seeds]
    return out


def _per_member(name: str, values, default, n: int, check) -> tuple:
    """``values`` (one per member) checked with ``check``, or ``default`` for every member."""
    if values is None:
        return (default,) * n
    values = tuple(values)
    if len(values) != n:
        raise ValueError(
            f"{name} has {len(values)} values for {n} seeds; give one per seed (or None)"
        )
    for v in values:
        check(name, v)
    return values


def _step_size(name: str, value) -> None:
    """A member's step size may be 0 (a control run where that player never moves), never
    negative.
    """
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
        or value < 0
    ):
        raise ValueError(f"every {name} must be a finite number >= 0, got {value!r}")


def _build(models, seeds, mixture):
    pairs = [models(s) for s in seeds]
    for G, D in pairs:
        if not (isinstance(G, MLPGenerator) and isinstance(D, MLPDiscriminator)):
            raise ValueError(
                f"models(seed) must return (MLPGenerator, MLPDiscriminator), got "
                f"({type(G).__name__}, {type(D).__name__})"
            )
        options = sorted(
            {"num_classes", "spectral_norm"}
            & ({k for k, v in G.hparams.items() if v} | {k for k, v in D.hparams.items() if v})
        )
        if options:  # the stacked MLPs have no label embedding and no weight normalisation
            raise ValueError(
                f"sweep trains plain MLPs only; these models use {', '.join(options)}: "
                "train them one by one with ganlab.train"
            )
        if G.out_dim != mixture.dim or D.in_dim != mixture.dim:
            raise ValueError(
                f"models must match the mixture's dimension {mixture.dim}, got "
                f"G.out_dim={G.out_dim}, D.in_dim={D.in_dim}"
            )
    if len({G.latent_dim for G, _ in pairs}) != 1:
        raise ValueError("every member's generator must have the same latent_dim")
    return pairs


def run(
    mixture: GaussianMixture,
    seeds: Sequence[int] = range(8),
    cfg: TrainConfig = TrainConfig(),
    *,
    lr_g: Sequence[float] | None = None,
    lr_d: Sequence[float] | None = None,
    k_disc: Sequence[int] | None = None,
    hidden: int = 128,
    depth: int = 3,
    latent_dim: int = 2,
    models: Callable[[int], tuple[MLPGenerator, MLPDiscriminator]] | None = None,
    start: SweepResult | None = None,
    coverage_n: int = SCORE_N,
    coverage_seed: int = SCORE_SEED,
    track_every: int | None = None,
) -> SweepResult:
    """Train one member per seed on ``mixture``, all in one batched computation; see the module.

    Args:
        mixture: the data, ``mixture.sample``; also what coverage is measured against.
        seeds: one per member (repeats allowed, e.g. one seed at several step sizes; see
            :func:`cross`).
        cfg: shared settings, as for ``train``; its ``seed`` is replaced by each member's seed.
        lr_g, lr_d, k_disc: one value per member, or None for ``cfg``'s value. A step size of 0
            freezes that player (``TrainConfig`` itself requires > 0).
        hidden, depth, latent_dim: the networks,
            ``toy_gan(mixture.dim, latent_dim, hidden, depth, seed=s)``.
        models: instead, ``models(seed) -> (G, D)``, an ``MLPGenerator`` and ``MLPDiscriminator``
            of the same sizes for every seed (e.g.
            ``lambda s: ganlab.failures.get(name).models(2, s)``).
        start: instead, continue from the trained members of an earlier run (member ``i`` from its
            member ``i``, with fresh Adam state): a later phase of a step-size schedule. Give the
            members new seeds (e.g. ``s + 100003``) if each phase should draw fresh noise and data.
        coverage_n, coverage_seed: member ``i``'s ``coverage`` is
            ``ganlab.metrics.generator_coverage(G_i, mixture, coverage_n, coverage_seed)``, the
            score ``train``'s trackers, ``failures.compare`` and the command line give.
        track_every: also log ``modes``, ``high_quality`` and ``reverse_kl`` to each History every
            this many steps, as ``ganlab.metrics.CoverageTracker(mixture, track_every, coverage_n,
            coverage_seed)`` would in ``train``.

    Returns a :class:`SweepResult`; ``print`` it for the statistics over seeds.
    """
    seeds, lr_g, lr_d, k_disc = _check(mixture, seeds, cfg, lr_g, lr_d, k_disc)
    positive_int("coverage_n", coverage_n)
    if track_every is not None:
        positive_int("track_every", track_every)
    n, device = len(seeds), cfg.resolved_device()
    pairs = _build(
        _model_source(models, start, mixture, hidden, depth, latent_dim, n), seeds, mixture
    )
    G = StackedMLP([g for g, _ in pairs], device)
    D = StackedMLP([d for _, d in pairs], device)
    latent_dim = pairs[0][0].latent_dim
    templates = (copy.deepcopy(pairs[0][0]).to(device), copy.deepcopy(pairs[0][1]).to(device))
    del pairs

    opt_g = BatchedAdam(G.parameters(), lr_g, cfg.betas)
    opt_d = BatchedAdam(D.parameters(), lr_d, cfg.betas)
    gens = [torch.Generator(device).manual_seed(s) for s in seeds]
    histories = [
        History(config={**asdict(cfg), "seed": s, "lr_g": a, "lr_d": b, "k_disc": k})
        for s, a, b, k in zip(seeds, lr_g, lr_d, k_disc)
    ]
    live = np.ones(n, dtype=bool)  # not (yet) diverged
    diverged: list[int | None] = [None] * n
    traces = TraceBuffer(cfg.log_every, device, members=n)
    step_once = _Step(G, D, opt_g, opt_d, cfg, mixture, gens, np.array(k_disc), latent_dim)
    start, start_cpu = time.perf_counter(), time.process_time()
    bar = tqdm(
        range(1, cfg.num_steps + 1), desc=f"sweep of {n} ({cfg.loss})", disable=not cfg.progress
    )
    for step in bar:
        traces.add(step_once(live))
        if traces.full or step == cfg.num_steps:
            for i, bad in enumerate(traces.flush(histories, step, active=live)):
                if bad is not None:  # frozen from here on; coverage logged since means nothing
                    live[i], diverged[i] = False, bad[0]
                    histories[i].metrics = {
                        name: [(s, v) for s, v in logged if s < bad[0]]
                        for name, logged in histories[i].metrics.items()
                    }
            bar.set_postfix(diverged=int((~live).sum()), refresh=False)
        if track_every is not None and step % track_every == 0:
            scores = _coverage(G, latent_dim, mixture, coverage_n, coverage_seed, device)
            for i, cov in enumerate(scores):
                if live[i] and cov is not None:
                    histories[i].log_metric("modes", step, cov.modes_captured)
                    histories[i].log_metric("high_quality", step, cov.high_quality)
                    histories[i].log_metric("reverse_kl", step, cov.reverse_kl)
    wall_time = time.perf_counter() - start
    cpu_time = time.process_time() - start_cpu
    for h in histories:
        h.wall_time = wall_time
    final = _coverage(G, latent_dim, mixture, coverage_n, coverage_seed, device)
    coverage = [
        cov if cov is not None and d is None else _nothing_captured(mixture)
        for cov, d in zip(final, diverged)
    ]
    return SweepResult(
        histories, coverage, seeds, lr_g, lr_d, k_disc, tuple(diverged), mixture, wall_time,
        G, D, templates, cpu_time,
    )  # fmt: skip


def run_many(jobs: Sequence[dict], workers: int | None = None) -> list[SweepResult]:
    """Several sweeps, ``run(**job)`` for each job, side by side in worker processes on a CPU.

    A sweep keeps one CPU core busy (one torch thread: toy networks gain nothing from more), so a
    machine with two cores trains two sweeps in about the time of one. Each worker trains with one
    thread, as :func:`ganlab.failures.compare` does, so the results are those of ``workers=1``
    bit for bit, whatever the number of workers. Returns the results in the order of ``jobs``.

    Args:
        jobs: the keyword arguments of :func:`run`, one dict per sweep. They travel to the
            workers by pickle: give ``models`` as a named function (one defined in a notebook
            will do) or a ``functools.partial`` of one, not a lambda.
        workers: processes to use; None: one per job, up to the CPU cores this process may use.
            1, any job on a GPU (one process already keeps it busy), or a system without
            ``fork`` (macOS, Windows: a fresh process would not know a function defined in a
            notebook) trains the jobs here, one after another.
    """
    jobs = list(jobs)
    for i, job in enumerate(jobs):
        if not isinstance(job, dict) or "mixture" not in job:
            raise ValueError(f"jobs[{i}] must be a dict of run()'s arguments with a 'mixture'")
    if any(job.get("cfg", TrainConfig()).resolved_device().type != "cpu" for job in jobs):
        return [run(**job) for job in jobs]
    return parallel.map(_run_job, jobs, workers, name="jobs")


def _run_job(job: dict) -> SweepResult:
    """``run(**job)``: a module-level function, so that it can be sent to a worker."""
    return run(**job)


class _Step:
    """One batched training step of every live member: ``k_disc[i]`` updates of member ``i``'s D,
    then one of its G, as ``train`` takes them; returns the traces ``(4, N)``."""

    def __init__(self, G, D, opt_g, opt_d, cfg, mixture, gens, k_disc: np.ndarray, latent_dim):
        self.G, self.D, self.opt_g, self.opt_d, self.cfg = G, D, opt_g, opt_d, cfg
        self.mixture, self.gens, self.k_disc, self.latent_dim = mixture, gens, k_disc, latent_dim
        loss = get_loss(cfg.loss)
        self.loss_d, self.loss_g = vmap(loss.discriminator), vmap(loss.generator)  # (N,) means

    def __call__(self, live: np.ndarray) -> torch.Tensor:
        cfg, G, D, gens = self.cfg, self.G, self.D, self.gens
        # Discriminator: k_disc[i] steps for member i; members with fewer sit out later rounds.
        for k in range(int(self.k_disc.max())):
            active = live & (self.k_disc > k)
            z = noise_members(cfg.batch_fake, self.latent_dim, gens, active)  # (N, B_fake, latent)
            x_real = sample_members(self.mixture, cfg.batch_real, gens, active)  # (N, B_real, dim)
            with torch.no_grad():
                x_fake = G(z)  # (N, batch_fake, dim)
            logits = D(torch.cat([x_real, x_fake], dim=1)).squeeze(2)  # (N, B_real + B_fake)
            logits_real, logits_fake = logits[:, : cfg.batch_real], logits[:, cfg.batch_real :]
            loss_d = self.loss_d(logits_real, logits_fake)  # (N,)
            grads = torch.autograd.grad(loss_d.sum(), D.parameters())
            self.opt_d.step(grads, None if active.all() else active)
            with torch.no_grad():
                trace = torch.stack(
                    [loss_d, torch.sigmoid(logits_real).mean(1), torch.sigmoid(logits_fake).mean(1)]
                )
                if k == 0:
                    last_d = trace
                else:  # a member that sat out this round keeps its last round's traces
                    last_d = torch.where(
                        torch.as_tensor(active, device=trace.device), trace, last_d
                    )
        # Generator: gradients flow through D into G; only G's are computed (D's would be dropped).
        z = noise_members(cfg.batch_g, self.latent_dim, gens, live)
        loss_g = self.loss_g(D(G(z)).squeeze(2))  # (N,)
        self.opt_g.step(
            torch.autograd.grad(loss_g.sum(), G.parameters()), None if live.all() else live
        )
        with torch.no_grad():
            return torch.stack([last_d[0], loss_g, last_d[1], last_d[2]])


def _check(mixture, seeds, cfg, lr_g, lr_d, k_disc) -> tuple:
    """Refuse what a sweep cannot do; return seeds, lr_g, lr_d and k_disc as one tuple each."""
    if not isinstance(mixture, GaussianMixture):
        raise ValueError(f"mixture must be a ganlab GaussianMixture, got {type(mixture).__name__}")
    refused = sweep_refusals(cfg)
    if refused:
        got = ", ".join(f"cfg.{name}={value!r}" for name, (value, _) in refused.items())
        needed = ", ".join(f"{name}={needed!r}" for name, (_, needed) in refused.items())
        raise ValueError(
            f"sweep.run does not support {got}; leave {needed} (train() supports them for "
            "single runs)"
        )
    loss = get_loss(cfg.loss)
    if loss.clip is not None or loss.gradient_penalty:
        raise ValueError(
            f"sweep.run does not implement {cfg.loss}'s weight clipping or gradient penalty; "
            "train() does, for single runs"
        )
    seeds = tuple(seeds)
    if not seeds:
        raise ValueError("seeds is empty: give at least one seed")
    for s in seeds:
        if isinstance(s, bool) or not isinstance(s, int):
            raise ValueError(f"seeds must be integers, got {s!r}")
    n = len(seeds)
    lr_g = tuple(map(float, _per_member("lr_g", lr_g, cfg.lr_g, n, _step_size)))
    lr_d = tuple(map(float, _per_member("lr_d", lr_d, cfg.lr_d, n, _step_size)))
    return seeds, lr_g, lr_d, _per_member("k_disc", k_disc, cfg.k_disc, n, positive_int)


def _model_source(models, start, mixture, hidden, depth, latent_dim, n: int) -> Callable:
    """``models(seed) -> (G, D)``: the given one, ``start``'s members in order, or ``toy_gan``."""
    if start is not None:
        if models is not None:
            raise ValueError("give models or start, not both")
        if len(start) != n:
            raise ValueError(
                f"start has {len(start)} members, but {n} seeds were given: one per member"
            )
        members = iter(range(n))
        return lambda _seed: start.member(next(members))  # _build asks in member order
    if models is not None:
        return models
    for name, value in (("hidden", hidden), ("depth", depth), ("latent_dim", latent_dim)):
        positive_int(name, value)
    return lambda s: toy_gan(mixture.dim, latent_dim, hidden, depth, seed=s)


@torch.no_grad()
def _coverage(G: StackedMLP, latent_dim, mixture, n, seed, device) -> list[ModeCoverage | None]:
    """Each member's ``generator_coverage`` (None where its samples are not finite)."""
    z = fixed_noise(n, latent_dim, seed).to(device)  # the noise of generator_coverage
    x_fake = G(z.expand(G.size, n, latent_dim))  # (N, n, dim)
    finite = torch.isfinite(x_fake).flatten(1).all(1).tolist()
    return [mode_coverage(x, mixture) if ok else None for x, ok in zip(x_fake, finite)]
