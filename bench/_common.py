"""What the benchmark scripts share: their command-line conventions and the description of the
machine, software and command their numbers belong to (the "Machine" lines of every results file).

Each script runs as ``python bench/<name>.py``, which puts this folder on ``sys.path``, so
``from _common import ...`` works without installing anything.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import shlex
import subprocess
import sys
import time
from pathlib import Path

import torch

import ganlab

RESULTS = Path(__file__).resolve().parent / "results"


def parser(doc: str) -> argparse.ArgumentParser:
    """An argument parser described by the first paragraph of the script's docstring ``doc``."""
    return argparse.ArgumentParser(
        description=doc.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )


def add_device(p: argparse.ArgumentParser, default: str = "auto") -> None:
    """``--device``: auto (cuda when present, else cpu), cpu, cuda, cuda:1, ..."""
    p.add_argument(
        "--device",
        default=default,
        help=f"auto (cuda when present, else cpu), cpu, cuda, cuda:1, ... (default: {default})",
    )


def add_threads(p: argparse.ArgumentParser, default: int | None = None) -> None:
    """``--threads``: torch's intra-op threads."""
    shown = "torch's choice" if default is None else default
    p.add_argument(
        "--threads", type=int, default=default, help=f"torch intra-op threads (default: {shown})"
    )


def add_out(p: argparse.ArgumentParser, default: str, flag: str = "--out") -> None:
    """``--out`` (a results file) or ``--out-dir`` (a folder); ``default`` is shown in the help."""
    p.add_argument(flag, type=Path, default=None, help=f"default: {default}")


def finish(p: argparse.ArgumentParser, args, positive: tuple[str, ...] = ()) -> argparse.Namespace:
    """Check ``args`` (each of ``positive`` >= 1, ``--threads``, ``--device``) and apply them.

    Sets torch's threads and replaces ``args.device`` (when there is one) by a ``torch.device``;
    a bad value ends with argparse's one-line error.
    """
    for name in positive:
        values = getattr(args, name)
        if any(v < 1 for v in (values if isinstance(values, list) else [values])):
            p.error(f"--{name.replace('_', '-')} must be >= 1, got {values}")
    if getattr(args, "threads", None) is not None:
        if args.threads < 1:
            p.error(f"--threads must be >= 1, got {args.threads}")
        torch.set_num_threads(args.threads)
    if hasattr(args, "device"):
        name = ganlab.default_device() if args.device == "auto" else args.device
        try:
            args.device = torch.device(name)
        except RuntimeError:
            p.error(f"--device {args.device!r} is not a device; use auto, cpu, cuda or cuda:N")
        if args.device.type == "cuda" and not torch.cuda.is_available():
            p.error("--device cuda, but torch sees no CUDA GPU; use --device cpu")
    return args


def censored_median(values: list[float | None]):
    """Median with ``None`` (never reached) ranked above every number; ``None`` if the median is."""
    ranked = sorted(values, key=lambda v: float("inf") if v is None else v)
    n = len(ranked)
    if n % 2:
        return ranked[n // 2]
    lo, hi = ranked[n // 2 - 1], ranked[n // 2]
    return None if hi is None else (lo + hi) / 2


class Clock:
    """When a benchmark started (UTC), how long it ran, and the load of the machine around it."""

    def __init__(self):
        self.started = datetime.datetime.now(datetime.timezone.utc)
        self.t0, self.load_start = time.perf_counter(), os.getloadavg()[0]

    @property
    def elapsed(self) -> float:
        return time.perf_counter() - self.t0

    def lines(self, load: bool = True) -> list[str]:
        """The date, wall time, (load average) and command lines of a results file."""
        lines = [
            f"- date: {self.started:%Y-%m-%d %H:%M} UTC; benchmark wall time "
            f"{self.elapsed / 60:.1f} min"
        ]
        if load:
            lines.append(
                f"- load average (1 min) at start / end: {self.load_start:.2f} / "
                f"{os.getloadavg()[0]:.2f} (the benchmark itself adds about its number of "
                "threads; more means other processes shared the CPU)"
            )
        return lines + [f"- command: `{command()}`"]


def command() -> str:
    """The command line this script was started with, as ``python bench/<name>.py ...``."""
    script = Path(sys.argv[0])
    name = f"bench/{script.name}" if script.suffix == ".py" else sys.argv[0]
    return " ".join(shlex.quote(a) for a in ["python", name, *sys.argv[1:]])


def source_version() -> str:
    """The git commit of the checkout this runs from, marked when ``src/`` has uncommitted
    changes.
    """
    root = Path(__file__).resolve().parent.parent
    try:
        commit = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--", "src"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git checkout)"
    return f"commit {commit}" + (" with uncommitted changes in src/" if dirty else "")


def machine(device: torch.device) -> list[str]:
    """Lines naming the machine and software the numbers belong to."""
    cpu = platform.processor() or "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    lines = [
        f"- CPU: {cpu}, {os.cpu_count()} logical cores, torch intra-op threads: "
        f"{torch.get_num_threads()}",
    ]
    if hasattr(os, "sched_getaffinity") and len(os.sched_getaffinity(0)) < (os.cpu_count() or 1):
        pinned = ", ".join(map(str, sorted(os.sched_getaffinity(0))))
        lines.append(
            f"- pinned to core(s) {pinned} (taskset): other work on the other cores raises the "
            "load average without taking this benchmark's core"
        )
    if device.type == "cuda":
        lines.append(f"- GPU: {torch.cuda.get_device_name(device)} (CUDA {torch.version.cuda})")
    lines += [
        f"- device: {device}; torch {torch.__version__}; ganlab {ganlab.__version__}; "
        f"Python {platform.python_version()}; host {platform.node() or 'unknown'}",
        f"- ganlab source: {source_version()}",
    ]
    return lines
