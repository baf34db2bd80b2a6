import dataclasses
import math

import numpy as np
import pytest
import torch

import ganlab
from ganlab import batched, sweep
from ganlab.metrics import CoverageTracker, ModeCoverage, generator_coverage

FAST = ganlab.TrainConfig(
    num_steps=30,
    batch_real=48,
    batch_fake=40,
    batch_g=32,
    log_every=7,
    progress=False,
    device="cpu",
)
SMALL = dict(hidden=16, depth=2)
TOL = 1e-5  # batched and single matrix products may round differently in the last bit


def alone(seed, cfg=FAST, mixture=None, callbacks=(), **changes):
    """The single run a member must reproduce: toy_gan + train with the member's settings."""
    mixture = mixture or ganlab.ring()
    G, D = ganlab.toy_gan(mixture.dim, hidden=SMALL["hidden"], depth=SMALL["depth"], seed=seed)
    history = ganlab.train(
        G, D, mixture.sample, dataclasses.replace(cfg, seed=seed, **changes), callbacks
    )
    return G, D, history


def assert_same_run(history, G, D, result, i):
    member = result.histories[i]
    assert member.step == history.step
    assert member.config == history.config
    for name in ("loss_d", "loss_g", "d_real", "d_fake"):
        np.testing.assert_allclose(
            getattr(member, name), getattr(history, name), rtol=0, atol=TOL, err_msg=name
        )
    G_i, D_i = result.member(i)
    for mine, theirs in zip(
        [*G_i.parameters(), *D_i.parameters()], [*G.parameters(), *D.parameters()]
    ):
        torch.testing.assert_close(mine, theirs, rtol=0, atol=TOL)


def test_each_member_equals_train_alone_with_its_seed_lr_and_k():
    seeds, lr_g, lr_d, k_disc = (0, 1, 2), (1e-3, 1e-3, 3e-3), (1e-3, 5e-3, 1e-3), (1, 3, 2)
    result = sweep.run(
        ganlab.ring(), seeds, FAST, lr_g=lr_g, lr_d=lr_d, k_disc=k_disc, coverage_n=300, **SMALL
    )
    assert result.seeds == seeds and result.lr_d == lr_d and result.k_disc == k_disc
    assert result.diverged == (None, None, None)
    for i, seed in enumerate(seeds):
        G, D, history = alone(seed, lr_g=lr_g[i], lr_d=lr_d[i], k_disc=k_disc[i])
        assert_same_run(history, G, D, result, i)
    # The runs really differ from each other, so the comparison above could have failed.
    assert abs(result.histories[0].loss_d[-1] - result.histories[1].loss_d[-1]) > 1e-3


def test_coverage_is_mode_coverage_of_each_members_samples_and_tracking_matches_coverage_tracker():
    mix = ganlab.grid(side=3)
    cfg = dataclasses.replace(FAST, num_steps=20)
    result = sweep.run(mix, (4, 5), cfg, coverage_n=400, coverage_seed=7, track_every=10, **SMALL)
    assert len(result.coverage) == 2
    for i, seed in enumerate((4, 5)):
        G, _ = result.member(i)
        expected = generator_coverage(G, mix, 400, 7)  # the score train's trackers give
        assert result.coverage[i].modes_captured == expected.modes_captured
        assert result.coverage[i].counts == expected.counts
        assert result.coverage[i].n_modes == 9
        _, _, history = alone(seed, cfg, mix, [CoverageTracker(mix, every=10, n=400, seed=7)])
        for name in ("modes", "high_quality"):
            steps, values = result.histories[i].metric(name)
            assert steps == [10, 20]
            np.testing.assert_allclose(values, history.metric(name)[1], atol=2 / 400)
    assert result.modes().tolist() == [c.modes_captured for c in result.coverage]


