"""The static checks run with the tests (README's test command, .ci/run): ruff lint, ruff format, mypy strict.

Their settings live in pyproject.toml; each check fails with the tool's own report so the finding is readable
in the pytest output.
"""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, timeout=600, check=False)


@pytest.mark.parametrize(
    "command",
    [
        pytest.param(("ruff", "check", "--no-cache", "."), id="ruff-check"),
        pytest.param(("ruff", "format", "--check", "--no-cache", "."), id="ruff-format"),
        pytest.param(("mypy",), id="mypy-strict-core"),
    ],
)
def test_static_check_passes(command: tuple[str, ...]) -> None:
    done = _run(*command)
    assert done.returncode == 0, f"`{' '.join(command)}` failed:\n{done.stdout}{done.stderr}"
