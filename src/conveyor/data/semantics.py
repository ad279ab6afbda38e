"""Semantic types: what a column means, inferred from its DuckDB type and a few statistics DuckDB computes.

The rules, in order (the first that matches wins):

1. BOOLEAN → boolean; DATE, TIME and TIMESTAMP types → datetime.
2. Exactly two distinct values that read as a yes/no pair (0/1, yes/no, y/n, true/false, t/f, any case) → boolean.
3. Integers or strings whose non-missing values are all distinct (at least two) → identifier, when the name says
   so (a word `id`, `uuid`, `guid`, `key`: `id`, `customer_id`, `CustomerID`) or the shape does: integers forming
   one unbroken run (a row counter), or strings of one fixed length with no spaces (codes, UUIDs, hashes), once
   there are enough rows for the shape to mean something.
4. Other numbers → numeric.
5. Strings with mostly distinct, long values (20+ characters on average) that mostly contain spaces → text
   (free-form sentences).
6. Everything else, including all-missing columns, → categorical.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from conveyor.data._duck import is_integer, is_numeric, is_temporal, is_text
from conveyor.domain.datasets import SemanticType

_BOOLEAN_PAIRS = frozenset(
    frozenset(pair) for pair in (("0", "1"), ("no", "yes"), ("n", "y"), ("false", "true"), ("f", "t"))
)
_ID_WORDS = frozenset({"id", "uuid", "guid", "key"})
_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
# Below this many values a run of integers or a set of same-length strings is as likely chance as design.
_MIN_ROWS_FOR_SHAPE = 20
_TEXT_MIN_DISTINCT_SHARE = 0.5
_TEXT_MIN_AVERAGE_LENGTH = 20
_TEXT_MIN_SPACE_SHARE = 0.5
_MAX_CODE_LENGTH = 64


@dataclass(frozen=True)
class ColumnStats:
    """What semantic inference needs to know about one column; `distinct` counts non-missing values."""

    name: str
    physical_type: str
    non_missing: int
    distinct: int
    min: Any = None
    max: Any = None
    min_length: int | None = None
    max_length: int | None = None
    average_length: float | None = None
    space_share: float | None = None


def infer_semantic_type(stats: ColumnStats) -> SemanticType:
    """The semantic type of one column, by the rules in this module's docstring."""
    kind = stats.physical_type.upper()
    if kind == "BOOLEAN":
        return SemanticType.BOOLEAN
    if is_temporal(kind):
        return SemanticType.DATETIME
    if stats.distinct == 2 and _is_boolean_pair(stats.min, stats.max):
        return SemanticType.BOOLEAN
    if (is_integer(kind) or is_text(kind)) and _is_identifier(stats):
        return SemanticType.IDENTIFIER
    if is_numeric(kind):
        return SemanticType.NUMERIC
    if is_text(kind) and _is_free_text(stats):
        return SemanticType.TEXT
    return SemanticType.CATEGORICAL


def needs_closer_look(stats: ColumnStats) -> bool:
    """Whether an approximate distinct count leaves the column a possible identifier or free text.

    Those rules need exact distinct counts and string lengths; the margin below their thresholds covers the
    few percent a HyperLogLog estimate can be off.
    """
    kind = stats.physical_type.upper()
    if stats.non_missing < 2:
        return False
    if is_text(kind):
        return stats.distinct >= 0.8 * _TEXT_MIN_DISTINCT_SHARE * stats.non_missing
    return is_integer(kind) and stats.distinct >= 0.9 * stats.non_missing


def is_id_like_name(name: str) -> bool:
    """Whether a column name says it identifies rows: `id`, `customer_id`, `CustomerID`, `order-key`, `uuid`."""
    words = re.split(r"[^a-z0-9]+", _CAMEL_BOUNDARY.sub("_", name).lower())
    return bool(words) and (words[-1] in _ID_WORDS or words[0] in _ID_WORDS)


def _is_boolean_pair(low: Any, high: Any) -> bool:
    return frozenset((str(low).strip().lower(), str(high).strip().lower())) in _BOOLEAN_PAIRS


def _is_identifier(stats: ColumnStats) -> bool:
    if stats.non_missing < 2 or stats.distinct != stats.non_missing:
        return False
    if is_id_like_name(stats.name):
        return True
    if stats.non_missing < _MIN_ROWS_FOR_SHAPE:
        return False
    if is_integer(stats.physical_type):
        return stats.max - stats.min + 1 == stats.non_missing
    return (
        stats.min_length == stats.max_length
        and stats.max_length is not None
        and 0 < stats.max_length <= _MAX_CODE_LENGTH
        and not stats.space_share
    )


def _is_free_text(stats: ColumnStats) -> bool:
    return (
        stats.non_missing > 0
        and stats.distinct >= _TEXT_MIN_DISTINCT_SHARE * stats.non_missing
        and (stats.average_length or 0) >= _TEXT_MIN_AVERAGE_LENGTH
        and (stats.space_share or 0) >= _TEXT_MIN_SPACE_SHARE
    )
