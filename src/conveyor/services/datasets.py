"""Dataset use cases: ingest a file as an immutable version, list, show, read."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from conveyor.domain.datasets import DatasetRef, DatasetSummary, DatasetVersion
from conveyor.domain.ports import ArtifactStore, MetadataStore
from conveyor.domain.progress import ProgressCallback, ProgressEvent, ignore_progress
from conveyor.errors import InvalidInput, NotFound

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class IngestOutcome:
    """The version an ingest produced, and whether it is new or an identical earlier one."""

    version: DatasetVersion
    created: bool


def dataset_name_for(path: Path) -> str:
    """A dataset name from a file name: `sales-2024.csv.gz` → `sales-2024`."""
    name = path.name
    for suffix in (".gz", ".zst", ".csv", ".tsv", ".txt", ".parquet", ".pq"):
        name = name.removesuffix(suffix)
    return name or path.name


class DatasetService:
    """Ingests files into versions, and reads them back."""

    def __init__(self, store: MetadataStore, artifacts: ArtifactStore) -> None:
        self._store = store
        self._artifacts = artifacts

    def add(self, source: str | Path, name: str, on_progress: ProgressCallback = ignore_progress) -> IngestOutcome:
        """Ingest `source` as a new version of `name` (or return the identical existing one)."""
        from conveyor import data

        path = Path(source).expanduser()
        if not path.exists():
            raise NotFound(f"File not found: {path}.", hint="Check the path, or give an absolute one.")
        if path.is_dir():
            raise InvalidInput(f"{path} is a directory, not a data file.", hint="Give a CSV or Parquet file.")
        if not name or name != name.strip() or any(c in name for c in ":@/\\"):
            raise InvalidInput(
                f"{name!r} is not a usable dataset name.",
                hint="Use letters, digits, '-', '_' or '.', without ':', '@' or slashes.",
            )
        with self._artifacts.staging_dir() as staging:
            on_progress(ProgressEvent(stage="ingest", message=f"Reading {path.name}"))
            staged = staging / "data.parquet"
            result = data.ingest(path, staged)
            existing = self._store.find_version_by_hash(name, result.content_hash)
            if existing is not None:
                return IngestOutcome(existing, created=False)
            on_progress(ProgressEvent(stage="profile", message=f"Profiling {result.rows:,} rows"))
            profile = data.profile(staged, result.columns)
            digest = result.content_hash.partition(":")[2] or result.content_hash
            uri = self._artifacts.put(staged, f"datasets/{name}/{digest}.parquet")
        try:
            version = self._store.add_version(
                dataset=name,
                content_hash=result.content_hash,
                uri=uri,
                rows=result.rows,
                columns=result.columns,
                profile=profile,
                source=str(path.resolve()),
                warnings=result.warnings,
            )
        except BaseException:
            # The version was never recorded: take its file away too, so nothing is half-written.
            self._artifacts.delete(uri)
            raise
        return IngestOutcome(version, created=True)

    def list(self) -> list[DatasetSummary]:
        return self._store.list_datasets()

    def versions(self, name: str) -> list[DatasetVersion]:
        return self._store.list_versions(name)

    def get(self, ref: str | DatasetRef) -> DatasetVersion:
        parsed = DatasetRef.parse(ref) if isinstance(ref, str) else ref
        return self._store.get_version(parsed.name, parsed.version)

    def frame(self, version: DatasetVersion, columns: list[str] | None = None) -> pd.DataFrame:
        """The version's rows as a pandas DataFrame."""
        from conveyor import data

        return data.read_frame(self._artifacts.local_path(version.uri), columns)

    def resolve_training_data(self, data_spec: str, on_progress: ProgressCallback = ignore_progress) -> DatasetVersion:
        """`NAME[:VERSION]` of a known dataset, or a file path ingested first (named after the file)."""
        path = Path(data_spec).expanduser()
        if path.is_file():
            return self.add(path, dataset_name_for(path), on_progress).version
        try:
            return self.get(data_spec)
        except NotFound as missing:
            if any(sep in data_spec for sep in ("/", "\\", ".csv", ".parquet")):
                raise NotFound(f"File not found: {data_spec}.", hint="Check the path.") from None
            raise missing
