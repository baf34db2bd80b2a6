"""The verdict type shared by every chapter's self-checks, and how they call the student's code.

An exercise's code cell starts as a stub, ``raise NotImplementedError  # replace with your
answer`` (or a function returning ``None`` or ``...``). A check called on a stub says "not answered
yet" and nothing else: no hint, and so never the answer, appears before the student has tried.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

NOT_ANSWERED = "not answered yet: write your answer in the cell above, then run it again"


@dataclass(frozen=True)
class Check:
    """The verdict of a self-check: ``ok`` and a message for the student.

    ``answered`` is False for a stub (see :func:`not_answered`): falsy, with no hint.
    """

    ok: bool
    message: str
    answered: bool = True

    def __bool__(self) -> bool:
        return self.ok

    def __repr__(self) -> str:
        if not self.answered:
            return "… " + self.message
        return ("✅ " if self.ok else "❌ ") + self.message


def not_answered() -> Check:
    """The verdict on a stub: not answered yet (falsy, and no hint)."""
    return Check(False, NOT_ANSWERED, answered=False)


def is_stub(value) -> bool:
    """A stub's return value: ``None`` or ``...`` (a function that has no answer yet)."""
    return value is None or value is Ellipsis


class Unanswered(Exception):
    """Raised by :func:`run` when the student's code is still a stub."""


def run(fn, *args):
    """``fn(*args)``, but a stub (``NotImplementedError``, ``None``, ``...``) raises
    :class:`Unanswered`; any other exception propagates."""
    try:
        out = fn(*args)
    except NotImplementedError as error:
        raise Unanswered from error
    if is_stub(out):
        raise Unanswered
    return out


def _call(fn, *args):
    """``(fn(*args) as a float64 array, None)``, or ``(None, Check)`` when it raised or returned
    something that is not numbers, or is a stub (then the Check is :func:`not_answered`)."""
    try:
        return np.asarray(run(fn, *args), dtype=np.float64), None
    except Unanswered:
        return None, not_answered()
    except Exception as error:  # the student's code: report, don't crash the notebook
        return None, Check(False, f"your function raised {type(error).__name__}: {error}")
