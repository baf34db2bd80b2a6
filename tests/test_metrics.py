import math

import pytest
import torch

import ganlab
from ganlab import metrics
from ganlab.metrics import jsd_1d, mode_coverage


def test_true_samples_capture_all_modes():
    mix = ganlab.ring()
    cov = mode_coverage(mix.sample(2500, torch.Generator().manual_seed(0)), mix)
    assert cov.modes_captured == 8 and cov.n_modes == 8
    assert cov.high_quality == pytest.approx(1 - math.exp(-4.5), abs=0.01)  # P(|N(0, I₂)| ≤ 3)
    assert cov.reverse_kl < 0.01


def test_one_mode():
    mix = ganlab.grid()
    cov = mode_coverage(mix.centers[3].repeat(100, 1), mix)
    assert cov.modes_captured == 1 and cov.high_quality == 1.0
    assert cov.reverse_kl == pytest.approx(math.log(25))  # KL(δ_k ‖ uniform over 25)
    assert cov.counts[3] == 100 and sum(cov.counts) == 100


def test_off_mode_noise_is_not_high_quality():
    mix = ganlab.ring()
    between = torch.zeros(50, 2)  # the centre of the ring is 2 away from every mode
    cov = mode_coverage(between, mix)
    assert cov.modes_captured == 0 and cov.high_quality == 0.0 and cov.reverse_kl == math.inf
    half = torch.cat([mix.centers[:4].repeat(25, 1).float(), between])
    cov = mode_coverage(half, mix)
    assert cov.modes_captured == 4 and cov.high_quality == pytest.approx(100 / 150)
    assert cov.reverse_kl == pytest.approx(math.log(2))  # uniform on half of the modes


def test_n_std_widens_the_high_quality_ball():
    mix = ganlab.ring(std=0.1)
    x = mix.centers[:1].float() + torch.tensor([[0.35, 0.0]])  # 3.5 std from mode 0
    assert mode_coverage(x, mix).modes_captured == 0
    assert mode_coverage(x, mix, n_std=4).modes_captured == 1


def test_bad_samples():
    mix = ganlab.ring()
    with pytest.raises(ValueError, match=r"shape \(N, 2\)"):
        mode_coverage(torch.zeros(10, 3), mix)
    with pytest.raises(ValueError, match="NaN"):
        mode_coverage(torch.full((10, 2), float("nan")), mix)
    with pytest.raises(ValueError):
        mode_coverage(torch.zeros(10, 2), mix, n_std=0)


def test_jsd_1d_estimates():
    mix = ganlab.bimodal_1d()
    same = mix.sample(20000, torch.Generator().manual_seed(0))
    assert jsd_1d(same, mix) < 0.01
    assert jsd_1d(same, mix, method="kde") < 0.02
    one_mode = ganlab.mixture_1d([-2.0], [0.5]).sample(20000, torch.Generator().manual_seed(1))
    exact = ganlab.theory.jsd(mix, ganlab.mixture_1d([-2.0], [0.5]))  # half the mass missing
    assert jsd_1d(one_mode, mix) == pytest.approx(exact, abs=0.01)
    far = torch.full((100, 1), 50.0)
    assert jsd_1d(far, mix) == pytest.approx(math.log(2), abs=1e-6)
    with pytest.raises(ValueError, match="unknown method"):
        jsd_1d(same, mix, method="knn")


def test_jsd_tracker_logs_the_jsd_of_g_samples_without_changing_the_run():
    from ganlab.metrics import JSDTracker

    target = ganlab.bimodal_1d()
    cfg = ganlab.TrainConfig(
        num_steps=40, batch_real=64, batch_fake=64, batch_g=64, progress=False, device="cpu"
    )
    runs = []
    for callbacks in ([], [JSDTracker(target, every=20, n=2000)]):
        G, D = ganlab.toy_gan(1, hidden=16, depth=2, seed=0)
        runs.append((ganlab.train(G, D, target.sample, cfg, callbacks), G))
    (plain, G0), (tracked, G1) = runs
    assert plain.loss_g == tracked.loss_g  # tracking draws from its own generator
    steps, values = tracked.metric("jsd")
    assert steps == [20, 40] and all(0 < v < math.log(2) for v in values)
    samples = ganlab.generate(G1, 2000, torch.Generator().manual_seed(1234))
    assert values[-1] == pytest.approx(jsd_1d(samples, target))
    with pytest.raises(ValueError, match="1D"):
        JSDTracker(ganlab.ring())


def test_generator_coverage_scores_g_on_fixed_cpu_noise_and_leaves_g_alone():
    mix = ganlab.ring()
    torch.manual_seed(0)
    G = torch.nn.Sequential(torch.nn.Linear(2, 8), torch.nn.BatchNorm1d(8), torch.nn.Linear(8, 2))
    G.latent_dim = 2
    before = {k: v.clone() for k, v in G.state_dict().items()}
    score = metrics.generator_coverage(G, mix, n=300, seed=5)
    assert all(torch.equal(before[k], v) for k, v in G.state_dict().items())
    history = ganlab.History()
    metrics.CoverageTracker(mix, every=1, n=300, seed=5)(1, G, None, history)
    assert history.metric("modes")[1] == [score.modes_captured]
    with torch.no_grad():  # in training mode, as the score runs it (this moves batch norm's stats)
        expected = metrics.mode_coverage(G(ganlab.models.fixed_noise(300, 2, 5)), mix)
    assert score == expected


def test_score_samples_of_a_conditional_g_draw_every_class_equally_often():
    G, _ = ganlab.toy_gan(2, hidden=8, depth=1, seed=0, num_classes=3)
    x = metrics.score_samples(G, n=7, seed=1)
    z = ganlab.models.fixed_noise(7, 2, 1)
    with torch.no_grad():
        assert torch.equal(x, G(z, torch.tensor([0, 1, 2, 0, 1, 2, 0])))
