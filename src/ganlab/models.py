"""Networks: small MLPs for the toy mixtures, and the DCGAN pair for images (Radford et al. 2016).

The discriminator returns a *logit* ``l`` (``D(x) = sigmoid(l)``), never a probability: the
losses use ``binary_cross_entropy_with_logits``, which stays finite where ``log(sigmoid)`` would not.
"""

from __future__ import annotations

import contextlib

import torch
from torch import nn

from ._checks import positive_int


def _mlp(in_dim: int, out_dim: int, hidden: int, depth: int, activation) -> nn.Sequential:
    layers, width = [], in_dim
    for _ in range(depth):  # depth hidden layers of `hidden` units
        layers += [nn.Linear(width, hidden), activation()]
        width = hidden
    layers.append(nn.Linear(width, out_dim))
    return nn.Sequential(*layers)


def _check_last_dim(model: str, x: torch.Tensor, dim: int) -> None:
    if x.ndim != 2 or x.shape[1] != dim:
        raise ValueError(f"{model} expects inputs of shape (N, {dim}), got {tuple(x.shape)}")


class MLPGenerator(nn.Module):
    """``G: z ∈ R^latent_dim → x ∈ R^out_dim``, ``depth`` hidden ReLU layers of ``hidden`` units."""

    def __init__(self, latent_dim: int, out_dim: int, hidden: int = 128, depth: int = 3):
        super().__init__()
        for name, value in (("latent_dim", latent_dim), ("out_dim", out_dim), ("hidden", hidden), ("depth", depth)):
            positive_int(name, value)
        self.latent_dim, self.out_dim = latent_dim, out_dim
        self.hparams = dict(latent_dim=latent_dim, out_dim=out_dim, hidden=hidden, depth=depth)  # to rebuild it
        self.net = _mlp(latent_dim, out_dim, hidden, depth, nn.ReLU)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        _check_last_dim("MLPGenerator", z, self.latent_dim)
        return self.net(z)  # (N, out_dim)


