"""ganlab: GANs you can check — toy mixtures with exact densities, the training loop, theory and metrics."""

__version__ = "0.1.0"

from . import (
    checkpoint,
    config,
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
from .profiles import default_device, describe, is_quick, pick, profile
from .config import TrainConfig
from .training import History, TrainingDiverged, every, train
