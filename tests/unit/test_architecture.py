"""The import contracts of pyproject.toml ([tool.importlinter]) hold, and they are not
decoration: on a copy of the code with one forbidden import added, each contract breaks.

`make test` runs ``lint-imports`` on the tree itself before pytest; these tests run it
on copies, so a contract that could never fail (a misspelt module, a contract type that
does not see the import) is caught."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PACKAGES = ("gateway", "streams", "schemas", "client", "migrations", "infra", "tests", "bench")
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The repository's packages and pyproject.toml, copied."""
    root = tmp_path_factory.mktemp("tree")
    for package in PACKAGES:
        shutil.copytree(
            REPO / package, root / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    shutil.copy(REPO / "pyproject.toml", root)
    return root


def lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    # PYTHONPATH puts the copy ahead of the project's own editable install.
    environment = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=root,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_contracts_hold_on_the_code_as_it_is(tree: Path) -> None:
    result = lint_imports(tree)
    assert result.returncode == 0, result.stdout + result.stderr
    assert " broken" not in result.stdout.replace("0 broken", "")


@pytest.mark.parametrize(
    ("module", "violation", "contract"),
    [
        ("gateway/app.py", "import streams.app", "never import each other"),
        ("streams/app.py", "import gateway.settings", "never import each other"),
        ("schemas/codec.py", "import gateway.settings", "Schemas are data"),
        ("schemas/codec.py", "import client.settings", "Schemas are data"),
        ("gateway/app.py", "import client.settings", "The server never imports the client"),
        ("streams/sink.py", "import client.tail", "The server never imports the client"),
        ("client/cli.py", "import gateway.admin", "The client talks to the server only"),
        ("streams/analysis/windows.py", "import faust", "The analysis core is pure"),
        ("streams/analysis/windows.py", "import schemas.codec", "The analysis core is pure"),
        ("streams/analysis/windows.py", "import streams.chunks", "The stream worker in layers"),
        ("streams/chunks.py", "import streams.app", "The stream worker in layers"),
        ("bench/eval.py", "import tests.records", "Benchmarks do not import tests"),
        (
            "gateway/recordings/endpoints.py",
            "import gateway.devices.endpoints",
            "The gateway in layers, its rooms independent",
        ),
        # The circle there was (accounts -> authentication -> lifespan -> accounts),
        # through imports for type checking only: they count.
        (
            "gateway/authentication.py",
            "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import gateway.lifespan",
            "The gateway in layers, its rooms independent",
        ),
        ("gateway/accounts/users.py", "import gateway.accounts.service", "No import circles"),
        ("streams/settings.py", "import streams.topics", "No import circles"),
    ],
)
def test_a_forbidden_import_breaks_its_contract(
    tree: Path, tmp_path: Path, module: str, violation: str, contract: str
) -> None:
    broken = tmp_path / "tree"
    shutil.copytree(tree, broken)
    path = broken / module
    path.write_text(path.read_text() + f"\n{violation}  # deliberate violation\n")

    result = lint_imports(broken)

    assert result.returncode == 1, result.stdout + result.stderr
    broken_lines = [line for line in result.stdout.splitlines() if line.endswith("BROKEN")]
    assert any(contract in line for line in broken_lines), result.stdout
