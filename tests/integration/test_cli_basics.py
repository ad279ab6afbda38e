"""The CLI's own contract: version, help, and a light start (heavy libraries stay unimported)."""

from __future__ import annotations

import subprocess
import sys

from conveyor._version import __version__


def test_version_prints_the_package_version(cli):
    result = cli("--version")
    assert result.exit_code == 0
    assert result.stdout.strip() == f"conveyor {__version__}"


def test_help_lists_the_commands(cli):
    result = cli("--help")
    assert result.exit_code == 0
    for command in ("datasets", "train", "predict", "serve", "demo", "models"):
        assert command in result.stdout


def test_help_imports_no_heavy_library():
    probe = (
        "import sys\n"
        "from conveyor.entrypoints.cli.app import app\n"
        "try:\n"
        "    app(['--help'], standalone_mode=False)\n"
        "except SystemExit:\n"
        "    pass\n"
        "heavy = {'mlflow', 'sklearn', 'lightgbm', 'pandas', 'duckdb', 'sqlalchemy', 'numpy', 'uvicorn'}\n"
        "print(sorted(heavy & set(sys.modules)))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip().splitlines()[-1] == "[]"


def test_a_usage_error_names_the_mistake_without_a_traceback(cli):
    unknown = cli("datasets", "nosuch")
    assert unknown.exit_code == 2
    assert "No such command 'nosuch'" in unknown.stderr
    assert "conveyor datasets --help" in unknown.stderr
    missing = cli("datasets", "export", "bank")
    assert missing.exit_code == 2
    assert "Missing" in missing.stderr
    assert "output" in missing.stderr
    assert "Traceback" not in unknown.output + missing.output


def test_a_bad_setting_names_the_variable_without_a_traceback(cli, monkeypatch):
    monkeypatch.setenv("CONVEYOR_SERVER_PORT", "eighty")
    refused = cli("datasets", "list")
    assert refused.exit_code == 1
    assert "server_port = 'eighty' (from CONVEYOR_SERVER_PORT)" in refused.output
    assert "Fix or remove CONVEYOR_SERVER_PORT." in refused.output
    assert "Traceback" not in refused.output
