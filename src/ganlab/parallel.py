"""Independent toy-GAN runs side by side, one worker process per CPU core.

A toy GAN keeps one CPU core busy (one torch thread: networks this small gain nothing from more),
so on a machine with two cores two runs take about the time of one. :func:`map` calls a function
on each item in forked worker processes, each with one torch thread, and returns the results in
order: the same results, bit for bit, as calling it on each item here with one thread.

Workers are forked (Linux): a forked process starts in milliseconds and knows every function
defined so far, a notebook's included. Where processes cannot fork (macOS, Windows), where the
chapters' device is a GPU (``profiles.default_device()``: CUDA cannot be used in a forked
process, and one process keeps a GPU busy anyway), or with one worker, the items are run here,
one after another.
"""

from __future__ import annotations

import multiprocessing
import os
import pickle
import sys
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager

import torch

from ._checks import positive_int
from .profiles import default_device


def cores() -> int:
    """The CPU cores this process may use."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def can_fork() -> bool:
    """True where workers are forked processes (Linux)."""
    return sys.platform == "linux"


def map(fn: Callable, items: Iterable, workers: int | None = None, name: str = "items") -> list:
    """``[fn(item) for item in items]``, each call with one torch thread, in up to ``workers``
    processes (None: one per item, up to :func:`cores`); see the module docstring.

    ``fn`` must be a named function (one defined in a notebook will do) or a
    ``functools.partial`` of one; items and results travel by pickle. ``name``: what the items
    are called in the message when one cannot be sent (``jobs[2] cannot be sent ...``).
    """
    items = list(items)
    workers = min(len(items), cores()) if workers is None else workers
    positive_int("workers", workers)
    if workers == 1 or len(items) <= 1 or not can_fork() or default_device() != "cpu":
        return [_one_thread(fn, item) for item in items]
    for i, item in enumerate((fn, *items)):
        try:
            pickle.dumps(item)
        except Exception as error:  # what pickle raises depends on the object
            what = "the function" if i == 0 else f"{name}[{i - 1}]"
            raise ValueError(
                f"{what} cannot be sent to a worker process ({error}); use a named function or "
                "a functools.partial of one, not a lambda, or workers=1"
            ) from None
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
        done = pool.map(_pickled, [fn] * len(items), items)
        return [pickle.loads(data) for data in done]


def _pickled(fn: Callable, item) -> bytes:
    """``fn(item)`` in a worker, returned as plain pickle bytes: the pool's own pickler would hand
    tensors over through shared memory, a protocol that can stall on the way back."""
    return pickle.dumps(_one_thread(fn, item))


def _one_thread(fn: Callable, item):
    """``fn(item)`` with one torch thread (the setting restored afterwards)."""
    with one_thread():
        return fn(item)


@contextmanager
def one_thread():
    """One torch intra-op thread inside the block, the setting restored afterwards: networks
    this small gain nothing from threads, and on a busy CPU the threads wait for each other
    (``bench/README.md`` has the measurements)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


__all__ = ["cores", "can_fork", "map", "one_thread"]
