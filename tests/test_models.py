import pytest
import torch

import ganlab


def test_shapes_and_logits():
    G = ganlab.MLPGenerator(latent_dim=3, out_dim=2, hidden=16, depth=2)
    D = ganlab.MLPDiscriminator(in_dim=2, hidden=16, depth=2)
    x = G(torch.randn(5, 3))
    assert x.shape == (5, 2)
    logits = D(x)
    assert logits.shape == (5,)
    assert not isinstance(D.net[-1], torch.nn.Sigmoid)  # a logit, not a probability
    assert sum(isinstance(m, torch.nn.Linear) for m in G.net) == 3  # depth hidden layers + output


def test_dimension_mismatch_is_a_clear_error():
    G, D = ganlab.toy_gan(2, latent_dim=2)
    with pytest.raises(
        ValueError, match=r"MLPGenerator expects inputs of shape \(N, 2\), got \(4, 3\)"
    ):
        G(torch.randn(4, 3))
    with pytest.raises(ValueError, match="MLPDiscriminator"):
        D(torch.randn(4, 1))


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(latent_dim=0, out_dim=2),
        dict(latent_dim=2, out_dim=2, hidden=-1),
        dict(latent_dim=2.5, out_dim=2),
        dict(latent_dim=2, out_dim=2, depth=0),
    ],
)
def test_bad_sizes(kwargs):
    with pytest.raises(ValueError):
        ganlab.MLPGenerator(**kwargs)


def test_toy_gan_is_seeded_and_leaves_the_global_rng_alone():
    torch.manual_seed(1)
    before = torch.rand(1)
    torch.manual_seed(1)
    G1, _ = ganlab.toy_gan(2, seed=3)
    after = torch.rand(1)
    G2, _ = ganlab.toy_gan(2, seed=3)
    G3, _ = ganlab.toy_gan(2, seed=4)
    assert torch.equal(before, after)
    assert all(torch.equal(a, b) for a, b in zip(G1.parameters(), G2.parameters()))
    assert not torch.equal(next(G1.parameters()), next(G3.parameters()))


def test_generate_has_no_grad_and_is_seeded():
    G, _ = ganlab.toy_gan(2)
    a = ganlab.generate(G, 10, torch.Generator().manual_seed(0))
    b = ganlab.generate(G, 10, torch.Generator().manual_seed(0))
    assert torch.equal(a, b) and not a.requires_grad
