"""ganlab.quality: Fréchet distance against closed forms and scipy, PRDC against a brute-force
oracle and constructed sets, the digit classifier's held-out accuracy, and the metric's floor on
digits.
"""

import importlib.util
import socket
from types import SimpleNamespace

import numpy as np
import pytest
import scipy.linalg
import torch
import torch.nn.functional as F

from ganlab import quality
from ganlab.quality import (
    METRICS,
    MetricUnavailable,
    QualityMetric,
    QualityTracker,
    accuracy,
    extract_features,
    frechet_distance,
    inception_fid,
    prdc,
    train_classifier,
)

# ---------------------------------------------------------------------------------------------
# Data: sklearn's 8x8 digits at 32x32 in [-1, 1], as ganlab.data.digits(image_size=32) gives them
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def digits():
    load_digits = pytest.importorskip("sklearn.datasets").load_digits
    d = load_digits()
    x = torch.tensor(d.images, dtype=torch.float32)[:, None] / 16 * 2 - 1  # (1797, 1, 8, 8)
    x = F.interpolate(x, size=32, mode="bilinear", align_corners=False)
    return x, torch.tensor(d.target)


@pytest.fixture(scope="module")
def split(digits):
    """1,200 images to fit the metric on, 597 held out that neither its classifier nor its halves
    saw.
    """
    x, y = digits
    perm = torch.randperm(len(x), generator=torch.Generator().manual_seed(123))
    train, test = perm[:1200], perm[1200:]
    return x[train], y[train], x[test], y[test]


@pytest.fixture(scope="module")
def metric(split):
    x, y, _, _ = split
    return QualityMetric(x, y, 10, seed=0, num_samples=500, device="cpu")


def _with_moments(n, mean, std, seed):
    """``n`` points whose sample mean is exactly ``mean`` and sample covariance exactly
    ``diag(std**2)``.
    """
    x = torch.randn(
        n, len(mean), generator=torch.Generator().manual_seed(seed), dtype=torch.float64
    )
    x = x - x.mean(0)
    chol = torch.linalg.cholesky(torch.cov(x.T))
    white = torch.linalg.solve_triangular(chol, x.T, upper=False).T  # sample covariance I
    return white * torch.tensor(std, dtype=torch.float64) + torch.tensor(mean, dtype=torch.float64)


# ---------------------------------------------------------------------------------------------
# Fréchet distance
# ---------------------------------------------------------------------------------------------


def test_frechet_distance_of_diagonal_gaussians_is_the_closed_form():
    m1, s1 = [0.0, 1.0, -2.0], [1.0, 0.5, 2.0]
    m2, s2 = [1.0, 1.0, 0.0], [2.0, 0.5, 0.1]
    a, b = _with_moments(500, m1, s1, 0), _with_moments(300, m2, s2, 1)
    # FD = |m1 - m2|^2 + sum (s1 - s2)^2 when both covariances are diagonal
    expected = sum((p - q) ** 2 for p, q in zip(m1, m2)) + sum((p - q) ** 2 for p, q in zip(s1, s2))
    assert frechet_distance(a, b) == pytest.approx(expected, rel=1e-9)  # 5 + 1 + 3.61 = 9.61
    assert frechet_distance(b, a) == pytest.approx(expected, rel=1e-9)


def test_frechet_distance_matches_scipy_sqrtm_for_full_covariances():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(400, 6)) @ rng.normal(size=(6, 6))
    b = rng.normal(size=(300, 6)) @ rng.normal(size=(6, 6)) + 0.5
    mu_a, mu_b, s_a, s_b = a.mean(0), b.mean(0), np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    oracle = np.sum((mu_a - mu_b) ** 2) + np.trace(
        s_a + s_b - 2 * scipy.linalg.sqrtm(s_a @ s_b).real
    )
    assert frechet_distance(a, b) == pytest.approx(oracle, rel=1e-8)
    assert frechet_distance(torch.tensor(b, dtype=torch.float32), a) == pytest.approx(
        oracle, rel=1e-5
    )


def test_frechet_distance_of_a_set_with_itself_is_zero_even_when_singular():
    rng = np.random.default_rng(1)
    a = rng.normal(size=(200, 8))
    assert frechet_distance(a, a) == pytest.approx(0.0, abs=1e-9)
    few = rng.normal(size=(10, 64))  # N < F: both covariances have rank 9
    assert frechet_distance(few, few) == pytest.approx(0.0, abs=1e-8)
    assert frechet_distance(few, few + 1.0) == pytest.approx(64.0, rel=1e-8)  # a pure mean shift


