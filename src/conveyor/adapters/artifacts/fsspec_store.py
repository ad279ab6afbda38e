"""The fsspec implementation of the `ArtifactStore` port (a local folder, or s3:// and friends)."""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import fsspec
from fsspec.implementations.local import LocalFileSystem


class FsspecArtifactStore:
    """Artifacts under `root`; local writes are renames from a staging folder on the same disk."""

    def __init__(self, root: str, cache_dir: Path) -> None:
        self._fs, self._root = fsspec.core.url_to_fs(root)
        self._is_local = isinstance(self._fs, LocalFileSystem)
        self._cache_dir = cache_dir
        self._staging_parent = Path(self._root) / ".staging" if self._is_local else cache_dir / "staging"

    def _target(self, key: str) -> str:
        return f"{self._root.rstrip('/')}/{key}"

    def uri(self, key: str) -> str:
        target = self._target(key)
        return Path(target).as_uri() if self._is_local else self._fs.unstrip_protocol(target)

    @contextmanager
    def staging_dir(self) -> Iterator[Path]:
        self._staging_parent.mkdir(parents=True, exist_ok=True)
        path = Path(tempfile.mkdtemp(dir=self._staging_parent))
        try:
            yield path
        finally:
            shutil.rmtree(path, ignore_errors=True)

    def put(self, local_path: Path, key: str) -> str:
        target = self._target(key)
        if self._is_local:
            Path(target).parent.mkdir(parents=True, exist_ok=True)
            os.replace(local_path, target)
        else:
            # An object-store PUT is atomic: readers see the whole object or none.
            self._fs.put_file(str(local_path), target)
        return self.uri(key)

    def _path_of(self, uri: str) -> str:
        return fsspec.core.url_to_fs(uri)[1]

    def local_path(self, uri: str) -> Path:
        if self._is_local:
            return Path(self._path_of(uri))
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
