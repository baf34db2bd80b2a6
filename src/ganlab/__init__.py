"""ganlab: GANs you can check — toy mixtures with exact densities, the training loop, theory and
metrics. The submodules are listed in README.md ("Layout"); the names below are the ones the
chapters use most, re-exported here."""

__version__ = "0.1.0"

from . import (
    batched,
    checkpoint,
    config,
    data,
    distributed,
    exercises,
    failures,
    games,
    gradients,
    grids,
    history,
    losses,
    metrics,
    mixtures,
    models,
    parallel,
    plots,
    profiles,
    quality,
    recipes,
    regularizers,
    sweep,
    theory,
    training,
    training_setup,
    widgets,
)
from .config import TrainConfig
from .history import History, TrainingDiverged
from .losses import LOSSES, GANLoss, get_loss
from .mixtures import GaussianMixture, bimodal_1d, by_name, grid, mixture_1d, ring
from .models import (
    DCGANDiscriminator,
    DCGANGenerator,
    MLPDiscriminator,
    MLPGenerator,
    dcgan,
    generate,
    toy_gan,
)
from .profiles import begin_chapter, default_device, describe, is_quick, pick, profile
from .training import every, train

__all__ = [
    # submodules
    "batched",
    "checkpoint",
    "config",
    "data",
    "distributed",
    "exercises",
    "failures",
    "games",
    "gradients",
    "grids",
    "history",
    "losses",
    "metrics",
    "mixtures",
    "models",
    "parallel",
    "plots",
    "profiles",
    "quality",
    "recipes",
    "regularizers",
    "sweep",
    "theory",
    "training",
    "training_setup",
    "widgets",
    # training
    "TrainConfig",
    "History",
    "TrainingDiverged",
    "every",
    "train",
    # losses and data
    "LOSSES",
    "GANLoss",
    "get_loss",
    "GaussianMixture",
    "bimodal_1d",
    "by_name",
    "grid",
    "mixture_1d",
    "ring",
    # models
    "DCGANDiscriminator",
    "DCGANGenerator",
    "MLPDiscriminator",
    "MLPGenerator",
    "dcgan",
    "generate",
    "toy_gan",
    # where the book runs
    "begin_chapter",
    "default_device",
    "describe",
    "is_quick",
    "pick",
    "profile",
    "__version__",
]
