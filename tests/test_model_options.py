"""Model options for the GAN variants: spectral norm, SAGAN self-attention, conditional G and D.

Oracles: singular values from ``torch.linalg``, the attention written out index by index, the
plain models (a conditional model whose label vectors are zero is the plain one), parameter counts
from the architecture, and checkpoints that rebuild a model from its ``hparams``.
"""

import copy
import math

import pytest
import torch
from torch import nn
from torch.nn.utils import parametrize

from ganlab.checkpoint import load_checkpoint, save_checkpoint
from ganlab.models import (
    DCGANDiscriminator,
    DCGANGenerator,
    MLPDiscriminator,
    MLPGenerator,
    SelfAttention,
    attention_sides,
    dcgan,
    fixed_noise,
    generate,
    render,
    sample_class,
    toy_gan,
)


def sigma(module: nn.Module) -> float:
    """The largest singular value of a layer's weight as a matrix (out, in·k·k)."""
    W = module.weight.detach()
    if isinstance(module, nn.ConvTranspose2d):
        W = W.transpose(0, 1)  # (in, out, k, k): the output channels are dim 1
    return torch.linalg.matrix_norm(W.flatten(1), ord=2).item()


def n_params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def images(n=4, channels=1, side=32, seed=0):
    return torch.randn(n, channels, side, side, generator=torch.Generator().manual_seed(seed))


# --- spectral normalisation (Miyato et al. 2018) --------------------------------------------------

SN_MODELS = {  # name: (make the model, make its inputs)
    "mlp D projection": (
        lambda: MLPDiscriminator(
            2, 32, 3, spectral_norm=True, num_classes=5, conditioning="projection"
        ),
        lambda: (torch.randn(8, 2), torch.arange(8) % 5),
    ),
    "mlp G": (lambda: MLPGenerator(3, 2, 32, 2, spectral_norm=True), lambda: (torch.randn(8, 3),)),
    "dcgan D": (
        lambda: DCGANDiscriminator(
            1, 32, 8, spectral_norm=True, batchnorm=False, attention_at=16, num_classes=9
        ),
        lambda: (images(), torch.arange(4)),
    ),
    "dcgan G": (
        lambda: DCGANGenerator(16, 1, 32, 8, spectral_norm=True, attention_at=16),
        lambda: (torch.randn(4, 16),),
    ),
}


@pytest.mark.parametrize("name", SN_MODELS)
def test_spectral_norm_gives_every_layer_top_singular_value_1(name):
    make, inputs = SN_MODELS[name]
    torch.manual_seed(0)
    model = make()
    layers = [
        m for m in model.modules() if isinstance(m, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d))
    ]
    assert layers
    projection = (
        getattr(model, "conditioning", None) == "projection" and model.num_classes is not None
    )
    if projection:  # the class vectors e_y: a linear map of the one-hot y
        layers.append(model.embed)
    model.train()
    with torch.no_grad():
        for _ in range(30):  # one power iteration per training-mode forward pass
            model(*inputs())
    for m in layers:
        assert parametrize.is_parametrized(m, "weight")
        assert 0.99 < sigma(m) < 1.03, (m, sigma(m))


def test_without_spectral_norm_the_singular_values_are_not_1():
    D = DCGANDiscriminator(1, 32, 8)  # N(0, 0.02) weights: far below 1
    assert all(sigma(m) < 0.5 for m in D.modules() if isinstance(m, nn.Conv2d))
    D = MLPDiscriminator(2, 32, 3)
    assert any(abs(sigma(m) - 1) > 0.1 for m in D.modules() if isinstance(m, nn.Linear))


def test_spectral_norm_keeps_the_parameters_and_adds_power_iteration_buffers():
    plain, sn = DCGANDiscriminator(1, 32, 8), DCGANDiscriminator(1, 32, 8, spectral_norm=True)
    assert n_params(plain) == n_params(sn)
    convs = [m for m in sn.modules() if isinstance(m, nn.Conv2d)]
    extra = sum(
        m.out_channels + m.weight.shape[1:].numel() for m in convs
    )  # u: (out,), v: (in·k·k,)
    assert sum(b.numel() for b in sn.buffers()) - sum(b.numel() for b in plain.buffers()) == extra
    assert "net.0.parametrizations.weight.original" in sn.state_dict()


