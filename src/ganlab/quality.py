"""Image quality that works offline: a Fréchet distance and precision / recall / density / coverage
on the features of a small classifier that ganlab trains on the real data itself.

The Inception FID (Heusel et al. 2017) needs ImageNet weights from the internet and measures
natural-photo features; on 32x32 digits a classifier trained on the digits sees what matters
(strokes, class identity) and is small enough that training can call it every few hundred steps
on a CPU. ``QualityMetric`` holds that classifier, the real features, and the
*floor*: the same numbers between two disjoint halves of the real data, the best a generator can
expect with this many samples. :func:`inception_fid` gives the standard number when it can be had.

Precision, recall, density and coverage follow Naeem et al. 2020 ("Reliable fidelity and
diversity metrics for generative models") and their reference code, strict ``<`` included.
"""

from __future__ import annotations

import importlib.util
import os
import socket

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F
from tqdm.auto import tqdm

from ._checks import positive, positive_int
from .checkpoint import generator_state, save_checkpoint
from .models import fixed_noise, frozen, render, sample_class
from .profiles import default_device

# ---------------------------------------------------------------------------------------------
# The feature network
# ---------------------------------------------------------------------------------------------


class FeatureNet(nn.Module):
    """A small CNN classifier for images ``(N, C, H, W)`` in ``[-1, 1]``, any ``H, W >= 8``.

    ``features(x)`` gives the penultimate activations ``(N, feature_dim)``; ``forward(x)`` the class
    logits ``(N, num_classes)``. Three stride-2 convolutions and an adaptive pool to 4x4 make the
    same net work at 8, 16, 28, 32 and 64 pixels; at 32x32 it costs about 1.2 M multiply-adds per
    image.
    """

    def __init__(self, in_channels: int, num_classes: int, width: int = 16, feature_dim: int = 64):
        super().__init__()
        for name, value in (
            ("in_channels", in_channels),
            ("num_classes", num_classes),
            ("width", width),
            ("feature_dim", feature_dim),
        ):
            positive_int(name, value)
        self.in_channels, self.num_classes, self.feature_dim = in_channels, num_classes, feature_dim
        self.body = nn.Sequential(
            nn.Conv2d(in_channels, width, 4, 2, 1),
            nn.BatchNorm2d(width),
            nn.ReLU(),  # (w) x H/2 x W/2
            nn.Conv2d(width, 2 * width, 4, 2, 1),
            nn.BatchNorm2d(2 * width),
            nn.ReLU(),  # (2w) x H/4 x W/4
            nn.Conv2d(2 * width, 4 * width, 4, 2, 1),
            nn.BatchNorm2d(4 * width),
            nn.ReLU(),  # (4w) x H/8 x W/8
            nn.AdaptiveAvgPool2d(4),
            nn.Flatten(),  # (4w * 16): the same size whatever H, W
            nn.Linear(4 * width * 16, feature_dim),
            nn.ReLU(),  # (feature_dim): the features
        )
        self.head = nn.Linear(feature_dim, num_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Penultimate activations ``(N, feature_dim)`` of images ``x`` ``(N, C, H, W)``."""
        if x.ndim != 4 or x.shape[1] != self.in_channels or min(x.shape[2:]) < 8:
            raise ValueError(
                f"FeatureNet expects images of shape (N, {self.in_channels}, H, W) with H, W >= 8, "
                f"got {tuple(x.shape)}"
            )
        return self.body(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Class logits ``(N, num_classes)``."""
        return self.head(self.features(x))


def _check_images(
    images, labels=None, num_classes=None
) -> tuple[torch.Tensor, torch.Tensor | None]:
    x = torch.as_tensor(images)
    if x.ndim != 4 or x.shape[0] == 0 or min(x.shape[2:]) < 8:
        raise ValueError(
            f"expected images of shape (N, C, H, W) with N >= 1 and H, W >= 8, got {tuple(x.shape)}"
        )
    x = x.float()
    if not torch.isfinite(x).all():
        raise ValueError("images contain NaN or infinite values")
    if labels is None:
        return x, None
    y = torch.as_tensor(labels)
    if y.shape != (x.shape[0],) or y.dtype.is_floating_point:
        raise ValueError(
            f"expected integer labels of shape ({x.shape[0]},), got {y.dtype} {tuple(y.shape)}"
        )
    y = y.long()
    if y.min() < 0 or y.max() >= num_classes:
        raise ValueError(
            f"labels must lie in [0, {num_classes - 1}] for num_classes={num_classes}, "
            f"got values in [{int(y.min())}, {int(y.max())}]"
        )
    return x, y


def train_classifier(
    images,
    labels,
    num_classes: int,
    num_steps: int = 300,
    batch_size: int = 64,
    lr: float = 2e-3,
    seed: int = 0,
    device: str | None = None,
    progress: bool = False,
) -> FeatureNet:
    """Train a :class:`FeatureNet` on ``images`` ``(N, C, H, W)`` in ``[-1, 1]`` with integer
    ``labels`` ``(N,)``.

    Adam on cross-entropy, minibatches of ``batch_size`` drawn with replacement. No augmentation:
    features that ignore, say, a shift would let a generator that draws shifted digits go unseen.
    Deterministic for a ``seed`` on a CPU; the global torch RNG is left as it was. Returns the net
    in eval mode. (Its accuracy and time on the digits: ``bench/README.md``.)
    """
    positive_int("num_classes", num_classes)
    positive_int("num_steps", num_steps)
    positive_int("batch_size", batch_size)
    positive("lr", lr)
    x_real, y = _check_images(images, labels, num_classes)
    device = device or default_device()
    with torch.random.fork_rng(
        devices=[]
    ):  # seed the weight init without touching the caller's RNG
        torch.manual_seed(seed)
        net = FeatureNet(x_real.shape[1], num_classes).to(device)
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    net.train()
    for _ in tqdm(range(num_steps), desc="train feature net", disable=not progress):
        idx = torch.randint(0, len(x_real), (batch_size,), generator=gen)
        x = x_real[idx].to(device)
        loss = F.cross_entropy(net(x), y[idx].to(device))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return net.eval()


@torch.no_grad()
def extract_features(net: FeatureNet, images, batch_size: int = 512) -> torch.Tensor:
    """Features ``(N, feature_dim)`` float32 on the CPU of ``images`` ``(N, C, H, W)``; eval mode,
    no grad.
    """
    positive_int("batch_size", batch_size)
    x, _ = _check_images(images)
    was_training = net.training
    net.eval()
    device = next(net.parameters()).device
    feats = torch.cat(
        [net.features(x[i : i + batch_size].to(device)).cpu() for i in range(0, len(x), batch_size)]
    )
    net.train(was_training)
    return feats


@torch.no_grad()
def accuracy(net: FeatureNet, images, labels, batch_size: int = 512) -> float:
    """Share of ``images`` that ``net`` classifies as their ``labels``, in ``[0, 1]``."""
    x, y = _check_images(images, labels, net.num_classes)
    was_training = net.training
    net.eval()
    device = next(net.parameters()).device
    pred = torch.cat(
        [
            net(x[i : i + batch_size].to(device)).argmax(1).cpu()
            for i in range(0, len(x), batch_size)
        ]
    )
    net.train(was_training)
    return float((pred == y).double().mean())


# ---------------------------------------------------------------------------------------------
# Distances between feature sets
# ---------------------------------------------------------------------------------------------


def _as_features(feats, name: str, min_rows: int = 2) -> torch.Tensor:
    f = torch.as_tensor(
        feats.detach().cpu() if isinstance(feats, torch.Tensor) else feats, dtype=torch.float64
    )
    if f.ndim != 2 or f.shape[0] < min_rows:
        raise ValueError(
            f"{name} must have shape (N, F) with N >= {min_rows}, got {tuple(f.shape)}"
        )
    if not torch.isfinite(f).all():
        raise ValueError(f"{name} contains NaN or infinite values")
    return f


def _psd_eigh(s: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Eigenvalues and vectors of a symmetric PSD matrix, with the rounding noise of its null space
    set to 0.

    A zero eigenvalue comes out as +-1e-16 times the largest; its square root, 1e-8, would add up
    over many null directions (dead features, N < F), so values below ``F * eps * max`` count as 0.
    """
    w, v = torch.linalg.eigh((s + s.T) / 2)
    tol = s.shape[0] * torch.finfo(s.dtype).eps * w.abs().max()
    return torch.where(w > tol, w, 0.0), v


def frechet_distance(feats_a, feats_b) -> float:
    """Fréchet distance between Gaussians fitted to ``feats_a`` ``(N, F)`` and ``feats_b``
    ``(M, F)``.

    ``FD = ||mu_a - mu_b||^2 + Tr(S_a + S_b - 2 (S_a S_b)^{1/2})`` with unbiased covariances, in
    float64. ``(S_a S_b)^{1/2}`` is similar to ``S_a^{1/2} S_b S_a^{1/2}``, which is symmetric PSD,
    so its trace is the sum of the square roots of that matrix's eigenvalues: no complex ``sqrtm``,
    and stable when the covariances are singular (N < F, or dead features).
    """
    a, b = _as_features(feats_a, "feats_a"), _as_features(feats_b, "feats_b")
    if a.shape[1] != b.shape[1]:
        raise ValueError(
            f"feats_a and feats_b need the same feature size, got {a.shape[1]} and {b.shape[1]}"
        )
    mu_a, mu_b = a.mean(0), b.mean(0)
    s_a, s_b = (
        torch.cov(a.T).reshape(a.shape[1], -1),
        torch.cov(b.T).reshape(b.shape[1], -1),
    )  # (F, F)
    w_a, v_a = _psd_eigh(s_a)
    root_a = (v_a * w_a.sqrt()) @ v_a.T  # S_a^{1/2}
    tr_sqrt = _psd_eigh(root_a @ s_b @ root_a)[0].sqrt().sum()  # Tr (S_a S_b)^{1/2}
    fd = (mu_a - mu_b).square().sum() + s_a.trace() + s_b.trace() - 2 * tr_sqrt
    return max(float(fd), 0.0)  # rounding can leave -1e-12 for identical sets


def _kth_neighbour_distance(x: torch.Tensor, k: int) -> torch.Tensor:
    """``(N,)`` distance from each row of ``x`` to its k-th nearest other row."""
    d = torch.cdist(x, x)
    return d.kthvalue(
        k + 1, dim=1
    ).values  # the k+1-th smallest: the smallest is the point itself (0)


def prdc(real_feats, fake_feats, k: int = 5) -> dict[str, float]:
    """Precision, recall, density and coverage of ``fake_feats`` ``(M, F)`` against ``real_feats``
    ``(N, F)``.

    With ``B(x, r)`` the open ball and ``r_k(x)`` the distance from x to its k-th nearest neighbour
    in its own set (Naeem et al. 2020):

    - precision: share of fakes inside some real ball ``B(x_i, r_k(x_i))`` (fidelity);
    - recall: share of reals inside some fake ball ``B(y_j, r_k(y_j))`` (diversity);
    - density: mean number of real balls holding a fake, divided by k (1 for a copy of the
      reals, above 1 when fakes crowd where reals are dense);
    - coverage: share of real balls holding at least one fake (diversity, robust to outliers).

    Precision, recall and coverage lie in ``[0, 1]``, density in ``[0, N/k]``. Needs ``N, M > k``;
    memory grows as ``N * M`` (a few thousand points each is fine).
    """
    positive_int("k", k)
    x = _as_features(real_feats, "real_feats", k + 1)
    y = _as_features(fake_feats, "fake_feats", k + 1)
    if x.shape[1] != y.shape[1]:
        raise ValueError(
            f"real_feats and fake_feats need the same feature size, got {x.shape[1]} and "
            f"{y.shape[1]}"
        )
    r_real = _kth_neighbour_distance(x, k)  # (N,)
    r_fake = _kth_neighbour_distance(y, k)  # (M,)
    d = torch.cdist(x, y)  # (N, M): real i to fake j
    inside_real = d < r_real[:, None]  # fake j in the ball of real i
    return {
        "precision": float(inside_real.any(0).double().mean()),
        "recall": float((d < r_fake[None, :]).any(1).double().mean()),
        "density": float(inside_real.double().sum(0).mean() / k),
        "coverage": float(inside_real.any(1).double().mean()),
    }


# ---------------------------------------------------------------------------------------------
# The metric a training run calls
# ---------------------------------------------------------------------------------------------

METRICS = ("fd", "precision", "recall", "density", "coverage")


class QualityMetric:
    """Fit once on real images; then ``metric(fake_images)`` scores generated images against them.

    The constructor trains a :class:`FeatureNet` on all of ``images`` ``(N, C, H, W)`` in
    ``[-1, 1]`` and ``labels`` ``(N,)``, splits the real set at random into two disjoint halves A
    and B of ``num_samples`` images each (at most ``N // 2``), and keeps the features of A as the
    reference. ``floor`` holds the metrics of B against A: what real data scores, the line a
    generated value should be read beside. ``metric(fake_images)`` scores the first ``num_samples``
    fakes against A, so its numbers and the floor have the same sample sizes and the same bias.

    Lower ``fd`` is better; higher precision / recall / coverage are better, and density near 1.
    The feature scale depends on the trained net, so compare numbers from one ``QualityMetric``
    (same data and seed), never across seeds. Typical floors and timings on the digits are in
    ``bench/README.md``.
    """

    def __init__(
        self,
        images,
        labels,
        num_classes: int,
        seed: int = 0,
        num_samples: int = 1000,
        k: int = 5,
        num_steps: int = 300,
        device: str | None = None,
        progress: bool = False,
    ):
        positive_int("num_samples", num_samples)
        positive_int("k", k)
        x_real, y = _check_images(images, labels, num_classes)
        n = min(num_samples, len(x_real) // 2)
        if n <= k:
            raise ValueError(
                f"need more than 2 * (k + 1) = {2 * (k + 1)} real images for k={k}, got "
                f"{len(x_real)}"
            )
        self.num_samples, self.k, self.image_shape = n, k, tuple(x_real.shape[1:])
        self.net = train_classifier(
            x_real, y, num_classes, num_steps=num_steps, seed=seed, device=device, progress=progress
        )
        perm = torch.randperm(len(x_real), generator=torch.Generator().manual_seed(seed))
        self.index_a, self.index_b = perm[:n], perm[n : 2 * n]  # disjoint halves of the real set
        self.real_feats = extract_features(
            self.net, x_real[self.index_a]
        )  # (n, feature_dim): reference A
        self.floor = self._score(extract_features(self.net, x_real[self.index_b]))

    @classmethod
    def from_data(cls, data, **kwargs) -> QualityMetric:
        """Build from anything with ``.images``, ``.labels`` and ``.num_classes`` (a
        ``ganlab.data.ImageData``).
        """
        return cls(data.images, data.labels, data.num_classes, **kwargs)

    def _score(self, fake_feats: torch.Tensor) -> dict[str, float]:
        return {
            "fd": frechet_distance(self.real_feats, fake_feats),
            **prdc(self.real_feats, fake_feats, self.k),
        }

    def __call__(self, fake_images) -> dict[str, float]:
        """Metrics of ``fake_images`` ``(M, C, H, W)``, ``M >= num_samples``, against the real half
        A.

        Returns ``{"fd", "precision", "recall", "density", "coverage"}``; compare with ``floor``.
        """
        x_fake, _ = _check_images(fake_images)
        if tuple(x_fake.shape[1:]) != self.image_shape:
            raise ValueError(
                f"fake images must have shape (M, {', '.join(map(str, self.image_shape))}) like "
                f"the real ones, got {tuple(x_fake.shape)}"
            )
        if len(x_fake) < self.num_samples:
            raise ValueError(
                f"need at least num_samples={self.num_samples} fake images so that the numbers are "
                f"comparable with the floor, got {len(x_fake)}"
            )
        return self._score(extract_features(self.net, x_fake[: self.num_samples]))

    def describe(self, scores: dict[str, float]) -> str:
        """One line: each metric of ``scores`` with the real-vs-real floor beside it."""
        return " | ".join(
            f"{name} {scores[name]:.3g} (real {self.floor[name]:.3g})" for name in METRICS
        )


class QualityTracker:
    """A training callback: every ``every`` steps, score ``num_samples`` images of G from fixed
    noise.

    Each score of ``metric`` (``fd``, ``precision``, ...) is logged in the History under its name;
    ``scores`` keeps ``(step, dict)``. With ``G_ema`` the average generator is scored instead of G.
    With ``best_path``, the scored generator is saved there (atomically, loadable with
    ``weights_only=True`` and by ``python -m ganlab sample``) whenever its Fréchet distance is the
    lowest so far: GAN samples can get worse late in training, and the best one is kept.
    The scored generator is left as it was (``render`` runs it :func:`~ganlab.models.frozen`).
    """

    def __init__(
        self,
        metric: QualityMetric,
        every: int = 500,
        G_ema: nn.Module | None = None,
        best_path=None,
        seed: int = 4321,
    ):
        positive_int("every", every)
        self.metric, self.every, self.G_ema, self.best_path, self.seed = (
            metric,
            every,
            G_ema,
            best_path,
            seed,
        )
        self.scores: list[tuple[int, dict[str, float]]] = []
        self.best: dict[str, float] | None = None
        self.best_step: int | None = None

    def __call__(self, step, G, D, history) -> None:
        if step % self.every:
            return
        model = self.G_ema if self.G_ema is not None else G
        z = fixed_noise(self.metric.num_samples, model.latent_dim, self.seed)
        classes = getattr(model, "num_classes", None)  # a conditional G: every class equally often
        y = None if not classes else torch.arange(len(z)) % classes
        scores = self.metric(render(model, z, y=y))
        self.scores.append((step, scores))
        for name, value in scores.items():
            history.log_metric(name, step, value)
        if self.best is None or scores["fd"] < self.best["fd"]:
            self.best, self.best_step = scores, step
            if self.best_path is not None:
                state = generator_state(model, step, scores=scores, ema=self.G_ema is not None)
                save_checkpoint(state, self.best_path)


# ---------------------------------------------------------------------------------------------
# The standard Inception FID, when it can be had
# ---------------------------------------------------------------------------------------------


class MetricUnavailable(RuntimeError):
    """A metric cannot be computed here (a package or its weights are missing); the message says how
    to get it.
    """


# torchmetrics' FID runs torch-fidelity's InceptionV3, which torch.hub caches under this name
INCEPTION_WEIGHTS = "weights-inception-2015-12-05-6726825d.pth"
INCEPTION_URL = (
    f"https://github.com/toshas/torch-fidelity/releases/download/v0.2.0/{INCEPTION_WEIGHTS}"
)


def _online(host: str = "github.com", port: int = 443, timeout: float = 3.0) -> bool:
    """True when a TCP connection to ``host`` opens within ``timeout`` seconds."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def inception_unavailable_reason() -> str | None:
    """Why :func:`inception_fid` cannot run here, or ``None`` when it can. Fails fast: at most ~3 s
    offline.
    """
    for module, what in (
        ("torchmetrics", "torchmetrics"),
        ("torch_fidelity", "torch-fidelity (its InceptionV3)"),
    ):
        if importlib.util.find_spec(module) is None:
            return (
                f"{what} is not installed; pip install 'torchmetrics[image]' to use the "
                "Inception FID"
            )
    weights = os.path.join(torch.hub.get_dir(), "checkpoints", INCEPTION_WEIGHTS)
    if not os.path.exists(weights) and not _online():
        return (
            f"the Inception weights are not cached at {weights} and github.com cannot be reached; "
            f"run once online, or download {INCEPTION_URL} to that path"
        )
    return None


def _to_unit_rgb(x: torch.Tensor) -> torch.Tensor:
    """Images in ``[-1, 1]`` with 1 or 3 channels -> 3 channels in ``[0, 1]``, as torchmetrics'
    ``normalize=True`` wants.
    """
    x = ((x + 1) / 2).clamp(0, 1)
    return x.expand(-1, 3, -1, -1) if x.shape[1] == 1 else x


def inception_fid(
    real_images, fake_images, device: str | None = None, batch_size: int = 100
) -> float:
    """The standard FID (Inception-v3 pool features, 2048-d) between image sets ``(N, C, H, W)`` in
    ``[-1, 1]``.

    Uses ``torchmetrics.image.fid.FrechetInceptionDistance``; images are upsampled to 299x299
    inside it, so expect seconds per hundred images on a CPU. Raises :class:`MetricUnavailable`
    when torchmetrics, torch-fidelity or the weights cannot be had (checked first, without
    hanging on a download). Published FIDs use 50,000 samples; fewer give larger values.
    """
    positive_int("batch_size", batch_size)
    reason = inception_unavailable_reason()
    if reason is not None:
        raise MetricUnavailable(reason)
    from torchmetrics.image.fid import FrechetInceptionDistance

    x_real, _ = _check_images(real_images)
    x_fake, _ = _check_images(fake_images)
    if x_real.shape[1] not in (1, 3) or x_fake.shape[1] not in (1, 3):
        raise ValueError(
            f"the Inception FID needs 1 or 3 channels, got {x_real.shape[1]} and {x_fake.shape[1]}"
        )
    device = device or default_device()
    fid = FrechetInceptionDistance(feature=2048, normalize=True).to(device)
    for x, real in ((x_real, True), (x_fake, False)):
        for i in range(0, len(x), batch_size):
            fid.update(_to_unit_rgb(x[i : i + batch_size]).to(device), real=real)
    return float(fid.compute())


# ---------------------------------------------------------------------------------------------
# A conditional generator's labels
# ---------------------------------------------------------------------------------------------


@torch.no_grad()
def class_accuracy(G: nn.Module, net: nn.Module, n: int = 100, seed: int = 1234) -> np.ndarray:
    """Does a conditional G draw the class it is asked for? Entry ``k`` of the returned
    ``(G.num_classes,)`` array is the share, in ``[0, 1]``, of the ``n`` samples
    ``sample_class(G, k, n, seed)`` that the classifier ``net`` (``QualityMetric.net``, trained on
    the real data) assigns to class ``k``; chance is ``1 / num_classes``.

    The same ``seed`` gives every class the same noise. ``net`` runs in eval mode in one batch per
    class on its own device; G and ``net`` are left as they were.
    """
    positive_int("n", n)
    device = next(net.parameters()).device
    shares = []
    with frozen(net):
        net.eval()
        for k in range(G.num_classes):
            predicted = net(sample_class(G, k, n=n, seed=seed).to(device)).argmax(1).cpu()
            shares.append((predicted == k).float().mean().item())
    return np.array(shares)
