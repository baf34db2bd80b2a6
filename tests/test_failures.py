"""ganlab.failures and the chapter 7 self-checks: settings built as documented, runs deterministic,
closed forms for the gradient norm and the swing, the healthy setting beating the collapse setting,
and bad input raising ValueError."""

import dataclasses
import math

import numpy as np
import pytest
import torch
from torch import nn

import ganlab
from ganlab import failures, metrics
from ganlab.exercises import check_diagnosis, check_mode_coverage, diagnosis_quiz
from ganlab.exercises.ch07 import _coverage_cases
from ganlab.training import History

RING = ganlab.ring()


def hidden_sizes(module):
    return [layer.out_features for layer in module.net if isinstance(layer, nn.Linear)][:-1]


def test_every_setting_builds_its_models_and_config():
    assert failures.NAMES == (
        "healthy",
        "collapse_under_capacity",
        "collapse_fast_d",
        "oscillation",
        "d_too_strong",
        "d_too_weak",
    )
    for name in failures.NAMES:
        setting = failures.get(name)
        G, D, cfg = failures.build(name, RING, seed=5)
        assert hidden_sizes(G) == [setting.g_hidden] * setting.g_depth
        assert hidden_sizes(D) == [setting.d_hidden] * setting.d_depth
        assert G.latent_dim == setting.latent_dim and G(torch.zeros(3, G.latent_dim)).shape == (
            3,
            2,
        )
        assert cfg == dataclasses.replace(failures.BASELINE, **setting.overrides, seed=5)
    assert failures.get("healthy").overrides == {}
    osc = failures.build("oscillation", RING)[2]
    assert (osc.lr_g, osc.lr_d, osc.betas, osc.batch_real) == (
        5e-3,
        5e-3,
        (0.9, 0.999),
        failures.BASELINE.batch_real,
    )
    strong = failures.build("d_too_strong", RING, num_steps=7)[2]
    assert (strong.loss, strong.lr_d / strong.lr_g, strong.num_steps) == ("minimax", 50.0, 7)


def test_models_are_seeded():
    G1, D1, _ = failures.build("healthy", RING, seed=1)
    G2, D2, _ = failures.build("healthy", RING, seed=1)
    G3, _, _ = failures.build("healthy", RING, seed=2)
    assert all(
        torch.equal(a, b) for a, b in zip(G1.state_dict().values(), G2.state_dict().values())
    )
    assert all(
        torch.equal(a, b) for a, b in zip(D1.state_dict().values(), D2.state_dict().values())
    )
    assert not torch.equal(G1.net[0].weight, G3.net[0].weight)


@pytest.mark.parametrize("name", failures.NAMES)
def test_each_setting_runs_a_few_steps_deterministically(name):
    G1, _, h1 = failures.run(name, RING, seed=3, num_steps=15)
    G2, _, h2 = failures.run(name, RING, seed=3, num_steps=15)
    assert h1.step == list(range(1, 16))
    assert h1.loss_d == h2.loss_d and h1.loss_g == h2.loss_g and h1.d_fake == h2.d_fake
    assert all(
        torch.equal(a, b) for a, b in zip(G1.state_dict().values(), G2.state_dict().values())
    )
    assert h1.config["loss"] == failures.get(name).config().loss


def modes_after(name, seed, num_steps):
    """Modes captured (2,500 samples, CoverageTracker's fixed noise) after num_steps of setting
    name.
    """
    tracker = metrics.CoverageTracker(RING, every=num_steps)
    _, _, history = failures.run(name, RING, seed=seed, num_steps=num_steps, callbacks=[tracker])
    return history.metric("modes")[1][-1]


def test_healthy_beats_collapse_on_modes_captured():
    # Seed 2, 800 steps, measured: healthy 8 of 8 modes, collapse 1 (chapter 7 shows every seed).
    healthy, collapse = (
        modes_after("healthy", 2, 800),
        modes_after("collapse_under_capacity", 2, 800),
    )
    assert healthy >= 6 and collapse <= 2 and healthy - collapse >= 4


