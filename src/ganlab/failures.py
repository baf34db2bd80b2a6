"""Named settings that reproduce the typical GAN failures on the toy mixtures, and a way to measure
them.

Every setting is a small change to one healthy baseline (:data:`BASELINE` and 64-unit MLPs), so a
failure can be blamed on the change: ``"collapse_under_capacity"`` shrinks the generator and
widens D, ``"collapse_fast_d"`` keeps both networks at full size and lets D learn 50 times faster
than G, ``"oscillation"`` raises the step sizes and changes both of Adam's betas,
``"d_too_strong"`` makes the discriminator bigger and far faster than G and uses the minimax loss,
``"d_too_weak"`` shrinks the discriminator to four units.
They were chosen on ``ring()`` (8 modes) so that each failure shows up for every seed we tried in
1,500 steps. :func:`run` trains one setting; :func:`compare` trains several over seeds and
tabulates the end-of-run scores (:func:`ganlab.metrics.generator_coverage`, the VEEGAN / PacGAN
protocol, and :func:`generator_grad_norm`) with the median and range over seeds.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from . import gradients, parallel
from ._checks import choice, positive_int
from .config import TrainConfig
from .history import History
from .metrics import SCORE_SEED, CoverageTracker, ModeCoverage, generator_coverage
from .mixtures import GaussianMixture
from .models import MLPDiscriminator, MLPGenerator, fixed_noise
from .training import train

# The healthy baseline: small enough for a CPU, and covering the 8 modes of ring() within 1,500
# steps for the seeds we tried.
BASELINE = TrainConfig(
    num_steps=1500,  # generator steps; enough for the baseline to reach all 8 modes of ring()
    batch_real=128,  # half the trainer's default: twice as fast, still stable
    batch_fake=128,
    batch_g=128,
    lr_g=1e-3,  # equal step sizes for the two players
    lr_d=1e-3,
    betas=(
        0.5,
        0.9,
    ),  # beta1 = 0.5 damps the rotation of the game (DCGAN); beta2 = 0.9 adapts faster
    loss="nonsaturating",
    log_every=50,
    progress=False,
)


@dataclass(frozen=True)
class Setting:
    """One named training setting: the networks' sizes and the changes to :data:`BASELINE`."""

    name: str
    change: str  # what differs from the healthy baseline, in words
    symptom: str  # what to look for in the measurements
    g_hidden: int = 64  # generator: depth hidden ReLU layers of g_hidden units
    g_depth: int = 3
    d_hidden: int = 64  # discriminator: d_depth hidden LeakyReLU layers of d_hidden units
    d_depth: int = 3
    latent_dim: int = 2
    overrides: dict = field(default_factory=dict)  # TrainConfig fields replaced in BASELINE

    def config(self, seed: int = 0, num_steps: int | None = None) -> TrainConfig:
        """The run's TrainConfig: ``dataclasses.replace(BASELINE, **overrides, seed=seed)``."""
        cfg = dataclasses.replace(BASELINE, **self.overrides, seed=seed)
        return cfg if num_steps is None else dataclasses.replace(cfg, num_steps=num_steps)

    def models(self, data_dim: int, seed: int = 0) -> tuple[MLPGenerator, MLPDiscriminator]:
        """Freshly initialised ``(G, D)``, seeded like :func:`ganlab.toy_gan`."""
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            G = MLPGenerator(self.latent_dim, data_dim, self.g_hidden, self.g_depth)
            D = MLPDiscriminator(data_dim, self.d_hidden, self.d_depth)
        return G, D


