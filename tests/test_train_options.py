"""The speed options, the generator EMA, checkpoints and resume of ganlab.train, on a tiny DCGAN on
CPU.
"""

import copy
import dataclasses
import os

import pytest
import torch

import ganlab
from ganlab.checkpoint import load_checkpoint
from ganlab.config import TrainConfig
from ganlab.history import TrainingDiverged
from ganlab.models import dcgan
from ganlab.training import train

CFG = TrainConfig(
    num_steps=4,
    batch_real=8,
    batch_fake=8,
    batch_g=8,
    lr_g=2e-4,
    lr_d=2e-4,
    log_every=2,
    progress=False,
    device="cpu",
)
IMAGES = torch.rand(64, 1, 16, 16) * 2 - 1  # a fixed "data set" of 64 16x16 grey images in [-1, 1]


def sample_images(n, generator):
    return IMAGES[torch.randint(len(IMAGES), (n,), generator=generator, device=generator.device)]


def run(cfg=CFG, seed=0, **kwargs):
    G, D = dcgan(latent_dim=8, channels=1, image_size=16, width=8, seed=seed)
    history = train(G, D, sample_images, cfg, **kwargs)
    return G, D, history


def weights(module):
    return torch.cat(
        [p.detach().flatten() for p in module.state_dict().values() if p.is_floating_point()]
    )


def test_plain_run_trains_the_dcgan_and_is_reproducible():
    G1, D1, h1 = run()
    G2, D2, h2 = run()
    G0, D0 = dcgan(latent_dim=8, channels=1, image_size=16, width=8, seed=0)
    assert not torch.equal(weights(G1), weights(G0))  # it moved
    assert torch.equal(weights(G1), weights(G2)) and h1.loss_d == h2.loss_d
    assert h1.step == [1, 2, 3, 4] and all(0 < v < 1 for v in h1.d_real + h1.d_fake)


def test_bf16_autocast_is_active_but_weights_stay_float32():
    G, D, h = run(dataclasses.replace(CFG, bf16=True))
    _, _, h32 = run()
    assert all(p.dtype == torch.float32 for p in G.parameters())
    assert h.loss_d != h32.loss_d  # bf16 arithmetic really happened ...
    assert h.loss_d == pytest.approx(h32.loss_d, abs=0.05)  # ... and changed little


def test_channels_last_lays_out_conv_weights_nhwc_and_agrees():
    G, D, h = run(dataclasses.replace(CFG, channels_last=True))
    conv = next(m for m in D.modules() if isinstance(m, torch.nn.Conv2d) and m.in_channels > 1)
    assert conv.weight.is_contiguous(memory_format=torch.channels_last)
    assert not conv.weight.is_contiguous()
    G_ref, _, h_ref = run()
    assert h.loss_d == pytest.approx(h_ref.loss_d, abs=1e-4)
    assert torch.allclose(weights(G), weights(G_ref), atol=1e-4)


def test_fused_adam_matches_the_plain_update():
    G, _, h = run(dataclasses.replace(CFG, fused_adam=True))
    G_ref, _, h_ref = run(dataclasses.replace(CFG, fused_adam=False))
    assert torch.allclose(weights(G), weights(G_ref), atol=1e-5)
    assert h.loss_g == pytest.approx(h_ref.loss_g, abs=1e-5)


def test_compile_traces_the_models_and_agrees():
    # aot_eager runs dynamo and AOT autograd (the graph capture) without generating C++ kernels:
    # seconds, not minutes.
    G, _, h = run(dataclasses.replace(CFG, compile=True, compile_backend="aot_eager"))
    G_ref, _, h_ref = run()
    assert h.loss_d == pytest.approx(h_ref.loss_d, abs=1e-4)
    assert torch.allclose(weights(G), weights(G_ref), atol=1e-4)
    assert not any(
        k.startswith("_orig_mod") for k in G.state_dict()
    )  # G itself stays a plain module