def test_frechet_distance_rejects_bad_shapes():
    with pytest.raises(ValueError, match="same feature size"):
        frechet_distance(np.zeros((5, 3)), np.zeros((5, 4)))
    with pytest.raises(ValueError, match=r"N >= 2"):
        frechet_distance(np.zeros((1, 3)), np.zeros((5, 3)))
    with pytest.raises(ValueError, match="NaN"):
        frechet_distance(np.full((5, 3), np.nan), np.zeros((5, 3)))


# ---------------------------------------------------------------------------------------------
# Precision, recall, density, coverage
# ---------------------------------------------------------------------------------------------


def _prdc_loops(real, fake, k):
    """Naeem et al. 2020, definition by definition, one point at a time."""

    def radii(s):
        return [sorted(np.linalg.norm(s - p, axis=1))[k] for p in s]  # index 0 is the point itself

    r_real, r_fake = radii(real), radii(fake)
    in_ball = [
        [np.linalg.norm(y - x) < r for x, r in zip(real, r_real)] for y in fake
    ]  # [fake][real]
    return {
        "precision": np.mean([any(row) for row in in_ball]),
        "recall": np.mean(
            [any(np.linalg.norm(x - y) < r for y, r in zip(fake, r_fake)) for x in real]
        ),
        "density": np.mean([sum(row) for row in in_ball]) / k,
        "coverage": np.mean([any(row[i] for row in in_ball) for i in range(len(real))]),
    }


@pytest.mark.parametrize("k", [1, 3, 5])
def test_prdc_matches_the_definitions(k):
    rng = np.random.default_rng(k)
    real, fake = rng.normal(size=(40, 3)), rng.normal(0.5, 1.2, size=(30, 3))
    got, expected = prdc(real, fake, k=k), _prdc_loops(real, fake, k)
    assert got == pytest.approx(expected, abs=1e-12)
    assert (
        0 < got["precision"] < 1 and 0 < got["coverage"] < 1
    )  # a case that exercises both branches


def test_prdc_of_identical_sets():
    real = np.random.default_rng(0).normal(size=(300, 4))
    # each real ball holds its centre and k - 1 other points, so density = k N / (k N) = 1 exactly
    assert prdc(real, real.copy(), k=5) == {
        "precision": 1.0,
        "recall": 1.0,
        "density": 1.0,
        "coverage": 1.0,
    }


def test_prdc_of_a_far_away_fake_set_is_zero():
    rng = np.random.default_rng(0)
    real, fake = rng.normal(size=(200, 4)), rng.normal(size=(200, 4)) + 100.0
    assert prdc(real, fake) == {"precision": 0.0, "recall": 0.0, "density": 0.0, "coverage": 0.0}


def test_prdc_of_a_fake_set_on_one_of_two_clusters():
    rng = np.random.default_rng(0)
    real = np.concatenate([rng.normal(size=(500, 2)), rng.normal(size=(500, 2)) + 20.0])
    fake = rng.normal(size=(500, 2))  # all on the first cluster: faithful but half as diverse
    s = prdc(real, fake)
    assert s["precision"] > 0.95
    assert s["recall"] == pytest.approx(0.5, abs=0.03) and s["coverage"] == pytest.approx(
        0.5, abs=0.03
    )


def test_prdc_needs_more_points_than_k():
    with pytest.raises(ValueError, match=r"N >= 6"):
        prdc(np.zeros((5, 2)), np.zeros((10, 2)), k=5)
    with pytest.raises(ValueError, match="k must be an integer >= 1, got 0"):
        prdc(np.zeros((10, 2)), np.zeros((10, 2)), k=0)


# ---------------------------------------------------------------------------------------------
# The classifier and the metric on digits
# ---------------------------------------------------------------------------------------------


def test_classifier_is_accurate_on_held_out_digits(metric, split):
    _, _, x_test, y_test = split
    assert accuracy(metric.net, x_test, y_test) >= 0.95  # measured: 0.99
    assert extract_features(metric.net, x_test[:7]).shape == (7, metric.net.feature_dim)


def test_floor_is_small_and_real_data_scores_near_it(metric, split):
    x, _, x_test, _ = split
    floor = metric.floor
    assert metric.num_samples == 500 and 0 < floor["fd"] < 15  # measured: 4.8
    assert all(floor[name] > 0.9 for name in ("precision", "recall", "coverage"))
    assert floor["density"] == pytest.approx(1.0, abs=0.15)
    # the half B the floor used scores exactly the floor; unseen real digits score near it
    assert metric(x[metric.index_b]) == pytest.approx(floor, rel=1e-6)
    held_out = metric(x_test)
    assert held_out["fd"] < 2 * floor["fd"]  # measured: 5.1 vs 4.8
    assert all(held_out[name] > 0.85 for name in ("precision", "recall", "coverage"))


