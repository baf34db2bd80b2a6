"""Quick or full: how much compute a chapter should spend, on which device, and how long it takes.

Chapters pick their step counts and sizes with :func:`pick`, so the same notebook runs in
minutes on a 2-core CPU (``quick``) and at full size on a GPU (``full``). Each chapter's set-up
cell calls :func:`begin_chapter`, which names the chapter (for ``GANLAB_PROFILE_FULL_CHAPTERS``)
and returns the line it prints: version, profile, device and the chapter's expected minutes,
from the table :data:`MINUTES` below.

Environment variables, strongest first:

- ``GANLAB_PROFILE=quick|full`` forces a profile everywhere.
- ``GANLAB_QUICK=1`` forces ``quick``, ``GANLAB_QUICK=0`` forces ``full`` (the tests set 1).
- ``GANLAB_PROFILE_FULL_CHAPTERS="01 02 07 failure_gallery"``: these chapters run ``full``, the
  others by device (the published book's CPU build uses it for the toy chapters).
- ``GANLAB_DEVICE=cuda|mps|cpu`` chooses the device; one that is absent falls back to the CPU
  with a one-line message. Without it: CUDA when present, else the CPU (MPS only when asked).
"""

from __future__ import annotations

import os
import re
import sys

import torch

PROFILES = ("quick", "full")
DEVICES = ("cuda", "mps", "cpu")

# Expected minutes per chapter: (quick, full), None where not measured yet. Quick: nbval's wall
# time for the notebook on a 2-core CPU with one torch thread, rounded up to half a minute (the
# values below: .ci/run on a clean clone, 2-core machine with nothing else running, 2026-12-02,
# the second run of the day, with the chapters' independent runs side by side on both cores);
# full: a T4 (Colab's free GPU), an estimate from a measured ratio, or where FULL_MEASURED_ON
# says. Update this table when a chapter is re-measured (bench/results/ holds the runs);
# tests/test_profiles.py checks that every chapter of the book has a row and a quick value.
MINUTES: dict[str, tuple[float | None, float | None]] = {
    "01_implicit_models": (0.5, 0.5),
    "02_learning_by_comparison": (0.5, 1.0),
    "03_game": (0.5, 1.0),
    "04_optimal_discriminator": (0.5, 1.5),
    "05_training_algorithm": (1.0, 4.0),
    "06_saturation": (1.0, 1.0),
    "07_failure_modes": (1.5, 4.0),
    "08_dcgan": (0.5, None),
    "09_fgan": (0.5, 3.5),
    "10_wgan": (1.0, 8.0),
    "11_conditional": (0.5, None),
    "12_bakeoff": (0.5, 12.0),
    "failure_gallery": (0.5, 2.0),
}

# Where a chapter's full minutes were measured when not on a T4: the toy chapters (small MLPs,
# which the plan runs on the CPU) on the 2-core CPU with one thread per process
# (bench/results/book_full_cpu.md); no T4 has run them yet.
FULL_MEASURED_ON: dict[str, str] = {
    chapter: "2-core CPU"
    for chapter in MINUTES
    if chapter not in ("08_dcgan", "11_conditional")  # convolutional networks: a GPU's work
}

_chapter: str | None = None  # set by begin_chapter(): the chapter this kernel runs
_told: set[str] = set()  # device fall-backs already reported in this process


def begin_chapter(name: str) -> str:
    """Record that this kernel runs chapter ``name`` (a notebook's file name without ``.ipynb``)
    and return the set-up line: version, profile, device and the expected minutes."""
    global _chapter
    if not isinstance(name, str) or not name.strip():
        raise ValueError(
            f"begin_chapter({name!r}): give the notebook's name, e.g. '04_optimal_discriminator'"
        )
    _chapter = name.strip()
    return describe()