def test_render_leaves_the_power_iteration_vectors_alone():
    G = DCGANGenerator(16, 1, 32, 8, spectral_norm=True)
    before = copy.deepcopy(G.state_dict())
    render(G, fixed_noise(6, 16))
    assert all(torch.equal(before[k], v) for k, v in G.state_dict().items())
    G(torch.randn(6, 16))  # a training-mode pass does move them
    assert not all(torch.equal(before[k], v) for k, v in G.state_dict().items())


def test_a_deep_copy_of_a_spectrally_normalised_g_is_the_same_function():  # how train() gets G_ema
    G = DCGANGenerator(16, 1, 32, 8, spectral_norm=True, num_classes=3).eval()
    z, y = torch.randn(5, 16), torch.tensor([0, 1, 2, 0, 1])
    assert torch.equal(copy.deepcopy(G)(z, y), G(z, y))


def test_batchnorm_false_drops_the_batch_norms():
    D = DCGANDiscriminator(3, 64, 16, batchnorm=False)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in D.modules())
    assert n_params(D) == n_params(DCGANDiscriminator(3, 64, 16)) - 2 * (
        32 + 64 + 128
    )  # scale and shift each
    assert D.hparams == dict(channels=3, image_size=64, width=16, batchnorm=False)


# --- hparams and checkpoints ----------------------------------------------------------------------


def test_plain_models_keep_their_hparams():
    G, D = dcgan(8, 1, 16, 8)
    assert G.hparams == dict(latent_dim=8, channels=1, image_size=16, width=8)
    assert D.hparams == dict(channels=1, image_size=16, width=8)
    G, D = toy_gan(2)
    assert G.hparams == dict(latent_dim=2, out_dim=2, hidden=128, depth=3)
    assert D.hparams == dict(in_dim=2, hidden=128, depth=3)


ROUND_TRIP = [
    lambda: DCGANGenerator(16, 1, 32, 8, num_classes=10, spectral_norm=True, attention_at=16),
    lambda: DCGANDiscriminator(
        1, 32, 8, num_classes=10, spectral_norm=True, batchnorm=False, attention_at=16
    ),
    lambda: DCGANDiscriminator(3, 32, 8, num_classes=4, conditioning="concat"),
    lambda: MLPGenerator(2, 2, 16, 2, num_classes=3, spectral_norm=True),
    lambda: MLPDiscriminator(
        2, 16, 2, num_classes=3, conditioning="projection", spectral_norm=True
    ),
]


@pytest.mark.parametrize("make", ROUND_TRIP)
def test_a_checkpoint_rebuilds_the_model_from_its_hparams(make, tmp_path):
    torch.manual_seed(0)
    model = make()
    model.train()
    x, y = first_input(model, 4), torch.tensor([0, 1, 2, 1])
    with torch.no_grad():
        for _ in range(3):
            model(
                x,
                y,
                # moves the power-iteration vectors and batch-norm statistics away from a fresh
                # model's
            )
    save_checkpoint({"hparams": model.hparams, "weights": model.state_dict()}, tmp_path / "m.pt")
    state = load_checkpoint(tmp_path / "m.pt")  # weights_only: hparams are plain data
    torch.manual_seed(1)  # a different init, overwritten by the checkpoint
    rebuilt = type(model)(**state["hparams"])
    rebuilt.load_state_dict(state["weights"])
    assert rebuilt.hparams == model.hparams
    model.eval(), rebuilt.eval()
    assert torch.equal(rebuilt(x, y), model(x, y))


