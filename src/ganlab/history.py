"""What a run records: the :class:`History`, and the per-step trace buffer that fills it.

``ganlab.train`` and ``ganlab.sweep.run`` record the same four traces per generator step
(:data:`TRACES`). They stay on the device in a :class:`TraceBuffer` and reach the History every
``log_every`` steps, one device sync per flush; the flush is where a NaN or infinite loss is
found, and the rows from it on are not recorded.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import torch

TRACES = ("loss_d", "loss_g", "d_real", "d_fake")  # per generator step, in this order


class TrainingDiverged(RuntimeError):
    """A loss became NaN or infinite; ``step`` is the first generator step where it did."""

    def __init__(self, step: int, what: str):
        self.step = step
        super().__init__(
            f"training diverged at step {step}: {what} is not finite; "
            "lower lr_d / lr_g, or check the data for NaN or huge values"
        )


@dataclass
class History:
    """What a run recorded: one entry per generator step, plus metrics logged by callbacks.

    ``loss_d`` and ``loss_g`` are the last discriminator loss and the generator loss of each
    step; ``d_real`` and ``d_fake`` the mean ``D(x)`` and ``D(G(z))`` of the last D step.
    ``metrics[name]`` is a list of ``(step, value)``. ``wall_time`` is in seconds.
    """

    step: list[int] = field(default_factory=list)
    loss_d: list[float] = field(default_factory=list)
    loss_g: list[float] = field(default_factory=list)
    d_real: list[float] = field(default_factory=list)
    d_fake: list[float] = field(default_factory=list)
    metrics: dict[str, list[tuple[int, float]]] = field(default_factory=dict)
    wall_time: float = 0.0
    config: dict = field(default_factory=dict)

    def log_metric(self, name: str, step: int, value: float) -> None:
        """Record ``value`` for metric ``name`` at ``step``."""
        self.metrics.setdefault(name, []).append((step, float(value)))

    def metric(self, name: str) -> tuple[list[int], list[float]]:
        """Steps and values of metric ``name``."""
        if name not in self.metrics:
            raise KeyError(f"no metric {name!r}; recorded: {', '.join(self.metrics) or 'none'}")
        steps, values = zip(*self.metrics[name])
        return list(steps), list(values)

    def to_csv(self, path) -> Path:
        """Write the per-step traces (``step, loss_d, loss_g, d_real, d_fake``) as CSV; and, when
        metrics were logged, ``<name>_metrics.csv`` beside it with ``step, metric, value`` rows."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        rows = zip(self.step, *(getattr(self, name) for name in TRACES))
        path.write_text(
            "step," + ",".join(TRACES) + "\n" + "".join(",".join(map(repr, r)) + "\n" for r in rows)
        )
        if self.metrics:
            lines = [
                f"{s},{name},{v!r}\n" for name, values in self.metrics.items() for s, v in values
            ]
            path.with_name(path.stem + "_metrics.csv").write_text(
                "step,metric,value\n" + "".join(lines)
            )
        return path

    @property
    def steps_per_second(self) -> float:
        return len(self.step) / self.wall_time if self.wall_time > 0 else float("nan")


class TraceBuffer:
    """The traces of up to ``rows`` steps, kept on ``device`` between flushes.

    One run: :meth:`add` takes a ``(4,)`` tensor per step (:data:`TRACES`, in order). A batched
    run of ``members`` runs: a ``(4, members)`` tensor, column ``i`` member ``i``'s.
    """

    def __init__(self, rows: int, device: torch.device, members: int | None = None):
        shape = (rows, len(TRACES)) if members is None else (rows, len(TRACES), members)
        self.rows, self.filled = torch.empty(shape, device=device), 0

    def add(self, traces: torch.Tensor) -> None:
        """Record one step's traces (no device sync)."""
        self.rows[self.filled] = traces
        self.filled += 1

    @property
    def full(self) -> bool:
        return self.filled == len(self.rows)

    def flush(self, histories, last_step: int, active=None, reduce=None) -> list:
        """Move the buffered steps, which end at ``last_step``, to ``histories`` (one per member).

        ``active[i]`` false skips member ``i``; ``reduce`` maps the buffered rows first (e.g. the
        average over processes). Returns, per history, the first ``(step, trace name)`` that is
        not finite, or None; that step and the ones after it are not recorded.
        """
        rows = self.rows[: self.filled]
        rows = (rows if reduce is None else reduce(rows)).cpu()
        rows = rows[..., None] if rows.ndim == 2 else rows  # (steps, 4, members)
        first, self.filled = last_step - self.filled + 1, 0
        finite = torch.isfinite(rows)
        bad = []
        for i, history in enumerate(histories):
            if active is not None and not active[i]:
                bad.append(None)
                continue
            ok = finite[:, :, i].all(1)
            good = len(ok) if ok.all() else int((~ok).nonzero()[0])  # rows before the first bad
            values = rows[:good, :, i].tolist()
            history.step.extend(range(first, first + good))
            for j, name in enumerate(TRACES):
                getattr(history, name).extend(row[j] for row in values)
            if good == len(ok):
                bad.append(None)
            else:
                name = TRACES[int((~finite[good, :, i]).nonzero()[0])]
                bad.append((first + good, name))
        return bad
