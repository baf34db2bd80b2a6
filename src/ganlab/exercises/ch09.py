"""Chapter 9 self-checks."""

from __future__ import annotations

from ._check import Check, _call  # noqa: F401

__all__: list[str] = []
