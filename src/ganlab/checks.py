"""The book's checks: each claim a chapter makes, asserted, with one visible line of verdict.

A chapter's asserts are its promise that the numbers in the text are right. In the book they sit
in a folded cell (tagged ``hide-input``) and print one line, so the page reads::

    ✓ 3 checks passed: the formula is the log-normal density; ...

Write them as::

    with Checks() as check:
        check(np.allclose(p_exp(xs), lognormal(xs)), "the formula is the log-normal density")
        check(l1_exp < 0.03, "it is the density of the samples", f"L1 = {l1_exp:.4f}")

A claim that does not hold raises ``AssertionError: check failed: <claim> (<detail>)`` at once,
so nbval and the book build fail on it with the claim in the message.
"""

from __future__ import annotations

import html

__all__ = ["Checks", "CheckFailed"]


class CheckFailed(AssertionError):
    """A claim of the book that does not hold (an ``AssertionError``, so tests treat it as one)."""


class Verdict:
    """The one-line result of a :class:`Checks` block: HTML in notebooks, text elsewhere."""

    def __init__(self, claims: list[str], title: str | None = None):
        self.claims, self.title = list(claims), title

    def __str__(self) -> str:
        n = len(self.claims)
        head = f"{self.title}: " if self.title else ""
        what = "check passed" if n == 1 else "checks passed"
        return f"✓ {head}{n} {what}" + (": " + "; ".join(self.claims) if n else "")

    __repr__ = __str__

    def _repr_html_(self) -> str:
        text = html.escape(str(self).removeprefix("✓ "))
        return (
            '<p class="ganlab-checks"><span style="color: #2e7d32; font-weight: bold">✓</span> '
            f"{text}</p>"
        )


class Checks:
    """Collects the claims of one cell; on leaving the ``with`` block, shows one verdict line.

    ``check(ok, claim, detail=None)`` asserts ``ok`` (one truth value: a bool, a numpy or torch
    boolean scalar); ``claim`` says in words what is being promised, ``detail`` (e.g. the measured
    number) is added to the error message if it fails. ``title`` prefixes the verdict.
    """

    def __init__(self, title: str | None = None):
        self.title = title
        self.claims: list[str] = []

    def __call__(self, ok, claim: str, detail: object = None) -> None:
        if not isinstance(claim, str) or not claim.strip():
            raise ValueError(f"a check needs its claim in words, got {claim!r}")
        try:
            holds = bool(ok)
        except (ValueError, RuntimeError) as error:  # an array of many truth values
            raise TypeError(
                f"check({claim!r}) needs one truth value, got {type(ok).__name__} with several: "
                "reduce it with np.all(...) / np.allclose(...) / torch.allclose(...)"
            ) from error
        if not holds:
            extra = "" if detail is None else f" ({detail})"
            raise CheckFailed(f"check failed: {claim}{extra}")
        self.claims.append(claim)

    def verdict(self) -> Verdict:
        return Verdict(self.claims, self.title)

    def __enter__(self) -> Checks:
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        if exc_type is None:
            _show(self.verdict())
        return False  # a failed check propagates


def _show(obj) -> None:
    """Display ``obj`` as rich output under IPython (HTML in the book), print it otherwise."""
    try:
        from IPython import get_ipython
        from IPython.display import display
    except ImportError:  # plain Python
        print(obj)
        return
    if get_ipython() is None:
        print(obj)
    else:
        display(obj)