class MLPDiscriminator(nn.Module):
    """``D: x ∈ R^in_dim → logit``, ``depth`` hidden LeakyReLU(0.2) layers of ``hidden`` units."""

    def __init__(self, in_dim: int, hidden: int = 128, depth: int = 3):
        super().__init__()
        for name, value in (("in_dim", in_dim), ("hidden", hidden), ("depth", depth)):
            positive_int(name, value)
        self.in_dim = in_dim
        self.hparams = dict(in_dim=in_dim, hidden=hidden, depth=depth)
        self.net = _mlp(in_dim, 1, hidden, depth, lambda: nn.LeakyReLU(0.2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_last_dim("MLPDiscriminator", x, self.in_dim)
        return self.net(x).squeeze(1)  # (N,) logits


IMAGE_SIZES = (16, 32, 64, 128)  # powers of two: each stride-2 layer doubles (G) or halves (D) the side


def _check_image(image_size: int, channels: int, width: int) -> int:
    """Validate the DCGAN sizes; return the number of stride-2 layers, log2(image_size / 4)."""
    if image_size not in IMAGE_SIZES:
        raise ValueError(f"image_size must be one of {IMAGE_SIZES}, got {image_size!r}")
    if channels not in (1, 3):
        raise ValueError(f"channels must be 1 (grey) or 3 (RGB), got {channels!r}")
    positive_int("width", width)
    return image_size.bit_length() - 3  # 64 -> 4 layers: 4 -> 8 -> 16 -> 32 -> 64


def dcgan_init(module: nn.Module) -> None:
    """Radford et al.'s initialisation: conv weights ~ N(0, 0.02); batch-norm scale ~ N(1, 0.02), shift 0."""
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
        nn.init.normal_(module.weight, 0.0, 0.02)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


class DCGANGenerator(nn.Module):
    """``G: z ∈ R^latent_dim → image (channels, image_size, image_size)`` in [−1, 1].

    A 4×4 transposed convolution turns the 1×1 latent into a 4×4 map of ``width·2^(L−1)``
    channels; then ``L = log2(image_size/4)`` transposed 4×4 stride-2 convolutions double the side
    and halve the channels, down to ``width`` and finally ``channels``. Batch norm and ReLU after
    every layer but the last, tanh at the output. With image_size 64 and width 64 the channels go
    512 → 256 → 128 → 64 → 3, as in pytorch/examples' DCGAN.
    """

    def __init__(self, latent_dim: int = 100, channels: int = 3, image_size: int = 64, width: int = 64):
        super().__init__()
        positive_int("latent_dim", latent_dim)
        n_up = _check_image(image_size, channels, width)
        self.latent_dim, self.channels, self.image_size = latent_dim, channels, image_size
        self.hparams = dict(latent_dim=latent_dim, channels=channels, image_size=image_size, width=width)
        c = width * 2 ** (n_up - 1)
        layers = [nn.ConvTranspose2d(latent_dim, c, 4, 1, 0, bias=False), nn.BatchNorm2d(c), nn.ReLU(True)]
        # state size: (c) x 4 x 4
        for _ in range(n_up - 1):  # each layer: (c) x s x s -> (c/2) x 2s x 2s
            layers += [nn.ConvTranspose2d(c, c // 2, 4, 2, 1, bias=False), nn.BatchNorm2d(c // 2), nn.ReLU(True)]
            c //= 2
        # state size: (width) x image_size/2 x image_size/2
        layers += [nn.ConvTranspose2d(c, channels, 4, 2, 1, bias=False), nn.Tanh()]
        # state size: (channels) x image_size x image_size
        self.net = nn.Sequential(*layers)
        self.apply(dcgan_init)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        if z.shape[1:] not in ((self.latent_dim,), (self.latent_dim, 1, 1)):
            raise ValueError(f"DCGANGenerator expects noise of shape (N, {self.latent_dim}), got {tuple(z.shape)}")
        return self.net(z.reshape(len(z), self.latent_dim, 1, 1))  # (N, latent_dim) -> a 1x1 "image"  # (N, channels, image_size, image_size)


class DCGANDiscriminator(nn.Module):
    """``D: image (channels, image_size, image_size) → logit``, the generator mirrored.

    ``L`` strided 4×4 convolutions halve the side and double the channels (no batch norm on the
    first, as in Radford et al.), LeakyReLU(0.2) after each, then a 4×4 convolution from the
    4×4 map to one logit. Returns shape ``(N,)``; ``D(x) = sigmoid(logit)``.
    """

    def __init__(self, channels: int = 3, image_size: int = 64, width: int = 64):
        super().__init__()
        n_down = _check_image(image_size, channels, width)
        self.channels, self.image_size = channels, image_size
        self.hparams = dict(channels=channels, image_size=image_size, width=width)
        layers = [nn.Conv2d(channels, width, 4, 2, 1, bias=False), nn.LeakyReLU(0.2, True)]
        c = width  # state size: (width) x image_size/2 x image_size/2
        for _ in range(n_down - 1):  # each layer: (c) x s x s -> (2c) x s/2 x s/2
            layers += [nn.Conv2d(c, 2 * c, 4, 2, 1, bias=False), nn.BatchNorm2d(2 * c), nn.LeakyReLU(0.2, True)]
            c *= 2
        # state size: (width * 2^(L-1)) x 4 x 4
        layers.append(nn.Conv2d(c, 1, 4, 1, 0, bias=False))  # -> 1 x 1 x 1: the logit, no sigmoid
        self.net = nn.Sequential(*layers)
        self.apply(dcgan_init)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 4 or x.shape[1:] != (self.channels, self.image_size, self.image_size):
            shape = f"(N, {self.channels}, {self.image_size}, {self.image_size})"
            raise ValueError(f"DCGANDiscriminator expects images of shape {shape}, got {tuple(x.shape)}")
        return self.net(x).flatten()  # (N,) logits


def dcgan(latent_dim: int = 100, channels: int = 3, image_size: int = 64, width: int = 64, seed: int = 0):
    """A seeded ``(G, D)`` DCGAN pair for ``channels × image_size × image_size`` images."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        G = DCGANGenerator(latent_dim, channels, image_size, width)
        D = DCGANDiscriminator(channels, image_size, width)
    return G, D


def toy_gan(data_dim: int, latent_dim: int = 2, hidden: int = 128, depth: int = 3, seed: int = 0):
    """A seeded ``(G, D)`` pair of MLPs for a ``data_dim``-dimensional toy mixture."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        G = MLPGenerator(latent_dim, data_dim, hidden, depth)
        D = MLPDiscriminator(data_dim, hidden, depth)
    return G, D


@torch.no_grad()
def generate(G: nn.Module, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """``n`` samples ``G(z)``, ``z ~ N(0, I)``, on G's device, without gradients."""
    positive_int("n", n)
    device = next(G.parameters()).device
    z = torch.randn(n, G.latent_dim, generator=generator, device=device)
    return G(z)


@contextlib.contextmanager
def unchanged_buffers(module: nn.Module):
    """Run a forward pass in train mode (batch statistics) without moving batch norm's running averages,
    so that looking at samples does not change the training run."""
    saved = [b.detach().clone() for b in module.buffers()]
    try:
        yield module
    finally:
        with torch.no_grad():
            for buffer, value in zip(module.buffers(), saved):
                buffer.copy_(value)


@torch.no_grad()
def render(G: nn.Module, z: torch.Tensor, batch_size: int = 1000, batch_stats: bool = True) -> torch.Tensor:
    """``G(z)`` on the CPU, in batches, without gradients and without changing G's buffers.

    ``batch_stats``: normalise with the statistics of the batch (train mode, as during training);
    False uses batch norm's running averages (eval mode), so each image depends on its own ``z`` only.
    """
    device = next(G.parameters()).device
    was_training = G.training
    G.train(batch_stats)
    try:
        with unchanged_buffers(G):
            return torch.cat([G(part.to(device)).float().cpu() for part in z.split(batch_size)])
    finally:
        G.train(was_training)


def fixed_noise(n: int, latent_dim: int, seed: int = 1234) -> torch.Tensor:
    """``n`` latent vectors from their own seeded stream (training draws are untouched), on the CPU."""
    return torch.randn(n, latent_dim, generator=torch.Generator().manual_seed(seed))
