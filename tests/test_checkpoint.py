"""Atomic checkpoint files, and loading that refuses pickled code."""

import pytest
import torch

from ganlab import checkpoint
from ganlab.checkpoint import CheckpointError, load_checkpoint, save_checkpoint


def test_round_trip_of_plain_data(tmp_path):
    state = {
        "step": 3,
        "w": torch.arange(4.0),
        "config": {"betas": (0.5, 0.999), "path": None},
        "log": [1.0, 2.0],
    }
    save_checkpoint(state, tmp_path / "sub" / "c.pt")  # creates the folder
    back = load_checkpoint(tmp_path / "sub" / "c.pt")
    assert back["step"] == 3 and torch.equal(back["w"], state["w"])
    assert back["config"] == {"betas": (0.5, 0.999), "path": None} and back["log"] == [1.0, 2.0]


def test_a_save_killed_midway_leaves_the_previous_checkpoint(tmp_path, monkeypatch):
    path = tmp_path / "c.pt"
    save_checkpoint({"step": 1}, path)

    def dies_midway(obj, f):
        f.write(b"half a checkpoint")
        raise KeyboardInterrupt  # the process is stopped while writing

    monkeypatch.setattr(checkpoint.torch, "save", dies_midway)
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint({"step": 2}, path)
    monkeypatch.undo()
    assert load_checkpoint(path) == {"step": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["c.pt"]  # the temporary file was removed


class Payload:
    """Stands in for an arbitrary object: unpickling it would run code."""


def test_arbitrary_pickled_objects_are_refused(tmp_path):
    path = tmp_path / "evil.pt"
    torch.save({"G": {}, "extra": Payload()}, path)
    with pytest.raises(
        CheckpointError, match="refusing to load .*evil.pt.*objects other than tensors"
    ):
        load_checkpoint(path)


def test_missing_truncated_and_foreign_files_are_clear_errors(tmp_path):
    with pytest.raises(CheckpointError, match="no checkpoint at"):
        load_checkpoint(tmp_path / "nope.pt")
    (tmp_path / "bad.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError):
        load_checkpoint(tmp_path / "bad.pt")
    torch.save(torch.zeros(2), tmp_path / "tensor.pt")
    with pytest.raises(CheckpointError, match="not a ganlab checkpoint"):
        load_checkpoint(tmp_path / "tensor.pt")
