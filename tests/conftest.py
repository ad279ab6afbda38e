"""Shared fixtures: an isolated workspace per test, the shared datasets, and the CLI as users run it."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")

from tests_support import CONVEYOR, DEMO_CSV, SHARED


@pytest.fixture(scope="session")
def demo_csv() -> Path:
    """The bundled demo table (48,842 rows of UCI Adult)."""
    return DEMO_CSV


def shared_dataset(*parts: str) -> Path:
    """A file under ../shared/datasets; the test is skipped when the folder is not there."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is not available (../shared is laid beside the checkout in CI)")
    return path


@pytest.fixture(scope="session")
def shared():
    """`shared("bench", "credit_g.csv")`: a file of ../shared/datasets, or a skip."""
    return shared_dataset


def run_conveyor(*args: str, home: Path, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """`conveyor ARGS…` as a separate process on workspace `home`, as a user's shell runs it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONVEYOR_")}
    env["CONVEYOR_HOME"] = str(home)
    return subprocess.run(
        [CONVEYOR, *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        check=False,
    )


@pytest.fixture(scope="session")
def conveyor_process():
    """The `run_conveyor` helper, for fixtures wider than one test."""
    return run_conveyor


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh CONVEYOR_HOME for the test, with every other Conveyor setting unset."""
    for name in list(os.environ):
        if name.startswith("CONVEYOR_"):
            monkeypatch.delenv(name)
    workspace = tmp_path / "home"
    monkeypatch.setenv("CONVEYOR_HOME", str(workspace))
    monkeypatch.chdir(tmp_path)
    return workspace


@dataclass
class CliResult:
    exit_code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


@pytest.fixture
def cli(home: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch):
    """Run `conveyor ARGS…` in-process through the same `main()` the console script calls."""
    from conveyor.entrypoints.cli import app as cli_app
    from conveyor.entrypoints.cli.context import services

    def run(*args: str) -> CliResult:
        services.cache_clear()
        capsys.readouterr()
        monkeypatch.setattr("sys.argv", ["conveyor", *map(str, args)])
        try:
            cli_app.main()
            code = 0
        except SystemExit as done:
            code = done.code if isinstance(done.code, int) else (0 if done.code is None else 1)
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    yield run
    services.cache_clear()