def test_options_are_recorded_in_hparams():
    G, D = dcgan(
        8, 1, 32, 8, num_classes=10, spectral_norm=True, batchnorm_D=False, attention_at=16
    )
    assert G.hparams == dict(
        latent_dim=8, channels=1, image_size=32, width=8, num_classes=10, attention_at=16
    )
    assert D.hparams == dict(
        channels=1,
        image_size=32,
        width=8,
        num_classes=10,
        conditioning="projection",
        spectral_norm=True,
        batchnorm=False,
        attention_at=16,
    )
    assert not any(
        parametrize.is_parametrized(m) for m in G.modules()
    )  # spectral_norm is D's; G's is its own flag
    G, _ = dcgan(8, 1, 32, 8, spectral_norm_G=True)
    assert G.hparams["spectral_norm"] and parametrize.is_parametrized(G.net[0])
    G, D = toy_gan(
        2, num_classes=3, conditioning="projection", spectral_norm=True, spectral_norm_G=True
    )
    assert G.hparams == dict(
        latent_dim=2, out_dim=2, hidden=128, depth=3, num_classes=3, spectral_norm=True
    )
    assert D.hparams == dict(
        in_dim=2, hidden=128, depth=3, num_classes=3, conditioning="projection", spectral_norm=True
    )


# --- self-attention (Zhang et al. 2019) -----------------------------------------------------------


