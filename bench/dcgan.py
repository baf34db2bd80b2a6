"""Benchmark: DCGAN training images per second, ganlab's trainer against a pytorch/examples-style
loop.

Both sides train the same seeded DCGAN (``ganlab.models.dcgan``) on the same images (the
offline digits, resized and tiled into a data set of at least 20 batches) on one device, in one
run. The reference is written like pytorch/examples' ``dcgan/main.py``: float32, a
``DataLoader`` (shuffled, ``--workers`` processes) whose batches are copied to the device,
``nn.Sigmoid`` on D and ``nn.BCELoss``, label tensors filled per step, the G step reusing the
D step's fake batch. ganlab's rows are ``ganlab.train`` with the data kept on the device and
each speed option switched on alone, then all together.

"Images per second" counts real training images: batch size × generator steps per second
(k = 1). Each row: median of ``--repeats`` timings of ``--steps`` steps after ``--warmup``.

    python bench/dcgan.py                 # GPU: 64x64, width 64, batches 128 and 1024
    python bench/dcgan.py --device cpu    # CPU: 32x32, width 32, batches 64 and 128 (minutes)
    python bench/dcgan.py --device cuda --batches 128 1024 --compile \\
        --out bench/results/dcgan_cuda.md

The Markdown results file is rewritten on every run; nothing in it is copied by hand.
"""

from __future__ import annotations

import statistics
import sys
import time

import torch
from torch import nn
from tqdm.auto import tqdm

import ganlab
from ganlab.data import digits
from ganlab.models import dcgan

from _common import RESULTS, Clock, add_device, add_out, add_threads, finish, machine, parser

LR, BETAS, LATENT = 2e-4, (0.5, 0.999), 100  # Radford et al.'s settings, as in pytorch/examples


class Timer:
    """A training callback reading the clock (after a device sync) at steps ``warmup`` and
    ``warmup + steps``.
    """

    def __init__(self, device, warmup, steps):
        self.device, self.marks, self.stamps = device, (warmup, warmup + steps), []

    def __call__(self, step, *_):
        if step in self.marks:
            if self.device.type == "cuda":
                torch.cuda.synchronize(self.device)
            self.stamps.append(time.perf_counter())

    def seconds(self) -> float:
        return self.stamps[1] - self.stamps[0]


