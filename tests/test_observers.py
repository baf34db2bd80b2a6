"""Observers do not change the run they observe: every tracker and figure runs G and D ``frozen``.

With spectral norm (power-iteration vectors, updated by each training-mode forward pass) and batch
norm (running statistics) in both networks, a run with an observer called between steps must end
bit for bit where the same run without it ends.
"""

import pytest
import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

import ganlab
from ganlab import failures, gradients, grids, metrics, plots, quality
from ganlab.models import frozen

STEPS, EVERY = 6, 2


class Net(nn.Module):
    """A toy G (``latent_dim`` set) or D (``latent_dim`` None, one logit) with spectral norm and
    batch norm.
    """

    def __init__(self, in_dim, out_dim, latent_dim=None):
        super().__init__()
        self.latent_dim = latent_dim
        self.net = nn.Sequential(
            spectral_norm(nn.Linear(in_dim, 16)),
            nn.BatchNorm1d(16),
            nn.LeakyReLU(0.2),
            spectral_norm(nn.Linear(16, out_dim)),
        )

    def forward(self, x):
        out = self.net(x)
        return out if self.latent_dim is not None else out.squeeze(1)


def toy_pair(dim, seed=0):
    torch.manual_seed(seed)
    return Net(2, dim, latent_dim=2), Net(dim, 1)


def image_pair():
    return ganlab.dcgan(8, 1, 16, 8, seed=0, spectral_norm=True, spectral_norm_G=True)


DIGITS = ganlab.data.digits(16)
METRIC = quality.QualityMetric.from_data(DIGITS, num_samples=100, num_steps=20)
RING, BIMODAL = ganlab.ring(), ganlab.bimodal_1d()


def observe(fn):
    """A callback calling ``fn(G, D)`` every EVERY steps."""

    def callback(step, G, D, history):
        if step % EVERY == 0:
            fn(G, D)

    return callback


OBSERVERS = {  # name -> (data, model pair, callbacks factory)
    "CoverageTracker": ("ring", lambda: [metrics.CoverageTracker(RING, every=EVERY, n=200)]),
    "JSDTracker": ("bimodal", lambda: [metrics.JSDTracker(BIMODAL, every=EVERY, n=200)]),
    "GradientTracker": ("ring", lambda: [gradients.GradientTracker(every=EVERY)]),
    "GradNormTracker": ("ring", lambda: [failures.GradNormTracker(every=EVERY, n=64)]),
    "Snapshots 2D": ("ring", lambda: [plots.Snapshots(RING, every=EVERY, n=50, resolution=8)]),
    "Snapshots 1D": ("bimodal", lambda: [plots.Snapshots(BIMODAL, every=EVERY, n=50)]),
    "generate": ("ring", lambda: [observe(lambda G, D: ganlab.generate(G, 50))]),
    "discriminator_output": (
        "ring",
        lambda: [observe(lambda G, D: plots.discriminator_output(D, torch.zeros(5, 2)))],
    ),
    "gradients.measure": (
        "ring",
        lambda: [observe(lambda G, D: gradients.measure(G, D, torch.randn(20, 2)))],
    ),
    "plot_samples_2d": (
        "ring",
        lambda: [observe(lambda G, D: plots.plot_samples_2d(RING, G, D, n=50, resolution=8))],
    ),
    "GridSnapshots": ("digits", lambda: [grids.GridSnapshots(8, n=16, every=EVERY)]),
    "QualityTracker": ("digits", lambda: [quality.QualityTracker(METRIC, every=EVERY)]),
}


def run(data, callbacks):
    cfg = ganlab.TrainConfig(
        num_steps=STEPS, batch_real=32, batch_fake=32, batch_g=32, progress=False, log_every=1
    )
    if data == "digits":
        G, D = image_pair()
        sample = DIGITS.sample
    else:
        mixture = RING if data == "ring" else BIMODAL
        G, D = toy_pair(mixture.dim)
        sample = mixture.sample
    history = ganlab.train(G, D, sample, cfg, callbacks)
    return G, D, history


def same_run(a, b) -> bool:
    (G1, D1, h1), (G2, D2, h2) = a, b
    states = [(G1.state_dict(), G2.state_dict()), (D1.state_dict(), D2.state_dict())]
    return (h1.loss_d, h1.loss_g) == (h2.loss_d, h2.loss_g) and all(
        s1.keys() == s2.keys() and all(torch.equal(s1[k], s2[k]) for k in s1) for s1, s2 in states
    )


@pytest.mark.parametrize("name", list(OBSERVERS))
def test_an_observer_leaves_a_spectral_norm_and_batch_norm_run_bit_identical(name):
    data, callbacks = OBSERVERS[name]
    observed = run(data, callbacks())
    assert same_run(observed, run(data, []))
    assert observed[2].metrics or name not in ("CoverageTracker", "JSDTracker", "QualityTracker")


def test_the_check_catches_an_observer_that_runs_g_unfrozen():
    def peek(G, D):
        with torch.no_grad():
            G(torch.randn(50, 2))  # a training-mode forward: batch norm and spectral norm move

    assert not same_run(run("ring", [observe(peek)]), run("ring", []))


def test_frozen_restores_buffers_and_modes_of_every_submodule():
    G, D = toy_pair(2)
    G.net[1].eval()  # a submodule in another mode than its parent
    before = {k: v.clone() for k, v in G.state_dict().items()}
    with frozen(G, D, lambda x: x) as (g, d):
        assert g is G and d is D
        G.train()
        G(torch.randn(10, 2))
    assert all(torch.equal(before[k], v) for k, v in G.state_dict().items())
    assert G.training and not G.net[1].training