def test_generator_grad_norm_matches_a_closed_form():
    class Shift(nn.Module):  # G(z) = z + theta
        latent_dim = 2

        def __init__(self):
            super().__init__()
            self.theta = nn.Parameter(torch.tensor([0.3, -0.2]))

        def forward(self, z):
            return z + self.theta

    w, b = torch.tensor([1.5, -2.0]), 0.4

    def D(x):  # a linear logit w·x + b
        return x @ w + b

    G = Shift()
    z = torch.randn(256, 2, generator=torch.Generator().manual_seed(9))
    d_fake = torch.sigmoid(D(z + G.theta.detach()))
    # d/dtheta of mean(-log D) is -mean(1 - D)·w; of mean(log(1 - D)) it is -mean(D)·w
    expected_ns = float((1 - d_fake).mean() * w.norm())
    expected_mm = float(d_fake.mean() * w.norm())
    assert failures.generator_grad_norm(G, D, "nonsaturating", n=256, seed=9) == pytest.approx(
        expected_ns, rel=1e-5
    )
    assert failures.generator_grad_norm(G, D, "minimax", n=256, seed=9) == pytest.approx(
        expected_mm, rel=1e-5
    )
    assert G.theta.grad is None  # the measurement leaves G's gradients alone


def test_swing_is_the_std_of_the_second_half_of_the_d_loss():
    history = History(loss_d=[5.0] * 50 + [1.0, -1.0] * 25, d_fake=[0.5] * 100)
    assert failures.swing(history) == pytest.approx(1.0)
    assert failures.swing(History(loss_d=[1.3] * 10)) == 0.0
    assert failures.swing(history, tail=1.0) == pytest.approx(np.std(history.loss_d))


def test_grad_norm_tracker_logs_every_n_steps():
    tracker = failures.GradNormTracker("nonsaturating", every=5)
    _, _, history = failures.run("healthy", RING, seed=0, num_steps=12, callbacks=[tracker])
    steps, norms = history.metric("probe_grad_norm_g")
    assert steps == [5, 10] and all(v > 0 and math.isfinite(v) for v in norms)


def test_compare_tabulates_median_and_range_over_seeds():
    comparison = failures.compare(
        ["healthy", "d_too_strong"], RING, seeds=(0, 1), num_steps=20, n=500, track_every=10
    )
    assert comparison.settings == ["healthy", "d_too_strong"] and len(comparison.runs) == 4
    run = comparison.get("d_too_strong", 1)
    assert run.seed == 1 and run.history.metric("modes")[0] == [10, 20]
    values = comparison.values("healthy", "high_quality")
    assert values.shape == (2,) and np.all((0 <= values) & (values <= 1))
    row = comparison.summary()[0]
    med, lo, hi = row["d_fake"]
    assert lo <= med <= hi and med == pytest.approx(
        np.median(comparison.values("healthy", "d_fake"))
    )
    assert (
        run.value("d_fake") == run.d_fake
        and run.value("modes_captured") == run.coverage.modes_captured
    )
    table = str(comparison)
    assert "healthy" in table and "d_too_strong" in table and "median [min, max]" in table
    again = failures.compare(["healthy"], RING, seeds=(0,), num_steps=20, n=500, track_every=10)
    assert again.runs[0].coverage == comparison.runs[0].coverage


def test_compare_scores_runs_as_the_trackers_and_generator_coverage_do():
    comparison = failures.compare(
        ["healthy"], RING, seeds=(3,), num_steps=50, n=500, track_every=25
    )
    run = comparison.runs[0]
    assert run.coverage == metrics.generator_coverage(run.G, RING, 500)
    assert run.probe_grad_norm_g == failures.generator_grad_norm(run.G, run.D)
    # the trackers' last scores, at the last step, are the final scores: one noise convention
    for name, value in (
        ("modes", run.coverage.modes_captured),
        ("high_quality", run.coverage.high_quality),
        ("probe_grad_norm_g", run.probe_grad_norm_g),
    ):
        steps, values = run.history.metric(name)
        assert (steps[-1], values[-1]) == (50, value)