def test_a_zero_step_size_freezes_that_player_only():
    result = sweep.run(
        ganlab.ring(), (3, 3), FAST, lr_d=(0.0, 1e-3), lr_g=(1e-3, 0.0), coverage_n=100, **SMALL
    )
    G0, D0 = ganlab.toy_gan(2, seed=3, **SMALL)
    (G_a, D_a), (G_b, D_b) = result.member(0), result.member(1)

    def moved(m, m0):
        return max((p - q).abs().max().item() for p, q in zip(m.parameters(), m0.parameters()))

    assert moved(D_a, D0) == 0 and moved(G_b, G0) == 0
    assert moved(G_a, G0) > 1e-3 and moved(D_b, D0) > 1e-3


def test_diverging_members_are_marked_at_trains_step_and_the_others_go_on():
    cfg = dataclasses.replace(FAST, log_every=3, batch_real=32, batch_fake=32, batch_g=32)
    steps = []
    for change in (
        dict(lr_g=1e12),
        dict(lr_d=1e12),
    ):  # G's samples overflow at step 4; D's logits at step 1
        with pytest.raises(ganlab.TrainingDiverged) as err:
            alone(1, cfg, **change)
        steps.append(err.value.step)
    assert steps == [4, 1]
    result = sweep.run(
        ganlab.ring(),
        (0, 1, 1),
        cfg,
        lr_g=(1e-3, 1e12, 1e-3),
        lr_d=(1e-3, 1e-3, 1e12),
        coverage_n=200,
        track_every=2,
        **SMALL,
    )
    assert result.diverged == (None, 4, 1)
    assert result.histories[1].step == [1, 2, 3] and result.histories[2].step == []
    # Member 1's samples are already infinite at step 2, so nothing is logged; member 2's coverage
    # at step 2 was logged before the flush at step 3 noticed the divergence at step 1, and is
    # dropped.
    assert result.histories[1].metrics == {}
    assert result.histories[2].metrics == {"modes": [], "high_quality": [], "reverse_kl": []}
    assert [c.modes_captured for c in result.coverage[1:]] == [0, 0]
    assert result.coverage[2].reverse_kl == float("inf")
    G, D, history = alone(0, cfg)
    assert_same_run(history, G, D, result, 0)
    assert [row["share_diverged"] for row in result.summary()] == [0.0, 1.0, 1.0]


def test_batched_adam_is_torch_adam_member_by_member_bit_for_bit():
    torch.manual_seed(0)
    n, lrs = 4, [1e-3, 1e-2, 0.0, 3e-4]
    params = [torch.randn(n, 5, 3, requires_grad=True), torch.randn(n, 1, 5, requires_grad=True)]
    singles = [[p.detach()[i].clone().requires_grad_() for p in params] for i in range(n)]
    opts = [torch.optim.Adam(ps, lr=lr, betas=(0.5, 0.999)) for ps, lr in zip(singles, lrs)]
    adam = batched.BatchedAdam(params, lrs, betas=(0.5, 0.999))
    for it in range(25):
        grads = [torch.randn_like(p) for p in params]
        active = np.array([True, it % 3 > 0, True, it % 2 == 0])  # members 1 and 3 skip some steps
        adam.step(grads, None if active.all() else active)
        for i in np.flatnonzero(active):
            for p, g in zip(singles[i], grads):
                p.grad = g[i].clone()
            opts[i].step()
    for i in range(n):
        for p, single in zip(params, singles[i]):
            assert torch.equal(p.detach()[i], single.detach())
    assert adam.steps.tolist() == [25, 16, 25, 13]


def test_members_real_samples_are_mixture_sample_stacked_and_a_member_sitting_out_draws_nothing():
    mix = ganlab.GaussianMixture(
        [[0, 0], [3, 1], [-2, 5]], stds=[0.1, 0.5, 2.0], weights=[0.2, 0.3, 0.5]
    )

    def gens():
        return [torch.Generator().manual_seed(s) for s in (0, 1, 2)]

    expected = torch.stack([mix.sample(50, g) for g in gens()])
    assert torch.equal(
        batched.sample_members(mix, 50, gens(), np.array([True, True, True])), expected
    )
    g = gens()
    out = batched.sample_members(mix, 50, g, np.array([True, False, True]))
    assert torch.equal(out[[0, 2]], expected[[0, 2]])
    assert torch.equal(mix.sample(50, g[1]), expected[1])  # member 1's generator was not used