def attention_by_the_definition(
    block: SelfAttention, x: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """β_{j,i} = softmax_i(f(x_i)·g(x_j)), out_j = γ Σ_i β_{j,i} h(x_i) + x_j, position by
    position.
    """
    B, C, H, W = x.shape
    f, g, h = (conv(x).reshape(B, -1, H * W) for conv in (block.f, block.g, block.h))
    beta = torch.empty(B, H * W, H * W)
    out = torch.empty(B, C, H * W)
    for j in range(H * W):
        s = torch.stack(
            [(f[:, :, i] * g[:, :, j]).sum(1) for i in range(H * W)], 1
        )  # (B, N) over i
        beta[:, j] = torch.exp(s - s.max(1, keepdim=True).values)
        beta[:, j] /= beta[:, j].sum(1, keepdim=True)
        out[:, :, j] = block.gamma * (beta[:, j, None, :] * h).sum(2) + x.reshape(B, C, -1)[:, :, j]
    return beta, out.reshape(B, C, H, W)


def test_self_attention_against_its_definition():
    torch.manual_seed(0)
    block = SelfAttention(16)
    assert (block.f.out_channels, block.g.out_channels, block.h.out_channels) == (
        2,
        2,
        16,
    )  # C/8, C/8, C
    assert n_params(block) == 2 * 16 * 2 + 16 * 16 + 1
    with torch.no_grad():
        block.gamma.fill_(0.7)
        for conv in (block.f, block.g):
            conv.weight.mul_(3)  # sharper attention, so a transposed β would show
    x = torch.randn(2, 16, 5, 6)
    beta, expected = attention_by_the_definition(block, x)
    with torch.no_grad():
        assert torch.allclose(block.attention(x), beta, atol=1e-6)
        assert torch.allclose(block(x), expected, atol=1e-5)
        assert not torch.allclose(beta, beta.transpose(1, 2), atol=1e-3)
    assert block.attention(x).shape == (2, 30, 30)
    assert torch.allclose(beta.sum(2), torch.ones(2, 30)) and beta.min() >= 0


def test_self_attention_starts_as_the_identity_and_its_gradient_reaches_gamma():
    block = SelfAttention(8)
    x = torch.randn(3, 8, 4, 4)
    out = block(x)
    assert block.gamma.item() == 0 and torch.equal(out, x)
    (out * torch.randn_like(out)).sum().backward()
    assert block.gamma.grad.abs().item() > 0
    assert block.h.weight.grad.abs().max() == 0  # γ = 0 blocks the rest until γ moves
    block.zero_grad()
    with torch.no_grad():
        block.gamma.fill_(0.5)
    out = block(x)
    (out * torch.randn_like(out)).sum().backward()
    assert all(conv.weight.grad.abs().max() > 0 for conv in (block.f, block.g, block.h))


@pytest.mark.parametrize("layout", [torch.contiguous_format, torch.channels_last])
def test_self_attention_keeps_the_memory_layout_and_the_dtype(layout):
    block = SelfAttention(16)
    x = torch.randn(2, 16, 4, 4).contiguous(memory_format=layout)
    with torch.no_grad():
        block.gamma.fill_(0.5)
        assert block(x).is_contiguous(
            memory_format=layout
        )  # later layers run in the layout they were given
        assert (
            block.to(torch.bfloat16)(x.to(torch.bfloat16)).dtype == torch.bfloat16
        )  # γ is 0-dim: no promotion


def copy_all_but_attention(src: nn.Module, dst: nn.Module) -> None:
    """Copy the weights and buffers of ``src`` into ``dst``: the same layers plus SelfAttention
    blocks.
    """

    def tensors(model):
        return [
            t
            for m in model.net
            if not isinstance(m, SelfAttention)
            for t in (*m.parameters(), *m.buffers())
        ]

    a, b = tensors(src), tensors(dst)
    assert [t.shape for t in a] == [t.shape for t in b]
    with torch.no_grad():
        for s, d in zip(a, b):
            d.copy_(s)


@pytest.mark.parametrize("image_size,side", [(32, 16), (64, 16), (64, 32)])
def test_attention_at_init_leaves_g_and_d_unchanged(image_size, side):
    G, D = dcgan(16, 3, image_size, 8, seed=1)
    G_att, D_att = dcgan(16, 3, image_size, 8, seed=2, attention_at=side)
    copy_all_but_attention(G, G_att)
    copy_all_but_attention(D, D_att)
    z = torch.randn(3, 16)
    assert torch.equal(G_att(z), G(z))
    x = G(z).detach()
    assert torch.equal(D_att(x), D(x))
    loss = D_att(G_att(z)).sum()
    loss.backward()
    gammas = [
        m.gamma.grad
        for model in (G_att, D_att)
        for m in model.modules()
        if isinstance(m, SelfAttention)
    ]
    assert len(gammas) == 2 and all(g.abs().item() > 0 for g in gammas)


@pytest.mark.parametrize("image_size,side", [(32, 16), (64, 16), (64, 32), (128, 64)])
def test_attention_sits_at_the_feature_map_of_its_side(image_size, side):
    width = 4
    G, D = dcgan(8, 1, image_size, width, attention_at=side)
    seen = []
    for model in (G, D):
        blocks = [m for m in model.modules() if isinstance(m, SelfAttention)]
        assert len(blocks) == 1
        blocks[0].register_forward_hook(lambda m, inp, out: seen.append(tuple(inp[0].shape[1:])))
    D(G(torch.randn(2, 8)))
    channels = (
        width * image_size // (2 * side)
    )  # G: width at image_size/2, doubling as the side halves
    assert seen == [(channels, side, side), (channels, side, side)]  # D mirrors G


@pytest.mark.parametrize(
    "image_size,bad,match",
    [
        (64, 8, r"attention_at must be one of \(16, 32\) for image_size 64, got 8"),
        (64, 64, r"one of \(16, 32\)"),
        (32, True, r"one of \(16,\) for image_size 32, got True"),
        (16, 16, r"attention_at must be None \(no feature map"),
    ],
)
def test_attention_at_bad_side_is_a_clear_error(image_size, bad, match):
    with pytest.raises(ValueError, match=match):
        DCGANGenerator(8, 1, image_size, 8, attention_at=bad)
    with pytest.raises(ValueError, match=match):
        DCGANDiscriminator(1, image_size, 8, attention_at=bad)


def test_attention_sides():
    assert [attention_sides(s) for s in (16, 32, 64, 128)] == [(), (16,), (16, 32), (16, 32, 64)]


# --- conditional models (Mirza & Osindero 2014; projection: Miyato & Koyama 2018) -----------------


def expected_dcgan_params(
    latent_dim,
    channels,
    image_size,
    width,
    num_classes=None,
    conditioning="projection",
    batchnorm=True,
    attention_at=None,
):
    """Parameters of the DCGAN pair with the options, counted from the architecture."""
    n = int(math.log2(image_size)) - 2
    widths = [width * 2**i for i in reversed(range(n))]  # G's channels, from the 4x4 map up
    e = 0 if num_classes is None else min(num_classes, 50)
    g = (latent_dim + e) * widths[0] * 16 + 2 * widths[0]
    g += sum(a * b * 16 + 2 * b for a, b in zip(widths, widths[1:])) + widths[-1] * channels * 16
    g += num_classes * e if num_classes else 0  # the label embedding
    concat = num_classes is not None and conditioning == "concat"
    d = (channels + (e if concat else 0)) * width * 16
    d += (
        sum(b * a * 16 + (2 * a if batchnorm else 0) for a, b in zip(widths, widths[1:]))
        + widths[0] * 16
    )
    d += (
        0 if num_classes is None else num_classes * (e if concat else widths[0])
    )  # e_y: input maps or projection
    if attention_at is not None:
        c = width * image_size // (2 * attention_at)
        block = 2 * c * max(1, c // 8) + c * c + 1
        g, d = g + block, d + block
    return g, d


@pytest.mark.parametrize(
    "options",
    [
        dict(),
        dict(num_classes=10),
        dict(num_classes=10, conditioning="concat"),
        dict(num_classes=100, attention_at=16),
        dict(batchnorm=False, attention_at=32),
        dict(num_classes=3, conditioning="concat", batchnorm=False, attention_at=16),
    ],
)
def test_parameter_counts_match_the_architecture(options):
    G, D = dcgan(
        20,
        3,
        64,
        8,
        num_classes=options.get("num_classes"),
        conditioning=options.get("conditioning", "projection"),
        batchnorm_D=options.get("batchnorm", True),
        attention_at=options.get("attention_at"),
    )
    assert (n_params(G), n_params(D)) == expected_dcgan_params(20, 3, 64, 8, **options)


def test_mlp_parameter_counts():
    K, e, h = 7, 7, 16
    G, D = toy_gan(2, latent_dim=3, hidden=h, depth=2, num_classes=K)
    assert n_params(G) == (3 + e) * h + h + h * h + h + h * 2 + 2 + K * e
    assert n_params(D) == (2 + e) * h + h + h * h + h + h + 1 + K * e
    _, D = toy_gan(2, latent_dim=3, hidden=h, depth=2, num_classes=K, conditioning="projection")
    assert n_params(D) == 2 * h + h + h * h + h + h + 1 + K * h
    G, _ = toy_gan(2, num_classes=200)
    assert G.embed.weight.shape == (200, 50)  # capped


CONDITIONAL = {
    "mlp G": lambda: MLPGenerator(3, 2, 16, 2, num_classes=4),
    "mlp D concat": lambda: MLPDiscriminator(2, 16, 2, num_classes=4),
    "mlp D projection": lambda: MLPDiscriminator(
        2, 16, 2, num_classes=4, conditioning="projection"
    ),
    "dcgan G": lambda: DCGANGenerator(8, 1, 16, 8, num_classes=4),
    "dcgan D projection": lambda: DCGANDiscriminator(1, 16, 8, num_classes=4),
    "dcgan D concat": lambda: DCGANDiscriminator(1, 16, 8, num_classes=4, conditioning="concat"),
}


def first_input(model, n=5):
    if isinstance(model, MLPDiscriminator):
        return torch.randn(n, model.in_dim)
    if hasattr(model, "latent_dim"):
        return torch.randn(n, model.latent_dim)
    return images(n, model.channels, model.image_size)


@pytest.mark.parametrize("name", CONDITIONAL)
def test_the_label_changes_the_output(name):
    torch.manual_seed(0)
    model = CONDITIONAL[name]().eval()
    x = first_input(model)
    with torch.no_grad():
        a, b = model(x, torch.zeros(5, dtype=torch.long)), model(x, torch.ones(5, dtype=torch.long))
        assert torch.equal(a, model(x, torch.zeros(5, dtype=torch.long)))  # deterministic
    assert (a - b).abs().reshape(5, -1).amax(1).min() > 0  # every sample moves


@pytest.mark.parametrize("name", CONDITIONAL)
def test_labels_are_required_checked_and_refused_when_unconditional(name):
    model = CONDITIONAL[name]()
    x = first_input(model, 3)
    with pytest.raises(
        ValueError, match=r"conditional \(num_classes=4\): pass integer labels y of shape \(3,\)"
    ):
        model(x)
    with pytest.raises(ValueError, match=r"integer labels y of shape \(3,\), got a torch.float32"):
        model(x, torch.zeros(3))
    with pytest.raises(
        ValueError, match=r"shape \(3,\), got a torch.int64 tensor of shape \(3, 1\)"
    ):
        model(x, torch.zeros(3, 1, dtype=torch.long))
    with pytest.raises(ValueError, match=r"labels y must be in 0..3, got values from 0 to 4"):
        model(x, torch.tensor([0, 4, 1]))
    assert model(x, torch.tensor([0, 3, 1], dtype=torch.int32)).shape[0] == 3  # any integer dtype
    plain = type(model)(
        **{k: v for k, v in model.hparams.items() if k not in ("num_classes", "conditioning")}
    )
    with pytest.raises(
        ValueError, match=r"unconditional \(num_classes=None\) and takes no labels y"
    ):
        plain(x, torch.zeros(3, dtype=torch.long))


def test_with_zero_label_vectors_the_conditional_g_is_the_plain_g():
    for plain, cond in [
        (MLPGenerator(3, 2, 16, 2), MLPGenerator(3, 2, 16, 2, num_classes=4)),
        (DCGANGenerator(8, 1, 16, 8), DCGANGenerator(8, 1, 16, 8, num_classes=4)),
    ]:
        with torch.no_grad():
            cond.embed.weight.zero_()
            shared = [p for n, p in cond.named_parameters() if n != "embed.weight"]
            for (name, p), q in zip(plain.named_parameters(), shared):
                if (
                    name == "net.0.weight"
                ):  # z's part: Linear (out, in) columns, ConvTranspose2d (in, out, k, k) rows
                    q = q[:, :3] if q.ndim == 2 else q[:8]
                q.copy_(p)
        plain.eval(), cond.eval()
        z = torch.randn(6, plain.latent_dim)
        y = torch.tensor([0, 1, 2, 3, 0, 1])
        assert torch.allclose(cond(z, y), plain(z), atol=1e-6)


def test_projection_d_adds_the_inner_product_of_e_y_with_the_features():
    plain, cond = DCGANDiscriminator(1, 16, 8), DCGANDiscriminator(1, 16, 8, num_classes=4)
    cond.load_state_dict({**plain.state_dict(), "embed.weight": cond.embed.weight}, strict=True)
    features = []
    plain.net[-1].register_forward_hook(lambda m, inp, out: features.append(inp[0]))
    plain.eval(), cond.eval()
    x, y = images(6, 1, 16), torch.tensor([0, 1, 2, 3, 0, 1])
    with torch.no_grad():
        psi = plain(x)
        phi = features[0].sum(
            (2, 3)
        )  # (6, 16): the last feature map, summed over its 4x4 positions
        expected = psi + (cond.embed.weight[y] * phi).sum(1)
        assert torch.allclose(cond(x, y), expected, atol=1e-6)
        cond.embed.weight.zero_()
        assert torch.allclose(cond(x, y), psi, atol=1e-6)


def test_concat_d_with_zero_label_vectors_is_the_plain_d_on_x():
    plain, cond = MLPDiscriminator(2, 16, 2), MLPDiscriminator(2, 16, 2, num_classes=4)
    with torch.no_grad():
        cond.embed.weight.zero_()
        shared = [p for n, p in cond.named_parameters() if n != "embed.weight"]
        for (name, p), q in zip(plain.named_parameters(), shared):
            (q[:, :2] if name == "net.0.weight" else q).copy_(p)
    x = torch.randn(5, 2)
    assert torch.allclose(cond(x, torch.tensor([0, 1, 2, 3, 0])), plain(x), atol=1e-6)


def test_gradients_reach_only_the_label_vectors_in_the_batch():
    G, D = dcgan(8, 1, 16, 8, num_classes=5, spectral_norm=True, batchnorm_D=False)
    y = torch.tensor([0, 2, 2, 4])
    D(G(torch.randn(4, 8), y), y).sum().backward()
    for model in (G, D):
        E = (
            model.embed.weight if model is G else model.embed.parametrizations.weight.original
        )  # D's is normalised
        used = E.grad.abs().sum(1) > 0
        if model is G:
            assert used.tolist() == [
                True,
                False,
                True,
                False,
                True,
            ]  # a lookup: rows of absent classes stay 0
        else:
            assert used.all()  # spectral norm: σ(E) depends on every row


def test_conditional_pairs_are_seeded_and_leave_the_global_rng_alone():
    torch.manual_seed(3)
    before = torch.rand(1)
    torch.manual_seed(3)
    a = dcgan(8, 1, 32, 8, seed=1, num_classes=10, spectral_norm=True, attention_at=16)
    assert torch.equal(torch.rand(1), before)
    b = dcgan(8, 1, 32, 8, seed=1, num_classes=10, spectral_norm=True, attention_at=16)
    c = dcgan(8, 1, 32, 8, seed=2, num_classes=10, spectral_norm=True, attention_at=16)
    for m1, m2, m3 in zip(a, b, c):
        s1, s2 = m1.state_dict(), m2.state_dict()
        assert all(torch.equal(s1[k], s2[k]) for k in s1)
        assert not torch.equal(m1.embed.weight, m3.embed.weight)
    G1, _ = toy_gan(2, num_classes=3, seed=4)
    G2, _ = toy_gan(2, num_classes=3, seed=4)
    assert all(torch.equal(p, q) for p, q in zip(G1.parameters(), G2.parameters()))


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (
            dict(num_classes=10, conditioning="proj"),
            "unknown conditioning 'proj'; choose one of: concat, projection",
        ),
        (dict(num_classes=0), "num_classes must be an integer >= 1, got 0"),
        (dict(num_classes=2.0), "num_classes must be an integer >= 1, got 2.0"),
    ],
)
def test_bad_conditioning_options_are_clear_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        DCGANDiscriminator(1, 16, 8, **kwargs)
    with pytest.raises(ValueError, match=match):
        MLPDiscriminator(2, **kwargs)