def dataset(image_size: int, batch: int) -> torch.Tensor:
    """Digits as 3-channel images in [-1, 1], tiled to at least 20 batches: ``(N, 3, size, size)``
    on the CPU.
    """
    x = digits(image_size).images.repeat(1, 3, 1, 1)
    return x.repeat(max(1, -(-20 * batch // len(x))), 1, 1, 1)


def run_reference(images, batch, args, device, timer) -> None:
    """pytorch/examples' DCGAN loop (netD ends in a sigmoid; BCELoss; DataLoader; fp32)."""
    G, D = dcgan(LATENT, 3, args.image_size, args.width, seed=0)
    G, D = G.net.to(device), nn.Sequential(D.net, nn.Flatten(0), nn.Sigmoid()).to(device)
    loader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(images),
        batch_size=batch,
        shuffle=True,
        num_workers=args.workers,
        drop_last=True,
    )
    criterion = nn.BCELoss()
    optimizer_d = torch.optim.Adam(D.parameters(), lr=LR, betas=BETAS)
    optimizer_g = torch.optim.Adam(G.parameters(), lr=LR, betas=BETAS)
    real_label, fake_label = 1.0, 0.0
    step, total = 0, args.warmup + args.steps
    while step < total:
        for (data,) in loader:
            # (1) Update D network: maximize log(D(x)) + log(1 - D(G(z)))
            D.zero_grad()
            real = data.to(device)
            label = torch.full((batch,), real_label, dtype=torch.float, device=device)
            output = D(real)
            errD_real = criterion(output, label)
            errD_real.backward()
            noise = torch.randn(batch, LATENT, 1, 1, device=device)
            fake = G(noise)
            label.fill_(fake_label)
            output = D(fake.detach())
            errD_fake = criterion(output, label)
            errD_fake.backward()
            optimizer_d.step()
            # (2) Update G network: maximize log(D(G(z)))
            G.zero_grad()
            label.fill_(real_label)  # fake labels are real for generator cost
            output = D(fake)
            errG = criterion(output, label)
            errG.backward()
            optimizer_g.step()
            (
                errD_real.item(),
                errG.item(),
            )  # the examples print the losses every step: a sync, as there
            step += 1
            timer(step)
            if step == total:
                break


def run_ganlab(images, batch, args, device, timer, **options) -> None:
    """``ganlab.train`` with the images on the device and the given TrainConfig options."""
    if options.get("compile"):
        # compile afresh for this batch size: no recompile with dynamic shapes
        torch._dynamo.reset()
    G, D = dcgan(LATENT, 3, args.image_size, args.width, seed=0)
    data = ganlab.data.ImageData(
        images, torch.zeros(len(images), dtype=torch.long), "digits", 10
    ).to(device)
    cfg = ganlab.TrainConfig(
        num_steps=args.warmup + args.steps,
        batch_real=batch,
        batch_fake=batch,
        batch_g=batch,
        lr_g=LR,
        lr_d=LR,
        betas=BETAS,
        device=str(device),
        progress=False,
        log_every=100,
        **options,
    )
    ganlab.train(G, D, data.sample, cfg, callbacks=[timer])


def variants(args, device) -> dict[str, dict]:
    fast = dict(reuse_fake=True, fused_adam=True, channels_last=True, bf16=True)
    rows = {
        "ganlab, plain (fp32, data on device)": dict(fused_adam=False),
        "+ reuse_fake": dict(fused_adam=False, reuse_fake=True),
        "+ fused_adam": dict(fused_adam=True),
        "+ channels_last": dict(fused_adam=False, channels_last=True),
        "+ bf16 autocast": dict(fused_adam=False, bf16=True),
        "reuse_fake + fused_adam + channels_last (no bf16: CPUs without bf16 units)": dict(
            fast, bf16=False
        ),
        "all four": fast,
    }
    if device.type == "cuda":
        rows["all four + cuda_graph"] = dict(fast, cuda_graph=True)
    if (
        args.compile
    ):  # the compiler picks the memory layout (TrainConfig leaves channels_last to it)
        compiled = dict(reuse_fake=True, fused_adam=True, bf16=True, compile=True)
        rows["reuse_fake + fused_adam + bf16 + torch.compile"] = compiled
        rows["reuse_fake + fused_adam + bf16 + torch.compile (reduce-overhead: CUDA graphs)"] = (
            dict(compiled, compile_mode="reduce-overhead")
        )
    if args.rows:  # keep the rows whose names contain one of the given strings
        rows = {name: r for name, r in rows.items() if any(part in name for part in args.rows)}
    return rows


def measure(args, device) -> list[dict]:
    results = []
    for batch in args.batches:
        images = dataset(args.image_size, batch)
        cases = {"reference (pytorch/examples style)": None, **variants(args, device)}
        times, failed = {name: [] for name in cases}, {}
        bar = tqdm(total=len(cases) * args.repeats, desc=f"batch {batch}", file=sys.stderr)
        for r in range(args.repeats):
            order = (
                list(cases) if r % 2 == 0 else list(cases)[::-1]
            )  # alternate: drift hits all alike
            for name in order:
                timer = Timer(device, args.warmup, args.steps)
                if name in failed:
                    continue
                try:
                    if cases[name] is None:
                        run_reference(images, batch, args, device, timer)
                    else:
                        run_ganlab(images, batch, args, device, timer, **cases[name])
                except (
                    Exception
                ) as err:  # a row that fails (a compiler bug, say) is reported, the others go on
                    if cases[name] is None:
                        raise
                    failed[name] = f"{type(err).__name__}: {str(err).strip().splitlines()[0][:160]}"
                    print(f"batch {batch}, {name}: failed: {failed[name]}", file=sys.stderr)
                    continue
                times[name].append(timer.seconds())
                bar.update(1)
        bar.close()
        ref = batch * args.steps / statistics.median(times["reference (pytorch/examples style)"])
        for name, ts in times.items():
            if name in failed:
                results.append({"batch": batch, "name": name, "failed": failed[name]})
                continue
            rate = batch * args.steps / statistics.median(ts)
            results.append({"batch": batch, "name": name, "rate": rate, "ratio": rate / ref})
    return results


def report(args, device, results, clock: Clock) -> str:
    lines = [
        "# DCGAN benchmark: ganlab's trainer vs a pytorch/examples-style loop",
        "",
        "Written by `bench/dcgan.py`; rerun it to regenerate this file. See `bench/README.md`.",
        "",
        "## Machine",
        "",
        *machine(device),
        *clock.lines(load=False),
        "",
        "## Results",
        "",
        f"DCGAN {args.image_size}x{args.image_size}x3, width {args.width}, latent {LATENT}; "
        f"training images/s = batch x generator steps/s (k = 1), median of {args.repeats} timings "
        f"of {args.steps} steps after {args.warmup} warm-up steps, all rows in one run, "
        f"alternating order. Reference DataLoader workers: {args.workers}.",
        "",
        "| batch | trainer | images/s | × reference |",
        "|---:|---|---:|---:|",
    ]
    lines += [
        f"| {r['batch']} | {r['name']} | failed: {r['failed']} | - |"
        if "failed" in r
        else f"| {r['batch']} | {r['name']} | {r['rate']:,.0f} | {r['ratio']:.2f} |"
        for r in results
    ]
    best = max((r for r in results if "failed" not in r), key=lambda r: r["rate"])
    lines += [
        "",
        f"Fastest: {best['name']} at batch {best['batch']}: {best['rate']:,.0f} images/s, "
        f"{best['ratio']:.2f}× the reference. Goal on an H100 at 64x64: >= 5× the reference and "
        ">= 50,000 images/s.",
    ]
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    p = parser(__doc__)
    add_device(p)
    p.add_argument("--image-size", type=int, default=None, help="default: 64 on a GPU, 32 on a CPU")
    p.add_argument("--width", type=int, default=None, help="default: 64 on a GPU, 32 on a CPU")
    p.add_argument(
        "--batches", type=int, nargs="+", default=None, help="default: 128 1024 (GPU), 64 128 (CPU)"
    )
    p.add_argument("--steps", type=int, default=None, help="timed steps (default 100 GPU, 5 CPU)")
    p.add_argument(
        "--warmup", type=int, default=None, help="untimed steps first (default 20 GPU, 2 CPU)"
    )
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument(
        "--workers", type=int, default=None, help="reference DataLoader workers (2 GPU, 0 CPU)"
    )
    add_threads(p)
    p.add_argument(
        "--compile", action="store_true", help="also time torch.compile (minutes to compile on CPU)"
    )
    p.add_argument(
        "--rows",
        nargs="+",
        default=None,
        help="only the ganlab rows whose names contain one of these strings (the reference always "
        "runs)",
    )
    add_out(p, "bench/results/dcgan_<device>.md")
    args = finish(p, p.parse_args(argv), ("repeats",))
    device, clock = args.device, Clock()
    gpu = device.type == "cuda"
    for name, on_gpu, on_cpu in (
        ("image_size", 64, 32),
        ("width", 64, 32),
        ("batches", [128, 1024], [64, 128]),
        ("steps", 100, 5),
        ("warmup", 20, 2),
        ("workers", 2, 0),
    ):
        if getattr(args, name) is None:
            setattr(args, name, on_gpu if gpu else on_cpu)
    if gpu:
        torch.backends.cudnn.benchmark = True  # both sides: pick the fastest convolution algorithms
    results = measure(args, device)
    text = report(args, device, results, clock)
    out = args.out or RESULTS / f"dcgan_{device.type}.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
