"""The verdict type shared by every chapter's self-checks."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Check:
    """The verdict of a self-check: ``ok`` and a message for the student."""

    ok: bool
    message: str

    def __bool__(self) -> bool:
        return self.ok

    def __repr__(self) -> str:
        return ("✅ " if self.ok else "❌ ") + self.message


def _call(fn, *args):
    try:
        return np.asarray(fn(*args), dtype=np.float64), None
    except Exception as error:  # the student's code: report, don't crash the notebook
        return None, Check(False, f"your function raised {type(error).__name__}: {error}")