# --- sampling a conditional G ---------------------------------------------------------------------


def test_generate_passes_labels_or_draws_them():
    G, _ = toy_gan(2, num_classes=3, seed=0)
    x = generate(G, 6, torch.Generator().manual_seed(0), y=2)
    z = torch.randn(6, 2, generator=torch.Generator().manual_seed(0))
    assert torch.equal(x, G(z, torch.full((6,), 2))) and not x.requires_grad
    labels = torch.tensor([0, 1, 2, 2, 1, 0])
    assert torch.equal(generate(G, 6, torch.Generator().manual_seed(0), y=labels), G(z, labels))
    gen = torch.Generator().manual_seed(0)
    z, y = torch.randn(500, 2, generator=gen), torch.randint(3, (500,), generator=gen)
    assert torch.equal(
        generate(G, 500, torch.Generator().manual_seed(0)), G(z, y)
    )  # y None: uniform labels
    assert sorted(y.unique().tolist()) == [0, 1, 2]
    with pytest.raises(
        ValueError, match=r"labels y must be an int in 0..2 or an \(6,\) tensor, got 3"
    ):
        generate(G, 6, y=3)
    G_plain, _ = toy_gan(2)
    with pytest.raises(ValueError, match=r"None \(G is unconditional\), got 1"):
        generate(G_plain, 6, y=1)
    assert generate(G_plain, 6).shape == (6, 2)  # the old call


