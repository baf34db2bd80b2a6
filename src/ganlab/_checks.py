"""Small argument checks shared by the modules: each error names the bad value and what is
allowed.
"""

from __future__ import annotations

import math


def positive(name: str, value) -> None:
    """Raise ``ValueError`` unless ``value`` is a finite number > 0."""
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
        or value <= 0
    ):
        raise ValueError(f"{name} must be a positive finite number, got {value!r}")


def positive_int(name: str, value) -> None:
    """Raise ``ValueError`` unless ``value`` is an integer >= 1."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be an integer >= 1, got {value!r}")


def choice(kind: str, name: str, allowed) -> None:
    """Raise ``ValueError`` unless ``name`` is one of ``allowed``."""
    if name not in allowed:
        raise ValueError(f"unknown {kind} {name!r}; choose one of: {', '.join(allowed)}")
