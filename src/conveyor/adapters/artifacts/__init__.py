"""The artifact store: immutable blobs under keys, on a local disk or any fsspec filesystem."""

from conveyor.adapters.artifacts.fsspec_store import FsspecArtifactStore

__all__ = ["FsspecArtifactStore"]
