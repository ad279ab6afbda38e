"""The artifact store: a local folder through pathlib (same layout as before), fsspec only for other filesystems."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from conveyor.adapters.artifacts import LocalArtifactStore, open_artifact_store


@pytest.fixture
def root(tmp_path) -> Path:
    # A space and a hash in the path: file URIs percent-encode them, and reading back must decode them.
    return tmp_path / "work space #1" / "artifacts"


def test_a_put_file_lands_at_its_key_and_its_uri_reads_back(root):
    store = open_artifact_store(str(root), cache_dir=root.parent / "cache")
    assert isinstance(store, LocalArtifactStore)
    with store.staging_dir() as staging:
        assert staging.parent == root / ".staging"
        written = staging / "data.parquet"
        written.write_bytes(b"rows")
        uri = store.put(written, "datasets/sales/v1/data.parquet")
    assert not staging.exists()
    assert uri == (root / "datasets/sales/v1/data.parquet").as_uri()
    assert "%20" in uri
    assert store.local_path(uri) == root / "datasets/sales/v1/data.parquet"
    assert store.local_path(uri).read_bytes() == b"rows"
    store.delete(uri)
    assert not store.local_path(uri).exists()
    store.delete(uri)


def test_a_file_url_root_is_the_same_local_folder(root):
    store = open_artifact_store(root.as_uri(), cache_dir=root.parent / "cache")
    assert isinstance(store, LocalArtifactStore)
    assert store.local_path(store.uri("k")) == root / "k"


def test_a_local_root_does_not_import_fsspec(root):
    probe = (
        "import sys\n"
        "from pathlib import Path\n"
        "from conveyor.adapters.artifacts import open_artifact_store\n"
        f"open_artifact_store({str(root)!r}, cache_dir=Path({str(root)!r}))\n"
        "print('fsspec' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


def test_an_object_store_url_goes_through_fsspec(tmp_path):
    store = open_artifact_store("memory://bucket/artifacts", cache_dir=tmp_path / "cache")
    assert not isinstance(store, LocalArtifactStore)
    staged = tmp_path / "blob"
    staged.write_bytes(b"rows")
    uri = store.put(staged, "datasets/x/v1/data.parquet")
    assert uri.startswith("memory://")
    assert uri.endswith("/bucket/artifacts/datasets/x/v1/data.parquet")
    assert store.local_path(uri).read_bytes() == b"rows"
