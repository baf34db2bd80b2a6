"""Chapter 6 self-checks (none yet)."""

from __future__ import annotations

from ._check import Check, _call  # noqa: F401  (what every check returns / how it calls student code)

__all__: list[str] = []
