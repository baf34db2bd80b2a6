"""Many toy GANs trained as one batched computation: seed statistics and step-size sweeps in seconds.

One GAN run is an anecdote: the same settings capture every mode with one seed and collapse with
the next. :func:`run` trains ``N`` independent *members* together. Member ``i`` is the single run

    G, D = ganlab.toy_gan(mixture.dim, latent_dim, hidden, depth, seed=seeds[i])
    ganlab.train(G, D, mixture.sample,
                 replace(cfg, seed=seeds[i], lr_g=lr_g[i], lr_d=lr_d[i], k_disc=k_disc[i]))

How: the weights of the N members are stacked along a leading member axis, ``W: (N, out, in)``, so
one layer of every member is one batched product ``x @ Wᵀ + b`` on ``x: (N, B, in)``
(``torch.baddbmm``). Each member's loss is its own batch mean (``torch.func.vmap`` over the loss
from :mod:`ganlab.losses`), and their sum is differentiated: member ``i``'s weights get exactly
the gradient of member ``i``'s loss. Adam is elementwise, so one Adam over the stacked weights,
with a step size per member, is N separate Adams (:class:`BatchedAdam`). Each member draws its
noise and data from its own ``torch.Generator`` seeded like the single run, in the same order.

What holds: member ``i`` equals ``train`` alone up to float rounding, because a batched matrix
product may round differently from a single one in the last bit (tested: 30 steps agree to 1e-5;
the Adam update alone is bit for bit). The game is chaotic and amplifies that rounding: on
``ring()`` with 32-unit MLPs, 16 seeds, the losses stayed within 1e-5 of the single runs for the
first 160 to 1,850 steps, and after 2,000 steps 8 seeds ended with the same number of modes as
their single run, 15 within one mode. So compare a long sweep with single runs by its
statistics over seeds, not run by run.

Per member: ``seeds``, ``lr_g``, ``lr_d`` and ``k_disc`` (a member with a smaller ``k_disc``
sits out the extra discriminator steps: it draws nothing and its weights and Adam state are left
as they are). Shared by all members (sweep them with separate calls): the loss, batch sizes,
betas, number of steps and the networks' sizes. ``train``'s speed and infrastructure options
(bf16, compile, checkpoints, ...) are refused; on a GPU ``train`` uses a fused Adam by default,
which rounds differently. A member whose loss becomes NaN or infinite is marked diverged at that
step (the step ``train`` raises ``TrainingDiverged`` for) and frozen; the others go on.

Speed (``bench/sweep.py``, one CPU thread): about 12x a loop of ``train`` at N = 32 for 32-unit
MLPs with batches of 64, 4x for the 64-unit networks of ``ganlab.failures``, 1.3x for the
128-unit default, whose single runs already keep a core busy with arithmetic.
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

from ._checks import positive_int
from .config import TrainConfig, sweep_refusals
from .history import History, TraceBuffer
from .losses import get_loss
from .metrics import SCORE_N, SCORE_SEED, ModeCoverage, mode_coverage
from .mixtures import GaussianMixture
from .models import MLPDiscriminator, MLPGenerator, fixed_noise, toy_gan


class StackedMLP:
    """``N`` MLPs of one architecture (the ``.net`` of ``MLPGenerator`` / ``MLPDiscriminator``), weights stacked.

    Layer ``j`` holds ``weights[j]: (N, out, in)`` (``nn.Linear``'s layout, one slice per member)
    and ``biases[j]: (N, 1, out)``; calling it maps ``x: (N, B, in)`` to ``(N, B, out)``, member
    ``i``'s slice through member ``i``'s network.
    """

    def __init__(self, modules: Sequence[nn.Module], device: torch.device):
        nets = [m.net for m in modules]
        if len({str(net) for net in nets}) != 1:
            raise ValueError(
                "every member's network must have the same architecture; got "
                + " and ".join(sorted({str(net) for net in nets})[:2])
            )
        self.weights: list[torch.Tensor] = []
        self.biases: list[torch.Tensor] = []
        self.activations: list[nn.Module | None] = []  # applied after layer j, elementwise
        for j, layer in enumerate(nets[0]):
            if isinstance(layer, nn.Linear):
                self.weights.append(self._stack([net[j].weight for net in nets], device))
                self.biases.append(self._stack([net[j].bias[None] for net in nets], device))
                self.activations.append(None)
            elif not list(layer.parameters()) and self.activations and self.activations[-1] is None:
                self.activations[-1] = copy.deepcopy(layer)  # ReLU / LeakyReLU act on any shape
            else:
                raise ValueError(
                    f"cannot stack layer {layer!r}: expected Linear layers, each followed by "
                    "at most one parameter-free activation"
                )

    @staticmethod
    def _stack(tensors, device) -> torch.Tensor:
        return torch.stack([t.detach() for t in tensors]).to(device).requires_grad_(True)

    @property
    def size(self) -> int:
        """The number of members N."""
        return self.weights[0].shape[0]

    def parameters(self) -> list[torch.Tensor]:
        """The stacked leaf tensors, weights then biases of each layer in turn."""
        return [t for pair in zip(self.weights, self.biases) for t in pair]

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        for W, b, activation in zip(self.weights, self.biases, self.activations):
            x = torch.baddbmm(b, x, W.transpose(1, 2))  # (N, B, out) = b + x @ Wᵀ, member by member
            if activation is not None:
                x = activation(x)
        return x

    @torch.no_grad()
    def copy_to(self, i: int, module: nn.Module) -> nn.Module:
        """Write member ``i``'s weights into ``module`` (an MLP of the same architecture); return it."""
        linears = [layer for layer in module.net if isinstance(layer, nn.Linear)]
        for layer, W, b in zip(linears, self.weights, self.biases):
            layer.weight.copy_(W[i])
            layer.bias.copy_(b[i, 0])
        return module


class BatchedAdam:
    """Adam on stacked parameters ``(N, a, b)``: one step size per member, and a mask of who updates.

    The arithmetic is that of ``torch.optim.Adam`` (its default single-tensor form on a CPU), op
    for op: the bias corrections are computed in double precision from each member's own step
    count, as ``torch.optim.Adam`` does in Python, so a member's update is bit for bit a separate
    Adam's (tested).
    """

    def __init__(
        self,
        params: Sequence[torch.Tensor],
        lr: Sequence[float],
        betas=(0.9, 0.999),
        eps: float = 1e-8,
    ):
        self.params, self.lr, self.betas, self.eps = (
            list(params),
            [float(v) for v in lr],
            betas,
            eps,
        )
        n = self.params[0].shape[0]
        if any(p.ndim != 3 or p.shape[0] != n for p in self.params):
            raise ValueError(
                f"parameters must be stacked as (N, a, b) with one N, got "
                f"{[tuple(p.shape) for p in self.params]}"
            )
        if len(self.lr) != n:
            raise ValueError(f"got {len(self.lr)} step sizes for {n} members")
        self.steps = np.zeros(n, dtype=np.int64)  # updates taken by each member
        self.exp_avg = [torch.zeros_like(p) for p in self.params]
        self.exp_avg_sq = [torch.zeros_like(p) for p in self.params]

    def _per_member(self, values) -> torch.Tensor:
        """Doubles, one per member, rounded to float32 as ``(N, 1, 1)``: it broadcasts over every parameter."""
        return (
            torch.tensor(values, dtype=torch.float64)
            .to(self.params[0].device, torch.float32)
            .view(-1, 1, 1)
        )

    @torch.no_grad()
    def step(self, grads: Sequence[torch.Tensor], active: np.ndarray | None = None) -> None:
        """Update the members with ``active[i]`` true (all when ``active`` is None) using ``grads``."""
        self.steps += 1 if active is None else active
        beta1, beta2 = self.betas
        # m̂ = m / (1 − β1ᵗ), v̂ = v / (1 − β2ᵗ): torch folds the first into the step size lr / (1 − β1ᵗ).
        neg_step = self._per_member(
            [-lr / (1 - beta1 ** float(t)) if t else 0.0 for lr, t in zip(self.lr, self.steps)]
        )
        bc2_sqrt = self._per_member(
            [(1 - beta2 ** float(t)) ** 0.5 if t else 1.0 for t in self.steps]
        )
        params, m, v = self.params, self.exp_avg, self.exp_avg_sq
        if (
            active is not None
        ):  # compute every member's update on copies, then keep the active ones'
            params, m, v = ([t.clone() for t in ts] for ts in (params, m, v))
        # One call per operation over all the tensors (torch._foreach_*) rather than one per tensor.
        torch._foreach_lerp_(m, grads, 1 - beta1)
        torch._foreach_mul_(v, beta2)
        torch._foreach_addcmul_(v, grads, grads, value=1 - beta2)
        denom = torch._foreach_sqrt(v)
        torch._foreach_div_(denom, [bc2_sqrt] * len(denom))
        torch._foreach_add_(denom, self.eps)
        # θ ← θ − lr_i/(1 − β1ᵗ) · m / (√v / √(1 − β2ᵗ) + ε), in addcdiv's order: (value·m) / denom.
        torch._foreach_addcdiv_(params, torch._foreach_mul(m, [neg_step] * len(m)), denom)
        if active is not None:
            keep = torch.as_tensor(active, device=neg_step.device).view(-1, 1, 1)
            for olds, news in ((self.params, params), (self.exp_avg, m), (self.exp_avg_sq, v)):
                for old, new in zip(olds, news):
                    old.copy_(torch.where(keep, new, old))


def _nothing_captured(mixture: GaussianMixture) -> ModeCoverage:
    """The coverage recorded for a diverged member: its samples are not numbers, so no mode is hit."""
    return ModeCoverage(0, mixture.n_modes, 0.0, float("inf"), (0,) * mixture.n_modes)


@dataclass(frozen=True, repr=False)
class SweepResult:
    """What :func:`run` returns: per member (index ``i``), its settings, History and final coverage."""

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

    def __len__(self) -> int:
        return len(self.seeds)

    def __repr__(self) -> str:
        steps = max((len(h.step) for h in self.histories), default=0)
        return f"<SweepResult: {len(self)} members, {steps} steps on a {self.mixture!r}; print() it for the table>"

    @property
    def steps_per_second(self) -> float:
        """GAN steps per second summed over members: ``N · num_steps / wall_time``."""
        return (
            sum(len(h.step) for h in self.histories) / self.wall_time
            if self.wall_time > 0
            else float("nan")
        )

    def member(self, i: int) -> tuple[nn.Module, nn.Module]:
        """Member ``i``'s trained ``(G, D)`` as ordinary modules, e.g. for ``ganlab.generate`` or plots."""
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
            f"{self.mixture.n_modes}-mode mixture; modes captured at the end, over seeds; high quality = "
            "median share of samples within 3 std of their nearest mode"
        )
        return "\n".join([lines[0], "-" * len(lines[0]), *lines[1:], note])

    __str__ = table


