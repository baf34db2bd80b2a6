"""Checkpoints, in one place: their two formats, atomic saving, and loading without pickled code.

A checkpoint is a plain dictionary of tensors, numbers, strings, lists and dicts (state dicts,
the config, the step, RNG states), so ``torch.load(weights_only=True)`` can read it and refuses
anything else. Saving writes a temporary file next to the target and renames it over the target:
a run killed mid-save leaves the previous checkpoint intact.

Two formats, each written and read only here:

- ``ganlab.train/1`` (:func:`training_state`, :func:`restore_training`): the whole state of a
  ``ganlab.train`` run (G, D, G_ema, both optimisers, the RNG states, the History, the config and
  the models' ``hparams``), written every ``checkpoint_every`` steps; ``train(..., resume=path)``
  continues it exactly.
- ``ganlab.generator/1`` (:func:`generator_state`): one generator and its ``hparams``, e.g. the
  best-scoring one that ``quality.QualityTracker`` keeps as ``best.pt``.

:func:`load_generator` rebuilds a generator from either (``python -m ganlab sample``).
"""

from __future__ import annotations

import os
import pickle
import tempfile
from dataclasses import asdict
from pathlib import Path

import torch
from torch import nn

from . import config
from .config import TrainConfig
from .history import History
from .models import DCGANGenerator, MLPGenerator

TRAINING, GENERATOR = "ganlab.train/1", "ganlab.generator/1"


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


def training_state(step, cfg: TrainConfig, G, D, opt_g, opt_d, gen, G_ema, history) -> dict:
    """The whole training state as plain data (format ``ganlab.train/1``)."""
    return {
        "format": TRAINING,
        "step": step,
        "config": asdict(cfg),
        "G": G.state_dict(),
        "D": D.state_dict(),
        "G_hparams": getattr(G, "hparams", None),
        "D_hparams": getattr(D, "hparams", None),
        "G_ema": None if G_ema is None else G_ema.state_dict(),
        "opt_g": opt_g.state_dict(),
        "opt_d": opt_d.state_dict(),
        "rng": {
            "train": gen.get_state(),
            "torch": torch.get_rng_state(),
            "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        },
        "history": asdict(history),
    }


def restore_training(
    state: dict, cfg: TrainConfig, G, D, opt_g, opt_d, gen, G_ema
) -> tuple[int, History]:
    """Load a :func:`training_state` into the live objects; return its step and History.

    Refuses, with a one-line ``ValueError`` that names the difference and the checkpoint's value:
    a change of a setting that defines the run (``config.defines_run``), models built with other
    hyper-parameters or of another shape, and a ``G_ema`` given or missing.
    """
    if state.get("format") != TRAINING:
        raise CheckpointError(f"not a ganlab training checkpoint (no 'format': {TRAINING!r})")
    differ = config.changed(state["config"], cfg)
    if differ:
        was = ", ".join(f"{k}={old!r} (now {new!r})" for k, (old, new) in differ.items())
        raise ValueError(f"cannot resume: the checkpoint was trained with {was}")
    if (state["G_ema"] is None) != (G_ema is None):
        raise ValueError("cannot resume: pass G_ema exactly when the checkpointed run had one")
    for name, module in (("G", G), ("D", D)):
        _check_fits(name, module, state[name], state.get(f"{name}_hparams"))
    G.load_state_dict(state["G"])
    D.load_state_dict(state["D"])
    if G_ema is not None:
        G_ema.load_state_dict(state["G_ema"])
    opt_g.load_state_dict(state["opt_g"])
    opt_d.load_state_dict(state["opt_d"])
    gen.set_state(state["rng"]["train"])
    torch.set_rng_state(state["rng"]["torch"])
    if state["rng"]["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["rng"]["cuda"])
    return state["step"], History(**state["history"])


def _check_fits(name: str, module: nn.Module, saved: dict, hparams: dict | None) -> None:
    """Refuse, naming the first difference, a checkpointed ``name`` that ``module`` cannot load."""
    ours = getattr(module, "hparams", None)
    if isinstance(hparams, dict) and isinstance(ours, dict) and hparams != ours:
        keys = [k for k in dict.fromkeys([*hparams, *ours]) if hparams.get(k) != ours.get(k)]
        was = ", ".join(f"{k}={hparams.get(k)!r} (now {ours.get(k)!r})" for k in keys)
        raise ValueError(
            f"cannot resume: the checkpoint's {name} was built with {was}; build it with the "
            "checkpoint's settings"
        )
    here = module.state_dict()
    for key in dict.fromkeys([*saved, *here]):
        there_shape = tuple(saved[key].shape) if key in saved else "absent"
        here_shape = tuple(here[key].shape) if key in here else "absent"
        if there_shape != here_shape:
            raise ValueError(
                f"cannot resume: the checkpoint's {name} does not fit this model: {key} is "
                f"{there_shape} there and {here_shape} here; build it as the checkpointed run did"
            )


def generator_state(G: nn.Module, step: int, *, scores: dict | None = None, ema=False) -> dict:
    """One generator as plain data (format ``ganlab.generator/1``); ``ema``: it is an EMA copy."""
    return {
        "format": GENERATOR,
        "step": step,
        "scores": scores,
        "G": G.state_dict(),
        "G_hparams": getattr(G, "hparams", None),
        "ema": ema,
    }


def load_generator(path: str | Path, ema: bool = False) -> tuple[nn.Module, dict]:
    """The generator of a checkpoint of either format, rebuilt from its ``hparams``; and the state.

    ``ema``: from a training checkpoint, its EMA copy (a generator checkpoint holds one generator:
    the EMA one when it was saved with ``ema=True``). On the CPU, in train mode.
    """
    state = load_checkpoint(path)
    hparams = state.get("G_hparams")
    weights = state.get("G_ema") if ema and not state.get("ema") else state.get("G")
    if hparams is None or weights is None:
        what = "EMA generator (train with --ema)" if ema else "generator with its hparams"
        raise CheckpointError(f"{path} holds no {what}")
    G = DCGANGenerator(**hparams) if "image_size" in hparams else MLPGenerator(**hparams)
    G.load_state_dict(weights)
    return G, state
