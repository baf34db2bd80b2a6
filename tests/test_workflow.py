"""The Pages workflow (.github/workflows/book.yml). GitHub Actions cannot run here, so this checks
its structure: triggers, permissions, the GPU-runner switch and the profile it sets, the build
commands of both editions and both Colab sets, the site layout, the pushed branches, and the
shell syntax of every step."""

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from ganlab import profiles

ROOT = Path(__file__).resolve().parents[1]
WORKFLOW = yaml.safe_load((ROOT / ".github" / "workflows" / "book.yml").read_text())
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())
BUILD = WORKFLOW["jobs"]["build"]
RUNS = "\n".join(step.get("run", "") for step in BUILD["steps"])


def test_it_runs_on_pushes_to_main_with_the_permissions_it_needs():
    triggers = WORKFLOW[True]  # YAML 1.1 reads the key `on` as True
    assert triggers["push"]["branches"] == ["main"] and "workflow_dispatch" in triggers
    assert WORKFLOW["permissions"] == {"contents": "write", "pages": "write", "id-token": "write"}
    deploy = WORKFLOW["jobs"]["deploy"]
    assert deploy["needs"] == "build" and deploy["environment"]["name"] == "github-pages"
    assert deploy["steps"][-1]["uses"].startswith("actions/deploy-pages@")


def test_a_repository_variable_switches_to_a_gpu_runner_and_the_full_profile():
    assert BUILD["runs-on"] == "${{ vars.GANLAB_GPU_RUNNER || 'ubuntu-latest' }}"
    assert BUILD["env"]["GANLAB_PROFILE"] == "${{ vars.GANLAB_GPU_RUNNER && 'full' || '' }}"
    readme = (ROOT / "README.md").read_text()
    assert "GANLAB_GPU_RUNNER" in readme and "GANLAB_PROFILE_FULL_CHAPTERS" in readme
    conditions = [
        step.get("if", "") for step in BUILD["steps"] if "Install" in step.get("name", "")
    ]
    assert conditions == ["${{ !vars.GANLAB_GPU_RUNNER }}", "${{ vars.GANLAB_GPU_RUNNER }}"]
    assert "--index-url https://download.pytorch.org/whl/cpu" in BUILD["steps"][3]["run"]


def image_chapters() -> set[str]:
    """Chapters that train a DCGAN (in their code cells)."""
    found = set()
    for path in (ROOT / "book").glob("*.ipynb"):
        cells = json.loads(path.read_text())["cells"]
        code = "".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
        if re.search(r"\bdcgan\(", code):
            found.add(path.stem)
    return found


def test_the_cpu_runner_runs_exactly_the_toy_chapters_in_the_full_profile(monkeypatch):
    expression = BUILD["env"]["GANLAB_PROFILE_FULL_CHAPTERS"]
    match = re.fullmatch(r"\$\{\{ !vars\.GANLAB_GPU_RUNNER && '([^']+)' \|\| '' \}\}", expression)
    assert match, expression
    monkeypatch.setenv("GANLAB_PROFILE_FULL_CHAPTERS", match[1])
    names = profiles.full_chapters()  # every name is a chapter (else ValueError)
    full = {ch for ch in profiles.MINUTES if any(profiles._matches(ch, n) for n in names)}
    assert image_chapters() == {"08_dcgan", "11_conditional"}
    assert full == set(profiles.MINUTES) - image_chapters()


def test_it_builds_both_editions_and_both_colab_sets_into_one_site():
    order = [
        "python scripts/build_book.py\n",
        "python scripts/build_book.py --student\n",
        "python scripts/build_book.py --colab _build/colab\n",
        "python scripts/build_book.py --colab --student _build/colab-student\n",
        "cp -r _build/html/. _build/site/\n",
        "cp -r _build/student/_build/html _build/site/student\n",
    ]
    positions = [RUNS.find(command) for command in order]
    assert -1 not in positions and positions == sorted(positions), positions
    upload = next(s for s in BUILD["steps"] if "upload-pages-artifact" in s.get("uses", ""))
    assert upload["with"]["path"] == "_build/site"


def test_the_colab_sets_go_to_the_branches_the_launch_buttons_open():
    step = next(s for s in BUILD["steps"] if "Push the Colab" in s.get("name", ""))
    assert step["if"] == "github.ref == 'refs/heads/main'"
    assert "['repository']['branch']" in step["run"]  # the instructor branch: _config.yml's
    assert 'push _build/colab "$branch"' in step["run"]
    assert 'push _build/colab-student "$branch-student"' in step["run"]
    assert CONFIG["repository"]["branch"] == "colab"


def test_publishing_checks_the_release_the_setup_cells_install():
    step = next(s for s in BUILD["steps"] if "release" in s.get("name", ""))
    assert "python scripts/set_repository.py --check" in step["run"]
    assert "refs/tags/v$version" in step["run"]
    assert 'git diff --quiet "v$version" HEAD -- src pyproject.toml' in step["run"]
    checkout = BUILD["steps"][0]
    assert checkout["uses"].startswith("actions/checkout@") and checkout["with"]["fetch-depth"] == 0


@pytest.mark.skipif(shutil.which("bash") is None, reason="no bash to parse the steps with")
def test_every_step_is_valid_shell():
    for step in BUILD["steps"]:
        if "run" in step:
            script = re.sub(r"\$\{\{[^}]*\}\}", "x", step["run"])
            result = subprocess.run(["bash", "-n"], input=script, capture_output=True, text=True)
            assert result.returncode == 0, (step.get("name"), result.stderr)