def test_batched_compare_agrees_with_one_run_at_a_time():
    names, seeds = ["healthy", "collapse_under_capacity", "d_too_strong"], (0, 1)
    kwargs = dict(num_steps=30, n=500, track_every=10)
    single = failures.compare(names, RING, seeds=seeds, **kwargs)
    batched = failures.compare(names, RING, seeds=seeds, batched=True, **kwargs)
    assert [(r.setting, r.seed) for r in batched.runs] == [(r.setting, r.seed) for r in single.runs]
    for a, b in zip(single.runs, batched.runs):
        assert a.coverage.modes_captured == b.coverage.modes_captured
        assert abs(a.coverage.high_quality - b.coverage.high_quality) < 0.01
        assert abs(a.d_real - b.d_real) < 1e-4 and abs(a.d_fake - b.d_fake) < 1e-4
        assert abs(a.swing - b.swing) < 1e-4
        assert np.isclose(a.probe_grad_norm_g, b.probe_grad_norm_g, rtol=1e-3)
        assert b.history.metric("modes")[0] == [10, 20, 30]
    with pytest.raises(ValueError, match="no callbacks"):
        failures.compare(names, RING, batched=True, callbacks=lambda name, seed: [])


@pytest.mark.parametrize("batched", [False, True])
def test_compare_takes_the_seeds_of_each_setting(batched):
    kwargs = dict(num_steps=10, n=200, track_every=5, batched=batched)
    seeds = {"healthy": (0, 1, 2), "d_too_strong": (1,)}
    both = failures.compare(["healthy", "d_too_strong"], RING, seeds=seeds, **kwargs)
    assert [(r.setting, r.seed) for r in both.runs] == [
        ("healthy", 0),
        ("healthy", 1),
        ("healthy", 2),
        ("d_too_strong", 1),
    ]
    alone = failures.compare(["d_too_strong"], RING, seeds=(1,), **kwargs)
    assert alone.runs[0].coverage == both.runs[-1].coverage  # the same run, bit for bit
    assert alone.runs[0].d_fake == both.runs[-1].d_fake
    with pytest.raises(ValueError, match="give the seeds of every setting"):
        failures.compare(["healthy", "d_too_strong"], RING, seeds={"healthy": (0,)}, **kwargs)
    with pytest.raises(ValueError, match="seeds is empty"):
        failures.compare(["healthy"], RING, seeds={"healthy": ()}, **kwargs)


def test_a_custom_setting_runs_under_its_own_name():
    variant = dataclasses.replace(
        failures.get("collapse_under_capacity"), name="wide_G", g_hidden=16
    )
    comparison = failures.compare([variant], RING, seeds=(0,), num_steps=5, n=200, track_every=5)
    assert comparison.settings == ["wide_G"] and hidden_sizes(comparison.runs[0].G) == [16, 16]


def test_bad_input_raises_value_error_naming_the_choices():
    with pytest.raises(
        ValueError, match="unknown failure setting 'mode-collapse'; choose one of: healthy"
    ):
        failures.get("mode-collapse")
    with pytest.raises(ValueError, match="d_too_weak"):
        failures.run("collapse", RING)
    with pytest.raises(ValueError, match="unknown failure setting"):
        failures.compare(["healthy", "nope"], RING)
    with pytest.raises(ValueError, match="num_steps"):
        failures.build("healthy", RING, num_steps=0)
    with pytest.raises(ValueError, match="seeds is empty"):
        failures.compare(["healthy"], RING, seeds=())
    with pytest.raises(ValueError, match="tail"):
        failures.swing(History(loss_d=[1.0, 2.0]), tail=0)
    with pytest.raises(ValueError, match="empty"):
        failures.swing(History())
    comparison = failures.compare(["healthy"], RING, seeds=(0,), num_steps=2, n=100, track_every=2)
    with pytest.raises(ValueError, match="unknown metric 'modes'"):
        comparison.values("healthy", "modes")
    with pytest.raises(ValueError, match="no run of 'healthy' with seed 7"):
        comparison.get("healthy", 7)