SETTINGS: dict[str, Setting] = {
    s.name: s
    for s in [
        Setting(
            "healthy",
            "the baseline: 64-unit MLPs, lr 1e-3 for both, Adam betas (0.5, 0.9)",
            "most modes captured (6 or more of the ring's 8); D(x) and D(G(z)) settle near 1/2",
        ),
        Setting(
            "collapse_under_capacity",
            "an under-capacity generator (2 hidden layers of 8 units) against a wider D "
            "(128 units)",
            "one or two modes captured; the samples sit on or right next to a mode",
            g_hidden=8,
            g_depth=2,
            d_hidden=128,
        ),
        Setting(
            "collapse_fast_d",
            "full-size networks, but D learns 50 times faster: lr_d = 5e-3, lr_g = 1e-4",
            "one or two modes captured although G is as large as the healthy one",
            overrides=dict(lr_d=5e-3, lr_g=1e-4),
        ),
        Setting(
            "oscillation",
            "step sizes 5e-3 for both, heavy momentum and a slower second moment: betas "
            "(0.9, 0.999) instead of (0.5, 0.9)",
            "the losses, D(x) and D(G(z)) swing for the whole run instead of settling",
            overrides=dict(lr_g=5e-3, lr_d=5e-3, betas=(0.9, 0.999)),
        ),
        Setting(
            "d_too_strong",
            "a 128-unit D, lr_d = 5e-3 against lr_g = 1e-4, and the minimax loss",
            "D(G(z)) near 0 and almost no gradient reaching G: it stops learning",
            d_hidden=128,
            overrides=dict(lr_d=5e-3, lr_g=1e-4, loss="minimax"),
        ),
        Setting(
            "d_too_weak",
            "a tiny discriminator: 1 hidden layer of 4 units",
            "D(x) near 1/2 and D(G(z)) as high or higher, while no sample is of high quality",
            d_hidden=4,
            d_depth=1,
        ),
    ]
}
NAMES = tuple(SETTINGS)


def get(name: str | Setting) -> Setting:
    """The :class:`Setting` called ``name`` (a Setting is returned as it is).

    An unknown name raises a ValueError that lists the valid names. To try a variant, change a
    setting with ``dataclasses.replace(get("d_too_strong"), name="...", overrides={...})``.
    """
    if isinstance(name, Setting):
        return name
    choice("failure setting", name, list(SETTINGS))
    return SETTINGS[name]


def build(
    name: str | Setting, mixture: GaussianMixture, seed: int = 0, num_steps: int | None = None
):
    """``(G, D, cfg)`` for setting ``name`` on ``mixture``: seeded models and their TrainConfig."""
    setting = get(name)
    if num_steps is not None:
        positive_int("num_steps", num_steps)
    G, D = setting.models(mixture.dim, seed)
    return G, D, setting.config(seed, num_steps)


def generator_grad_norm(
    G: nn.Module, D: nn.Module, loss: str = "nonsaturating", n: int = 1024, seed: int = SCORE_SEED
) -> float:
    """L2 norm of ``∂(generator loss)/∂θ_G`` over all of G's parameters, on a fixed-noise probe.

    The probe is ``fixed_noise(n, G.latent_dim, seed)``, the noise convention of every end-of-run
    score (:func:`ganlab.metrics.generator_coverage`). This is the size of the signal the generator
    receives: near 0 when D saturates under the minimax loss. It is not the gradient of a training
    step (``gradients.GradientTracker`` logs that one as ``step_grad_norm_g``). G and D are left as
    they were, ``.grad`` included.
    """
    positive_int("n", n)
    z = fixed_noise(n, G.latent_dim, seed)
    return gradients.measure(G, D, z, loss).param_norm


class GradNormTracker:
    """A training callback: every ``every`` steps, log ``probe_grad_norm_g`` =
    :func:`generator_grad_norm` (the fixed-noise probe, not the training batch's gradient)."""

    def __init__(
        self, loss: str = "nonsaturating", every: int = 50, n: int = 1024, seed: int = SCORE_SEED
    ):
        positive_int("every", every)
        positive_int("n", n)
        self.loss, self.every, self.n, self.seed = loss, every, n, seed

    def __call__(self, step, G, D, history) -> None:
        if step % self.every == 0:
            history.log_metric(
                "probe_grad_norm_g", step, generator_grad_norm(G, D, self.loss, self.n, self.seed)
            )


def swing(history: History, tail: float = 0.5) -> float:
    """Standard deviation of the discriminator's loss over the last ``tail`` of training (nats).

    A settled game keeps D's loss nearly constant (a few hundredths of a nat from step to step);
    when the players chase each other it swings by tenths of a nat or more.
    """
    if not 0 < tail <= 1:
        raise ValueError(f"tail must lie in (0, 1], got {tail!r}")
    if not history.loss_d:
        raise ValueError("the History is empty: nothing was trained")
    values = np.asarray(history.loss_d)
    return float(values[-max(2, math.ceil(tail * len(values))) :].std())


def run(
    name: str | Setting,
    mixture: GaussianMixture,
    seed: int = 0,
    num_steps: int | None = None,
    callbacks: Sequence[Callable] = (),
):
    """Train setting ``name`` on ``mixture`` with ``seed``; return ``(G, D, History)``.

    The same arguments give the same run. Pass e.g. ``ganlab.metrics.CoverageTracker`` or
    ``ganlab.plots.Snapshots`` as ``callbacks`` to record more.
    """
    G, D, cfg = build(name, mixture, seed, num_steps)
    on_cpu = cfg.resolved_device().type == "cpu"
    with parallel.one_thread() if on_cpu else contextlib.nullcontext():
        history = train(G, D, mixture.sample, cfg, callbacks=callbacks)
    return G, D, history


