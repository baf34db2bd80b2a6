"""Checkpoints: save a training state atomically, load it without running pickled code.

A checkpoint is a plain dictionary of tensors, numbers, strings, lists and dicts (state dicts,
the config, the step, RNG states), so ``torch.load(weights_only=True)`` can read it and refuses
anything else. Saving writes a temporary file next to the target and renames it over the target:
a run killed mid-save leaves the previous checkpoint intact.
"""

from __future__ import annotations

import os
import pickle
import tempfile
from pathlib import Path

import torch


class CheckpointError(ValueError):
    """A checkpoint file is missing, unreadable, or holds something other than plain data."""


def save_checkpoint(state: dict, path: str | Path) -> Path:
    """Write ``state`` to ``path`` atomically (temp file in the same folder, then rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(state, f)
            f.flush()
            os.fsync(
                f.fileno()
            )  # the bytes are on disk before the rename makes them the checkpoint
        os.replace(tmp, path)  # atomic on POSIX and Windows: readers see the old or the new file
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def load_checkpoint(path: str | Path, map_location="cpu") -> dict:
    """Read a checkpoint written by :func:`save_checkpoint` with ``weights_only=True``.

    Raises ``CheckpointError`` for a missing file or one holding arbitrary pickled objects
    (which could run code on load); only tensors and plain Python data are accepted.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"no checkpoint at {str(path)!r}")
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as err:
        raise CheckpointError(
            f"refusing to load {str(path)!r}: it holds objects other than tensors and plain data, "
            f"which could run code when unpickled ({str(err).splitlines()[0]})"
        ) from err
    except (RuntimeError, EOFError) as err:
        raise CheckpointError(f"cannot read checkpoint {str(path)!r}: {err}") from err
    if not isinstance(state, dict):
        raise CheckpointError(
            f"{str(path)!r} is not a ganlab checkpoint (a {type(state).__name__}, not a dict)"
        )
    return state
