"""Opt-in recipes for the toy GANs: the ingredients measured by ``bench/toy_defaults.py``.

The book's defaults (``toy_gan(2)`` + ``TrainConfig()``) stay what the chapters are calibrated on.
A :class:`ToyRecipe` names each ingredient that departs from them, so that a run, a bake-off or an
ablation can switch one off at a time (:meth:`ToyRecipe.without`):

- ``width``: the MLPs' ``hidden`` units and ``depth`` (smaller nets take more steps per second);
- ``latent``: the noise dimension;
- ``batch``: real, fake and generator batches;
- ``adam``: the step size of both players and Adam's betas;
- ``r1``: the R1 penalty on D (Mescheder et al. 2018), which balances the modes;
- ``decay``: a step-wise decay of both step sizes (``TrainConfig.lr_milestones``), which lets the
  modes settle;
- ``ema``: a moving average of G's weights (``G_ema``), scored instead of G.

``TOY`` is the recipe for the ring; ``DEFAULTS`` describes the book's defaults in the same terms.

    G, D, G_ema, cfg = ganlab.recipes.TOY.build(seed=0)
    ganlab.train(G, D, ganlab.ring().sample, cfg, G_ema=G_ema)   # then score G_ema

``bench/results/toy_defaults_cpu.md`` shows what each ingredient buys, measured.
"""

from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass

from torch import nn

from .config import TrainConfig
from .models import toy_gan

INGREDIENTS = {  # name: the fields it sets
    "width": ("hidden", "depth"),
    "latent": ("latent_dim",),
    "batch": ("batch",),
    "adam": ("lr", "betas"),
    "r1": ("r1",),
    "decay": ("lr_milestones", "lr_gamma"),
    "ema": ("ema_decay",),
}


@dataclass(frozen=True)
class ToyRecipe:
    """The settings of a toy GAN run; the defaults are the book's (``toy_gan`` + ``TrainConfig``).

    ``ema_decay`` None: no generator EMA (``build`` returns ``G_ema=None``).
    """

    hidden: int = 128
    depth: int = 3
    latent_dim: int = 2
    batch: int = 256
    lr: float = 1e-3
    betas: tuple[float, float] = (0.5, 0.999)
    r1: float = 0.0
    lr_milestones: tuple[int, ...] = ()
    lr_gamma: float = 0.1
    ema_decay: float | None = None
    num_steps: int = 2000

    def config(self, seed: int = 0, **changes) -> TrainConfig:
        """The :class:`TrainConfig` of this recipe; ``changes`` override any of its fields."""
        values = dict(
            num_steps=self.num_steps,
            batch_real=self.batch,
            batch_fake=self.batch,
            batch_g=self.batch,
            lr_g=self.lr,
            lr_d=self.lr,
            betas=self.betas,
            r1=self.r1,
            lr_milestones=self.lr_milestones,
            lr_gamma=self.lr_gamma,
            seed=seed,
        )
        if self.ema_decay is not None:
            values["ema_decay"] = self.ema_decay
        return TrainConfig(**(values | changes))

    def build(
        self, seed: int = 0, data_dim: int = 2, **changes
    ) -> tuple[nn.Module, nn.Module, nn.Module | None, TrainConfig]:
        """``(G, D, G_ema, cfg)``: seeded networks, G's EMA copy (or None) and the config.

        Train with ``ganlab.train(G, D, sample, cfg, G_ema=G_ema)`` and score ``G_ema`` when it
        is not None. ``changes`` override :meth:`config`'s fields.
        """
        G, D = toy_gan(
            data_dim, latent_dim=self.latent_dim, hidden=self.hidden, depth=self.depth, seed=seed
        )
        G_ema = None if self.ema_decay is None else copy.deepcopy(G)
        return G, D, G_ema, self.config(seed, **changes)

    def without(self, ingredient: str) -> ToyRecipe:
        """This recipe with one ingredient (a key of ``INGREDIENTS``) back at the book's default."""
        if ingredient not in INGREDIENTS:
            raise ValueError(f"ingredient must be one of {list(INGREDIENTS)}, got {ingredient!r}")
        return dataclasses.replace(
            self, **{name: getattr(DEFAULTS, name) for name in INGREDIENTS[ingredient]}
        )

    def ingredients(self) -> list[str]:
        """The ingredients in which this recipe differs from the book's defaults."""
        return [
            name
            for name, fields in INGREDIENTS.items()
            if any(getattr(self, f) != getattr(DEFAULTS, f) for f in fields)
        ]


DEFAULTS = ToyRecipe()  # the book's toy_gan(2) + TrainConfig(), without an EMA
# Measured on the ring by bench/toy_defaults.py. A latent dimension of 8 was screened too and
# dropped: with it, 4 of 10 seeds reached 90 % HQ in 3,000 steps, without it 9 of 10.
TOY = ToyRecipe(
    hidden=128,
    depth=2,
    batch=128,
    lr=2e-3,
    betas=(0.5, 0.9),
    r1=0.1,
    lr_milestones=(2000,),
    lr_gamma=0.1,
    ema_decay=0.995,
    num_steps=3000,
)
