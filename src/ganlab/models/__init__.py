"""Networks: small MLPs for the toy mixtures, and the DCGAN pair for images (Radford et al. 2016);
and drawing from them (:mod:`.sampling`: ``generate``, ``render``, ``fixed_noise``, and ``frozen``,
which every observer uses to look at a model without changing it).

The discriminator returns a *logit* ``l`` (``D(x) = sigmoid(l)``), never a probability: the losses
use ``binary_cross_entropy_with_logits``, which stays finite where ``log(sigmoid)`` would not.

The GAN variants of Part III are keyword-only options of the same classes, all off by default (a
model built without them has the same layers, seeded weights and ``hparams`` as before; an option
that is on is recorded in ``hparams``, so a checkpoint rebuilds the model):

- ``spectral_norm=True``: every weight matrix is divided by its largest singular value, estimated
  by one power iteration per training-mode forward pass, so each layer is 1-Lipschitz
  (Miyato et al. 2018). Usual on D; SAGAN (Zhang et al. 2019) puts it on G as well.
- ``num_classes=K``: a conditional pair ``G(z, y)``, ``D(x, y)`` for integer labels
  ``y ∈ {0, …, K−1}`` (Mirza & Osindero 2014). G concatenates a learned label vector ``e_y`` to
  ``z``. D uses ``conditioning="concat"`` (``e_y`` joins the input: extra features for the MLP,
  extra constant channel maps for the DCGAN) or ``"projection"`` (Miyato & Koyama 2018:
  ``logit = ψ(ξ(x)) + ⟨e_y, ξ(x)⟩`` with ``ξ`` D's last features and ``ψ`` its last layer). The
  MLP D defaults to concat, the DCGAN D to projection.
- ``attention_at=s`` (DCGAN only): a :class:`SelfAttention` block after the layer whose feature
  map is ``s × s`` (SAGAN), in G and in D.

:mod:`.spectral` looks inside spectral normalisation: ``spectral_sigmas`` (σ of each normalised
layer, before and after) and ``settle_spectral_norm`` (power-iteration steps without training).
"""

from ._common import CONDITIONINGS, LABEL_DIM_MAX
from .convnets import (
    IMAGE_SIZES,
    DCGANDiscriminator,
    DCGANGenerator,
    SelfAttention,
    attention_sides,
    dcgan,
    dcgan_init,
)
from .mlp import MLPDiscriminator, MLPGenerator, affine_gaussian, affine_toy_gan, toy_gan
from .sampling import fixed_noise, frozen, generate, render, sample_class
from .spectral import settle_spectral_norm, spectral_sigmas

__all__ = [
    "CONDITIONINGS",
    "LABEL_DIM_MAX",
    "IMAGE_SIZES",
    "DCGANDiscriminator",
    "DCGANGenerator",
    "SelfAttention",
    "attention_sides",
    "dcgan",
    "dcgan_init",
    "MLPDiscriminator",
    "MLPGenerator",
    "toy_gan",
    "affine_toy_gan",
    "affine_gaussian",
    "fixed_noise",
    "frozen",
    "generate",
    "render",
    "sample_class",
    "settle_spectral_norm",
    "spectral_sigmas",
]
