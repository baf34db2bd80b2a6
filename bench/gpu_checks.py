"""Checks of ganlab's CUDA paths that the CPU test suite cannot make (``bench/gpu.sh`` runs this on
a GPU).

Each check runs the same computation two ways on the GPU and reports the largest difference
against a tolerance:

1. a ``ganlab.sweep.run`` member against ``ganlab.train`` alone with its seed (toy MLPs on the
   ring, 30 steps; train's Adam unfused, as the sweep's);
2. resuming a DCGAN from a checkpoint after 3 of 6 steps against the uninterrupted run
   (cuDNN in deterministic mode, as a run that must be reproducible would set it);
3. each speed option (fused Adam, channels-last, bf16 autocast) against the plain loop after 4
   steps;
4. a checkpoint written on the GPU, loaded on the CPU: the same samples from the same noise;
5. steps replayed as a CUDA graph (``cuda_graph=True``) against ordinary steps, with and without
   the other speed options.

    python bench/gpu_checks.py [--out bench/results/gpu_checks_cuda.md]

Exit status 1 if a check fails. The Markdown results file is rewritten on every run.
"""

from __future__ import annotations

import copy
import dataclasses
import sys
import tempfile
from pathlib import Path

import torch

import ganlab
from ganlab import sweep
from ganlab.checkpoint import load_checkpoint
from ganlab.models import DCGANGenerator, dcgan

from _common import RESULTS, Clock, add_device, add_out, finish, machine, parser


def flat(module) -> torch.Tensor:
    return torch.cat(
        [
            t.detach().float().flatten().cpu()
            for t in module.state_dict().values()
            if t.is_floating_point()
        ]
    )


def gap(a, b) -> float:
    return float((flat(a) - flat(b)).abs().max())


def check_sweep(device) -> tuple[float, float]:
    cfg = ganlab.TrainConfig(
        num_steps=30,
        batch_real=64,
        batch_fake=64,
        batch_g=64,
        log_every=10,
        progress=False,
        device=device,
        fused_adam=False,
    )
    result = sweep.run(ganlab.ring(), (0, 1), cfg, hidden=32, depth=2, coverage_n=100)
    worst = 0.0
    for i, seed in enumerate((0, 1)):
        G, D = ganlab.toy_gan(2, 2, 32, 2, seed=seed)
        ganlab.train(G, D, ganlab.ring().sample, dataclasses.replace(cfg, seed=seed))
        G_s, D_s = result.member(i)
        worst = max(worst, gap(G, G_s), gap(D, D_s))
    return worst, 1e-4


def dcgan_run(cfg, data, seed=0, **kwargs):
    G, D = dcgan(16, 1, 16, 16, seed=seed)
    history = ganlab.train(G, D, data.sample, cfg, **kwargs)
    return G, D, history


def check_resume(device, data, tmp: Path) -> tuple[float, float]:
    torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = True, False
    try:
        full = ganlab.TrainConfig(
            num_steps=6,
            batch_real=32,
            batch_fake=32,
            batch_g=32,
            lr_g=2e-4,
            lr_d=2e-4,
            log_every=2,
            progress=False,
            device=device,
            checkpoint_path=str(tmp / "full.pt"),
            checkpoint_every=3,
        )
        G_full, D_full, _ = dcgan_run(full, data)
        dcgan_run(
            dataclasses.replace(full, num_steps=3, checkpoint_path=str(tmp / "part.pt")), data
        )
        G, D, _ = dcgan_run(
            dataclasses.replace(full, checkpoint_path=str(tmp / "part.pt")),
            data,
            seed=5,
            resume=tmp / "part.pt",
        )
        return max(gap(G, G_full), gap(D, D_full)), 0.0
    finally:
        torch.backends.cudnn.deterministic = False


def check_option(device, data, option: dict, tol: float) -> tuple[float, float]:
    base = ganlab.TrainConfig(
        num_steps=4,
        batch_real=32,
        batch_fake=32,
        batch_g=32,
        lr_g=2e-4,
        lr_d=2e-4,
        log_every=2,
        progress=False,
        device=device,
        fused_adam=False,
    )
    G_ref, _, h_ref = dcgan_run(base, data)
    G, _, h = dcgan_run(dataclasses.replace(base, **option), data)
    return max(gap(G, G_ref), max(abs(a - b) for a, b in zip(h.loss_d, h_ref.loss_d))), tol