def cross(seeds: Sequence[int], lr_g=None, lr_d=None, k_disc=None) -> dict:
    """Every combination of the given axes, as per-member lists for :func:`run`, seeds varying fastest.

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
    """A member's step size may be 0 (a control run where that player never moves), never negative."""
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
                f"models must match the mixture's dimension {mixture.dim}, got G.out_dim={G.out_dim}, "
                f"D.in_dim={D.in_dim}"
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
    """Train one member per seed on ``mixture``, all in one batched computation; see the module docstring.

    Args:
        mixture: the data, ``mixture.sample``; also what coverage is measured against.
        seeds: one per member (repeats allowed, e.g. one seed at several step sizes; see :func:`cross`).
        cfg: shared settings, as for ``train``; its ``seed`` is replaced by each member's seed.
        lr_g, lr_d, k_disc: one value per member, or None for ``cfg``'s value. A step size of 0
            freezes that player (``TrainConfig`` itself requires > 0).
        hidden, depth, latent_dim: the networks, ``toy_gan(mixture.dim, latent_dim, hidden, depth, seed=s)``.
        models: instead, ``models(seed) -> (G, D)``, an ``MLPGenerator`` and ``MLPDiscriminator``
            of the same sizes for every seed (e.g. ``lambda s: ganlab.failures.get(name).models(2, s)``).
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
    k_disc = _per_member("k_disc", k_disc, cfg.k_disc, n, positive_int)
    positive_int("coverage_n", coverage_n)
    if track_every is not None:
        positive_int("track_every", track_every)
    if start is not None:
        if models is not None:
            raise ValueError("give models or start, not both")
        if len(start) != n:
            raise ValueError(
                f"start has {len(start)} members, but {n} seeds were given: one per member"
            )
        members = iter(range(n))

        def models(_seed):  # _build asks for the members in order
            return start.member(next(members))
    elif models is None:
        for name, value in (("hidden", hidden), ("depth", depth), ("latent_dim", latent_dim)):
            positive_int(name, value)

        def models(s):
            return toy_gan(mixture.dim, latent_dim, hidden, depth, seed=s)

    pairs = _build(models, seeds, mixture)
    device = cfg.resolved_device()
    G = StackedMLP([g for g, _ in pairs], device)
    D = StackedMLP([d for _, d in pairs], device)
    latent_dim = pairs[0][0].latent_dim
    templates = (copy.deepcopy(pairs[0][0]).to(device), copy.deepcopy(pairs[0][1]).to(device))
    del pairs

    loss = get_loss(cfg.loss)
    loss_d_fn, loss_g_fn = (
        vmap(loss.discriminator),
        vmap(loss.generator),
    )  # (N, B) logits -> (N,) batch means
    opt_g = BatchedAdam(G.parameters(), lr_g, cfg.betas)
    opt_d = BatchedAdam(D.parameters(), lr_d, cfg.betas)
    gens = [torch.Generator(device).manual_seed(s) for s in seeds]
    histories = [
        History(config={**asdict(cfg), "seed": s, "lr_g": a, "lr_d": b, "k_disc": k})
        for s, a, b, k in zip(seeds, lr_g, lr_d, k_disc)
    ]
    k_disc_arr, live = np.array(k_disc), np.ones(n, dtype=bool)  # live: not (yet) diverged
    diverged: list[int | None] = [None] * n
    traces = TraceBuffer(cfg.log_every, device, members=n)
    start = time.perf_counter()
    bar = tqdm(
        range(1, cfg.num_steps + 1), desc=f"sweep of {n} ({cfg.loss})", disable=not cfg.progress
    )
    for step in bar:
        # Discriminator: k_disc[i] steps for member i; members with fewer sit out the later rounds.
        for k in range(int(k_disc_arr.max())):
            active = live & (k_disc_arr > k)
            z = _noise_members(
                cfg.batch_fake, latent_dim, gens, active
            )  # (N, batch_fake, latent_dim)
            x_real = _sample_members(mixture, cfg.batch_real, gens, active)  # (N, batch_real, dim)
            with torch.no_grad():
                x_fake = G(z)  # (N, batch_fake, dim)
            logits = D(torch.cat([x_real, x_fake], dim=1)).squeeze(
                2
            )  # (N, batch_real + batch_fake)
            logits_real, logits_fake = logits[:, : cfg.batch_real], logits[:, cfg.batch_real :]
            loss_d = loss_d_fn(logits_real, logits_fake)  # (N,)
            opt_d.step(
                torch.autograd.grad(loss_d.sum(), D.parameters()), None if active.all() else active
            )
            with torch.no_grad():
                trace_d = torch.stack(
                    [loss_d, torch.sigmoid(logits_real).mean(1), torch.sigmoid(logits_fake).mean(1)]
                )
                last_d = (
                    trace_d
                    if k == 0
                    else torch.where(torch.as_tensor(active, device=device), trace_d, last_d)
                )
        # Generator: gradients flow through D into G; only G's are computed (D's would be discarded).
        loss_g = loss_g_fn(
            D(G(_noise_members(cfg.batch_g, latent_dim, gens, live))).squeeze(2)
        )  # (N,)
        opt_g.step(torch.autograd.grad(loss_g.sum(), G.parameters()), None if live.all() else live)

        with torch.no_grad():
            traces.add(torch.stack([last_d[0], loss_g, last_d[1], last_d[2]]))
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
            for i, cov in enumerate(
                _coverage(G, latent_dim, mixture, coverage_n, coverage_seed, device)
            ):
                if live[i] and cov is not None:
                    for name in ("modes_captured", "high_quality", "reverse_kl"):
                        histories[i].log_metric(
                            "modes" if name == "modes_captured" else name, step, getattr(cov, name)
                        )
    wall_time = time.perf_counter() - start
    for h in histories:
        h.wall_time = wall_time
    final = _coverage(G, latent_dim, mixture, coverage_n, coverage_seed, device)
    coverage = [
        cov if cov is not None and d is None else _nothing_captured(mixture)
        for cov, d in zip(final, diverged)
    ]
    return SweepResult(
        histories,
        coverage,
        seeds,
        lr_g,
        lr_d,
        k_disc,
        tuple(diverged),
        mixture,
        wall_time,
        G,
        D,
        templates,
    )


def _noise_members(rows: int, latent_dim: int, gens, active: np.ndarray) -> torch.Tensor:
    """``(N, rows, latent_dim)``: each active member's noise from its own generator, zeros for the others."""
    device = gens[0].device
    blank = None if active.all() else torch.zeros(rows, latent_dim, device=device)
    return torch.stack(
        [
            torch.randn(rows, latent_dim, generator=gen, device=device) if on else blank
            for gen, on in zip(gens, active)
        ]
    )


