"""The helpers chapter 11 calls: a look inside spectral normalisation (ganlab.models.spectral) and
the class accuracy of a conditional generator (ganlab.quality.class_accuracy)."""

import numpy as np
import pytest
import torch
from torch import nn

import ganlab
from ganlab.models import settle_spectral_norm, spectral_sigmas
from ganlab.quality import class_accuracy


def _svd_top(weight):
    return torch.linalg.svdvals(weight.detach().flatten(1))[0].item()


def test_spectral_sigmas_reads_raw_and_normalised_sigma_without_stepping():
    _, D = ganlab.toy_gan(2, hidden=16, depth=2, seed=0, spectral_norm=True)
    buffers = [b.clone() for b in D.buffers()]
    sigmas = spectral_sigmas(D)
    # every Linear layer of the MLP is normalised, in module order
    assert list(sigmas) == [n for n, m in D.named_modules() if isinstance(m, nn.Linear)]
    assert len(sigmas) == 3
    for name, (raw, normalised) in sigmas.items():
        layer = D.get_submodule(name)
        assert raw == pytest.approx(_svd_top(layer.parametrizations.weight.original), rel=1e-6)
        assert normalised >= 1 - 1e-4  # the estimate of σ(W) approaches from below
        assert normalised < 1.5
    # reading ran no power-iteration step and kept the training mode
    assert D.training
    assert all(torch.equal(a, b) for a, b in zip(buffers, D.buffers()))
    assert spectral_sigmas(D) == sigmas
    # a raw weight three times as large: σ(W) triples, the normalised layer does not change
    first = D.get_submodule(next(iter(sigmas)))
    with torch.no_grad():
        first.parametrizations.weight.original.mul_(3)
    raw, normalised = spectral_sigmas(D)[next(iter(sigmas))]
    assert raw == pytest.approx(3 * sigmas[next(iter(sigmas))][0], rel=1e-5)
    assert normalised == pytest.approx(sigmas[next(iter(sigmas))][1], rel=1e-5)


def test_spectral_sigmas_of_an_unnormalised_model_is_empty():
    _, D = ganlab.toy_gan(2, hidden=16, depth=2, seed=0)
    assert spectral_sigmas(D) == {}


def test_settle_spectral_norm_runs_the_iteration_without_training():
    _, D = ganlab.toy_gan(2, hidden=16, depth=2, seed=0, spectral_norm=True)
    weights = [p.clone() for p in D.parameters()]
    x = torch.randn(32, 2, generator=torch.Generator().manual_seed(0))
    u_before = [b.clone() for name, b in D.named_buffers() if name.endswith("_u")]
    assert settle_spectral_norm(D, x, steps=300) is D
    assert not D.training  # eval mode: reading the weights runs no further step
    assert all(torch.equal(a, b) for a, b in zip(weights, D.parameters()))  # nothing trained
    u_after = [b for name, b in D.named_buffers() if name.endswith("_u")]
    assert any(not torch.equal(a, b) for a, b in zip(u_before, u_after))  # the vectors moved
    for _, normalised in spectral_sigmas(D).values():
        assert normalised == pytest.approx(1.0, abs=1e-3)  # converged: σ(W / estimate) = 1
    with pytest.raises(ValueError, match="steps"):
        settle_spectral_norm(D, x, steps=0)


def test_settle_spectral_norm_takes_labels_for_a_conditional_d():
    _, D = ganlab.dcgan(
        8,
        channels=1,
        image_size=16,
        width=8,
        seed=0,
        num_classes=3,
        spectral_norm=True,
        batchnorm_D=False,
    )
    x, y = torch.randn(4, 1, 16, 16), torch.tensor([0, 1, 2, 0])
    settle_spectral_norm(D, x, y, steps=100)
    sigmas = spectral_sigmas(D)
    assert "embed" in sigmas  # the projection's class vectors are normalised too
    assert all(abs(s - 1) < 0.01 for _, s in sigmas.values())


class _LabelPainter(nn.Module):
    """A stand-in conditional G: every pixel of ``G(z, y)`` is ``(y + shift) % K``."""

    def __init__(self, num_classes=4, shift=0):
        super().__init__()
        self.num_classes, self.latent_dim, self.shift = num_classes, 2, shift
        self.scale = nn.Parameter(torch.ones(()))

    def forward(self, z, y):
        value = ((y + self.shift) % self.num_classes).float() * self.scale
        return value.view(-1, 1, 1, 1).expand(len(z), 1, 8, 8)


class _MeanReader(nn.Module):
    """A stand-in classifier: class ``round(mean pixel)``, or always ``fixed``."""

    def __init__(self, num_classes=4, fixed=None):
        super().__init__()
        self.num_classes, self.fixed = num_classes, fixed
        self.bias = nn.Parameter(torch.zeros(()))

    def forward(self, x):
        mean = x.mean((1, 2, 3)) + self.bias
        if self.fixed is not None:
            mean = torch.full_like(mean, float(self.fixed))
        return -((mean[:, None] - torch.arange(self.num_classes)) ** 2)


def test_class_accuracy_per_class():
    accuracy = class_accuracy(_LabelPainter(), _MeanReader(), n=10, seed=0)
    assert isinstance(accuracy, np.ndarray) and accuracy.shape == (4,)
    np.testing.assert_array_equal(accuracy, [1, 1, 1, 1])  # G obeys its label
    np.testing.assert_array_equal(class_accuracy(_LabelPainter(shift=1), _MeanReader(), n=10), 0)
    np.testing.assert_array_equal(
        class_accuracy(_LabelPainter(), _MeanReader(fixed=2), n=5), [0, 0, 1, 0]
    )


def test_class_accuracy_leaves_the_classifier_as_it_was():
    net = _MeanReader().train()
    class_accuracy(_LabelPainter(), net, n=3)
    assert net.training
    with pytest.raises(ValueError, match="n must be"):
        class_accuracy(_LabelPainter(), net, n=0)


def test_class_accuracy_matches_quality_accuracy_on_a_real_pair():
    G, _ = ganlab.dcgan(8, channels=1, image_size=16, width=8, seed=0, num_classes=3)
    net = ganlab.quality.FeatureNet(1, 3, width=4, feature_dim=8).eval()
    accuracy = class_accuracy(G, net, n=20, seed=11)
    for k in range(3):
        x = ganlab.models.sample_class(G, k, n=20, seed=11)
        expected = ganlab.quality.accuracy(net, x, torch.full((20,), k))
        assert accuracy[k] == pytest.approx(expected, abs=1e-6)