def full_chapters() -> list[str]:
    """The chapters ``GANLAB_PROFILE_FULL_CHAPTERS`` names (commas or spaces between them).

    A name matches a chapter exactly or as its number prefix (``07`` is ``07_failure_modes``);
    a name that matches no chapter of :data:`MINUTES` is a ValueError.
    """
    names = re.split(r"[,\s]+", os.environ.get("GANLAB_PROFILE_FULL_CHAPTERS", "").strip())
    names = [name for name in names if name]
    unknown = [name for name in names if not any(_matches(ch, name) for ch in MINUTES)]
    if unknown:
        raise ValueError(
            f"GANLAB_PROFILE_FULL_CHAPTERS names {', '.join(map(repr, unknown))}, no chapter of "
            f"the book; use chapter names or numbers from: {', '.join(MINUTES)}"
        )
    return names


def _matches(chapter: str, name: str) -> bool:
    return chapter == name or chapter.startswith(name + "_")


def profile() -> str:
    """Return ``"quick"`` or ``"full"``.

    ``GANLAB_PROFILE`` wins, then ``GANLAB_QUICK``, then ``GANLAB_PROFILE_FULL_CHAPTERS`` for
    the chapter named by :func:`begin_chapter`; otherwise ``full`` on a CUDA GPU and ``quick``
    elsewhere (the CPU, or MPS unless forced).
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
    if _chapter is not None and any(_matches(_chapter, name) for name in full_chapters()):
        return "full"
    return "full" if default_device() == "cuda" else "quick"


def is_quick() -> bool:
    """True when the quick profile is active."""
    return profile() == "quick"


def pick(quick, full):
    """Return ``quick`` under the quick profile and ``full`` otherwise."""
    return quick if is_quick() else full


def _available(device: str) -> bool:
    if device == "cuda":
        return torch.cuda.is_available()
    if device == "mps":
        mps = getattr(torch.backends, "mps", None)
        return bool(mps is not None and mps.is_available())
    return True


def default_device() -> str:
    """``GANLAB_DEVICE`` (``cuda``, ``mps`` or ``cpu``) when set; otherwise ``"cuda"`` when a
    GPU is present, else ``"cpu"``. An asked-for device that is absent gives the CPU and a
    one-line message (once per process)."""
    asked = os.environ.get("GANLAB_DEVICE", "").strip().lower()
    if not asked:
        return "cuda" if torch.cuda.is_available() else "cpu"
    if asked not in DEVICES:
        raise ValueError(f"GANLAB_DEVICE={asked!r}; choose one of: {', '.join(DEVICES)}")
    if _available(asked):
        return asked
    if asked not in _told:
        _told.add(asked)
        why = {
            "cuda": "no CUDA GPU is visible to torch",
            "mps": "MPS needs Apple silicon and a torch built with MPS",
        }[asked]
        print(f"ganlab: GANLAB_DEVICE={asked}, but {why}; using the CPU", file=sys.stderr)
    return "cpu"


def expected_minutes(chapter: str | None = None) -> str:
    """How long ``chapter`` (default: the one named by :func:`begin_chapter`) takes, the active
    profile first: ``"minutes: quick ~1.5 (2-core CPU), full not measured yet"``; ``""`` when
    no chapter is named."""
    chapter = chapter or _chapter
    if chapter is None:
        return ""
    active = profile()
    row = MINUTES.get(chapter, (None, None))
    phrases = []
    for name in sorted(PROFILES, key=lambda p: p != active):
        minutes = row[PROFILES.index(name)]
        where = "2-core CPU" if name == "quick" else FULL_MEASURED_ON.get(chapter, "T4 GPU")
        phrases.append(
            f"{name} not measured yet" if minutes is None else f"{name} ~{minutes:g} ({where})"
        )
    return "minutes: " + ", ".join(phrases)


def describe() -> str:
    """One line for a notebook's set-up cell: ganlab's version, profile, device, torch version
    and, after :func:`begin_chapter`, a second line with the chapter's expected minutes."""
    from . import __version__  # here, not at the top: ganlab/__init__ imports this module first

    device = default_device()
    name = {"cuda": None, "mps": "Apple GPU", "cpu": "CPU"}[device]
    name = name or torch.cuda.get_device_name()
    parts = [
        f"ganlab {__version__}",
        f"profile: {profile()}",
        f"device: {device} ({name})",
        f"torch {torch.__version__}",
    ]
    minutes = expected_minutes()
    return " | ".join(parts) + (f"\n{minutes}" if minutes else "")