def _sample_members(mixture: GaussianMixture, rows: int, gens, active: np.ndarray) -> torch.Tensor:
    """``torch.stack([mixture.sample(rows, gen) for gen in gens])``: ``(N, rows, dim)``, the same numbers.

    ``GaussianMixture.sample`` draws a component per row (``multinomial``), then unit noise
    (``randn``), from ``gen``; only those two draws need a member's own generator, so the rest is
    done once for all members, three times faster than N calls of ``sample``. A member with
    ``active[i]`` false draws nothing; its rows are placeholders.
    """
    device = gens[0].device
    weights, centers, stds = (
        t.to(device, torch.float32) for t in (mixture.weights, mixture.centers, mixture.stds)
    )
    idx, noise = [], []
    for gen, on in zip(gens, active):
        if on:
            idx.append(torch.multinomial(weights, rows, replacement=True, generator=gen))  # (rows,)
            noise.append(
                torch.randn(rows, mixture.dim, generator=gen, device=device)
            )  # (rows, dim)
        else:
            idx.append(torch.zeros(rows, dtype=torch.long, device=device))
            noise.append(torch.zeros(rows, mixture.dim, device=device))
    idx = torch.stack(idx)  # (N, rows)
    return centers[idx] + stds[idx, None] * torch.stack(noise)  # as in GaussianMixture.sample


@torch.no_grad()
def _coverage(G: StackedMLP, latent_dim, mixture, n, seed, device) -> list[ModeCoverage | None]:
    """Each member's ``generator_coverage`` (None where its samples are not finite)."""
    z = fixed_noise(n, latent_dim, seed).to(device)  # the noise of generator_coverage
    x_fake = G(z.expand(G.size, n, latent_dim))  # (N, n, dim)
    finite = torch.isfinite(x_fake).flatten(1).all(1).tolist()
    return [mode_coverage(x, mixture) if ok else None for x, ok in zip(x_fake, finite)]