def test_compile_leaves_the_memory_layout_to_the_compiler():
    G, D, h = run(
        dataclasses.replace(CFG, compile=True, compile_backend="aot_eager", channels_last=True)
    )
    assert all(
        p.is_contiguous() for p in [*G.parameters(), *D.parameters()]
    )  # not converted to NHWC
    G_ref, _, h_ref = run()
    assert h.loss_d == pytest.approx(h_ref.loss_d, abs=1e-4)


def test_reuse_fake_runs_one_generator_forward_per_step():
    calls = {"n": 0}

    def count(*_):
        calls["n"] += 1

    for reuse, expected in ((False, 2 * CFG.num_steps), (True, CFG.num_steps)):
        G, D = dcgan(latent_dim=8, channels=1, image_size=16, width=8)
        G.register_forward_hook(count)
        calls["n"] = 0
        h = train(G, D, sample_images, dataclasses.replace(CFG, reuse_fake=reuse))
        assert calls["n"] == expected
        assert all(torch.isfinite(torch.tensor(h.loss_g)))


def test_ema_follows_the_moving_average():
    G, D = dcgan(latent_dim=8, channels=1, image_size=16, width=8)
    G_ema = copy.deepcopy(G)
    start = weights(G_ema)
    train(G, D, sample_images, dataclasses.replace(CFG, num_steps=1, ema_decay=0.75), G_ema=G_ema)

    def params(m):
        return torch.cat([p.detach().flatten() for p in m.parameters()])

    start_params = torch.cat([p.detach().flatten() for p in dcgan(8, 1, 16, 8)[0].parameters()])
    assert torch.allclose(params(G_ema), 0.75 * start_params + 0.25 * params(G), atol=1e-7)
    assert not torch.equal(weights(G_ema), start)
    for b_ema, b in zip(G_ema.buffers(), G.buffers()):
        assert torch.equal(b_ema, b)  # batch-norm statistics copied
    with pytest.raises(ValueError, match="G_ema must have G's architecture"):
        train(
            G,
            D,
            sample_images,
            CFG,
            G_ema=dcgan(latent_dim=8, channels=1, image_size=16, width=16)[0],
        )


def test_resume_gives_exactly_the_uninterrupted_weights(tmp_path):
    full = dataclasses.replace(
        CFG, num_steps=6, checkpoint_path=str(tmp_path / "full.pt"), checkpoint_every=3
    )
    G_ema = copy.deepcopy(dcgan(8, 1, 16, 8)[0])
    G_full, D_full, h_full = run(full, G_ema=G_ema)

    first = dataclasses.replace(full, num_steps=3, checkpoint_path=str(tmp_path / "part.pt"))
    run(first, G_ema=copy.deepcopy(dcgan(8, 1, 16, 8)[0]))  # "killed" after step 3
    assert load_checkpoint(tmp_path / "part.pt")["step"] == 3
    # A new process: different initial weights, then resume from the checkpoint.
    G_ema2 = copy.deepcopy(dcgan(8, 1, 16, 8, seed=5)[0])
    G, D, h = run(
        dataclasses.replace(full, checkpoint_path=str(tmp_path / "part.pt")),
        seed=5,
        G_ema=G_ema2,
        resume=tmp_path / "part.pt",
    )
    assert torch.equal(weights(G), weights(G_full)) and torch.equal(weights(D), weights(D_full))
    assert torch.equal(weights(G_ema2), weights(G_ema))
    assert (
        h.step == h_full.step == list(range(1, 7))
        and h.loss_d == h_full.loss_d
        and h.d_fake == h_full.d_fake
    )
    assert load_checkpoint(tmp_path / "part.pt")["step"] == 6


def test_resume_refuses_changed_settings(tmp_path):
    path = str(tmp_path / "c.pt")
    run(dataclasses.replace(CFG, checkpoint_path=path))
    with pytest.raises(ValueError, match=r"lr_d=0.0002 \(now 0.001\)"):
        run(dataclasses.replace(CFG, num_steps=8, lr_d=1e-3), resume=path)
    with pytest.raises(ValueError, match="G_ema"):
        run(
            dataclasses.replace(CFG, num_steps=8),
            resume=path,
            G_ema=copy.deepcopy(dcgan(8, 1, 16, 8)[0]),
        )


