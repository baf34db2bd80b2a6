"""Data-parallel training: 2 CPU processes (gloo) with global batch B train like 1 process with
batch B.
"""

import os

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

import ganlab
from ganlab import distributed
from ganlab.models import dcgan

CFG = ganlab.TrainConfig(
    num_steps=6,
    batch_real=64,
    batch_fake=64,
    batch_g=64,
    log_every=4,
    progress=False,
    device="cpu",
    seed=3,
)


def toy_run(out_dir, cfg=CFG):
    G, D = ganlab.toy_gan(2, hidden=32, depth=2, seed=1)
    history = ganlab.train(G, D, ganlab.ring().sample, cfg)
    return G, D, history


def dcgan_run(out_dir, cfg=CFG):
    digits = ganlab.data.digits(16)
    G, D = dcgan(8, 1, 16, 8, seed=1)
    history = ganlab.train(
        G, D, digits.sample, ganlab.TrainConfig(**{**cfg.__dict__, "num_steps": 2})
    )
    return G, D, history


def penalised_run(out_dir, cfg=CFG, **penalty):
    return toy_run(out_dir, ganlab.TrainConfig(**{**cfg.__dict__, **penalty}))


R1 = dict(r1=2.0)
GP = dict(loss="wgan-gp", betas=(0.5, 0.9), lr_d=1e-4, lr_g=1e-4)
RUNS = {
    "toy": toy_run,
    "dcgan": dcgan_run,
    "toy_r1": lambda out, cfg=CFG: penalised_run(out, cfg, **R1),
    "toy_gp": lambda out, cfg=CFG: penalised_run(out, cfg, **GP),
}


def worker(rank, world_size, store, out_dir, kind, checkpoint):
    os.environ["OMP_NUM_THREADS"] = "1"
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"file://{store}", rank=rank, world_size=world_size)
    try:
        cfg = ganlab.TrainConfig(**{**CFG.__dict__, "checkpoint_path": checkpoint})
        G, D, history = RUNS[kind](out_dir, cfg)
        torch.save(
            {
                "G": G.state_dict(),
                "D": D.state_dict(),
                "loss_d": history.loss_d,
                "world": distributed.world().size,
            },
            os.path.join(out_dir, f"rank{rank}.pt"),
        )
    finally:
        dist.destroy_process_group()


def launch(tmp_path, kind, checkpoint=None):
    mp.spawn(
        worker,
        args=(2, str(tmp_path / "store"), str(tmp_path), kind, checkpoint),
        nprocs=2,
        join=True,
    )
    return [torch.load(tmp_path / f"rank{r}.pt") for r in range(2)]


def close(a, b, atol):
    return all(torch.allclose(a[k], b[k], atol=atol) for k in a)


def test_two_processes_train_like_one_with_the_same_global_batch(tmp_path):
    ranks = launch(tmp_path, "toy", checkpoint=str(tmp_path / "ckpt.pt"))
    assert ranks[0]["world"] == 2
    G1, D1, h1 = toy_run(tmp_path)
    # DDP keeps the two processes' weights identical ...
    assert all(torch.equal(ranks[0]["G"][k], ranks[1]["G"][k]) for k in ranks[0]["G"])
    # ... and equal, up to the order of float sums in the all-reduce, to one process with the whole
    # batch.
    assert close(ranks[0]["G"], G1.state_dict(), atol=1e-5) and close(
        ranks[0]["D"], D1.state_dict(), atol=1e-5
    )
    assert ranks[0]["loss_d"] == pytest.approx(
        h1.loss_d, abs=1e-5
    )  # traces averaged over the processes
    G0, _ = ganlab.toy_gan(2, hidden=32, depth=2, seed=1)
    assert not close(ranks[0]["G"], G0.state_dict(), atol=1e-3)  # it trained
    # only rank 0 wrote the checkpoint, and it holds the final weights
    state = ganlab.checkpoint.load_checkpoint(tmp_path / "ckpt.pt")
    assert state["step"] == 6 and close(state["G"], ranks[0]["G"], atol=0)


