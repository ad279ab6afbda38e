"""The SQL connector against a real PostgreSQL server that the test starts on 127.0.0.1 (initdb + pg_ctl).

Reading needs the psycopg driver (the `postgres` extra). Without it the same command must fail with an
error that names the missing driver, leaving no version behind; with it, the rows arrive.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest

_INSTALLED = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
PGBIN = Path(
    os.environ.get("CONVEYOR_TEST_PGBIN") or (_INSTALLED[-1].parent if _INSTALLED else "/usr/lib/postgresql/15/bin")
)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _as_postgres(command: list[str]) -> subprocess.CompletedProcess[str]:
    if os.geteuid() == 0:
        command = ["runuser", "-u", "postgres", "--", *command]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


@pytest.fixture(scope="module")
def postgres():
    """A throwaway PostgreSQL server with a table `orders`; yields its URL."""
    if not (PGBIN / "initdb").exists() or shutil.which("psql") is None:
        pytest.skip(f"PostgreSQL is not installed at {PGBIN} (make test installs it with apt-get)")
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        pytest.skip("runuser is needed to start PostgreSQL as the postgres user")
    # Outside pytest's private (0700) temp tree: the server runs as the postgres user and must reach it.
    root = Path(tempfile.mkdtemp(prefix="conveyor-pg-"))
    data, port = root / "data", _free_port()
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    done = _as_postgres([str(PGBIN / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "--no-sync"])
    assert done.returncode == 0, done.stderr
    options = f"-c listen_addresses=127.0.0.1 -p {port} -k {root}"
    done = _as_postgres([str(PGBIN / "pg_ctl"), "-D", str(data), "-l", str(root / "log"), "-o", options, "-w", "start"])
    assert done.returncode == 0, done.stderr
    try:
        sql = (
            "CREATE TABLE orders (id integer, customer text, amount numeric(10,2), placed date);"
            "INSERT INTO orders SELECT i, 'c' || (i % 7), i * 1.25, date '2026-01-01' + i "
            "FROM generate_series(1, 300) i;"
        )
        psql = ["psql", "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "-v", "ON_ERROR_STOP=1", "-c", sql]
        loaded = subprocess.run(psql, capture_output=True, text=True, timeout=60, check=False)
        assert loaded.returncode == 0, loaded.stderr
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        _as_postgres([str(PGBIN / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"])
        shutil.rmtree(root, ignore_errors=True)


def test_a_postgres_table_and_query(cli, postgres):
    table = cli("datasets", "add", postgres, "--table", "orders", "--json")
    if importlib.util.find_spec("psycopg") is None:
        assert table.exit_code == 1
        assert "Reading PostgreSQL needs the psycopg driver" in table.stderr
        assert json.loads(cli("datasets", "list", "--json").stdout) == []
        return
    assert table.exit_code == 0, table.output
    assert json.loads(table.stdout)["rows"] == 300
    query = cli(
        "datasets",
        "add",
        postgres,
        "--query",
        "SELECT customer, sum(amount) AS total FROM orders GROUP BY 1",
        "--name",
        "totals",
        "--json",
    )
    assert json.loads(query.stdout)["rows"] == 7
    wrong = cli("datasets", "add", postgres, "--table", "nowhere", "--name", "x")
    assert wrong.exit_code == 1
    assert "nowhere" in wrong.stderr