def test_resume_names_the_hyper_parameter_or_the_shape_that_differs(tmp_path):
    path = str(tmp_path / "c.pt")
    run(dataclasses.replace(CFG, checkpoint_path=path))
    G, D = dcgan(latent_dim=8, channels=1, image_size=16, width=16)
    with pytest.raises(ValueError, match=r"checkpoint's G was built with width=8 \(now 16\)"):
        train(G, D, sample_images, dataclasses.replace(CFG, num_steps=8), resume=path)
    G, D = dcgan(latent_dim=8, channels=1, image_size=16, width=16)
    for module in (G, D):
        del module.hparams  # models of one's own: the first mismatched tensor is named
    with pytest.raises(ValueError, match=r"checkpoint's G does not fit this model: net\.0\.weight"):
        train(G, D, sample_images, dataclasses.replace(CFG, num_steps=8), resume=path)


def test_divergence_names_the_step_and_keeps_the_last_good_checkpoint(tmp_path):
    path = tmp_path / "c.pt"
    draws = {"n": 0}

    def poisoned(n, generator):  # real data turns to inf from the 7th draw (step 7, k_disc = 1)
        draws["n"] += 1
        x = sample_images(n, generator)
        return x * float("inf") if draws["n"] >= 7 else x

    G, D = dcgan(latent_dim=8, channels=1, image_size=16, width=8)
    cfg = dataclasses.replace(
        CFG, num_steps=10, checkpoint_path=str(path), checkpoint_every=3, log_every=5
    )
    with pytest.raises(TrainingDiverged, match="step 7") as err:
        train(G, D, poisoned, cfg)
    assert err.value.step == 7
    state = load_checkpoint(path)
    assert state["step"] == 6 and all(
        torch.isfinite(v).all() for v in state["G"].values() if v.is_floating_point()
    )


def test_checkpoint_holds_what_sampling_needs(tmp_path):
    path = tmp_path / "c.pt"
    G, _, _ = run(dataclasses.replace(CFG, checkpoint_path=str(path)))
    state = load_checkpoint(path)
    assert state["G_hparams"] == dict(latent_dim=8, channels=1, image_size=16, width=8)
    G2 = ganlab.models.DCGANGenerator(**state["G_hparams"])
    G2.load_state_dict(state["G"])
    assert torch.equal(weights(G2), weights(G))
    assert state["config"]["num_steps"] == 4 and len(state["history"]["loss_d"]) == 4
    assert not [
        f for f in os.listdir(tmp_path) if f.endswith(".tmp")
    ]  # no temporary files left behind


def test_conditional_gan_trains_with_labels_from_the_data_and_uniform_fake_labels():
    digits = ganlab.data.digits(16)
    G, D = dcgan(latent_dim=8, channels=1, image_size=16, width=8, num_classes=10)
    seen = []
    D.register_forward_hook(lambda module, args, out: seen.append(args[1].clone()))
    h = train(G, D, digits.sample_labeled, CFG)
    assert all(torch.isfinite(torch.tensor(h.loss_d + h.loss_g)))
    assert len(seen) == 3 * CFG.num_steps  # real, fake (D step), fake (G step)
    labels = torch.cat(seen)
    assert labels.min() >= 0 and labels.max() <= 9 and len(labels.unique()) > 5
    with pytest.raises(ValueError, match="needs sample_real to return \\(x, y\\)"):
        train(G, D, digits.sample, CFG)
    with pytest.raises(ValueError, match="both be conditional"):
        train(
            G,
            dcgan(latent_dim=8, channels=1, image_size=16, width=8)[1],
            digits.sample_labeled,
            CFG,
        )


def test_wgan_clips_the_critic_after_every_update():
    G, D = ganlab.toy_gan(2, hidden=16, depth=2)
    train(G, D, ganlab.ring().sample, dataclasses.replace(CFG, loss="wgan", k_disc=2))
    assert max(p.abs().max().item() for p in D.parameters()) <= 0.01 + 1e-9