@dataclass
class Run:
    """One trained run of :func:`compare` and its end-of-training measurements."""

    setting: str
    seed: int
    G: nn.Module
    D: nn.Module
    history: History  # with metrics modes, high_quality, reverse_kl, probe_grad_norm_g
    coverage: ModeCoverage  # generator_coverage of n samples after training
    d_real: float  # mean D(x) over the last fifth of the steps
    d_fake: float  # mean D(G(z)) over the last fifth of the steps
    probe_grad_norm_g: float  # generator_grad_norm at the end, for the setting's loss
    swing: float  # std of D's loss over the second half: see swing()

    def value(self, metric: str) -> float:
        """One of :data:`METRICS` for this run."""
        choice("metric", metric, list(METRICS))
        if metric in ("modes_captured", "high_quality", "reverse_kl"):
            return float(getattr(self.coverage, metric))
        return float(getattr(self, metric))


METRICS = {  # name -> (column heading, format of one value)
    "modes_captured": ("modes", "{:.0f}"),
    "high_quality": ("high quality", "{:.0%}"),
    "reverse_kl": ("reverse KL", "{:.2f}"),
    "d_real": ("D(x)", "{:.2f}"),
    "d_fake": ("D(G(z))", "{:.2f}"),
    "probe_grad_norm_g": ("|grad G|", "{:.1e}"),
    "swing": ("swing", "{:.2f}"),
}


@dataclass
class Comparison:
    """The runs of :func:`compare`; ``str()`` is the table of median and range over seeds."""

    runs: list[Run]
    mixture: GaussianMixture

    @property
    def settings(self) -> list[str]:
        return list(dict.fromkeys(r.setting for r in self.runs))

    def values(self, setting: str, metric: str) -> np.ndarray:
        """``metric`` for every seed of ``setting``, in seed order."""
        choice("setting in this comparison", setting, self.settings)
        return np.array([r.value(metric) for r in self.runs if r.setting == setting])

    def summary(self) -> list[dict]:
        """One row per setting: ``{metric: (median, min, max)}`` plus ``setting`` and ``seeds``."""
        rows = []
        for setting in self.settings:
            row = {"setting": setting, "seeds": len(self.values(setting, "d_fake"))}
            for metric in METRICS:
                v = self.values(setting, metric)
                row[metric] = (float(np.median(v)), float(v.min()), float(v.max()))
            rows.append(row)
        return rows

    def get(self, setting: str, seed: int) -> Run:
        """The run of ``setting`` with ``seed``."""
        for r in self.runs:
            if r.setting == setting and r.seed == seed:
                return r
        raise ValueError(
            f"no run of {setting!r} with seed {seed!r}; seeds: "
            f"{sorted({r.seed for r in self.runs if r.setting == setting})}"
        )

    def __str__(self) -> str:
        def cell(metric, triple):
            fmt = METRICS[metric][1]
            med, lo, hi = (fmt.format(v) for v in triple)
            return med if lo == hi else f"{med} [{lo}, {hi}]"

        header = ["setting", "seeds"] + [METRICS[m][0] for m in METRICS]
        body = [
            [row["setting"], str(row["seeds"])] + [cell(m, row[m]) for m in METRICS]
            for row in self.summary()
        ]
        widths = [max(len(line[i]) for line in [header, *body]) for i in range(len(header))]
        lines = [
            "  ".join(text.ljust(w) for text, w in zip(line, widths)) for line in [header, *body]
        ]
        note = (
            f"median [min, max] over seeds, {self.mixture.n_modes}-mode mixture; high quality = "
            "within 3 std of the nearest mode; |grad G| = norm of the generator's gradient; swing "
            "= std of D's loss, 2nd half"
        )
        return "\n".join([*lines[:1], "-" * len(lines[0]), *lines[1:], note])