def check_checkpoint_on_cpu(device, data, tmp: Path) -> tuple[float, float]:
    cfg = ganlab.TrainConfig(
        num_steps=3,
        batch_real=32,
        batch_fake=32,
        batch_g=32,
        progress=False,
        device=device,
        checkpoint_path=str(tmp / "gpu.pt"),
    )
    G, _, _ = dcgan_run(cfg, data)
    state = load_checkpoint(tmp / "gpu.pt", map_location="cpu")
    G_cpu = DCGANGenerator(**state["G_hparams"])
    G_cpu.load_state_dict(state["G"])
    z = torch.randn(16, G.latent_dim)
    G.eval(), G_cpu.eval()
    with torch.no_grad():
        return float((G(z.to(device)).cpu() - G_cpu(z)).abs().max()), 1e-4


def check_cuda_graph(device, data, **options) -> tuple[float, float]:
    cfg = ganlab.TrainConfig(
        num_steps=8,
        batch_real=32,
        batch_fake=32,
        batch_g=32,
        lr_g=2e-4,
        lr_d=2e-4,
        log_every=4,
        progress=False,
        device=device,
        **options,
    )
    G_ema = copy.deepcopy(dcgan(16, 1, 16, 16)[0])
    G, D, h = dcgan_run(dataclasses.replace(cfg, cuda_graph=True), data, G_ema=G_ema)
    G_ema_ref = copy.deepcopy(dcgan(16, 1, 16, 16)[0])
    G_ref, D_ref, h_ref = dcgan_run(cfg, data, G_ema=G_ema_ref)
    traces = max(abs(a - b) for a, b in zip(h.loss_d + h.loss_g, h_ref.loss_d + h_ref.loss_g))
    return max(gap(G, G_ref), gap(D, D_ref), gap(G_ema, G_ema_ref), traces), 1e-3 if options.get(
        "bf16"
    ) else 1e-4


def main(argv=None) -> int:
    p = parser(__doc__)
    add_device(p, default="cuda")  # cpu: a smoke run of this script
    add_out(p, "bench/results/gpu_checks_<device>.md")
    args = finish(p, p.parse_args(argv))
    device, clock = str(args.device), Clock()
    args.out = args.out or RESULTS / f"gpu_checks_{args.device.type}.md"
    data = ganlab.data.digits(16).to(device)
    checks = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for name, fn in [
            (
                "sweep member = train alone (ring, 30 steps, max weight gap)",
                lambda: check_sweep(device),
            ),
            (
                "resume after 3 of 6 steps = uninterrupted (DCGAN, cuDNN deterministic)",
                lambda: check_resume(device, data, tmp),
            ),
            (
                "fused Adam vs plain Adam (4 steps)",
                lambda: check_option(device, data, dict(fused_adam=True), 1e-4),
            ),
            (
                "channels-last vs contiguous (4 steps)",
                lambda: check_option(device, data, dict(channels_last=True), 1e-2),
            ),
            (
                "bf16 autocast vs float32 (4 steps; bf16 rounds at 1e-2)",
                lambda: check_option(device, data, dict(bf16=True), 0.1),
            ),
            (
                "GPU checkpoint sampled on the CPU",
                lambda: check_checkpoint_on_cpu(device, data, tmp),
            ),
            ("CUDA graph vs eager steps (8 steps, EMA on)", lambda: check_cuda_graph(device, data)),
            (
                "CUDA graph vs eager steps (8 steps, bf16 + channels-last + reuse_fake)",
                lambda: check_cuda_graph(
                    device, data, bf16=True, channels_last=True, reuse_fake=True
                ),
            ),
        ]:
            try:
                value, tol = fn()
                checks.append(
                    (name, f"{value:.3g}", f"{tol:g}", "pass" if value <= tol else "FAIL")
                )
            except Exception as err:  # report and go on: one broken path should not hide the others
                checks.append(
                    (name, f"{type(err).__name__}: {str(err).splitlines()[0][:120]}", "-", "FAIL")
                )
            print(" | ".join(checks[-1]), flush=True)
    lines = [
        "# ganlab's CUDA paths, checked on a GPU",
        "",
        "Written by `bench/gpu_checks.py` (run by `bench/gpu.sh`); rerun it to regenerate this "
        "file.",
        "",
        "## Machine",
        "",
        *machine(torch.device(device)),
        *clock.lines(load=False),
        "",
        "## Checks",
        "",
        "| check | largest difference | tolerance | result |",
        "|---|---:|---:|---|",
        *(f"| {' | '.join(c)} |" for c in checks),
    ]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines) + "\n")
    return 0 if all(c[3] == "pass" for c in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