@pytest.mark.parametrize(
    "penalised,bare",
    [(dict(loss="wgan-gp"), dict(loss="wgan")), (dict(r1=4.0), {}), (dict(r2=2.0), {})],
)
def test_penalties_are_added_to_the_critic_loss(penalised, bare, monkeypatch):
    train_module = ganlab.training_setup  # where train() computes the penalty
    recorded = []
    original = train_module.total_penalty

    def spy(*args, **kwargs):
        value = original(
            *args, **kwargs
        )  # once: the gradient penalty draws its interpolation weights
        recorded.append(value.item())
        return value

    monkeypatch.setattr(train_module, "total_penalty", spy)
    cfg = dataclasses.replace(CFG, num_steps=1)
    h0 = train(
        *ganlab.toy_gan(2, hidden=16, depth=2),
        ganlab.ring().sample,
        dataclasses.replace(cfg, **bare),
    )
    assert recorded == []  # no penalty, no call
    h = train(
        *ganlab.toy_gan(2, hidden=16, depth=2),
        ganlab.ring().sample,
        dataclasses.replace(cfg, **penalised),
    )
    assert len(recorded) == 1 and recorded[0] > 0
    # same batch, same initial D: the logged loss is the bare loss plus the penalty
    assert h.loss_d[0] == pytest.approx(h0.loss_d[0] + recorded[0], rel=1e-5, abs=1e-6)


@pytest.mark.parametrize("name,weight", [("r1", 4.0), ("r2", 2.0)])
def test_a_conditional_critic_is_penalised_with_each_batchs_labels(name, weight, monkeypatch):
    train_module = ganlab.training_setup
    digits = ganlab.data.digits(16)
    drawn, recorded = {}, []

    def sample_labeled(n, generator):  # the real batch, kept to recompute the penalty by hand
        drawn["real"] = digits.sample_labeled(n, generator)
        return drawn["real"]

    original = train_module.total_penalty

    def spy(penalties, D_real, x_real, x_fake, gen, D_fake=None):
        drawn["fake"] = x_fake.detach().clone()
        recorded.append(original(penalties, D_real, x_real, x_fake, gen, D_fake=D_fake).item())
        return original(penalties, D_real, x_real, x_fake, gen, D_fake=D_fake)

    monkeypatch.setattr(train_module, "total_penalty", spy)

    def models():
        return dcgan(8, channels=1, image_size=16, width=8, num_classes=10, batchnorm_D=False)

    G, D = models()
    labels_seen = []
    D.register_forward_pre_hook(lambda module, args: labels_seen.append(args[1].clone()))
    train(G, D, sample_labeled, dataclasses.replace(CFG, num_steps=1, **{name: weight}))
    y_real, y_fake = (
        labels_seen[0],
        labels_seen[1],
    )  # D's first two calls: the real, then the fake batch
    assert torch.equal(y_real, drawn["real"][1])
    _, D0 = models()  # D before its update, as the penalty saw it
    x = drawn["real"][0] if name == "r1" else drawn["fake"]
    y, y_other = (y_real, y_fake) if name == "r1" else (y_fake, y_real)
    expected = weight / 2 * ganlab.regularizers.r1_penalty(lambda v: D0(v, y), x).item()
    wrong = weight / 2 * ganlab.regularizers.r1_penalty(lambda v: D0(v, y_other), x).item()
    assert recorded[0] == pytest.approx(expected, rel=1e-5)
    assert (
        abs(wrong - expected) > 1e-3 * expected
    )  # the labels matter, so the check above could fail
    with pytest.raises(ValueError, match="r1 must be a finite number >= 0"):
        dataclasses.replace(CFG, r1=-1.0)


