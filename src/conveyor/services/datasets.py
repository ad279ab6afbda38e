"""Dataset use cases: ingest a file or a query as an immutable version, profile, validate, diff, export, read."""

from __future__ import annotations

import contextlib
import html
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from conveyor.domain.datasets import (
    ColumnSchema,
    DatasetRef,
    DatasetSummary,
    DatasetVersion,
    SemanticType,
    ValidationResult,
)
from conveyor.domain.ports import ArtifactStore, MetadataStore
from conveyor.domain.progress import ProgressCallback, ProgressEvent, ignore_progress
from conveyor.domain.training import TrainingJob
from conveyor.errors import InvalidInput, NotFound

if TYPE_CHECKING:
    import pandas as pd

    from conveyor.data import IngestResult


@dataclass(frozen=True)
class IngestOutcome:
    """The version an ingest produced, and whether it is new or an identical earlier one."""

    version: DatasetVersion
    created: bool


class ProfileReport:
    """The stored profile report of a version: JSON data, a self-contained HTML page, a notebook display."""

    def __init__(self, ref: str, data: dict[str, Any]) -> None:
        self.ref = ref
        self.data = data

    @property
    def warnings(self) -> list[str]:
        return [w["message"] for w in self.data.get("warnings", [])]

    def html(self) -> str:
        """A complete HTML document with inline CSS and SVG (no script, no network)."""
        from conveyor import data

        return data.render_html(self.data, f"Profile of {self.ref}")

    def _repr_html_(self) -> str:
        from conveyor import data

        return f"<div>{data.fragment(self.data, html.escape(f'Profile of {self.ref}'))}</div>"

    def __repr__(self) -> str:
        return f"<ProfileReport {self.ref}: {self.data['rows']:,} rows, {len(self.warnings)} warnings>"


class _SideWork:
    """Work for a side thread, started at most once when the caller chooses (perhaps never)."""

    def __init__(self, work: Callable[[], None]) -> None:
        self._thread = threading.Thread(target=work, daemon=True)

    def start(self) -> None:
        if self._thread.ident is None:
            self._thread.start()

    def wait(self) -> None:
        """Return once the work is done, or at once if it never started."""
        if self._thread.ident is not None:
            self._thread.join()


def dataset_name_for(path: str | Path) -> str:
    """A dataset name from a file name or object URL: `sales-2024.csv.gz`, `s3://b/sales-2024.csv.gz` → `sales-2024`."""
    file_name = PurePosixPath(str(path)).name if isinstance(path, str) else path.name
    name = file_name
    for suffix in (".gz", ".zst", ".csv", ".tsv", ".txt", ".parquet", ".pq", ".jsonl", ".ndjson", ".json", ".xlsx"):
        name = name.removesuffix(suffix)
    return name or file_name


def check_name(name: str) -> None:
    if not name or name != name.strip() or any(c in name for c in ":@/\\"):
        raise InvalidInput(
            f"{name!r} is not a usable dataset name.",
            hint="Use letters, digits, '-', '_' or '.', without ':', '@' or slashes.",
        )


