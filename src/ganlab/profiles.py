"""Quick or full: how much compute a chapter should spend, and on which device.

Chapters pick their step counts and sizes with :func:`pick`, so the same notebook runs in
minutes on a 2-core CPU (``quick``) and at full size on a GPU (``full``).
"""

from __future__ import annotations

import os

import torch

PROFILES = ("quick", "full")


def profile() -> str:
    """Return ``"quick"`` or ``"full"``.

    ``GANLAB_PROFILE=quick|full`` forces a profile; ``GANLAB_QUICK=1`` forces ``quick`` and
    ``GANLAB_QUICK=0`` forces ``full``. Otherwise: ``full`` when a CUDA GPU is present,
    ``quick`` on a CPU.
    """
    forced = os.environ.get("GANLAB_PROFILE", "").strip().lower()
    if forced:
        if forced not in PROFILES:
            raise ValueError(f"GANLAB_PROFILE={forced!r}; choose one of: {', '.join(PROFILES)}")
        return forced
    quick = os.environ.get("GANLAB_QUICK", "").strip()
    if quick in ("1", "true", "yes"):
        return "quick"
    if quick in ("0", "false", "no"):
        return "full"
    return "full" if torch.cuda.is_available() else "quick"


def is_quick() -> bool:
    """True when the quick profile is active."""
    return profile() == "quick"


def pick(quick, full):
    """Return ``quick`` under the quick profile and ``full`` otherwise."""
    return quick if is_quick() else full


def default_device() -> str:
    """``"cuda"`` when a GPU is present, else ``"cpu"``."""
    return "cuda" if torch.cuda.is_available() else "cpu"


def describe() -> str:
    """One line for a notebook's set-up cell: profile, device and torch version."""
    device = default_device()
    name = torch.cuda.get_device_name() if device == "cuda" else "CPU"
    return f"ganlab profile: {profile()} | device: {device} ({name}) | torch {torch.__version__}"
