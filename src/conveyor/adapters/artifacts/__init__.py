"""The artifact store: immutable blobs under keys, on a local folder (pathlib) or any fsspec filesystem.

fsspec is imported only for a root on another filesystem: its import and entry-point scan cost every command on
a local workspace about 0.1 s of CPU.
"""

from __future__ import annotations

from pathlib import Path

from conveyor.adapters.artifacts.local import LocalArtifactStore, local_folder
from conveyor.domain.ports import ArtifactStore

__all__ = ["LocalArtifactStore", "open_artifact_store"]


def open_artifact_store(root: str, cache_dir: Path) -> ArtifactStore:
    """The store for `root`: a local path or file:// URL, or another fsspec URL (s3://…) cached under `cache_dir`."""
    folder = local_folder(root)
    if folder is not None:
        return LocalArtifactStore(folder)
    from conveyor.adapters.artifacts.fsspec_store import FsspecArtifactStore

    return FsspecArtifactStore(root, cache_dir=cache_dir)
