"""Profile: where one DCGAN training step of ``ganlab.train`` spends its time (``torch.profiler``).

For each batch size in ``--batches`` and each trainer setting (``plain``: fp32, the book's loop;
``fast``: reuse_fake + fused Adam + channels-last + bf16 autocast; optionally ``compiled``: ``fast``
with torch.compile, which picks the memory layout itself; ``graphed``: ``fast`` replayed as a CUDA
graph), the step is profiled for ``--active`` steps after ``--warmup`` untimed ones, on the same
seeded DCGAN and the offline digits (3 channels, tiled) kept on the device, as in
``bench/dcgan.py``. Reported per setting:

- wall time per step (host clock around the profiled steps, after a device sync);
- device busy time per step (the sum of the kernels' and copies' self time) and its share of the
  wall time: far under 100 % means the GPU waits for Python and kernel launches (launch-bound),
  near 100 % means the arithmetic itself is the limit;
- kernel launches per step;
- the operators with the most self device time and the most self host time.

    python bench/profile_dcgan.py     # GPU: 64x64, width 64, batches 128 and 1024
    python bench/profile_dcgan.py --device cpu --image-size 16 --width 16 --batches 16 --active 2

The Markdown results file (default ``bench/results/profile_<device>.md``) is rewritten on every
run; nothing in it is copied by hand.
"""

from __future__ import annotations

import sys
import time

import torch
from torch.autograd import DeviceType
from torch.profiler import ProfilerActivity, profile, schedule

import ganlab
from ganlab.models import dcgan

from _common import RESULTS, Clock, add_device, add_out, finish, machine, parser
from dcgan import BETAS, LATENT, LR, dataset  # the same model and data as bench/dcgan.py

SETTINGS = {
    "plain": dict(fused_adam=False),
    "fast": dict(reuse_fake=True, fused_adam=True, channels_last=True, bf16=True),
    "compiled": dict(
        reuse_fake=True, fused_adam=True, bf16=True, compile=True
    ),  # layout: the compiler's
    "graphed": dict(
        reuse_fake=True, fused_adam=True, channels_last=True, bf16=True, cuda_graph=True
    ),  # CUDA only
}


def _device_time(avg) -> float:
    """Self device time of a profiler average in microseconds (the attribute's name moved across
    torch versions).
    """
    for name in ("self_device_time_total", "self_cuda_time_total"):
        if hasattr(avg, name):
            return float(getattr(avg, name))
    return 0.0


def profile_setting(images, batch: int, options: dict, args, device) -> dict:
    """Profile ``--active`` steps of one trainer setting; return the measured numbers and tables."""
    torch._dynamo.reset()  # a compiled setting compiles afresh for its batch size
    G, D = dcgan(LATENT, 3, args.image_size, args.width, seed=0)
    data = ganlab.data.ImageData(
        images, torch.zeros(len(images), dtype=torch.long), "digits", 10
    ).to(device)
    gpu = device.type == "cuda"
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if gpu else [])
    total = args.warmup + args.active
    clock = {}

    def sync():
        if gpu:
            torch.cuda.synchronize(device)

    captured = []  # the averages of the one profiled window, handed over when it closes
    prof = profile(
        activities=activities,
        schedule=schedule(wait=0, warmup=args.warmup, active=args.active, repeat=1),
        on_trace_ready=lambda p: captured.append(p.key_averages()),
    )

    def step_profiler(step, *_):
        if step == args.warmup:
            sync()
            clock["start"] = time.perf_counter()
        if step == total:
            sync()
            clock["end"] = time.perf_counter()
        prof.step()

    cfg = ganlab.TrainConfig(
        num_steps=total,
        batch_real=batch,
        batch_fake=batch,
        batch_g=batch,
        lr_g=LR,
        lr_d=LR,
        betas=BETAS,
        device=str(device),
        progress=False,
        log_every=total,
        **options,
    )
    with prof:
        ganlab.train(G, D, data.sample, cfg, callbacks=[step_profiler])
    if len(captured) != 1:
        raise RuntimeError(f"expected one profiled window, got {len(captured)}")
    averages = captured[0]
    wall = (clock["end"] - clock["start"]) / args.active
    # Kernels, copies and memsets are device events; ranges such as ProfilerStep* also appear on the
    # device as user annotations spanning many kernels, so they are left out (as the profiler's own
    # "Self CUDA time total" does).
    device_events = [
        a
        for a in averages
        if a.device_type == DeviceType.CUDA
        and not getattr(a, "is_user_annotation", False)
        and not a.key.startswith("ProfilerStep")
    ]
    busy = sum(_device_time(a) for a in device_events) / 1e6 / args.active
    launches = sum(a.count for a in device_events) / args.active
    sort_device = "self_cuda_time_total" if gpu else "self_cpu_time_total"
    return {
        "batch": batch,
        "wall_ms": 1e3 * wall,
        "busy_ms": 1e3 * busy,
        "busy_share": busy / wall if gpu else None,
        "launches": launches if gpu else None,
        "images_per_s": batch / wall,
        "by_device": averages.table(
            sort_by=sort_device, row_limit=args.rows, max_name_column_width=60
        ),
        "by_host": averages.table(
            sort_by="self_cpu_time_total", row_limit=args.rows, max_name_column_width=60
        ),
    }


