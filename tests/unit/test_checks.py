"""One set of checks everywhere: pre-commit's hooks are the Makefile's lint and type
check commands, and the GitHub Actions workflow runs `.ci/run` (make test)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml  # type: ignore[import-untyped]

REPO = Path(__file__).resolve().parents[2]
PRE_COMMIT = REPO / ".pre-commit-config.yaml"
WORKFLOW = REPO / ".github" / "workflows" / "ci.yml"


def makefile_commands(*targets: str) -> list[str]:
    """The recipe lines of ``targets``, with the Makefile's ``:=`` variables expanded."""
    text = (REPO / "Makefile").read_text()
    variables = dict(re.findall(r"^([A-Z_]+) := (.*)$", text, flags=re.MULTILINE))
    commands = []
    for target in targets:
        recipe = re.search(rf"^{target}:.*\n((?:\t.*\n)+)", text, flags=re.MULTILINE)
        assert recipe is not None, f"no recipe for {target}"
        for line in recipe.group(1).splitlines():
            commands.append(re.sub(r"\$\((\w+)\)", lambda m: variables[m.group(1)], line.strip()))
    return commands


def test_pre_commit_accepts_its_configuration() -> None:
    checked = subprocess.run(
        [sys.executable, "-m", "pre_commit", "validate-config", str(PRE_COMMIT)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_pre_commit_runs_exactly_the_checks_of_make_lint_and_make_typecheck() -> None:
    config = yaml.safe_load(PRE_COMMIT.read_text())
    (repo,) = config["repos"]
    assert repo["repo"] == "local", "hooks from elsewhere would not be the locked tools"
    hooks = repo["hooks"]
    assert all(h["language"] == "system" and h["pass_filenames"] is False for h in hooks)
    assert all(h["entry"].startswith(".venv/bin/") for h in hooks)
    entries = sorted(h["entry"] for h in hooks)
    assert entries == sorted(makefile_commands("lint", "typecheck"))
    assert any("bandit -c pyproject.toml" in entry for entry in entries)


def workflow_job() -> dict[str, Any]:
    workflow = yaml.safe_load(WORKFLOW.read_text())
    (job,) = workflow["jobs"].values()
    assert isinstance(job, dict)
    return job


def test_the_workflow_runs_ci_run_on_ubuntu_within_the_time_limit() -> None:
    job = workflow_job()
    steps = job["steps"]
    assert job["runs-on"] == "ubuntu-latest"
    assert 0 < job["timeout-minutes"] < 90
    assert steps[0]["uses"].startswith("actions/checkout@")
    assert steps[-1]["run"] == ".ci/run"
    (cache,) = [s for s in steps if s.get("uses", "").startswith("actions/cache@")]
    assert "~/.cache/ecg-pipeline" in cache["with"]["path"].split()
    assert "hashFiles('uv.lock'" in cache["with"]["key"]


def test_the_workflow_runs_the_suite_with_local_and_with_container_services() -> None:
    job = workflow_job()
    assert job["strategy"]["matrix"]["services"] == ["local", "testcontainers"]
    assert job["env"]["ECG_TEST_SERVICES"] == "${{ matrix.services }}"
