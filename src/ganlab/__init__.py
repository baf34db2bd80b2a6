"""ganlab: GANs you can check — toy mixtures with exact densities, the training loop, theory and metrics."""

from . import (
    checkpoint,
    data,
    distributed,
    exercises,
    failures,
    games,
    gradients,
    grids,
    losses,
    metrics,
    mixtures,
    models,
    plots,
    profiles,
    quality,
    regularizers,
    sweep,
    theory,
    training,
    widgets,
)
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
from .training import History, TrainConfig, TrainingDiverged, every, train

__version__ = "0.1.0"