def test_noise_and_mode_collapse_score_far_above_the_floor(metric, split):
    _, _, x_test, y_test = split
    floor = metric.floor
    noise = metric(torch.rand(500, 1, 32, 32, generator=torch.Generator().manual_seed(0)) * 2 - 1)
    assert noise["fd"] > 30 * floor["fd"] and noise["precision"] < 0.2 and noise["coverage"] < 0.05
    collapsed = metric(x_test[:1].repeat(500, 1, 1, 1))  # one digit, 500 times
    assert (
        collapsed["fd"] > 30 * floor["fd"]
        and collapsed["recall"] == 0
        and collapsed["coverage"] < 0.05
    )
    threes = x_test[y_test == 3]
    one_class = metric(
        threes.repeat(500 // len(threes) + 1, 1, 1, 1)
    )  # real 3s only: faithful, not diverse
    assert one_class["fd"] > 10 * floor["fd"]
    assert (
        one_class["precision"] > 0.8 and one_class["recall"] < 0.3 and one_class["coverage"] < 0.3
    )


def test_fd_grows_with_the_amount_of_corruption(metric, split):
    _, _, x_test, _ = split
    gen = torch.Generator().manual_seed(0)
    fds = [
        metric((x_test + sigma * torch.randn(x_test.shape, generator=gen)).clamp(-1, 1))["fd"]
        for sigma in (0.0, 0.2, 0.4)
    ]
    assert fds[0] < fds[1] < fds[2] and fds[2] > 5 * fds[0]  # measured on full digits: 5 < 20 < 100


def test_metric_checks_the_fake_images(metric):
    with pytest.raises(ValueError, match="num_samples=500"):
        metric(torch.zeros(499, 1, 32, 32))
    with pytest.raises(ValueError, match=r"\(M, 1, 32, 32\)"):
        metric(torch.zeros(500, 1, 16, 16))
    line = metric.describe(metric.floor)
    assert line.startswith("fd ") and line.count("(real ") == 5


def test_training_is_deterministic_per_seed_and_leaves_the_global_rng_alone(digits):
    x, y = digits[0][:200], digits[1][:200]
    state = torch.get_rng_state()
    a = QualityMetric(x, y, 10, seed=3, num_steps=10, device="cpu")
    assert torch.equal(torch.get_rng_state(), state)
    b = QualityMetric.from_data(
        SimpleNamespace(images=x, labels=y, num_classes=10), seed=3, num_steps=10, device="cpu"
    )
    c = QualityMetric(x, y, 10, seed=4, num_steps=10, device="cpu")
    assert a.num_samples == 100 and a.floor == b.floor and torch.equal(a.real_feats, b.real_feats)
    assert a.floor["fd"] != c.floor["fd"] and not torch.equal(a.index_a, c.index_a)


def test_feature_net_accepts_the_other_image_sizes():
    for size in (8, 16, 28, 64):
        x = torch.rand(20, 3, size, size) * 2 - 1
        net = train_classifier(x, torch.arange(20) % 2, 2, num_steps=2, device="cpu")
        assert extract_features(net, x, batch_size=7).shape == (20, net.feature_dim)


def test_bad_arguments():
    x = torch.zeros(20, 1, 32, 32)
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 9\]"):
        train_classifier(x, torch.full((20,), 10), 10, num_steps=1)
    with pytest.raises(ValueError, match="integer labels of shape"):
        train_classifier(x, torch.zeros(19, dtype=torch.long), 10, num_steps=1)
    with pytest.raises(ValueError, match=r"H, W >= 8"):
        train_classifier(
            torch.zeros(20, 1, 4, 4), torch.zeros(20, dtype=torch.long), 10, num_steps=1
        )
    with pytest.raises(ValueError, match="num_steps must be an integer >= 1, got 0"):
        train_classifier(x, torch.zeros(20, dtype=torch.long), 10, num_steps=0)
    with pytest.raises(ValueError, match=r"more than 2 \* \(k \+ 1\)"):
        QualityMetric(x[:10], torch.zeros(10, dtype=torch.long), 10, num_steps=1)


# ---------------------------------------------------------------------------------------------
# Inception FID: offline it fails fast with a reason; it never downloads in a test
# ---------------------------------------------------------------------------------------------


def _fake_find_spec(present):
    real = importlib.util.find_spec
    return lambda name, *a: (
        object()
        if name in present
        else (None if name in ("torchmetrics", "torch_fidelity") else real(name, *a))
    )


