"""The artifact store on a local folder, through pathlib: writes are renames from a staging folder on the same disk."""

from __future__ import annotations

from contextlib import AbstractContextManager
from pathlib import Path
from urllib.parse import unquote

from conveyor.adapters.artifacts.staging import staging_folder


def local_folder(root: str) -> Path | None:
    """The folder that artifact root `root` names (a path or a file:// URL), or None for another filesystem's URL."""
    if root.startswith("file://"):
        return _path_of(root)
    if "://" in root or "::" in root:
        return None
    return Path(root).expanduser().absolute()


def _path_of(uri: str) -> Path:
    # The inverse of `Path.as_uri()`, which percent-encodes spaces and the like.
    return Path(unquote(uri.removeprefix("file://")))


class LocalArtifactStore:
    """Artifacts under the folder `root`, each at `root/KEY`, known by its file:// URI."""

    def __init__(self, root: Path) -> None:
        self._root = root
        self._staging_parent = root / ".staging"

    def uri(self, key: str) -> str:
        return (self._root / key).as_uri()

    def staging_dir(self) -> AbstractContextManager[Path]:
        return staging_folder(self._staging_parent)

    def put(self, local_path: Path, key: str) -> str:
        target = self._root / key
        target.parent.mkdir(parents=True, exist_ok=True)
        local_path.replace(target)
        return self.uri(key)

    def local_path(self, uri: str) -> Path:
        return _path_of(uri)

    def delete(self, uri: str) -> None:
        self.local_path(uri).unlink(missing_ok=True)
