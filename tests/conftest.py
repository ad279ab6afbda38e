"""Shared fixtures: an isolated workspace per test, the shared datasets, and the CLI as users run it."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pytest

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "datasets"
DEMO_CSV = REPO / "src" / "conveyor" / "demo_data" / "adult_census_income.csv.gz"


def shared_dataset(*parts: str) -> Path:
    """A file under ../shared/datasets; the test is skipped when the folder is not there."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is not available (../shared is laid beside the checkout in CI)")
    return path


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