def test_dcgan_with_batchnorm_stays_in_sync_across_processes(tmp_path):
    ranks = launch(tmp_path, "dcgan")
    for net in ("G", "D"):
        weights = [k for k in ranks[0][net] if "running" not in k and "num_batches" not in k]
        assert all(torch.equal(ranks[0][net][k], ranks[1][net][k]) for k in weights)
        # batch norm's running averages are each process's own (DDP copies rank 0's at every
        # forward)
        assert not all(torch.equal(ranks[0][net][k], ranks[1][net][k]) for k in ranks[0][net])
    G1, _, _ = dcgan_run(tmp_path)
    # Each process normalises its own half-batch, so the result is close to, not equal to, one
    # process.
    diff = max(
        (ranks[0]["G"][k] - v).abs().max().item()
        for k, v in G1.state_dict().items()
        if v.is_floating_point()
    )
    assert 0 < diff < 1e-2


def test_shard_and_batch_checks():
    w = distributed.World(rank=1, size=4)
    assert torch.equal(distributed.shard(torch.arange(8), w), torch.tensor([2, 3]))
    with pytest.raises(ValueError, match="global batch of 6 does not split evenly over 4"):
        distributed.shard(torch.arange(6), w)
    assert distributed.world() == distributed.World()  # no process group: one process
    with pytest.raises(ValueError, match="sync_batchnorm needs CUDA"):
        toy_run(None, ganlab.TrainConfig(**{**CFG.__dict__, "sync_batchnorm": True}))


def test_torchrun_launches_the_cli_on_two_processes(tmp_path):
    import json
    import socket
    import subprocess
    import sys

    with (
        socket.socket() as probe
    ):  # a free port for the rendezvous (torchrun's port 0 does not work with it)
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    out = tmp_path / "run"
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nproc-per-node",
        "2",
        "--master-port",
        str(port),
        "-m",
        "ganlab",
        "train",
        "toy",
        "--steps",
        "6",
        "--batch-size",
        "32",
        "--hidden",
        "16",
        "--depth",
        "2",
        "--eval-every",
        "3",
        "--no-progress",
        "--out",
        str(out),
    ]
    result = subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=180,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    assert result.returncode == 0, result.stderr[-2000:]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["steps"] == 6 and summary["config"]["batch_real"] == 32
    assert ganlab.checkpoint.load_checkpoint(out / "checkpoint.pt")["step"] == 6


def test_a_penalised_discriminator_trains_across_processes_like_one(tmp_path):
    # R1 draws nothing: 2 processes with the global batch give one process's weights (D's gradients
    # are averaged by hand, since a double backward cannot go through DDP).
    ranks = launch(tmp_path, "toy_r1")
    G1, D1, h1 = penalised_run(tmp_path, **R1)
    for net in ("G", "D"):
        assert all(torch.equal(ranks[0][net][k], ranks[1][net][k]) for k in ranks[0][net])
    assert close(ranks[0]["G"], G1.state_dict(), atol=1e-5) and close(
        ranks[0]["D"], D1.state_dict(), atol=1e-5
    )
    assert ranks[0]["loss_d"] == pytest.approx(h1.loss_d, abs=1e-5)
    G_bare, D_bare, _ = toy_run(tmp_path)
    assert not close(
        D1.state_dict(), D_bare.state_dict(), atol=1e-4
    )  # the penalty changed the training


def test_wgan_gp_across_processes_keeps_them_in_sync(tmp_path):
    # WGAN-GP draws interpolation weights: one generator per process, so the run matches one process
    # statistically, not number for number; the processes' weights stay identical.
    ranks = launch(tmp_path, "toy_gp")
    for net in ("G", "D"):
        assert all(torch.equal(ranks[0][net][k], ranks[1][net][k]) for k in ranks[0][net])
    G1, D1, h1 = penalised_run(tmp_path, **GP)
    assert close(ranks[0]["G"], G1.state_dict(), atol=1e-2)  # six small steps from the same start
    assert not close(ranks[0]["D"], D1.state_dict(), atol=1e-7)  # different interpolation weights
