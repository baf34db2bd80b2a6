"""ganlab.recipes: the toy recipe builds what it names, and its ablations reset one ingredient."""

import dataclasses

import pytest
import torch

import ganlab
from ganlab import recipes
from ganlab.config import TrainConfig


def test_the_defaults_recipe_is_the_books_set_up():
    G, D, G_ema, cfg = recipes.DEFAULTS.build(seed=3)
    G0, D0 = ganlab.toy_gan(2, seed=3)
    assert G_ema is None and cfg == TrainConfig(seed=3)
    for a, b in zip([*G.parameters(), *D.parameters()], [*G0.parameters(), *D0.parameters()]):
        assert torch.equal(a, b)
    assert recipes.DEFAULTS.ingredients() == []


def test_the_toy_recipe_builds_its_networks_ema_and_config():
    r = recipes.TOY
    G, D, G_ema, cfg = r.build(seed=1, num_steps=5, progress=False)
    assert G.latent_dim == r.latent_dim and G.hparams["hidden"] == r.hidden
    assert G.hparams["depth"] == r.depth and D.hparams["depth"] == r.depth
    assert G_ema is not G
    for a, b in zip(G.parameters(), G_ema.parameters()):
        assert torch.equal(a, b)
    assert (cfg.num_steps, cfg.seed, cfg.progress) == (5, 1, False)
    assert (cfg.batch_real, cfg.batch_fake, cfg.batch_g) == (r.batch,) * 3
    assert (cfg.lr_g, cfg.lr_d, cfg.betas, cfg.r1) == (r.lr, r.lr, r.betas, r.r1)
    assert (cfg.lr_milestones, cfg.ema_decay) == (r.lr_milestones, r.ema_decay)
    assert r.ingredients() == ["width", "batch", "adam", "r1", "decay", "ema"]


@pytest.mark.parametrize("name", list(recipes.INGREDIENTS))
def test_without_resets_exactly_one_ingredient(name):
    r = recipes.TOY.without(name)
    assert r.ingredients() == [n for n in recipes.TOY.ingredients() if n != name]
    for field in recipes.INGREDIENTS[name]:
        assert getattr(r, field) == getattr(recipes.DEFAULTS, field)


def test_without_the_ema_there_is_no_copy_and_unknown_ingredients_are_refused():
    assert recipes.TOY.without("ema").build()[2] is None
    with pytest.raises(ValueError, match="ingredient"):
        recipes.TOY.without("magic")


def test_the_toy_recipe_trains_and_its_ema_moves():
    mix = ganlab.ring()
    G, D, G_ema, cfg = dataclasses.replace(recipes.TOY, lr_milestones=(2,)).build(
        seed=0, num_steps=4, progress=False, device="cpu"
    )
    before = [p.clone() for p in G_ema.parameters()]
    ganlab.train(G, D, mix.sample, cfg, G_ema=G_ema)
    assert any(not torch.equal(a, b) for a, b in zip(before, G_ema.parameters()))
    assert ganlab.metrics.generator_coverage(G_ema, mix).n_modes == 8
