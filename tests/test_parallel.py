import functools

import pytest
import torch

import ganlab
from ganlab import parallel


def train_briefly(seed, steps=20):
    """A short toy run: its losses, final weights and the torch threads it saw."""
    G, D = ganlab.toy_gan(2, hidden=16, depth=2, seed=seed)
    cfg = ganlab.TrainConfig(
        num_steps=steps, batch_real=32, batch_fake=32, batch_g=32, seed=seed, progress=False
    )
    history = ganlab.train(G, D, ganlab.ring().sample, cfg)
    return history.loss_d, [p.detach() for p in G.parameters()], torch.get_num_threads()


def test_workers_give_the_results_of_one_after_another_bit_for_bit_and_in_order():
    here = parallel.map(train_briefly, [3, 1, 2], workers=1)
    apart = parallel.map(functools.partial(train_briefly, steps=20), [3, 1, 2], workers=2)
    assert len(apart) == 3
    for (loss_a, params_a, threads_a), (loss_b, params_b, threads_b) in zip(here, apart):
        assert loss_a == loss_b and threads_a == threads_b == 1
        assert all(torch.equal(p, q) for p, q in zip(params_a, params_b))
    assert here[0][0] != here[1][0]  # the seeds differ: the order is the items' order


def test_the_callers_thread_count_is_restored_and_bad_input_is_refused(monkeypatch):
    torch.set_num_threads(2)
    try:
        assert parallel.map(torch.get_num_threads, [], workers=1) == []
        assert parallel.map(lambda _: torch.get_num_threads(), [0], workers=1) == [1]
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(1)
    with pytest.raises(ValueError, match="the function cannot be sent to a worker process"):
        parallel.map(lambda seed: seed, [0, 1], workers=2)
    with pytest.raises(ValueError, match="workers"):
        parallel.map(train_briefly, [0], workers=0)
    monkeypatch.setattr(parallel.sys, "platform", "win32")  # no fork: here, one by one
    assert parallel.map(lambda seed: seed + 1, [0, 1], workers=2) == [1, 2]
    assert not parallel.can_fork() and parallel.cores() >= 1


def test_on_a_gpu_the_items_run_here_one_after_another(monkeypatch):
    monkeypatch.setattr(parallel, "default_device", lambda: "cuda")
    monkeypatch.setattr(parallel, "ProcessPoolExecutor", None)  # fails if it is used
    assert parallel.map(lambda seed: seed * 2, [1, 2, 3], workers=2) == [2, 4, 6]
