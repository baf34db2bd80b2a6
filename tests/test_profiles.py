"""ganlab.profiles: GANLAB_DEVICE (with a clean fall-back), GANLAB_PROFILE_FULL_CHAPTERS, the
chapter minutes and the set-up line. CUDA and MPS are mocked: the tests run on any machine."""

import json
from pathlib import Path

import pytest
import torch

import ganlab
from ganlab import profiles

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def clean(monkeypatch):
    for name in ("GANLAB_PROFILE", "GANLAB_QUICK", "GANLAB_DEVICE", "GANLAB_PROFILE_FULL_CHAPTERS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(profiles, "_chapter", None)
    monkeypatch.setattr(profiles, "_told", set())


def machine(monkeypatch, cuda: bool, mps: bool):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda *args: "Mock GPU")
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: mps)


@pytest.mark.parametrize(
    "cuda,mps,asked,expected",
    [
        (True, False, "", "cuda"),
        (False, True, "", "cpu"),  # MPS only when asked
        (False, False, "", "cpu"),
        (True, False, "cpu", "cpu"),
        (False, True, "mps", "mps"),
        (True, True, "CUDA", "cuda"),
    ],
)
def test_the_device_is_the_asked_one_when_present(monkeypatch, capsys, cuda, mps, asked, expected):
    machine(monkeypatch, cuda, mps)
    monkeypatch.setenv("GANLAB_DEVICE", asked)
    assert ganlab.default_device() == expected
    assert capsys.readouterr().err == ""
    assert ganlab.profile() == ("full" if expected == "cuda" else "quick")


@pytest.mark.parametrize("asked", ["mps", "cuda"])
def test_an_absent_device_falls_back_to_the_cpu_with_one_line_once(monkeypatch, capsys, asked):
    machine(monkeypatch, cuda=False, mps=False)
    monkeypatch.setenv("GANLAB_DEVICE", asked)
    assert ganlab.default_device() == "cpu"
    message = capsys.readouterr().err
    assert message.count("\n") == 1 and message.startswith(f"ganlab: GANLAB_DEVICE={asked}, but")
    assert message.rstrip().endswith("using the CPU")
    assert ganlab.default_device() == "cpu" and capsys.readouterr().err == ""  # said once
    assert ganlab.TrainConfig().resolved_device() == torch.device("cpu")  # "auto": the same


def test_a_device_that_does_not_exist_is_a_value_error(monkeypatch):
    monkeypatch.setenv("GANLAB_DEVICE", "tpu")
    with pytest.raises(ValueError, match="GANLAB_DEVICE='tpu'; choose one of: cuda, mps, cpu"):
        ganlab.default_device()


def test_describe_names_version_profile_device_and_the_chapter_minutes(monkeypatch):
    machine(monkeypatch, cuda=False, mps=True)
    monkeypatch.setenv("GANLAB_DEVICE", "mps")
    line = ganlab.begin_chapter("08_dcgan")
    first, second = line.split("\n")
    assert first == (
        f"ganlab {ganlab.__version__} | profile: quick | device: mps (Apple GPU) | "
        f"torch {torch.__version__}"
    )
    quick, full = profiles.MINUTES["08_dcgan"]
    assert second == f"minutes: quick ~{quick:g} (2-core CPU), " + (
        "full not measured yet" if full is None else f"full ~{full:g} (T4 GPU)"
    )
    machine(monkeypatch, cuda=True, mps=False)
    monkeypatch.delenv("GANLAB_DEVICE")
    assert "| profile: full | device: cuda (Mock GPU) |" in ganlab.describe()
    assert ganlab.describe().split("\n")[1].startswith("minutes: full")  # the active one first


def test_a_toy_chapters_full_minutes_say_they_were_measured_on_the_cpu(monkeypatch):
    monkeypatch.setenv("GANLAB_PROFILE", "full")
    quick, full = profiles.MINUTES["07_failure_modes"]
    assert full is not None  # measured: bench/results/book_full_cpu.md
    assert profiles.expected_minutes("07_failure_modes") == (
        f"minutes: full ~{full:g} (2-core CPU), quick ~{quick:g} (2-core CPU)"
    )
    assert "08_dcgan" not in profiles.FULL_MEASURED_ON  # an image chapter: a GPU's minutes


def test_full_chapters_choose_the_profile_per_chapter(monkeypatch):
    machine(monkeypatch, cuda=False, mps=False)
    monkeypatch.setenv("GANLAB_PROFILE_FULL_CHAPTERS", "01,02 07  failure_gallery")
    assert ganlab.profile() == "quick"  # no chapter named yet
    for chapter, expected in [
        ("07_failure_modes", "full"),
        ("08_dcgan", "quick"),
        ("01_implicit_models", "full"),
        ("failure_gallery", "full"),
    ]:
        ganlab.begin_chapter(chapter)
        assert ganlab.profile() == expected, chapter
        assert ganlab.pick(quick=1, full=2) == (2 if expected == "full" else 1)
    monkeypatch.setenv("GANLAB_QUICK", "1")
    assert ganlab.profile() == "quick"  # GANLAB_QUICK is stronger
    monkeypatch.setenv("GANLAB_PROFILE", "full")
    ganlab.begin_chapter("08_dcgan")
    assert ganlab.profile() == "full"  # and GANLAB_PROFILE stronger still


def test_a_full_chapter_that_is_no_chapter_is_a_value_error(monkeypatch):
    monkeypatch.setenv("GANLAB_PROFILE_FULL_CHAPTERS", "07 13 dcgan")
    with pytest.raises(ValueError, match="names '13', 'dcgan', no chapter of the book"):
        ganlab.begin_chapter("07_failure_modes")  # the set-up cell says so at once
    with pytest.raises(ValueError, match="give the notebook's name"):
        ganlab.begin_chapter(" ")


def test_every_chapter_has_its_minutes_and_every_row_is_a_chapter():
    notebooks = {path.stem for path in (ROOT / "book").glob("*.ipynb")}
    assert set(profiles.MINUTES) == notebooks
    for chapter, (quick, full) in profiles.MINUTES.items():
        assert quick is not None and 0 < quick <= 30, chapter  # measured for every chapter
        assert full is None or 0 < full <= 60, chapter
    first = {
        path.stem: "".join(
            next(c for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "code")[
                "source"
            ]
        )
        for path in (ROOT / "book").glob("*.ipynb")
    }
    assert all(f'ganlab.begin_chapter("{stem}")' in cell for stem, cell in first.items())
