"""``python -m ganlab``: train into a run folder, resume, sample; errors without tracebacks."""

import json
import subprocess
import sys

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch

import ganlab
from ganlab import cli
from ganlab.checkpoint import load_checkpoint

TINY = [
    "--image-size",
    "16",
    "--width",
    "8",
    "--latent-dim",
    "16",
    "--batch-size",
    "16",
    "--sample-every",
    "5",
    "--eval-every",
    "5",
    "--eval-samples",
    "200",
    "--checkpoint-every",
    "5",
    "--no-progress",
]


def test_train_dcgan_writes_the_run_folder_and_resumes(tmp_path, capsys):
    out = tmp_path / "run"
    assert (
        cli.main(["train", "dcgan", "--steps", "10", "--ema", "0.9", "--out", str(out), *TINY]) == 0
    )
    summary = json.loads((out / "summary.json").read_text())
    assert summary["steps"] == 10 and summary["best_step"] in (5, 10) and summary["floor"]["fd"] > 0
    assert summary["config"]["batch_real"] == 16 and summary["config"]["ema_decay"] == 0.9
    assert sorted(p.name for p in (out / "samples").iterdir()) == [
        "final.png",
        "step_000001.png",
        "step_000005.png",
        "step_000010.png",
    ]
    assert (out / "history.csv").read_text().count("\n") == 11  # header + 10 steps
    assert (
        "fd" in (out / "history_metrics.csv").read_text()
        and plt.imread(out / "history.png").ndim == 3
    )
    assert load_checkpoint(out / "checkpoint.pt")["step"] == 10

    with pytest.raises(SystemExit, match="exists: pass --resume"):
        cli.main(["train", "dcgan", "--steps", "15", "--ema", "0.9", "--out", str(out), *TINY])
    cli.main(
        ["train", "dcgan", "--steps", "15", "--ema", "0.9", "--resume", "--out", str(out), *TINY]
    )
    state = load_checkpoint(out / "checkpoint.pt")
    assert state["step"] == 15 and len(state["history"]["step"]) == 15

    png = tmp_path / "grid.png"
    cli.main(
        [
            "sample",
            "--checkpoint",
            str(out / "best.pt"),
            "--n",
            "12",
            "--nrow",
            "6",
            "--out",
            str(png),
        ]
    )
    assert plt.imread(png).shape[:2] == (
        2 + 2 * 18,
        2 + 6 * 18,
    )  # 2 rows x 6 columns of 16 px + 2 px gaps
    # best.pt holds the scored generator, the EMA one here: --ema reads it too and gives the same
    # grid
    assert load_checkpoint(out / "best.pt")["ema"] is True
    cli.main(
        [
            "sample",
            "--checkpoint",
            str(out / "best.pt"),
            "--ema",
            "--n",
            "12",
            "--nrow",
            "6",
            "--out",
            str(tmp_path / "ema.png"),
        ]
    )
    assert np.array_equal(plt.imread(tmp_path / "ema.png"), plt.imread(png))
    cli.main(
        [
            "sample",
            "--checkpoint",
            str(out / "checkpoint.pt"),
            "--ema",
            "--n",
            "4",
            "--out",
            str(png),
        ]
    )
    assert "samples of step 15" in capsys.readouterr().out


def test_train_toy_and_sample(tmp_path):
    out = tmp_path / "toy"
    cli.main(
        [
            "train",
            "toy",
            "--data",
            "ring",
            "--steps",
            "20",
            "--hidden",
            "16",
            "--depth",
            "2",
            "--eval-every",
            "10",
            "--out",
            str(out),
            "--no-progress",
        ]
    )
    summary = json.loads((out / "summary.json").read_text())
    assert summary["n_modes"] == 8 and 0 <= summary["modes"] <= 8 and (out / "samples.png").exists()
    state = load_checkpoint(out / "checkpoint.pt")
    G = ganlab.models.MLPGenerator(**state["G_hparams"])
    G.load_state_dict(state["G"])
    score = ganlab.metrics.generator_coverage(G, ganlab.ring())  # the one end-of-run score
    assert (summary["modes"], summary["reverse_kl"]) == (score.modes_captured, score.reverse_kl)
    cli.main(
        [
            "sample",
            "--checkpoint",
            str(out / "checkpoint.pt"),
            "--n",
            "100",
            "--out",
            str(tmp_path / "t.png"),
        ]
    )
    assert plt.imread(tmp_path / "t.png").ndim == 3


