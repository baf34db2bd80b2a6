"""Small result tables for the book: rows of numbers shown as an HTML table, rounded for people.

``show(rows)`` returns a :class:`Table`; as the last line of a notebook cell it renders as an
HTML table (in Jupyter, Colab and the built book) and as aligned plain text anywhere else.
Floats are rounded to ``digits`` significant figures (3 by default), integers are shown whole,
numpy and torch scalars are unwrapped first: no ``np.float64(…)`` reprs, no 16-digit floats.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping

__all__ = ["Table", "show", "fmt"]


def _scalar(value):
    """A Python scalar for numpy / torch scalars (``.item()``); anything else unchanged."""
    item = getattr(value, "item", None)
    if item is not None and getattr(value, "ndim", 0) == 0:
        return item()
    return value


def fmt(value, digits: int = 3) -> str:
    """``value`` as text: floats to ``digits`` significant figures, never in more digits than that.

    Integers (and floats of ``digits`` or more integer digits) print whole, without decimals; a
    float that is exact in ``digits`` figures prints as short as it is (2.5, 0.03, 1); magnitudes
    below 1e-4 use e-notation; ``None`` and NaN print as an en dash; bools as yes / no.
    """
    if not (isinstance(digits, int) and digits >= 1):
        raise ValueError(f"digits must be a positive integer, got {digits!r}")
    value = _scalar(value)
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}".replace(",", "\u2009")  # thin space between thousands: 12 000
    if isinstance(value, float):
        if math.isnan(value):
            return "–"
        if math.isinf(value):
            return "∞" if value > 0 else "−∞"
        if value == 0:
            return "0"
        if abs(value) < 1e-4:
            return f"{value:.{digits - 1}e}".replace("e-0", "e-")
        if abs(value) < 10**digits and float(f"{value:.{digits}g}") == value:
            return f"{value:.{digits}g}".replace("-", "−")  # exact in a few digits: 2.5, not 2.50
        decimals = max(0, digits - 1 - math.floor(math.log10(abs(value))))
        value = round(value, decimals)  # 0.9997 -> 1.0: count the digits of the rounded value
        if value == 0:
            return "0"
        decimals = max(0, digits - 1 - math.floor(math.log10(abs(value))))
        text = f"{value:.{decimals}f}"
        return "0" if float(text) == 0 else text.replace("-", "−")
    return str(value)


def _normalise(rows, columns) -> tuple[list[str], list[list]]:
    """``(columns, rows as lists)`` from a list of dicts, a dict of columns, a list of sequences
    (with ``columns``) or a data frame (anything with ``.columns`` and ``.to_dict``)."""
    if hasattr(rows, "columns") and hasattr(rows, "to_dict"):  # a pandas DataFrame
        columns = list(columns or rows.columns)
        rows = rows.to_dict("records")
    if isinstance(rows, Mapping):  # {column: values}
        names = list(rows)
        lengths = {len(v) for v in rows.values()}
        if len(lengths) > 1:
            raise ValueError(f"the columns have different lengths: {sorted(lengths)}")
        n = lengths.pop() if lengths else 0
        rows = [{name: rows[name][i] for name in names} for i in range(n)]
        columns = list(columns or names)
    rows = list(rows)
    if rows and all(isinstance(r, Mapping) for r in rows):
        if columns is None:
            columns = list(dict.fromkeys(k for r in rows for k in r))
        return [str(c) for c in columns], [[r.get(c) for c in columns] for r in rows]
    if columns is None:
        raise ValueError(
            "rows given as sequences need their column names: show(rows, columns=[...])"
        )
    columns = [str(c) for c in columns]
    out = []
    for i, r in enumerate(rows):
        r = [r] if isinstance(r, str) or not hasattr(r, "__iter__") else list(r)
        if len(r) != len(columns):
            raise ValueError(f"row {i} has {len(r)} values for {len(columns)} columns {columns}")
        out.append(list(r))
    return columns, out


class Table:
    """A table of rounded values; renders as HTML in notebooks and the book, as text elsewhere.

    Build it with :func:`show`. ``columns``: the header; ``cells``: the formatted text of each
    row; ``numeric[j]``: column j holds numbers (right-aligned).
    """

    def __init__(self, columns, cells, numeric, caption=None):
        self.columns, self.cells, self.numeric, self.caption = columns, cells, numeric, caption

    def _repr_html_(self) -> str:
        def cell(tag, text, j):
            align = ' style="text-align: right"' if self.numeric[j] else ""
            return f"<{tag}{align}>{html.escape(text)}</{tag}>"

        head = "".join(cell("th", c, j) for j, c in enumerate(self.columns))
        body = "".join(
            "<tr>" + "".join(cell("td", t, j) for j, t in enumerate(row)) + "</tr>"
            for row in self.cells
        )
        caption = f"<caption>{html.escape(self.caption)}</caption>" if self.caption else ""
        return (
            f'<table class="ganlab-table">{caption}<thead><tr>{head}</tr></thead>'
            f"<tbody>{body}</tbody></table>"
        )

    def __str__(self) -> str:
        widths = [
            max([len(c)] + [len(row[j]) for row in self.cells]) for j, c in enumerate(self.columns)
        ]

        def line(texts):
            return "  ".join(
                t.rjust(w) if self.numeric[j] else t.ljust(w)
                for j, (t, w) in enumerate(zip(texts, widths))
            ).rstrip()

        lines = [self.caption] if self.caption else []
        lines += [line(self.columns), "  ".join("-" * w for w in widths)]
        return "\n".join(lines + [line(row) for row in self.cells])

    __repr__ = __str__

    def __len__(self) -> int:
        return len(self.cells)


def show(rows, columns=None, digits: int | Mapping[str, int] = 3, caption: str | None = None):
    """A :class:`Table` of ``rows``, floats rounded to ``digits`` significant figures.

    ``rows``: a list of dicts (one per row; columns in first-seen order), a dict of columns
    ``{name: values}``, a list of sequences with ``columns=[...]``, or a pandas DataFrame.
    ``columns`` picks and orders the columns; ``digits`` is one number for every column or
    ``{column: digits}`` (other columns: 3). Values may be Python, numpy or torch scalars,
    strings, bools or None.
    """
    columns, rows = _normalise(rows, columns)
    per_column = dict(digits) if isinstance(digits, Mapping) else {}
    unknown = set(per_column) - set(columns)
    if unknown:
        raise ValueError(f"digits given for unknown columns {sorted(unknown)}; columns: {columns}")
    default = 3 if isinstance(digits, Mapping) else digits
    values = [[_scalar(v) for v in row] for row in rows]
    numeric = [
        all(isinstance(row[j], int | float) or row[j] is None for row in values)
        and any(isinstance(row[j], int | float) and not isinstance(row[j], bool) for row in values)
        for j in range(len(columns))
    ]
    cells = [
        [fmt(v, per_column.get(columns[j], default)) for j, v in enumerate(row)] for row in values
    ]
    return Table(columns, cells, numeric, caption)
