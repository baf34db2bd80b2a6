"""The DCGAN pair for images (Radford et al. 2016), with SAGAN's self-attention as an option."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .._checks import positive_int
from ._common import _check_options, _init_projection, _label_dim, _labels, _options, _spectral_norm

IMAGE_SIZES = (
    16,
    32,
    64,
    128,
)  # powers of two: each stride-2 layer doubles (G) or halves (D) the side


def _check_image(image_size: int, channels: int, width: int) -> int:
    """Validate the DCGAN sizes; return the number of stride-2 layers, log2(image_size / 4)."""
    if image_size not in IMAGE_SIZES:
        raise ValueError(f"image_size must be one of {IMAGE_SIZES}, got {image_size!r}")
    if channels not in (1, 3):
        raise ValueError(f"channels must be 1 (grey) or 3 (RGB), got {channels!r}")
    positive_int("width", width)
    return image_size.bit_length() - 3  # 64 -> 4 layers: 4 -> 8 -> 16 -> 32 -> 64


def attention_sides(image_size: int) -> tuple[int, ...]:
    """The feature-map sides where a DCGAN of ``image_size`` can take self-attention: 16 ≤ side <
    image_size.
    """
    return tuple(2**k for k in range(4, 8) if 2**k < image_size)


def _check_attention(attention_at: int | None, image_size: int) -> None:
    if attention_at is None:
        return
    sides = attention_sides(image_size)
    if (
        isinstance(attention_at, bool)
        or not isinstance(attention_at, int)
        or attention_at not in sides
    ):
        allowed = (
            f"one of {sides}"
            if sides
            else "None (no feature map is >= 16 and smaller than the image)"
        )
        raise ValueError(
            f"attention_at must be {allowed} for image_size {image_size}, got {attention_at!r}"
        )


def dcgan_init(module: nn.Module) -> None:
    """Radford et al.'s initialisation: conv weights ~ N(0, 0.02); batch-norm scale ~ N(1, 0.02),
    shift 0.
    """
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
        nn.init.normal_(module.weight, 0.0, 0.02)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


class SelfAttention(nn.Module):
    """Self-attention over the ``N = H·W`` positions of a feature map (SAGAN, Zhang et al. 2019).

    With 1×1 convolutions ``f, g: C → C/8`` and ``h: C → C``, output position ``j`` attends to all
    positions ``i``:

        β_{j,i} = softmax_i( f(x_i) · g(x_j) ),   o_j = Σ_i β_{j,i} h(x_i),   out_j = γ o_j + x_j.

    ``γ`` starts at 0, so the block starts as the identity and G or D learns how much of the
    non-local evidence to use. Shapes: ``(B, C, H, W) → (B, C, H, W)``.
    """

    def __init__(self, channels: int):
        super().__init__()
        positive_int("channels", channels)
        inner = max(1, channels // 8)  # the paper's C/8 keys and queries (at least one)
        self.f = nn.Conv2d(channels, inner, 1, bias=False)  # keys, at the attended positions i
        self.g = nn.Conv2d(channels, inner, 1, bias=False)  # queries, at the output positions j
        self.h = nn.Conv2d(channels, channels, 1, bias=False)  # values
        self.gamma = nn.Parameter(
            torch.zeros(())
        )  # a 0-dim scalar: under bf16 autocast the output stays bf16

    def attention(self, x: torch.Tensor) -> torch.Tensor:
        """The map ``β``: ``(B, H·W, H·W)``, row ``j`` the weights over positions ``i``; rows sum to
        1.
        """
        f, g = self.f(x).flatten(2), self.g(x).flatten(2)  # (B, C/8, HW)
        return torch.softmax(g.transpose(1, 2) @ f, dim=-1)  # [j, i] = softmax_i(g(x_j) · f(x_i))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, C, H, W = x.shape
        q, k, v = (
            conv(x).flatten(2).transpose(1, 2) for conv in (self.g, self.f, self.h)
        )  # (B, HW, ·)
        # o = β v, by a fused kernel where there is one: β itself is (HW)² numbers per image
        o = F.scaled_dot_product_attention(
            q, k, v, scale=1.0
        )  # (B, HW, C); SAGAN does not scale by 1/sqrt(C/8)
        # (B, C, H, W) in x's memory layout (empty_like keeps it): the layers after run as without
        # the block
        o = torch.empty_like(x).copy_(o.transpose(1, 2).reshape(B, C, H, W))
        return x + self.gamma * o


class DCGANGenerator(nn.Module):
    """``G: z ∈ R^latent_dim → image (channels, image_size, image_size)`` in [−1, 1].

    A 4×4 transposed convolution turns the 1×1 latent into a 4×4 map of ``width·2^(L−1)``
    channels; then ``L = log2(image_size/4)`` transposed 4×4 stride-2 convolutions double the side
    and halve the channels, down to ``width`` and finally ``channels``. Batch norm and ReLU after
    every layer but the last, tanh at the output. With image_size 64 and width 64 the channels go
    512 → 256 → 128 → 64 → 3, as in pytorch/examples' DCGAN.

    Options: ``num_classes`` (``G(z, y)``: ``e_y`` joins the latent as extra 1×1 channels),
    ``spectral_norm``, ``attention_at`` (see the module docstring).
    """

    def __init__(
        self,
        latent_dim: int = 100,
        channels: int = 3,
        image_size: int = 64,
        width: int = 64,
        *,
        num_classes: int | None = None,
        spectral_norm: bool = False,
        attention_at: int | None = None,
    ):
        super().__init__()
        positive_int("latent_dim", latent_dim)
        n_up = _check_image(image_size, channels, width)
        _check_options(num_classes)
        _check_attention(attention_at, image_size)
        self.latent_dim, self.channels, self.image_size = latent_dim, channels, image_size
        self.num_classes = num_classes
        self.hparams = dict(
            latent_dim=latent_dim, channels=channels, image_size=image_size, width=width
        )
        self.hparams.update(
            _options(num_classes, spectral_norm=spectral_norm, attention_at=attention_at)
        )
        c, side = width * 2 ** (n_up - 1), 4
        layers = [
            nn.ConvTranspose2d(latent_dim + _label_dim(num_classes), c, 4, 1, 0, bias=False),
            nn.BatchNorm2d(c),
            nn.ReLU(True),
        ]
        # state size: (c) x 4 x 4
        for _ in range(n_up - 1):  # each layer: (c) x s x s -> (c/2) x 2s x 2s
            layers += [
                nn.ConvTranspose2d(c, c // 2, 4, 2, 1, bias=False),
                nn.BatchNorm2d(c // 2),
                nn.ReLU(True),
            ]
            c, side = c // 2, 2 * side
            if side == attention_at:
                layers.append(SelfAttention(c))  # state size unchanged
        # state size: (width) x image_size/2 x image_size/2
        layers += [nn.ConvTranspose2d(c, channels, 4, 2, 1, bias=False), nn.Tanh()]
        # state size: (channels) x image_size x image_size
        self.net = nn.Sequential(*layers)
        if num_classes is not None:
            self.embed = nn.Embedding(
                num_classes, _label_dim(num_classes)
            )  # e_y ~ N(0, I) at first, like z
        self.apply(dcgan_init)
        if spectral_norm:  # after the init: the power iteration starts from the initial weights
            _spectral_norm(self.net)

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        if z.shape[1:] not in ((self.latent_dim,), (self.latent_dim, 1, 1)):
            raise ValueError(
                f"DCGANGenerator expects noise of shape (N, {self.latent_dim}), got "
                f"{tuple(z.shape)}"
            )
        y = _labels("DCGANGenerator", y, len(z), self.num_classes)
        if y is not None:  # (N, latent_dim + label_dim): [z, e_y] as one 1x1 "image"
            z = torch.cat([z.reshape(len(z), self.latent_dim), self.embed(y)], 1)
        return self.net(
            z.reshape(*z.shape[:2], 1, 1)
        )  # a 1x1 "image" -> (N, channels, image_size, image_size)


class DCGANDiscriminator(nn.Module):
    """``D: image (channels, image_size, image_size) → logit``, the generator mirrored.

    ``L`` strided 4×4 convolutions halve the side and double the channels (no batch norm on the
    first, as in Radford et al.), LeakyReLU(0.2) after each, then a 4×4 convolution from the
    4×4 map to one logit. Returns shape ``(N,)``; ``D(x) = sigmoid(logit)``.

    Options: ``batchnorm=False`` drops the batch norms, as usual with ``spectral_norm=True``
    (Miyato et al. 2018: a 1-Lipschitz D needs no normalisation over the batch, which would also
    couple each logit to the rest of its batch); ``num_classes`` with ``conditioning``
    ``"projection"`` (``ξ(x)``: the last 4×4 feature map summed over positions, ``e_y`` one
    number per channel) or ``"concat"`` (``e_y`` as extra constant channel maps of the input);
    ``attention_at``.
    """

    def __init__(
        self,
        channels: int = 3,
        image_size: int = 64,
        width: int = 64,
        *,
        num_classes: int | None = None,
        conditioning: str = "projection",
        spectral_norm: bool = False,
        batchnorm: bool = True,
        attention_at: int | None = None,
    ):
        super().__init__()
        n_down = _check_image(image_size, channels, width)
        _check_options(num_classes, conditioning)
        _check_attention(attention_at, image_size)
        self.channels, self.image_size = channels, image_size
        self.num_classes, self.conditioning = num_classes, conditioning
        self.hparams = dict(channels=channels, image_size=image_size, width=width)
        self.hparams.update(
            _options(num_classes, conditioning, spectral_norm, batchnorm, attention_at)
        )
        concat = num_classes is not None and conditioning == "concat"
        c, side = width, image_size // 2
        layers = [
            nn.Conv2d(
                channels + (_label_dim(num_classes) if concat else 0), width, 4, 2, 1, bias=False
            ),
            nn.LeakyReLU(0.2, True),
        ]
        # state size: (width) x image_size/2 x image_size/2
        if side == attention_at:
            layers.append(SelfAttention(c))
        for _ in range(n_down - 1):  # each layer: (c) x s x s -> (2c) x s/2 x s/2
            layers += [
                nn.Conv2d(c, 2 * c, 4, 2, 1, bias=False),
                *([nn.BatchNorm2d(2 * c)] if batchnorm else []),
                nn.LeakyReLU(0.2, True),
            ]
            c, side = 2 * c, side // 2
            if side == attention_at:
                layers.append(SelfAttention(c))
        # state size: (width * 2^(L-1)) x 4 x 4
        layers.append(nn.Conv2d(c, 1, 4, 1, 0, bias=False))  # -> 1 x 1 x 1: the logit, no sigmoid
        self.net = nn.Sequential(*layers)
        if num_classes is not None:
            self.embed = nn.Embedding(num_classes, _label_dim(num_classes) if concat else c)
        self.apply(dcgan_init)
        if num_classes is not None and not concat:
            _init_projection(self.embed, spectral_norm)
        if spectral_norm:
            _spectral_norm(self.net)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        if x.ndim != 4 or x.shape[1:] != (self.channels, self.image_size, self.image_size):
            shape = f"(N, {self.channels}, {self.image_size}, {self.image_size})"
            raise ValueError(
                f"DCGANDiscriminator expects images of shape {shape}, got {tuple(x.shape)}"
            )
        y = _labels("DCGANDiscriminator", y, len(x), self.num_classes)
        if y is None:
            return self.net(x).flatten()  # (N,) logits
        if self.conditioning == "concat":  # e_y broadcast to (label_dim) x image_size x image_size
            e = self.embed(y)[:, :, None, None].expand(-1, -1, *x.shape[2:]).to(x.dtype)
            return self.net(torch.cat([x, e], 1)).flatten()
        h = self.net[:-1](x)  # ξ(x): (N, c, 4, 4)
        return self.net[-1](h).flatten() + (self.embed(y) * h.sum((2, 3))).sum(
            1
        )  # ψ(ξ(x)) + ⟨e_y, Σ ξ(x)⟩


def dcgan(
    latent_dim: int = 100,
    channels: int = 3,
    image_size: int = 64,
    width: int = 64,
    seed: int = 0,
    *,
    num_classes: int | None = None,
    conditioning: str = "projection",
    spectral_norm: bool = False,
    spectral_norm_G: bool = False,
    batchnorm_D: bool = True,
    attention_at: int | None = None,
):
    """A seeded ``(G, D)`` DCGAN pair for ``channels × image_size × image_size`` images.

    Options: ``num_classes`` makes both conditional (D with ``conditioning``); ``spectral_norm`` on
    D (SN-GAN) and ``spectral_norm_G`` on G too (SAGAN); ``batchnorm_D=False`` drops D's batch
    norms; ``attention_at`` puts self-attention in both at that feature-map side (SAGAN).
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        G = DCGANGenerator(
            latent_dim,
            channels,
            image_size,
            width,
            num_classes=num_classes,
            spectral_norm=spectral_norm_G,
            attention_at=attention_at,
        )
        D = DCGANDiscriminator(
            channels,
            image_size,
            width,
            num_classes=num_classes,
            conditioning=conditioning,
            spectral_norm=spectral_norm,
            batchnorm=batchnorm_D,
            attention_at=attention_at,
        )
    return G, D
