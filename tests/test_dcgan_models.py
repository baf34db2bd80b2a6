"""The DCGAN pair: architecture, parameter counts against the arithmetic, init, and errors."""

import math

import pytest
import torch
from torch import nn

from ganlab.models import DCGANDiscriminator, DCGANGenerator, dcgan


def expected_params(latent_dim, channels, image_size, width):
    """Parameters of the Radford et al. DCGAN, counted from the architecture (bias-free convs, 4x4
    kernels).
    """
    n = int(math.log2(image_size)) - 2  # stride-2 layers
    widths = [
        width * 2**i for i in reversed(range(n))
    ]  # e.g. 512, 256, 128, 64 for 64x64, width 64
    g = latent_dim * widths[0] * 16 + 2 * widths[0]  # 1x1 -> 4x4 transposed conv + its batch norm
    g += sum(
        a * b * 16 + 2 * b for a, b in zip(widths, widths[1:])
    )  # up-sampling convs + batch norms
    g += widths[-1] * channels * 16  # to the image, tanh (no batch norm)
    d = channels * width * 16  # first conv, no batch norm
    d += sum(b * a * 16 + 2 * a for a, b in zip(widths, widths[1:]))  # the mirror, with batch norms
    d += widths[0] * 16  # 4x4 -> one logit
    return g, d


@pytest.mark.parametrize(
    "latent_dim,channels,image_size,width",
    [(100, 3, 64, 64), (100, 1, 32, 64), (64, 1, 32, 32), (100, 3, 128, 16), (16, 1, 16, 8)],
)
def test_parameter_counts_match_the_architecture(latent_dim, channels, image_size, width):
    G, D = dcgan(latent_dim, channels, image_size, width)
    g, d = expected_params(latent_dim, channels, image_size, width)
    assert sum(p.numel() for p in G.parameters()) == g
    assert sum(p.numel() for p in D.parameters()) == d


def test_counts_equal_pytorch_examples_dcgan_at_64x64x3():
    G, D = dcgan(100, 3, 64, 64)
    assert sum(p.numel() for p in G.parameters()) == 3_576_704  # pytorch/examples dcgan, ngf = 64
    assert (
        sum(p.numel() for p in D.parameters()) == 2_765_568
    )  # ndf = 64 (its sigmoid has no parameters)


def test_generator_channels_halve_and_side_doubles():
    G = DCGANGenerator(100, 3, 64, 64)
    convs = [m for m in G.modules() if isinstance(m, nn.ConvTranspose2d)]
    assert [c.out_channels for c in convs] == [512, 256, 128, 64, 3]
    assert [c.stride for c in convs] == [(1, 1)] + [(2, 2)] * 4 and all(
        c.kernel_size == (4, 4) for c in convs
    )
    sizes, x = [], torch.randn(2, 100, 1, 1)
    for m in G.net:
        x = m(x)
        if isinstance(m, nn.ConvTranspose2d):
            sizes.append(x.shape[-1])
    assert sizes == [4, 8, 16, 32, 64]
    assert isinstance(G.net[-1], nn.Tanh) and sum(isinstance(m, nn.ReLU) for m in G.net) == 4


def test_discriminator_mirrors_and_returns_a_logit():
    D = DCGANDiscriminator(3, 64, 64)
    convs = [m for m in D.modules() if isinstance(m, nn.Conv2d)]
    assert [c.out_channels for c in convs] == [64, 128, 256, 512, 1]
    assert sum(isinstance(m, nn.BatchNorm2d) for m in D.net) == 3  # none after the first conv
    assert all(m.negative_slope == 0.2 for m in D.net if isinstance(m, nn.LeakyReLU))
    assert not any(isinstance(m, nn.Sigmoid) for m in D.modules())
    logits = D(torch.randn(5, 3, 64, 64))
    assert logits.shape == (5,)


@pytest.mark.parametrize("image_size,channels", [(32, 1), (32, 3), (64, 1), (64, 3)])
def test_shapes_and_range(image_size, channels):
    G, D = dcgan(20, channels, image_size, 8)
    x = G(torch.randn(3, 20))
    assert x.shape == (3, channels, image_size, image_size)
    assert x.abs().max() <= 1  # tanh
    assert D(x).shape == (3,)
    assert torch.equal(
        G(torch.zeros(2, 20)), G(torch.zeros(2, 20, 1, 1))
    )  # (N, l) and (N, l, 1, 1) agree


def test_init_is_normal_0_02_and_batchnorm_scale_near_1():
    G, D = dcgan(100, 3, 64, 64, seed=3)
    w = torch.cat([m.weight.flatten() for m in G.modules() if isinstance(m, nn.ConvTranspose2d)])
    assert w.mean().item() == pytest.approx(0, abs=1e-3) and w.std().item() == pytest.approx(
        0.02, rel=0.01
    )
    bn = torch.cat([m.weight for m in D.modules() if isinstance(m, nn.BatchNorm2d)])
    assert bn.mean().item() == pytest.approx(1, abs=0.01) and bn.std().item() == pytest.approx(
        0.02, rel=0.2
    )
    assert all(torch.all(m.bias == 0) for m in G.modules() if isinstance(m, nn.BatchNorm2d))


def test_same_seed_same_weights_and_global_rng_untouched():
    torch.manual_seed(7)
    before = torch.rand(1)
    torch.manual_seed(7)
    G1, _ = dcgan(10, 1, 32, 8, seed=1)
    assert torch.equal(torch.rand(1), before)
    G2, _ = dcgan(10, 1, 32, 8, seed=1)
    assert all(torch.equal(a, b) for a, b in zip(G1.parameters(), G2.parameters()))


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(image_size=48), r"image_size must be one of \(16, 32, 64, 128\), got 48"),
        (dict(channels=2), "channels must be 1 .* or 3"),
        (dict(width=0), "width must be an integer >= 1"),
    ],
)
def test_bad_sizes_are_clear_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        DCGANGenerator(**kwargs)
    with pytest.raises(ValueError, match=match):
        DCGANDiscriminator(**kwargs)


def test_wrong_input_shapes_are_clear_errors():
    G, D = dcgan(10, 1, 32, 8)
    with pytest.raises(ValueError, match=r"noise of shape \(N, 10\), got \(2, 11\)"):
        G(torch.randn(2, 11))
    with pytest.raises(ValueError, match=r"images of shape \(N, 1, 32, 32\), got \(2, 3, 32, 32\)"):
        D(torch.randn(2, 3, 32, 32))