class DatasetService:
    """Ingests files into versions, profiles and validates them, and reads them back."""

    def __init__(
        self,
        store: MetadataStore | Callable[[], MetadataStore],
        artifacts: ArtifactStore,
        *,
        memory_limit: str | None = None,
    ) -> None:
        # The store may come as a factory: opening it (imports, migrations) then overlaps the first DuckDB read.
        self._store_factory = store if callable(store) and not hasattr(store, "get_version") else None
        self._opened: MetadataStore | None = None if self._store_factory else store  # type: ignore[assignment]
        self._artifacts = artifacts
        # DuckDB's memory for ingest, profile and validation (None: the engine's default); it spills beyond it.
        self._memory_limit = memory_limit

    @property
    def _store(self) -> MetadataStore:
        if self._opened is None:
            assert self._store_factory is not None
            self._opened = self._store_factory()
        return self._opened

    # --- ingest -------------------------------------------------------------------------------------------

    def add(
        self,
        source: str | Path,
        name: str,
        on_progress: ProgressCallback = ignore_progress,
        *,
        with_report: bool = True,
    ) -> IngestOutcome:
        """Ingest `source` (a file path or an `s3://` URL) as a new version of `name` (or return the identical one).

        With `with_report=False` the version is recorded without its profile report, which `profile_report`
        computes and stores when it is first asked for (training asks once its first trial is in).
        """
        from conveyor import data

        if data.is_object_url(source):
            check_name(name)
            on_progress(ProgressEvent(stage="ingest", message=f"Reading {source}"))
            return self._ingest(
                name,
                lambda staged, on_write: data.ingest(
                    source, staged, memory_limit=self._memory_limit, on_write=on_write
                ),
                source=str(source),
                on_progress=on_progress,
                with_report=with_report,
            )
        path = Path(source).expanduser()
        if not path.exists():
            raise NotFound(f"File not found: {path}.", hint="Check the path, or give an absolute one.")
        if path.is_dir():
            raise InvalidInput(f"{path} is a directory, not a data file.", hint="Give a CSV or Parquet file.")
        check_name(name)
        on_progress(ProgressEvent(stage="ingest", message=f"Reading {path.name}"))
        return self._ingest(
            name,
            lambda staged, on_write: data.ingest(path, staged, memory_limit=self._memory_limit, on_write=on_write),
            source=str(path.resolve()),
            on_progress=on_progress,
            with_report=with_report,
        )

    def add_sql(
        self,
        url: str,
        name: str,
        *,
        query: str | None = None,
        table: str | None = None,
        on_progress: ProgressCallback = ignore_progress,
    ) -> IngestOutcome:
        """Ingest the rows of `query` (or `table`) in the database at `url` (a SQLAlchemy-style URL)."""
        from conveyor import data
        from conveyor.data.connectors.sql import sql_source

        check_name(name)
        found = sql_source(url, query=query, table=table)
        on_progress(ProgressEvent(stage="ingest", message=f"Querying {found.path.name}"))
        return self._ingest(
            name,
            lambda staged, on_write: data.ingest_source(
                found, staged, memory_limit=self._memory_limit, on_write=on_write
            ),
            source=f"sql:{found.path.name}" + (f" {query}" if query else ""),
            on_progress=on_progress,
        )

    def _ingest(
        self,
        name: str,
        read: Callable[[Path, Callable[[], None]], IngestResult],
        *,
        source: str,
        on_progress: ProgressCallback,
        with_report: bool = True,
    ) -> IngestOutcome:
        """Record what `read(staged, on_write)` ingests. The store opens (and the profile's libraries load) once
        DuckDB writes: begun before, that Python work held the interpreter's lock against the sniffing and the
        connection's set-up, and the COPY began 0.25-0.35 s later on kddcup99 (docs/benchmarks.md, Data)."""
        preparation = _SideWork(self._prepare_quietly)
        return self.record(
            name,
            lambda staged: read(staged, preparation.start),
            source=source,
            on_progress=on_progress,
            preparation=preparation,
            with_report=with_report,
        )

    def record(
        self,
        name: str,
        write: Callable[[Path], IngestResult],
        *,
        source: str,
        parents: list[str] | None = None,
        recipe: dict[str, Any] | None = None,
        on_progress: ProgressCallback = ignore_progress,
        preparation: _SideWork | None = None,
        with_report: bool = True,
    ) -> IngestOutcome:
        """Write a version with `write(staged_path) -> IngestResult`, then profile, validate and record it.

        The Parquet file is moved into the store only when all of that succeeded, and removed again if the
        metadata cannot be recorded: a failure leaves no version and no file. The store opens on a side thread
        from the start (DuckDB releases the GIL while it writes), unless the caller hands over a `preparation`
        that it starts itself (`_ingest`, once DuckDB writes).
        """
        from conveyor import data

        if preparation is None:
            preparation = _SideWork(self._prepare_quietly)
            preparation.start()

        with self._artifacts.staging_dir() as staging:
            staged = staging / "data.parquet"
            try:
                result = write(staged)
            finally:
                preparation.wait()
            existing = self._store.find_version_by_hash(name, result.content_hash)
            if existing is not None and existing.parents == (parents or []):
                return IngestOutcome(self._with_overrides(existing), created=False)
            columns = self._apply_overrides(name, result.columns)
            on_progress(ProgressEvent(stage="profile", message=f"Profiling {result.rows:,} rows"))
            profile = data.profile(staged, columns, result.stats, rows=result.rows, memory_limit=self._memory_limit)
            report = None
            if with_report:
                report = data.analyze(
                    staged, columns, profile, duplicate_rows=result.duplicate_rows, memory_limit=self._memory_limit
                )
            expectations = self._store.get_expectations(name)
            validation = None
            if expectations:
                on_progress(ProgressEvent(stage="validate", message=f"Checking {len(expectations)} expectations"))
                validation = data.check(staged, expectations, memory_limit=self._memory_limit)
            digest = result.content_hash.partition(":")[2] or result.content_hash
            uri = self._artifacts.put(staged, f"datasets/{name}/{digest}.parquet")
        try:
            version = self._store.add_version(
                dataset=name,
                content_hash=result.content_hash,
                uri=uri,
                rows=result.rows,
                columns=columns,
                profile=profile,
                source=source,
                warnings=result.warnings,
                parents=parents,
                recipe=recipe,
                validation=validation,
                report=report,
            )
        except BaseException:
            # The version was never recorded: take its file away too, so nothing is half-written.
            self._artifacts.delete(uri)
            raise
        return IngestOutcome(version, created=True)

    def _prepare_quietly(self) -> None:
        """Open the metadata store and load the profile's numpy while DuckDB reads (off the read's path)."""
        from conveyor import data

        # A failure here surfaces again, with its own traceback, when the store or the profile is first used.
        with contextlib.suppress(Exception):
            _ = self._store
        with contextlib.suppress(Exception):
            _ = data.analyze

    # --- reading ------------------------------------------------------------------------------------------

    def list(self) -> list[DatasetSummary]:
        return self._store.list_datasets()

    def versions(self, name: str) -> list[DatasetVersion]:
        return [self._with_overrides(v) for v in self._store.list_versions(name)]

    def get(self, ref: str | DatasetRef) -> DatasetVersion:
        parsed = DatasetRef.parse(ref) if isinstance(ref, str) else ref
        return self._with_overrides(self._store.get_version(parsed.name, parsed.version))

    def frame(self, version: DatasetVersion, columns: list[str] | None = None) -> pd.DataFrame:
        """The version's rows as a pandas DataFrame."""
        from conveyor import data

        return data.read_frame(self._artifacts.local_path(version.uri), columns)

    def resolve_training_data(
        self, data_spec: str, on_progress: ProgressCallback = ignore_progress, *, allow_failed: bool = False
    ) -> DatasetVersion:
        """`NAME[:VERSION]` of a known dataset, or a file path ingested first (named after the file).

        A version that failed its dataset's expectations is refused (see `usable_version`) unless
        `allow_failed` or a user accepted it. A file's version is recorded without its profile report (about
        1 s on 400,000 rows), which `profile_report` computes when first asked for.
        """
        path = Path(data_spec).expanduser()
        if path.is_file():
            version = self.add(path, dataset_name_for(path), on_progress, with_report=False).version
            return self.usable_version(version.ref, allow_failed=allow_failed)
        try:
            return self.usable_version(data_spec, allow_failed=allow_failed)
        except NotFound as missing:
            if any(sep in data_spec for sep in ("/", "\\", ".csv", ".parquet")):
                raise NotFound(f"File not found: {data_spec}.", hint="Check the path.") from None
            raise missing

    def usable_version(self, ref: str | DatasetRef, *, allow_failed: bool = False) -> DatasetVersion:
        """The version `ref` names, refused when it failed its expectations (unless `allow_failed` or overridden).

        Training and pipelines call this instead of `get`, so a version flagged by validation is never used
        silently.
        """
        version = self.get(ref)
        if version.usable or allow_failed:
            return version
        failures = version.validation.failures if version.validation else []
        listed = "; ".join(f.message for f in failures[:3])
        raise InvalidInput(
            f"Dataset {version.ref} failed validation ({len(failures)} expectation(s)): {listed}.",
            hint=f"Fix the data and add a new version, or accept it with `conveyor datasets validate {version.ref} "
            "--accept` (or pass allow_failed / --allow-invalid-data).",
        )

    def models_trained_on(self, ref: str | DatasetRef) -> list[TrainingJob]:
        """The training jobs (and the model versions they registered) that read this exact version."""
        version = self.get(ref)
        return self._store.jobs_for_version(version.dataset, version.version)

    # --- profile, diff, export ----------------------------------------------------------------------------

    def profile_report(self, ref: str | DatasetRef, *, target: str | None = None) -> ProfileReport:
        """The version's stored profile report; with `target`, recomputed with each column's association to it."""
        from conveyor import data

        version = self.get(ref)
        if target is not None and target not in version.column_names():
            raise InvalidInput(
                f"Target {target!r} is not a column of {version.ref}.",
                hint=f"Columns: {', '.join(version.column_names())}.",
            )
        stored = self._store.get_report(version.dataset, version.version)
        if stored is not None and target is None:
            return ProfileReport(version.ref, stored)
        report = data.analyze(
            self._artifacts.local_path(version.uri),
            version.columns,
            version.profile,
            target=target,
            # The stored report already counted the duplicate rows; a target changes associations, not that.
            duplicate_rows=stored["duplicate_rows"] if stored is not None else None,
            memory_limit=self._memory_limit,
        )
        if stored is None and target is None:
            self._store.set_report(version.dataset, version.version, report)
        return ProfileReport(version.ref, report)

    def diff(self, old: str | DatasetRef, new: str | DatasetRef) -> dict[str, Any]:
        """Schema changes, row-count change and per-column statistic shifts from `old` to `new`."""
        from conveyor import data

        return data.diff_versions(self.get(old), self.get(new))

    def export(self, ref: str | DatasetRef, output: str | Path) -> Path:
        """Write the version to `output` (.csv or .parquet), atomically."""
        from conveyor import data

        version = self.get(ref)
        return data.export(
            self._artifacts.local_path(version.uri), Path(output).expanduser(), memory_limit=self._memory_limit
        )

    # --- schema overrides ---------------------------------------------------------------------------------

    def set_semantic_types(self, name: str, changes: dict[str, str | None]) -> DatasetVersion:
        """Override (or, with None, clear) the semantic type of columns; kept for every version of `name`."""
        latest = self.get(name)
        overrides = self._store.get_semantic_overrides(name)
        choices = ", ".join(t.value for t in SemanticType)
        for column, kind in changes.items():
            if column not in latest.column_names():
                raise InvalidInput(
                    f"Column {column!r} is not in {latest.ref}.", hint=f"Columns: {', '.join(latest.column_names())}."
                )
            if kind is None:
                overrides.pop(column, None)
                continue
            if kind not in {t.value for t in SemanticType}:
                raise InvalidInput(f"{kind!r} is not a semantic type (for column {column!r}).", hint=f"Use {choices}.")
            overrides[column] = kind
        self._store.set_semantic_overrides(name, overrides)
        return self.get(name)

    def semantic_overrides(self, name: str) -> dict[str, str]:
        self.get(name)
        return self._store.get_semantic_overrides(name)

    def _apply_overrides(self, name: str, columns: list[ColumnSchema]) -> list[ColumnSchema]:
        overrides = self._store.get_semantic_overrides(name)
        if not overrides:
            return columns
        return [
            c.model_copy(update={"semantic_type": SemanticType(overrides[c.name])}) if c.name in overrides else c
            for c in columns
        ]

    def _with_overrides(self, version: DatasetVersion) -> DatasetVersion:
        columns = self._apply_overrides(version.dataset, version.columns)
        return version if columns == version.columns else version.model_copy(update={"columns": columns})

    # --- validation ---------------------------------------------------------------------------------------

    def set_expectations(self, name: str, expectations: Any, origin: str = "expectations") -> list[dict[str, Any]]:
        """Replace the expectations of `name` (parsed from YAML data) and check them on its newest version."""
        from conveyor import data

        self.get(name)
        parsed = data.parse_expectations(expectations, origin)
        self._store.set_expectations(name, parsed)
        return parsed

    def declare_expectations_file(self, name: str, path: str | Path) -> list[dict[str, Any]]:
        """Replace the expectations of `name` with those of a YAML file."""
        from conveyor.services.documents import read_yaml

        return self.set_expectations(name, read_yaml(path, "Expectations file"), origin=Path(path).name)

    def expectations(self, name: str) -> list[dict[str, Any]]:
        self.get(name)
        return self._store.get_expectations(name)

    def suggest_expectations(self, ref: str | DatasetRef) -> list[dict[str, Any]]:
        """Expectations the reference version meets, for the user to review and keep."""
        from conveyor import data

        version = self.get(ref)
        return data.suggest(
            self._artifacts.local_path(version.uri), version.columns, version.profile, memory_limit=self._memory_limit
        )

    def validate(self, ref: str | DatasetRef) -> DatasetVersion:
        """Check the dataset's expectations on the version and store the result with it."""
        from conveyor import data

        version = self.get(ref)
        expectations = self._store.get_expectations(version.dataset)
        if not expectations:
            raise InvalidInput(
                f"Dataset {version.dataset!r} has no expectations.",
                hint=f"Declare some: `conveyor datasets expect {version.dataset} --file expectations.yaml` "
                "(or --suggest).",
            )
        result = data.check(self._artifacts.local_path(version.uri), expectations, memory_limit=self._memory_limit)
        return self._with_overrides(self._store.set_validation(version.dataset, version.version, result))

    def accept(self, ref: str | DatasetRef) -> DatasetVersion:
        """Let training use a version that failed validation (recorded on the version)."""
        version = self.get(ref)
        if version.validation is None:
            raise InvalidInput(f"{version.ref} has not been validated.", hint="Nothing to accept.")
        accepted = ValidationResult(
            status=version.validation.status,
            results=version.validation.results,
            checked_at=version.validation.checked_at,
            overridden=True,
        )
        return self._with_overrides(self._store.set_validation(version.dataset, version.version, accepted))