def test_stacked_mlp_maps_each_slice_through_its_own_network():
    pairs = [ganlab.toy_gan(2, hidden=8, depth=3, seed=s) for s in range(3)]
    stacked = batched.StackedMLP([D for _, D in pairs], torch.device("cpu"))
    x = torch.randn(3, 10, 2)
    out = stacked(x)
    assert out.shape == (3, 10, 1)
    for i, (_, D) in enumerate(pairs):
        torch.testing.assert_close(out[i, :, 0], D(x[i]), rtol=1e-6, atol=1e-6)
    assert stacked.size == 3 and len(stacked.parameters()) == 8


def test_summary_and_table_give_statistics_over_seeds_per_setting():
    mix = ganlab.ring()

    def cov(k):
        return ModeCoverage(k, 8, k / 8, 0.1, (1,) * k + (0,) * (8 - k))

    modes = [8, 8, 6, 0, 2, 3]
    result = sweep.SweepResult(
        histories=[ganlab.History() for _ in modes],
        coverage=[cov(k) for k in modes],
        seeds=(0, 1, 2, 3, 0, 1),
        lr_g=(1e-3,) * 6,
        lr_d=(1e-3,) * 4 + (1e-2,) * 2,
        k_disc=(1,) * 6,
        diverged=(None, None, None, 7, None, None),
        mixture=mix,
        wall_time=1.0,
        G=None,
        D=None,
        templates=None,
    )
    first, second = result.summary()
    assert (first["lr_d"], first["members"], second["lr_d"], second["members"]) == (
        1e-3,
        4,
        1e-2,
        2,
    )
    assert first["modes_median"] == 7 and first["modes_q1"] == 4.5 and first["modes_q3"] == 8
    assert (first["modes_min"], first["modes_max"]) == (0, 8)
    assert first["share_all_modes"] == 0.5 and first["share_diverged"] == 0.25
    assert second["modes_median"] == 2.5 and second["share_all_modes"] == 0
    assert first["high_quality_median"] == pytest.approx(7 / 8)
    text = str(result)
    assert "7 [4.5, 8]" in text and "0-8" in text and "50%" in text and "25%" in text
    assert [row["seed"] for row in result.members()] == [0, 1, 2, 3, 0, 1]


def test_cross_lists_every_combination_seeds_fastest():
    assert sweep.cross(range(3), lr_d=[1e-4, 1e-3]) == {
        "seeds": [0, 1, 2, 0, 1, 2],
        "lr_d": [1e-4] * 3 + [1e-3] * 3,
    }
    both = sweep.cross([5], lr_g=[1, 2], k_disc=[1, 5])
    assert list(zip(both["seeds"], both["lr_g"], both["k_disc"])) == [
        (5, 1, 1),
        (5, 1, 5),
        (5, 2, 1),
        (5, 2, 5),
    ]
    with pytest.raises(ValueError, match="lr_d is empty"):
        sweep.cross(range(2), lr_d=[])