def test_render_and_sample_class():
    G, _ = dcgan(8, 1, 16, 8, num_classes=10)
    z, y = fixed_noise(10, 8, seed=5), torch.arange(10)
    G.eval()
    with torch.no_grad():
        expected = G(z, y)
    G.train()
    assert torch.allclose(render(G, z, batch_size=3, batch_stats=False, y=y), expected, atol=1e-6)
    with pytest.raises(
        ValueError, match=r"labels y must have shape \(10,\), one per sample, got \(9,\)"
    ):
        render(G, z, y=y[:9])
    sevens = sample_class(G, 7, 6, seed=5)
    assert sevens.shape == (6, 1, 16, 16) and sevens.device.type == "cpu"
    assert torch.equal(sevens, render(G, fixed_noise(6, 8, 5), y=torch.full((6,), 7)))
    assert torch.equal(sevens, sample_class(G, 7, 6, seed=5))
    assert (sample_class(G, 3, 6, seed=5) - sevens).abs().amax(
        (1, 2, 3)
    ).min() > 0  # same z, another class
    with pytest.raises(ValueError, match="an int in 0..9"):
        sample_class(G, 10, 6)
    with pytest.raises(ValueError, match="sample_class needs a conditional G"):
        sample_class(dcgan(8, 1, 16, 8)[0], 0, 6)
