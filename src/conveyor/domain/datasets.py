"""Datasets and their immutable versions: schema with semantic types, profile, lineage."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from conveyor.errors import InvalidInput


class SemanticType(StrEnum):
    """What a column means, as opposed to how it is stored."""

    NUMERIC = "numeric"
    CATEGORICAL = "categorical"
    BOOLEAN = "boolean"
    DATETIME = "datetime"
    TEXT = "text"
    IDENTIFIER = "identifier"


class ColumnSchema(BaseModel):
    """One column: its name, its physical (DuckDB) type and its semantic type."""

    model_config = ConfigDict(frozen=True)

    name: str
    physical_type: str
    semantic_type: SemanticType


class ValueCount(BaseModel):
    model_config = ConfigDict(frozen=True)

    value: str
    count: int


class ColumnProfile(BaseModel):
    """A short statistical summary of one column."""

    model_config = ConfigDict(frozen=True)

    name: str
    missing_pct: float
    distinct: int
    min: Any = None
    max: Any = None
    mean: float | None = None
    std: float | None = None
    top_values: list[ValueCount] = Field(default_factory=list)


class ValidationStatus(StrEnum):
    """Where a version stands against its dataset's expectations."""

    NOT_CHECKED = "not_checked"
    PASSED = "passed"
    FAILED = "failed"


class ExpectationResult(BaseModel):
    """One expectation checked on one version: passed or not, what was observed, and why."""

    model_config = ConfigDict(frozen=True)

    expectation: dict[str, Any]
    passed: bool
    observed: Any = None
    message: str = ""


class ValidationResult(BaseModel):
    """The expectations of a dataset checked on one version."""

    model_config = ConfigDict(frozen=True)

    status: ValidationStatus
    results: list[ExpectationResult] = Field(default_factory=list)
    checked_at: datetime
    overridden: bool = False

    @property
    def failures(self) -> list[ExpectationResult]:
        return [r for r in self.results if not r.passed]


class DatasetVersion(BaseModel):
    """An immutable, complete version of a dataset, stored as Parquet in the artifact store.

    Lineage: `source` is the file or query it was read from (or `recipe:NAME` for a derived one); `parents`
    are the exact versions (`NAME:V`) a recipe read, and `recipe` is the recipe's specification as it ran.
    """

    model_config = ConfigDict(frozen=True)

    dataset: str
    version: int
    content_hash: str
    uri: str
    rows: int
    columns: list[ColumnSchema]
    profile: list[ColumnProfile] = Field(default_factory=list)
    source: str
    created_at: datetime
    warnings: list[str] = Field(default_factory=list)
    parents: list[str] = Field(default_factory=list)
    recipe: dict[str, Any] | None = None
    validation: ValidationResult | None = None

    @property
    def validation_status(self) -> ValidationStatus:
        """`failed` when the dataset's expectations failed on this version."""
        return ValidationStatus.NOT_CHECKED if self.validation is None else self.validation.status

    @property
    def usable(self) -> bool:
        """Whether training and pipelines may use this version: not failed, or failed and overridden by a user."""
        return (
            self.validation is None or self.validation.status != ValidationStatus.FAILED or self.validation.overridden
        )

    @property
    def ref(self) -> str:
        return f"{self.dataset}:{self.version}"

    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]


class DatasetSummary(BaseModel):
    """A dataset with its newest version, for listings."""

    model_config = ConfigDict(frozen=True)

    name: str
    versions: int
    latest: DatasetVersion


class DatasetRef(BaseModel):
    """`NAME` or `NAME:VERSION` as a user writes it."""

    model_config = ConfigDict(frozen=True)

    name: str
    version: int | None = None

    @classmethod
    def parse(cls, text: str) -> DatasetRef:
        name, sep, version = text.partition(":")
        if not name:
            raise InvalidInput(f"{text!r} is not a dataset reference.", hint="Write NAME or NAME:VERSION.")
        if not sep:
            return cls(name=name)
        if not version.isdigit():
            raise InvalidInput(
                f"Dataset version {version!r} in {text!r} is not a number.", hint="Write NAME:VERSION, e.g. sales:2."
            )
        return cls(name=name, version=int(version))

    def __str__(self) -> str:
        return self.name if self.version is None else f"{self.name}:{self.version}"