def test_inception_fid_raises_metric_unavailable_offline(monkeypatch, tmp_path):
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))  # no cached weights
    monkeypatch.setattr(quality, "_online", lambda *a, **k: False)
    assert issubclass(MetricUnavailable, RuntimeError)
    with pytest.raises(MetricUnavailable, match="torchmetrics|weights"):
        inception_fid(torch.zeros(4, 1, 32, 32), torch.zeros(4, 1, 32, 32))


def test_inception_reasons(monkeypatch, tmp_path):
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))
    monkeypatch.setattr(quality, "_online", lambda *a, **k: False)
    monkeypatch.setattr(importlib.util, "find_spec", _fake_find_spec(set()))
    assert "pip install 'torchmetrics[image]'" in quality.inception_unavailable_reason()
    monkeypatch.setattr(importlib.util, "find_spec", _fake_find_spec({"torchmetrics"}))
    assert quality.inception_unavailable_reason().startswith("torch-fidelity")
    monkeypatch.setattr(
        importlib.util, "find_spec", _fake_find_spec({"torchmetrics", "torch_fidelity"})
    )
    reason = quality.inception_unavailable_reason()
    assert "not cached" in reason and str(tmp_path) in reason and quality.INCEPTION_URL in reason
    (tmp_path / "checkpoints").mkdir()
    (tmp_path / "checkpoints" / quality.INCEPTION_WEIGHTS).write_bytes(b"")
    monkeypatch.setattr(
        quality, "_online", lambda *a, **k: pytest.fail("cached weights need no network")
    )
    assert quality.inception_unavailable_reason() is None


def test_online_is_false_for_a_closed_port():
    with (
        socket.socket() as s
    ):  # a local port that nothing listens on once closed: no network needed
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    assert quality._online("127.0.0.1", port, timeout=1.0) is False


def test_images_go_to_three_channels_in_unit_range():
    x = torch.tensor([-1.0, 0.0, 1.0, 3.0]).reshape(1, 1, 2, 2)
    rgb = quality._to_unit_rgb(x)
    assert rgb.shape == (1, 3, 2, 2) and torch.equal(
        rgb[0, 2].flatten(), torch.tensor([0.0, 0.5, 1.0, 1.0])
    )


def test_inception_fid_when_weights_are_cached(split):
    weights = quality.os.path.join(torch.hub.get_dir(), "checkpoints", quality.INCEPTION_WEIGHTS)
    if not quality.os.path.exists(weights) or quality.inception_unavailable_reason() is not None:
        pytest.skip(
            "torchmetrics[image] or its cached Inception weights are not here (tests never "
            "download)"
        )
    x, _, x_test, _ = split
    same, noise = (
        inception_fid(x[:100], x_test[:100], device="cpu"),
        inception_fid(x[:100], torch.rand(100, 1, 32, 32) * 2 - 1, device="cpu"),
    )
    assert 0 < same < noise


def test_tracker_logs_scores_and_keeps_the_best_generator(tmp_path):
    import copy

    import ganlab
    from ganlab.checkpoint import load_checkpoint
    from ganlab.models import DCGANGenerator, dcgan

    digits = ganlab.data.digits(16)
    metric = QualityMetric.from_data(digits, num_samples=200, num_steps=60)
    G, D = dcgan(8, 1, 16, 8)
    G_ema = copy.deepcopy(G)
    tracker = QualityTracker(metric, every=2, G_ema=G_ema, best_path=tmp_path / "best.pt")
    cfg = ganlab.TrainConfig(
        num_steps=6, batch_real=16, batch_fake=16, batch_g=16, progress=False, device="cpu"
    )
    history = ganlab.train(G, D, digits.sample, cfg, callbacks=[tracker], G_ema=G_ema)
    assert [s for s, _ in tracker.scores] == [2, 4, 6]
    assert history.metric("fd")[0] == [2, 4, 6] and set(history.metrics) == set(METRICS)
    best_step = min(tracker.scores, key=lambda s: s[1]["fd"])[0]
    assert tracker.best_step == best_step
    state = load_checkpoint(tmp_path / "best.pt")
    assert state["step"] == best_step and state["scores"]["fd"] == tracker.best["fd"]
    G_best = DCGANGenerator(**state["G_hparams"])
    G_best.load_state_dict(state["G"])
    if best_step == 6:  # the saved weights are the scored (EMA) generator's
        assert all(
            torch.equal(a, b)
            for a, b in zip(G_best.state_dict().values(), G_ema.state_dict().values())
        )
    z = ganlab.models.fixed_noise(200, 8, tracker.seed)
    assert metric(ganlab.models.render(G_best, z))["fd"] == pytest.approx(
        state["scores"]["fd"], rel=1e-6
    )
