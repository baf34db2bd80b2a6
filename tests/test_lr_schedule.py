"""TrainConfig.lr_milestones: a step-wise decay of both step sizes inside ganlab.train."""

import dataclasses

import pytest
import torch

import ganlab
from ganlab.config import TrainConfig

CFG = TrainConfig(
    num_steps=6,
    batch_real=16,
    batch_fake=16,
    batch_g=16,
    lr_g=1e-3,
    lr_d=2e-3,
    lr_milestones=(2, 4),
    lr_gamma=0.5,
    log_every=2,
    progress=False,
    device="cpu",
)


def _run(cfg, **kwargs):
    G, D = ganlab.toy_gan(2, hidden=8, depth=1, seed=0)
    ganlab.train(G, D, ganlab.ring().sample, cfg, **kwargs)
    return G, D


def test_the_step_sizes_change_after_each_milestone(monkeypatch):
    seen = []  # (first parameter of the optimiser, its step size), at every Adam step
    step = torch.optim.Adam.step

    def spy(self, *args, **kwargs):
        seen.append((self.param_groups[0]["params"][0], self.param_groups[0]["lr"]))
        return step(self, *args, **kwargs)

    monkeypatch.setattr(torch.optim.Adam, "step", spy)
    G, D = ganlab.toy_gan(2, hidden=8, depth=1, seed=0)
    ganlab.train(G, D, ganlab.ring().sample, CFG)
    first_g, first_d = next(G.parameters()), next(D.parameters())
    lr_g = [lr for p, lr in seen if p is first_g]
    lr_d = [lr for p, lr in seen if p is first_d]
    assert len(lr_g) + len(lr_d) == len(seen)
    assert lr_g == pytest.approx([1e-3, 1e-3, 5e-4, 5e-4, 2.5e-4, 2.5e-4])
    assert lr_d == pytest.approx([2e-3, 2e-3, 1e-3, 1e-3, 5e-4, 5e-4])


def test_lr_factor_counts_the_milestones_passed():
    assert [CFG.lr_factor(s) for s in range(1, 7)] == [1, 1, 0.5, 0.5, 0.25, 0.25]
    assert TrainConfig().lr_factor(10**6) == 1


def test_no_milestones_trains_as_before():
    plain = dataclasses.replace(CFG, lr_milestones=())
    late = dataclasses.replace(CFG, lr_milestones=(100,))  # never reached
    for a, b in zip(_run(plain)[0].parameters(), _run(late)[0].parameters()):
        assert torch.equal(a, b)


def test_a_decay_changes_the_run():
    plain = dataclasses.replace(CFG, lr_milestones=())
    a, b = _run(plain)[0], _run(CFG)[0]
    assert not all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))


def test_resume_across_a_milestone_matches_an_uninterrupted_run(tmp_path):
    path = str(tmp_path / "ckpt.pt")
    whole = _run(CFG)[0]
    G, D = ganlab.toy_gan(2, hidden=8, depth=1, seed=0)
    first = dataclasses.replace(CFG, num_steps=3, checkpoint_path=path, checkpoint_every=3)
    ganlab.train(G, D, ganlab.ring().sample, first)
    G, D = ganlab.toy_gan(2, hidden=8, depth=1, seed=0)
    ganlab.train(
        G, D, ganlab.ring().sample, dataclasses.replace(CFG, checkpoint_path=path), resume=path
    )
    for a, b in zip(whole.parameters(), G.parameters()):
        assert torch.equal(a, b)


@pytest.mark.parametrize(
    "changes",
    [
        dict(lr_milestones=(0,)),
        dict(lr_milestones=(5, 3)),
        dict(lr_milestones=(3, 3)),
        dict(lr_milestones=[3]),
        dict(lr_milestones=(2.5,)),
        dict(lr_gamma=0.0),
        dict(lr_milestones=(3,), cuda_graph=True),
    ],
)
def test_bad_schedules_are_refused(changes):
    with pytest.raises(ValueError):
        TrainConfig(**changes)


def test_the_sweep_refuses_a_schedule():
    cfg = TrainConfig(num_steps=1, progress=False, lr_milestones=(1,))
    with pytest.raises(ValueError, match="lr_milestones"):
        ganlab.sweep.run(ganlab.ring(), (0,), cfg, hidden=4, depth=1)