def test_errors_are_messages_not_tracebacks(tmp_path):
    with pytest.raises(SystemExit, match="unknown .*'svhn'.*digits"):
        cli.main(["train", "dcgan", "--data", "svhn", "--out", str(tmp_path / "a"), *TINY])
    with pytest.raises(
        SystemExit, match="download=True|torchvision"
    ):  # torchvision missing: how to install it
        cli.main(
            [
                "train",
                "dcgan",
                "--data",
                "mnist",
                "--root",
                str(tmp_path),
                "--out",
                str(tmp_path / "b"),
                *TINY,
            ]
        )
    with pytest.raises(SystemExit, match="--resume: no checkpoint"):
        cli.main(["train", "toy", "--resume", "--out", str(tmp_path / "c")])
    evil = tmp_path / "evil.pt"
    torch.save({"G": object()}, evil)
    with pytest.raises(SystemExit, match="refusing to load"):
        cli.main(["sample", "--checkpoint", str(evil), "--out", str(tmp_path / "x.png")])


def test_an_out_folder_that_cannot_be_made_is_one_line(tmp_path):
    some_file = tmp_path / "some_file"
    some_file.write_text("not a folder")
    for argv in (
        ["train", "dcgan", "--data", "digits", "--out", str(some_file / "run")],
        ["train", "toy", "--out", str(some_file)],
        ["sample", "--checkpoint", str(some_file), "--out", str(some_file / "grid.png")],
    ):
        with pytest.raises(SystemExit) as err:
            cli.main(argv)
        message = str(err.value)
        assert f"{some_file} is a file, not a folder; choose another --out" in message
        assert "\n" not in message


def test_resume_with_other_model_settings_names_the_difference(tmp_path):
    out = str(tmp_path / "run")
    cli.main(["train", "dcgan", "--steps", "2", "--out", out, *TINY])
    wider = [*TINY[: TINY.index("--width")], "--width", "16", *TINY[TINY.index("--width") + 2 :]]
    with pytest.raises(SystemExit) as err:
        cli.main(["train", "dcgan", "--steps", "4", "--resume", "--out", out, *wider])
    message = str(err.value)
    assert message.startswith("error: cannot resume: the checkpoint's G was built with width=8")
    assert "(now 16)" in message and "\n" not in message
    with pytest.raises(SystemExit, match=r"lr_d=0.0002 \(now 0.001\)"):
        cli.main(
            ["train", "dcgan", "--steps", "4", "--resume", "--lr-d", "1e-3", "--out", out, *TINY]
        )


def test_python_dash_m_runs():
    result = subprocess.run(
        [sys.executable, "-m", "ganlab", "--help"], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0 and "train" in result.stdout and "sample" in result.stdout


def test_conditional_dcgan_with_spectral_norm_and_hinge_loss_samples_one_class(tmp_path):
    out = tmp_path / "cond"
    cli.main(
        [
            "train",
            "dcgan",
            "--steps",
            "5",
            "--conditional",
            "--spectral-norm",
            "--loss",
            "hinge",
            "--out",
            str(out),
            *TINY,
        ]
    )
    summary = json.loads((out / "summary.json").read_text())
    assert summary["config"]["loss"] == "hinge" and "best" in summary
    state = load_checkpoint(out / "checkpoint.pt")
    assert state["G_hparams"]["num_classes"] == 10 and state["D_hparams"]["spectral_norm"]
    png = tmp_path / "sevens.png"
    cli.main(
        [
            "sample",
            "--checkpoint",
            str(out / "checkpoint.pt"),
            "--label",
            "7",
            "--n",
            "8",
            "--out",
            str(png),
        ]
    )
    assert png.exists()
    with pytest.raises(SystemExit, match="--label must be in 0..9"):
        cli.main(
            [
                "sample",
                "--checkpoint",
                str(out / "checkpoint.pt"),
                "--label",
                "12",
                "--out",
                str(png),
            ]
        )
    with pytest.raises(SystemExit, match="r1 must be a finite number"):
        cli.main(["train", "toy", "--r1", "-1", "--out", str(tmp_path / "t")])