def test_fit_discriminator_applies_the_losses_clipping_and_penalty():
    from ganlab.training import fit_discriminator

    ring = ganlab.ring()

    def shifted(n, g):  # a fixed "generator": the ring moved by (1, 1)
        return ring.sample(n, g) + 1.0

    _, D = ganlab.toy_gan(2, hidden=16, depth=2)
    fit_discriminator(D, ring.sample, shifted, num_steps=5, batch_size=32, loss="wgan")
    assert max(p.abs().max().item() for p in D.parameters()) <= 0.01 + 1e-9
    losses = {}
    for name in (
        "wgan",
        "wgan-gp",
    ):  # same draws; with clipping off (gp), the loss includes the penalty
        _, D = ganlab.toy_gan(2, hidden=16, depth=2)
        losses[name] = fit_discriminator(
            D, ring.sample, shifted, num_steps=1, batch_size=32, loss=name
        )[0]
    assert losses["wgan-gp"] > losses["wgan"]  # the first step's penalty is positive


def test_cuda_graph_is_refused_where_it_cannot_work():
    with pytest.raises(ValueError, match="needs a CUDA device"):
        run(dataclasses.replace(CFG, cuda_graph=True))


def eager_capture(fn):
    """Stand-in for a CUDA graph capture on a CPU: "recording" runs nothing, "replay" runs ``fn``
    again.
    """
    output = torch.empty(4)  # loss_d, loss_g, d_real, d_fake
    return (lambda: output.copy_(fn())), output


@pytest.mark.parametrize("options", [dict(), dict(reuse_fake=True, k_disc=2)])
def test_cuda_graph_steps_feed_the_same_draws_through_fixed_input_tensors(monkeypatch, options):
    # On a GPU the graph replays the recorded kernels; here replay runs the step eagerly, reading
    # the fixed input tensors that each step's fresh draws are copied into: the plumbing, checked on
    # a CPU.
    from ganlab import cudagraph

    monkeypatch.setattr(cudagraph, "check_device", lambda device: None)
    monkeypatch.setattr(cudagraph, "capture", eager_capture)
    cfg = dataclasses.replace(CFG, num_steps=6, **options)
    G_ema = copy.deepcopy(dcgan(8, 1, 16, 8)[0])
    G, D, h = run(dataclasses.replace(cfg, cuda_graph=True), G_ema=G_ema)
    G_ema_ref = copy.deepcopy(dcgan(8, 1, 16, 8)[0])
    G_ref, D_ref, h_ref = run(cfg, G_ema=G_ema_ref)
    assert h.loss_d == h_ref.loss_d and h.loss_g == h_ref.loss_g and h.d_fake == h_ref.d_fake
    assert torch.equal(weights(G), weights(G_ref)) and torch.equal(weights(D), weights(D_ref))
    assert torch.equal(weights(G_ema), weights(G_ema_ref))


def test_cuda_graph_refuses_penalties_and_compile(monkeypatch):
    from ganlab import cudagraph

    monkeypatch.setattr(cudagraph, "check_device", lambda device: None)
    with pytest.raises(ValueError, match="gradient penalties"):
        run(dataclasses.replace(CFG, cuda_graph=True, r1=1.0))
    with pytest.raises(ValueError, match="compile"):
        run(dataclasses.replace(CFG, cuda_graph=True, compile=True, compile_backend="aot_eager"))


def test_discriminator_step_keeps_its_two_argument_penalty_for_unlabelled_batches():
    # Chapter 10 writes its own penalty(x_real, x_fake); labels are passed only when there are some.
    from ganlab.training import discriminator_step

    _, D = ganlab.toy_gan(2, hidden=16, depth=2)
    opt_d = torch.optim.Adam(D.parameters(), lr=1e-3)
    x_real, x_fake = torch.randn(8, 2), torch.randn(8, 2) + 1
    seen = []
    loss, _, _ = discriminator_step(
        D,
        opt_d,
        ganlab.get_loss("wgan").discriminator,
        x_real,
        x_fake,
        penalty=lambda a, b: seen.append((a, b)) or torch.tensor(2.5),
    )
    assert len(seen) == 1 and seen[0][0] is x_real
    _, D2 = ganlab.toy_gan(2, hidden=16, depth=2)
    bare, _, _ = discriminator_step(
        D2,
        torch.optim.Adam(D2.parameters(), lr=1e-3),
        ganlab.get_loss("wgan").discriminator,
        x_real,
        x_fake,
    )
    assert loss.item() == pytest.approx(bare.item() + 2.5)
