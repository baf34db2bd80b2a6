"""ganlab: GANs you can check — toy mixtures with exact densities, the training loop, theory and metrics."""

from .losses import LOSSES, GANLoss, get_loss
from .mixtures import GaussianMixture, bimodal_1d, by_name, grid, mixture_1d, ring
from .models import DCGANDiscriminator, DCGANGenerator, MLPDiscriminator, MLPGenerator, dcgan, generate, toy_gan
from .profile import default_device, describe, is_quick, pick, profile
from .train import History, TrainConfig, TrainingDiverged, every, train

from . import (checkpoint, data, distributed, exercises, failures, games, gradients, grids, metrics, plots,  # noqa: E402
               quality, regularizers, sweep, theory)
# (submodules, as ganlab.metrics.mode_coverage etc.)

__version__ = "0.1.0"