# ---- chapter 7 self-checks ----


def right_coverage(samples, centers, std):
    dist = np.linalg.norm(samples[:, None] - centers[None], axis=2)
    hq = dist.min(axis=1) <= 3 * std
    return len(np.unique(dist.argmin(axis=1)[hq])), hq.mean()


def test_check_mode_coverage_accepts_the_protocol_and_agrees_with_ganlab():
    assert check_mode_coverage(right_coverage)
    for (
        samples,
        centers,
        std,
        modes,
        share,
    ) in _coverage_cases():  # the check's answers, against ganlab's metric
        ours = metrics.mode_coverage(samples, ganlab.GaussianMixture(centers, std))
        assert (ours.modes_captured, ours.high_quality) == (modes, pytest.approx(share))
    samples = RING.sample(2500, torch.Generator().manual_seed(0)).numpy() * 1.02
    ours = metrics.mode_coverage(samples, RING)
    assert right_coverage(samples.astype(np.float64), RING.centers.numpy(), RING.std) == (
        ours.modes_captured,
        pytest.approx(ours.high_quality),
    )


@pytest.mark.parametrize(
    "wrong, says",
    [
        (
            lambda s, c, std: (
                len(np.unique(np.linalg.norm(s[:, None] - c[None], axis=2).argmin(1))),
                0.5,
            ),
            "only by a *high-quality* sample",
        ),
        (
            lambda s, c, std: (right_coverage(s, c, std)[0], right_coverage(s, c, std)[1] * len(s)),
            "divide the count by N",
        ),
        (lambda s, c, std: right_coverage(s, c, std / 3), "1 std"),
        (lambda s, c, std: right_coverage(s, c, 2 * std / 3), "2 std"),
        (lambda s, c, std: right_coverage(s, c, std**2), "not variances"),
        (lambda s, c, std: (0, 0.0), "expected"),
        (lambda s, c, std: 1 / 0, "ZeroDivisionError"),
    ],
)
def test_check_mode_coverage_names_the_mistake(wrong, says):
    result = check_mode_coverage(wrong)
    assert not result and says in result.message


def test_diagnosis_quiz_and_check():
    comparison = failures.compare(
        failures.NAMES, RING, seeds=(0,), num_steps=3, n=100, track_every=3
    )
    quiz = diagnosis_quiz(comparison, seed=0)
    # one run of each setting but the second collapse (it shows the same measurements as the first)
    assert sorted(quiz) == list("ABCDE") and sorted(r.setting for r in quiz.values()) == sorted(
        set(failures.NAMES) - {"collapse_fast_d"}
    )
    truth = {letter: run.setting for letter, run in quiz.items()}
    assert check_diagnosis(truth)
    wrong = dict(truth, A=truth["B"], B=truth["A"])
    result = check_diagnosis(wrong)
    assert not result and result.message.startswith("3 of 5 right") and "A:" in result.message
    assert "B:" in result.message and "C:" not in result.message
    assert "missing: E" in check_diagnosis({k: v for k, v in truth.items() if k != "E"}).message
    assert "unknown names" in check_diagnosis(dict(truth, C="collapse")).message
    assert not check_diagnosis(["healthy"] * 5)


def test_run_trains_on_one_cpu_thread_and_restores_the_thread_count():
    before = torch.get_num_threads()
    seen = []
    try:
        torch.set_num_threads(2)
        record = lambda *args: seen.append(torch.get_num_threads())  # noqa: E731
        failures.run("healthy", RING, seed=0, num_steps=2, callbacks=[record])
        assert seen == [1, 1] and torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)