def test_custom_models_are_stacked_and_mismatched_ones_refused():
    setting = ganlab.failures.get("collapse_under_capacity")
    cfg = dataclasses.replace(FAST, num_steps=3)
    result = sweep.run(
        ganlab.ring(), (0, 1), cfg, models=lambda s: setting.models(2, s), coverage_n=50
    )
    G, D = result.member(1)
    assert G.net[0].out_features == setting.g_hidden and D.net[0].out_features == setting.d_hidden
    with pytest.raises(ValueError, match="same architecture"):
        sweep.run(
            ganlab.ring(),
            (1, 2),
            cfg,
            models=lambda s: ganlab.toy_gan(2, hidden=8 * s),
            coverage_n=50,
        )
    with pytest.raises(ValueError, match=r"models\(seed\) must return"):
        sweep.run(
            ganlab.ring(),
            (1,),
            cfg,
            models=lambda s: (torch.nn.Linear(2, 2), torch.nn.Linear(2, 1)),
        )
    with pytest.raises(ValueError, match="dimension 1"):
        sweep.run(ganlab.bimodal_1d(), (1,), cfg, models=lambda s: ganlab.toy_gan(2))


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(seeds=()), "seeds is empty"),
        (dict(seeds=(0, 1.5)), "seeds must be integers"),
        (dict(seeds=(0, 1), lr_g=(1e-3,)), "lr_g has 1 values for 2 seeds"),
        (dict(seeds=(0, 1), lr_d=(1e-3, -1.0)), "lr_d must be a finite number >= 0, got -1.0"),
        (dict(seeds=(0,), lr_d=(float("nan"),)), "lr_d must be a finite number >= 0"),
        (dict(seeds=(0, 1), k_disc=(1, 0)), "k_disc must be an integer >= 1, got 0"),
        (dict(seeds=(0,), coverage_n=0), "coverage_n must be an integer >= 1"),
        (dict(seeds=(0,), track_every=0), "track_every must be an integer >= 1"),
        (dict(seeds=(0,), hidden=0), "hidden must be an integer >= 1"),
    ],
)
def test_bad_arguments_name_the_value_and_what_is_allowed(kwargs, match):
    with pytest.raises(ValueError, match=match):
        sweep.run(ganlab.ring(), cfg=FAST, **kwargs)


@pytest.mark.parametrize(
    "change",
    [dict(reuse_fake=True), dict(checkpoint_path="run.pt"), dict(bf16=True), dict(cuda_graph=True)],
)
def test_single_run_options_are_refused_by_name(change):
    name, value = next(iter(change.items()))
    with pytest.raises(ValueError, match=f"does not support cfg.{name}={value!r}"):
        sweep.run(ganlab.ring(), (0,), dataclasses.replace(FAST, **change))


def test_bad_mixture_and_member_index():
    with pytest.raises(ValueError, match="GaussianMixture"):
        sweep.run(lambda n, gen: torch.zeros(n, 2), (0,), FAST)
    result = sweep.run(
        ganlab.ring(), (0,), dataclasses.replace(FAST, num_steps=1), coverage_n=10, **SMALL
    )
    with pytest.raises(ValueError, match=r"member index must be an integer in \[0, 1\), got 1"):
        result.member(1)
    assert len(result) == 1 and result.steps_per_second > 0


@pytest.mark.parametrize("option", [dict(num_classes=3), dict(spectral_norm=True)])
def test_models_with_options_the_stack_cannot_train_are_refused(option):
    with pytest.raises(ValueError, match="sweep trains plain MLPs only; these models use"):
        ganlab.sweep.run(
            ganlab.ring(),
            [0],
            ganlab.TrainConfig(num_steps=2, progress=False),
            models=lambda s: ganlab.toy_gan(2, hidden=8, depth=1, seed=s, **option),
        )


@pytest.mark.parametrize(
    "cfg",
    [
        ganlab.TrainConfig(loss="wgan"),
        ganlab.TrainConfig(loss="wgan-gp"),
        ganlab.TrainConfig(r1=1.0),
    ],
)
def test_clipping_and_penalties_are_left_to_single_runs(cfg):
    with pytest.raises(ValueError, match="sweep.run does not"):
        ganlab.sweep.run(ganlab.ring(), [0], cfg)


def test_start_continues_each_member_from_an_earlier_run():
    first = sweep.run(ganlab.ring(), (0, 1), FAST, coverage_n=100, **SMALL)
    frozen = sweep.run(
        ganlab.ring(), (5, 6), FAST, lr_g=(0.0, 0.0), lr_d=(0.0, 0.0), start=first, coverage_n=100
    )
    for i in range(2):  # nothing moved: member i is first's member i, weights and all
        for a, b in zip(first.member(i), frozen.member(i)):
            assert all(
                torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values())
            )
    assert [c.counts for c in frozen.coverage] == [c.counts for c in first.coverage]
    moved = sweep.run(ganlab.ring(), (5, 6), FAST, start=first, coverage_n=100)
    G_first, G_moved = first.member(0)[0], moved.member(0)[0]
    assert not torch.equal(G_first.net[0].weight, G_moved.net[0].weight)  # trained on from there
    with pytest.raises(ValueError, match="start has 2 members, but 3 seeds"):
        sweep.run(ganlab.ring(), (0, 1, 2), FAST, start=first)
    with pytest.raises(ValueError, match="models or start, not both"):
        sweep.run(
            ganlab.ring(),
            (0, 1),
            FAST,
            start=first,
            models=lambda s: ganlab.toy_gan(2, seed=s, **SMALL),
        )