def report(args, device, results, clock: Clock) -> str:
    gpu = device.type == "cuda"
    lines = [
        "# DCGAN step profile (torch.profiler)",
        "",
        "Written by `bench/profile_dcgan.py`; rerun it to regenerate this file. See "
        "`bench/README.md`.",
        "",
        "## Machine",
        "",
        *machine(device),
        *clock.lines(load=False),
        "",
        "## Summary",
        "",
        f"DCGAN {args.image_size}x{args.image_size}x3, width {args.width}; {args.active} profiled "
        f"steps after {args.warmup} warm-up steps. Settings: "
        + "; ".join(f"`{k}` = {v}" for k, v in SETTINGS.items())
        + ".",
        "",
        "| batch | setting | wall ms / step | device busy ms / step | busy share | kernel launches "
        "/ step | images/s |",
        "|---:|---|---:|---:|---:|---:|---:|",
    ]
    for name, r in results:
        share = "-" if r["busy_share"] is None else f"{100 * r['busy_share']:.0f} %"
        launches = "-" if r["launches"] is None else f"{r['launches']:.0f}"
        lines.append(
            f"| {r['batch']} | {name} | {r['wall_ms']:.2f} | {r['busy_ms']:.2f} | {share} | "
            f"{launches} | {r['images_per_s']:,.0f} |"
        )
    if not gpu:
        lines += ["", "On a CPU the profiler records no device time: read the host tables."]
    for name, r in results:
        lines += [
            "",
            f"## batch {r['batch']}, {name}",
            "",
            f"Top {args.rows} operators by self {'device' if gpu else 'host'} time:",
            "",
            "```",
            r["by_device"].rstrip(),
            "```",
        ]
        if gpu:
            lines += [
                "",
                f"Top {args.rows} operators by self host time:",
                "",
                "```",
                r["by_host"].rstrip(),
                "```",
            ]
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    p = parser(__doc__)
    add_device(p)
    p.add_argument("--image-size", type=int, default=64)
    p.add_argument("--width", type=int, default=64)
    p.add_argument("--batches", type=int, nargs="+", default=[128, 1024])
    p.add_argument("--settings", nargs="+", choices=list(SETTINGS), default=["plain", "fast"])
    p.add_argument(
        "--warmup", type=int, default=10, help="untimed steps first (cuDNN picks its algorithms)"
    )
    p.add_argument("--active", type=int, default=10, help="profiled steps")
    p.add_argument("--rows", type=int, default=15, help="operators per table")
    add_out(p, "bench/results/profile_<device>.md")
    args = finish(p, p.parse_args(argv), ("warmup", "active", "rows"))
    device = args.device
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
    clock, results = Clock(), []
    for batch in args.batches:
        images = dataset(args.image_size, batch)
        for name in args.settings:
            r = profile_setting(images, batch, SETTINGS[name], args, device)
            results.append((name, r))
            print(
                f"batch {batch} {name}: {r['wall_ms']:.2f} ms/step, busy {r['busy_ms']:.2f} ms, "
                f"{r['images_per_s']:,.0f} images/s",
                flush=True,
            )
    text = report(args, device, results, clock)
    out = args.out or RESULTS / f"profile_{device.type}.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    print(text[: text.index("\n## batch")])
    return 0


if __name__ == "__main__":
    sys.exit(main())
