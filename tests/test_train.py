import dataclasses
import math

import pytest
import torch

import ganlab
from ganlab.metrics import CoverageTracker, mode_coverage

FAST = ganlab.TrainConfig(
    num_steps=30,
    batch_real=64,
    batch_fake=64,
    batch_g=64,
    log_every=7,
    progress=False,
    device="cpu",
)


def run(cfg=FAST, seed=0, mixture=None, callbacks=()):
    mixture = mixture or ganlab.ring()
    G, D = ganlab.toy_gan(mixture.dim, hidden=32, depth=2, seed=seed)
    return G, D, ganlab.train(G, D, mixture.sample, cfg, callbacks)


def test_history_has_one_entry_per_step_and_sane_values():
    _, _, h = run()
    assert h.step == list(range(1, 31))  # log_every=7 does not lose the last partial chunk
    assert len(h.loss_d) == len(h.loss_g) == len(h.d_real) == len(h.d_fake) == 30
    assert all(0 <= v <= 1 for v in h.d_real + h.d_fake)
    assert h.loss_d[0] == pytest.approx(1.386, abs=0.2)  # D starts near 1/2: loss ≈ log 4
    assert h.wall_time > 0 and h.config["num_steps"] == 30


def test_same_seed_gives_identical_history_and_samples():
    G1, _, h1 = run()
    G2, _, h2 = run()
    assert h1.loss_d == h2.loss_d and h1.loss_g == h2.loss_g and h1.d_fake == h2.d_fake
    g = torch.Generator().manual_seed(0)
    assert torch.equal(
        ganlab.generate(G1, 50, g), ganlab.generate(G2, 50, torch.Generator().manual_seed(0))
    )
    _, _, h3 = run(dataclasses.replace(FAST, seed=1))
    assert h3.loss_d != h1.loss_d


def test_k_disc_runs_more_discriminator_steps():
    calls = []
    mix = ganlab.ring()

    def sample_real(n, gen):
        calls.append(n)
        return mix.sample(n, gen)

    G, D = ganlab.toy_gan(2, hidden=16, depth=1)
    ganlab.train(G, D, sample_real, dataclasses.replace(FAST, num_steps=4, k_disc=5, batch_real=17))
    assert calls == [17] * 20


def test_minimax_and_nonsaturating_differ_only_in_the_generator_loss():
    _, _, h_ns = run(dataclasses.replace(FAST, num_steps=1))
    _, _, h_mm = run(dataclasses.replace(FAST, num_steps=1, loss="minimax"))
    assert h_ns.loss_d == h_mm.loss_d  # same first D step
    assert h_ns.loss_g[0] > 0 > h_mm.loss_g[0]  # −log D > 0 > log(1 − D)


def test_callbacks_see_every_step_and_every_helper_filters():
    seen, filtered = [], []
    run(
        callbacks=[
            lambda step, G, D, h: seen.append(step),
            ganlab.every(10, lambda step, G, D, h: filtered.append(step)),
        ]
    )
    assert seen == list(range(1, 31)) and filtered == [10, 20, 30]


def test_short_run_on_ring_captures_at_least_7_of_8_modes():
    mix = ganlab.ring()
    G, D = ganlab.toy_gan(2, seed=1)
    cfg = ganlab.TrainConfig(num_steps=2000, seed=1, progress=False, device="cpu")
    h = ganlab.train(G, D, mix.sample, cfg, [CoverageTracker(mix, every=1000)])
    cov = mode_coverage(ganlab.generate(G, 2500, torch.Generator().manual_seed(0)), mix)
    assert cov.modes_captured >= 7, cov
    assert cov.high_quality > 0.3, cov
    steps, modes = h.metric("modes")
    assert steps == [1000, 2000] and modes[-1] >= 7


@pytest.mark.parametrize(
    "field,value",
    [
        ("num_steps", 0),
        ("batch_real", -1),
        ("batch_fake", 1.5),
        ("batch_g", 0),
        ("k_disc", 0),
        ("lr_g", 0.0),
        ("lr_d", -1e-3),
        ("lr_g", float("nan")),
        ("log_every", 0),
        ("betas", (0.5, 1.0)),
        ("loss", "wgan-typo"),
    ],
)
def test_bad_config_is_a_value_error_naming_the_field(field, value):
    with pytest.raises(ValueError, match=field if field != "loss" else "unknown loss"):
        dataclasses.replace(FAST, **{field: value})


def test_data_of_the_wrong_dimension_is_a_value_error():
    G, D = ganlab.toy_gan(2, hidden=8, depth=1)
    with pytest.raises(ValueError, match="MLPDiscriminator"):
        ganlab.train(G, D, ganlab.bimodal_1d().sample, FAST)


def test_nan_loss_raises_training_diverged_naming_the_step():
    mix = ganlab.ring()

    def poisoned(n, gen):
        x = mix.sample(n, gen)
        poisoned.calls += 1
        return x * float("nan") if poisoned.calls >= 12 else x

    poisoned.calls = 0
    G, D = ganlab.toy_gan(2, hidden=8, depth=1)
    with pytest.raises(ganlab.TrainingDiverged, match="diverged at step 12: loss_d") as info:
        ganlab.train(G, D, poisoned, FAST)
    assert info.value.step == 12


def test_a_generator_with_nan_weights_fails_at_step_1():
    G, D = ganlab.toy_gan(2, hidden=8, depth=1)
    with torch.no_grad():
        G.net[0].weight.fill_(float("nan"))
    with pytest.raises(ganlab.TrainingDiverged, match="step 1:"):
        ganlab.train(G, D, ganlab.ring().sample, FAST)


def test_history_metric_lookup_error():
    _, _, h = run(dataclasses.replace(FAST, num_steps=2))
    with pytest.raises(KeyError, match="no metric 'fid'; recorded: none"):
        h.metric("fid")


def test_fit_discriminator_approaches_d_star():
    from ganlab import theory
    from ganlab.training import fit_discriminator

    # Two overlapping Gaussians: D*(x) = sigmoid(-2x), and the best loss is log 4 - 2 JSD(p, q).
    p, q = ganlab.mixture_1d([-1.0], [1.0]), ganlab.mixture_1d([1.0], [1.0])
    torch.manual_seed(0)
    D = ganlab.MLPDiscriminator(1, hidden=32, depth=2)
    losses = fit_discriminator(D, p.sample, q.sample, num_steps=500, batch_size=256)
    assert len(losses) == 500
    assert sum(losses[-50:]) / 50 == pytest.approx(math.log(4) - 2 * theory.jsd(p, q), abs=0.03)
    x = torch.linspace(-2, 2, 81)[:, None]
    d = torch.sigmoid(D(x)).detach().numpy()
    d_star = theory.optimal_discriminator(p, q)(x.numpy())
    assert abs(d_star - 1 / (1 + math.e ** (2 * x[:, 0].double().numpy()))).max() < 1e-12
    assert abs(d - d_star).max() < 0.05
    with pytest.raises(ValueError, match="num_steps"):
        fit_discriminator(D, p.sample, q.sample, num_steps=0)