def _result_state(result):
    """Everything a sweep computes, as plain values and tensors, for exact comparison."""
    return (
        [h.loss_d for h in result.histories],
        [h.metrics for h in result.histories],
        result.coverage,
        [p.clone() for p in [*result.G.parameters(), *result.D.parameters()]],
    )


def test_run_many_in_worker_processes_equals_one_after_another_bit_for_bit():
    jobs = [
        dict(mixture=ganlab.ring(), seeds=[0, 1], cfg=FAST, track_every=10, **SMALL),
        dict(mixture=ganlab.grid(), seeds=[2], cfg=dataclasses.replace(FAST, k_disc=2), **SMALL),
        dict(mixture=ganlab.ring(), seeds=[3], cfg=FAST, lr_g=[5e-4], **SMALL),
    ]
    here = sweep.run_many(jobs, workers=1)
    apart = sweep.run_many(jobs, workers=2)
    assert [len(r) for r in apart] == [2, 1, 1]  # in the order of the jobs
    assert apart[1].mixture.n_modes == 25 and apart[2].lr_g == (5e-4,)
    for a, b in zip(here, apart):
        loss_a, modes_a, cov_a, params_a = _result_state(a)
        loss_b, modes_b, cov_b, params_b = _result_state(b)
        assert loss_a == loss_b and modes_a == modes_b and cov_a == cov_b
        assert all(torch.equal(p, q) for p, q in zip(params_a, params_b))
    assert torch.get_num_threads() >= 1  # restored, whatever it was


def test_run_many_keeps_the_callers_thread_count_and_refuses_what_cannot_travel():
    torch.set_num_threads(2)
    try:
        sweep.run_many([dict(mixture=ganlab.ring(), seeds=[0], cfg=FAST, **SMALL)], workers=1)
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(1)
    lam = dict(
        mixture=ganlab.ring(), seeds=[0], cfg=FAST, models=lambda s: ganlab.toy_gan(2, seed=s)
    )
    with pytest.raises(ValueError, match=r"jobs\[1\] cannot be sent to a worker process"):
        sweep.run_many([dict(mixture=ganlab.ring(), seeds=[0], cfg=FAST), lam], workers=2)
    with pytest.raises(ValueError, match=r"jobs\[0\] must be a dict"):
        sweep.run_many([("not", "a dict")])
    with pytest.raises(ValueError, match="workers"):
        sweep.run_many([], workers=0)


def test_run_many_trains_one_after_another_where_processes_cannot_fork(monkeypatch):
    monkeypatch.setattr(ganlab.parallel.sys, "platform", "darwin")
    monkeypatch.setattr(ganlab.parallel, "ProcessPoolExecutor", None)  # fails if it is used
    job = dict(
        mixture=ganlab.ring(), seeds=[0], cfg=FAST, models=lambda s: ganlab.toy_gan(2, seed=s)
    )
    results = sweep.run_many([job, job], workers=2)  # a lambda is fine: nothing is pickled
    assert [len(r) for r in results] == [1, 1]
    assert results[0].histories[0].loss_d == results[1].histories[0].loss_d


def test_a_sweep_records_the_processor_time_of_its_training():
    result = sweep.run(ganlab.ring(), [0, 1], FAST, **SMALL)
    assert math.isfinite(result.cpu_time) and result.cpu_time > 0
    apart = sweep.run_many([dict(mixture=ganlab.ring(), seeds=[0], cfg=FAST, **SMALL)] * 2)
    assert all(math.isfinite(r.cpu_time) and r.cpu_time > 0 for r in apart)  # the worker's own