def compare(
    names: Sequence[str | Setting],
    mixture: GaussianMixture,
    seeds: Sequence[int] | Mapping[str, Sequence[int]] = (0, 1, 2),
    num_steps: int | None = None,
    n: int = 2500,
    track_every: int = 250,
    callbacks: Callable[[str, int], Sequence[Callable]] | None = None,
    batched: bool = False,
    workers: int | None = None,
) -> Comparison:
    """Train every setting in ``names`` with every seed in ``seeds`` on ``mixture``; measure each
    run.

    Each run records mode coverage every ``track_every`` steps
    (:class:`ganlab.metrics.CoverageTracker`) and the generator's gradient norm on a fixed-noise
    probe every 50 steps; at the end, the same scores: :func:`ganlab.metrics.generator_coverage` of
    ``n`` samples (2,500 as in VEEGAN and PacGAN) and :func:`generator_grad_norm`, the numbers
    ``sweep.run`` and the trackers give. ``callbacks(name, seed)`` may return extra callbacks for
    one run, e.g. a ``Snapshots`` recorder. Returns a :class:`Comparison`.

    ``batched=True`` trains the seeds of each setting together with :func:`ganlab.sweep.run`
    (several times faster on a CPU; each run equals the single run up to float rounding, which a
    long run amplifies, so compare statistics over seeds). Its Histories have the coverage metrics
    but no ``probe_grad_norm_g`` trace (the end value is measured), and it takes no callbacks.
    On a CPU the settings train side by side, one process per core (``workers``; see
    :func:`ganlab.sweep.run_many`): the same numbers as one after another, bit for bit. Give
    all of them to one call, with ``seeds`` a mapping from each setting's name to its seeds where
    they differ: one pool of processes then keeps every core busy, where two calls of three
    settings each would leave a core idle twice.
    """
    settings = [get(name) for name in names]
    per_setting = _seeds_per_setting(settings, seeds)
    positive_int("n", n)
    positive_int("track_every", track_every)
    if batched:
        if callbacks is not None:
            raise ValueError("batched=True takes no callbacks: record them with run() one by one")
        return _compare_batched(settings, mixture, per_setting, num_steps, n, track_every, workers)
    runs = []
    for setting, setting_seeds in zip(settings, per_setting):
        loss = setting.config().loss
        for seed in setting_seeds:
            extra = list(callbacks(setting.name, seed)) if callbacks is not None else []
            trackers = [CoverageTracker(mixture, every=track_every, n=n), GradNormTracker(loss)]
            G, D, history = run(setting, mixture, seed, num_steps, callbacks=trackers + extra)
            coverage = generator_coverage(G, mixture, n)
            runs.append(_measured(setting, seed, G, D, history, coverage))
    return Comparison(runs, mixture)


def _seeds_per_setting(settings: list[Setting], seeds) -> list[tuple[int, ...]]:
    """The seeds of each setting: ``seeds`` for all, or ``seeds[name]`` from a mapping."""
    names = [setting.name for setting in settings]
    if isinstance(seeds, Mapping):
        if set(seeds) != set(names):
            raise ValueError(
                f"seeds names settings {sorted(seeds)}, but the settings are {sorted(names)}: "
                "give the seeds of every setting, and of no other"
            )
        per_setting = [tuple(seeds[name]) for name in names]
    else:
        per_setting = [tuple(seeds)] * len(settings)
    if not all(per_setting):
        raise ValueError("seeds is empty: give at least one seed")
    return per_setting


def _measured(setting: Setting, seed: int, G, D, history: History, coverage) -> Run:
    """A :class:`Run` with its end-of-training measurements."""
    fifth = max(1, len(history.d_fake) // 5)
    return Run(
        setting.name,
        seed,
        G,
        D,
        history,
        coverage,
        float(np.mean(history.d_real[-fifth:])),
        float(np.mean(history.d_fake[-fifth:])),
        generator_grad_norm(G, D, setting.config().loss),
        swing(history),
    )


def _compare_batched(settings, mixture, per_setting, num_steps, n, track_every, workers):
    """:func:`compare` with the seeds of each setting trained as one :func:`ganlab.sweep.run`,
    the settings side by side in ``workers`` processes (:func:`ganlab.sweep.run_many`)."""
    from .sweep import run_many  # the batched trainer, at the level of train()

    jobs = [
        dict(
            mixture=mixture,
            seeds=seeds,
            cfg=setting.config(num_steps=num_steps),
            models=functools.partial(setting.models, mixture.dim),
            coverage_n=n,
            track_every=track_every,
        )
        for setting, seeds in zip(settings, per_setting)
    ]
    runs = []
    for setting, seeds, result in zip(settings, per_setting, run_many(jobs, workers)):
        for i, seed in enumerate(seeds):
            G, D = result.member(i)
            runs.append(_measured(setting, seed, G, D, result.histories[i], result.coverage[i]))
    return Comparison(runs, mixture)
