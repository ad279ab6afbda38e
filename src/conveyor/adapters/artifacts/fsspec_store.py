"""The artifact store on an object store or another remote filesystem (s3:// and friends), through fsspec."""

from __future__ import annotations

import hashlib
import os
from contextlib import AbstractContextManager
from pathlib import Path

import fsspec

from conveyor.adapters.artifacts.staging import staging_folder


class FsspecArtifactStore:
    """Artifacts under the URL `root`; files are staged and downloads cached under the local `cache_dir`."""

    def __init__(self, root: str, cache_dir: Path) -> None:
        self._fs, self._root = fsspec.core.url_to_fs(root)
        self._cache_dir = cache_dir
        self._staging_parent = cache_dir / "staging"

    def _target(self, key: str) -> str:
        return f"{self._root.rstrip('/')}/{key}"

    def uri(self, key: str) -> str:
        return self._fs.unstrip_protocol(self._target(key))

    def staging_dir(self) -> AbstractContextManager[Path]:
        return staging_folder(self._staging_parent)

    def put(self, local_path: Path, key: str) -> str:
        # An object-store PUT is atomic: readers see the whole object or none.
        self._fs.put_file(str(local_path), self._target(key))
        return self.uri(key)

    def _path_of(self, uri: str) -> str:
        return fsspec.core.url_to_fs(uri)[1]

    def local_path(self, uri: str) -> Path:
        cached = self._cache_dir / "downloads" / hashlib.sha256(uri.encode()).hexdigest()
        if not cached.exists():
            cached.parent.mkdir(parents=True, exist_ok=True)
            partial = cached.with_suffix(".partial")
            self._fs.get_file(self._path_of(uri), str(partial))
            os.replace(partial, cached)
        return cached

    def delete(self, uri: str) -> None:
        path = self._path_of(uri)
        if self._fs.exists(path):
            self._fs.rm_file(path)
