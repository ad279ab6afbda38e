"""The profile report: per-column distributions, correlations, target association and warnings, as JSON.

Exact figures (missing, distinct, min, max, mean, std, top values) come from `profiling.profile`, which reads
every row. What needs the values side by side — quantiles, histograms, outliers, skew, correlations,
association with a target — is computed with numpy on a systematic sample of about `SAMPLE_ROWS` rows (every
k-th row: deterministic, and cheap for DuckDB), fetched with categories already turned into integer codes;
the report says when it is a sample. Duplicate rows are counted exactly, from distinct row hashes (ingest
counts them while hashing the content, so they usually arrive for free).

Associations are on a 0..1 scale whatever the column kinds: |Pearson r| between numbers, Cramér's V between
categories, and the correlation ratio η between a number and a category.
"""

from __future__ import annotations

import math
from contextlib import closing
from pathlib import Path
from typing import Any

import numpy as np

from conveyor.data._duck import connect, ident, is_numeric, literal
from conveyor.data.ingestion import work_directory
from conveyor.domain.datasets import ColumnProfile, ColumnSchema, SemanticType

SAMPLE_ROWS = 100_000
HISTOGRAM_BINS = 20
# Correlation matrices grow with the square of the column count; past these the report keeps the first ones.
MAX_NUMERIC_CORRELATION = 40
MAX_CATEGORICAL_ASSOCIATION = 25
# Categories beyond this many distinct values say little in a contingency table and cost a lot.
MAX_CATEGORIES = 100
MOSTLY_MISSING_PCT = 50.0
HIGH_CARDINALITY = 50
SKEW_LIMIT = 2.0
LEAKAGE_ASSOCIATION = 0.95
REPORT_VERSION = 1

_CATEGORY_SEMANTICS = frozenset({SemanticType.CATEGORICAL, SemanticType.BOOLEAN})


def analyze(
    parquet: Path,
    columns: list[ColumnSchema],
    profiles: list[ColumnProfile],
    *,
    target: str | None = None,
    duplicate_rows: int | None = None,
    memory_limit: str | None = None,
) -> dict[str, Any]:
    """The profile report of a stored table (JSON-ready: no NaN, no infinities)."""
    parquet = Path(parquet)
    kinds = {c.name: c for c in columns}
    numeric = [c.name for c in columns if c.semantic_type == SemanticType.NUMERIC and is_numeric(c.physical_type)]
    distinct = {p.name: p.distinct for p in profiles}
    categorical = [
        c.name for c in columns if c.semantic_type in _CATEGORY_SEMANTICS and distinct[c.name] <= MAX_CATEGORIES
    ]
    coded = [*categorical, *([target] if target is not None and target not in numeric else [])]
    frame, rows, duplicates = _sample(parquet, columns, numeric, coded, duplicate_rows, memory_limit)
    detail: dict[str, dict[str, Any]] = {}
    for column, profile in zip(columns, profiles, strict=True):
        entry: dict[str, Any] = {
            "semantic_type": column.semantic_type.value,
            "physical_type": column.physical_type,
            "missing_pct": profile.missing_pct,
            "distinct": profile.distinct,
            "min": _plain(profile.min),
            "max": _plain(profile.max),
            "mean": _plain(profile.mean),
            "std": _plain(profile.std),
            "top_values": [v.model_dump() for v in profile.top_values],
        }
        if column.name in numeric:
            entry |= _numeric_shape(frame[column.name])
        detail[column.name] = entry
    with np.errstate(all="ignore"):
        correlations = {
            "numeric": _numeric_correlations(frame, numeric[:MAX_NUMERIC_CORRELATION]),
            "categorical": _categorical_associations(frame, categorical[:MAX_CATEGORICAL_ASSOCIATION]),
        }
        association = target_association(frame, kinds, target) if target is not None else None
    report: dict[str, Any] = {
        "version": REPORT_VERSION,
        "rows": rows,
        "columns": len(columns),
        "sample_rows": frame.rows,
        "sampled": frame.rows < rows,
        "duplicate_rows": duplicates,
        "column_details": detail,
        "correlations": correlations,
        "target": association,
    }
    report["warnings"] = _warnings(report, kinds)
    return _plain(report)


class _Sample(dict[str, np.ndarray]):
    """Sampled columns by name: numbers as float64 (NaN for missing or non-finite), categories as int codes."""

    rows: int = 0


def _sample(
    parquet: Path,
    columns: list[ColumnSchema],
    numeric: list[str],
    coded: list[str],
    duplicate_rows: int | None,
    memory_limit: str | None,
) -> tuple[_Sample, int, int]:
    table = f"read_parquet({literal(str(parquet))}, file_row_number=true)"
    with work_directory(parquet.parent) as workdir, closing(connect(workdir / "spill", memory_limit)) as con:
        if duplicate_rows is None:
            values = ", ".join(ident(c.name) for c in columns)
            rows, distinct = con.execute(
                f"SELECT count(*), count(DISTINCT hash({values})) FROM read_parquet({literal(str(parquet))})"
            ).fetchall()[0]
            duplicate_rows = rows - distinct
        else:
            rows = con.execute(f"SELECT count(*) FROM read_parquet({literal(str(parquet))})").fetchall()[0][0]
        step = max(1, math.ceil(rows / SAMPLE_ROWS))
        # Positional aliases keep odd column names (and one called file_row_number) out of the way.
        wanted = [*dict.fromkeys([*numeric, *coded])]
        selected = [
            f"TRY_CAST({ident(name)} AS DOUBLE) AS c{i}"
            if name in numeric
            else f"CASE WHEN {ident(name)} IS NULL THEN -1 ELSE (hash({ident(name)}) >> 2)::BIGINT END AS c{i}"
            for i, name in enumerate(wanted)
        ]
        found: dict[str, Any] = {}
        if selected:
            found = con.execute(
                f"SELECT {', '.join(selected)} FROM {table} WHERE file_row_number % {step} = 0"
            ).fetchnumpy()
    sample = _Sample()
    for i, name in enumerate(wanted):
        values = np.asarray(found[f"c{i}"])
        if name in numeric:
            values = np.ma.filled(np.ma.asarray(found[f"c{i}"], dtype="float64"), np.nan)
            sample[name] = np.where(np.isfinite(values), values, np.nan)
        else:
            sample[name] = _dense(np.ma.filled(np.ma.asarray(values), -1).astype("int64"))
    sample.rows = len(next(iter(found.values()))) if found else min(rows, SAMPLE_ROWS)
    return sample, rows, duplicate_rows


def _dense(hashed: np.ndarray) -> np.ndarray:
    """Hashes of values as dense codes 0..k-1, -1 kept for missing."""
    codes = np.full(hashed.shape, -1, dtype="int64")
    present = hashed != -1
    codes[present] = np.unique(hashed[present], return_inverse=True)[1]
    return codes


def target_association(frame: _Sample, kinds: dict[str, ColumnSchema], target: str) -> dict[str, Any]:
    """Each column's association (0..1) with `target`, strongest first."""
    target_kind = kinds[target].semantic_type
    target_is_number = target_kind == SemanticType.NUMERIC and is_numeric(kinds[target].physical_type)
    y = frame[target]
    scores: dict[str, float] = {}
    for name in frame:
        if name == target:
            continue
        x = frame[name]
        x_is_number = x.dtype.kind == "f"
        if x_is_number and target_is_number:
            value = _pearson(x, y)
            value = None if value is None else abs(value)
        elif x_is_number:
            value = _correlation_ratio(y, x)
        elif target_is_number:
            value = _correlation_ratio(x, y)
        else:
            value = _cramers_v(x, y)
        if value is not None and math.isfinite(value):
            scores[name] = round(float(value), 4)
    ranked = dict(sorted(scores.items(), key=lambda item: -item[1]))
    return {"column": target, "semantic_type": target_kind.value, "association": ranked}


def _numeric_shape(values: np.ndarray) -> dict[str, Any]:
    # Extreme values (1e308) overflow squares and ranges; those statistics come out non-finite and are dropped.
    with np.errstate(all="ignore"):
        return _shape_of(values[~np.isnan(values)])


def _shape_of(finite: np.ndarray) -> dict[str, Any]:
    if finite.size == 0:
        return {"quantiles": {}, "histogram": None, "outliers": 0, "outlier_pct": 0.0, "skew": None}
    q = np.quantile(finite, [0.05, 0.25, 0.5, 0.75, 0.95])
    iqr = q[3] - q[1]
    low, high = q[1] - 1.5 * iqr, q[3] + 1.5 * iqr
    outliers = int(((finite < low) | (finite > high)).sum()) if iqr > 0 else 0
    std = finite.std()
    skew = float(((finite - finite.mean()) ** 3).mean() / std**3) if std > 0 else 0.0
    histogram = None
    if np.isfinite(finite.max() - finite.min()):
        counts, edges = np.histogram(finite, bins=HISTOGRAM_BINS if finite.min() < finite.max() else 1)
        histogram = {"edges": edges.tolist(), "counts": counts.tolist()}
    return {
        "quantiles": dict(zip(("p05", "p25", "p50", "p75", "p95"), q.tolist(), strict=True)),
        "histogram": histogram,
        "outliers": outliers,
        "outlier_pct": 100.0 * outliers / finite.size,
        "outlier_bounds": [float(low), float(high)],
        "skew": skew,
    }


def _pearson(x: np.ndarray, y: np.ndarray) -> float | None:
    keep = ~(np.isnan(x) | np.isnan(y))
    if keep.sum() < 3:
        return None
    x, y = x[keep], y[keep]
    if x.std() == 0 or y.std() == 0:
        return None
    return float(np.corrcoef(x, y)[0, 1])


def _numeric_correlations(frame: _Sample, names: list[str]) -> dict[str, Any]:
    matrix: list[list[float | None]] = [[1.0 if i == j else None for j in range(len(names))] for i in range(len(names))]
    data = np.column_stack([frame[n] for n in names]) if names else np.empty((0, 0))
    complete = names and not np.isnan(data).any()
    if complete and len(names) >= 2:
        # No missing values: one matrix product instead of a loop over pairs.
        with np.errstate(all="ignore"):
            full = np.corrcoef(data, rowvar=False)
    for i in range(len(names)):
        for j in range(i + 1, len(names)):
            value = full[i, j] if complete else _pearson(data[:, i], data[:, j])
            value = None if value is None or not math.isfinite(value) else round(float(value), 4)
            matrix[i][j] = matrix[j][i] = value
    return {"method": "pearson", "columns": names, "matrix": matrix}


def _cramers_v(a: np.ndarray, b: np.ndarray) -> float | None:
    keep = (a >= 0) & (b >= 0)
    a, b = a[keep], b[keep]
    if a.size < 3:
        return None
    ka, kb = int(a.max()) + 1, int(b.max()) + 1
    table = np.bincount(a * kb + b, minlength=ka * kb).reshape(ka, kb).astype("float64")
    # Categories seen only beside a missing value leave empty rows or columns; they carry no information.
    table = table[table.sum(axis=1) > 0][:, table.sum(axis=0) > 0]
    if min(table.shape) < 2:
        return None
    expected = table.sum(axis=1, keepdims=True) * table.sum(axis=0, keepdims=True) / a.size
    chi2 = ((table - expected) ** 2 / expected).sum()
    return float(math.sqrt(chi2 / (a.size * (min(table.shape) - 1))))


def _correlation_ratio(codes: np.ndarray, values: np.ndarray) -> float | None:
    keep = (codes >= 0) & ~np.isnan(values)
    codes, values = codes[keep], values[keep]
    if values.size < 3 or values.std() == 0:
        return None
    counts = np.bincount(codes)
    seen = counts > 0
    means = np.bincount(codes, weights=values)[seen] / counts[seen]
    between = (counts[seen] * (means - values.mean()) ** 2).sum()
    total = ((values - values.mean()) ** 2).sum()
    return float(math.sqrt(between / total))


def _categorical_associations(frame: _Sample, names: list[str]) -> dict[str, Any]:
    codes = {name: frame[name] for name in names}
    matrix = [[1.0 if i == j else None for j in range(len(names))] for i in range(len(names))]
    for i, first in enumerate(names):
        for j in range(i + 1, len(names)):
            value = _cramers_v(codes[first], codes[names[j]])
            matrix[i][j] = matrix[j][i] = None if value is None else round(value, 4)
    return {"method": "cramers_v", "columns": names, "matrix": matrix}


def _warnings(report: dict[str, Any], kinds: dict[str, ColumnSchema]) -> list[dict[str, str]]:
    found: list[dict[str, str]] = []

    def add(column: str | None, kind: str, message: str) -> None:
        found.append({"column": column or "", "kind": kind, "message": message})

    rows = report["rows"]
    for name, entry in report["column_details"].items():
        semantic = kinds[name].semantic_type
        if entry["missing_pct"] >= 100.0:
            add(name, "empty", f"{name!r} is missing in every row.")
            continue
        if entry["distinct"] <= 1:
            add(name, "constant", f"{name!r} has a single value; it cannot help a model.")
        if entry["missing_pct"] >= MOSTLY_MISSING_PCT:
            add(name, "mostly_missing", f"{name!r} is missing in {entry['missing_pct']:.1f}% of rows.")
        if semantic == SemanticType.CATEGORICAL and entry["distinct"] > HIGH_CARDINALITY:
            add(name, "high_cardinality", f"{name!r} has {entry['distinct']:,} distinct values (high cardinality).")
        skew = entry.get("skew")
        if skew is not None and abs(skew) > SKEW_LIMIT:
            add(name, "skewed", f"{name!r} is strongly skewed (skewness {skew:.1f}); consider a log transform.")
    if report["duplicate_rows"]:
        share = 100.0 * report["duplicate_rows"] / rows if rows else 0.0
        add(None, "duplicates", f"{report['duplicate_rows']:,} rows ({share:.1f}%) duplicate an earlier row.")
    target = report.get("target")
    if target:
        for name, value in target["association"].items():
            if value >= LEAKAGE_ASSOCIATION:
                add(
                    name,
                    "leakage",
                    f"{name!r} almost determines the target {target['column']!r} (association {value:.2f}): "
                    "likely leakage.",
                )
    return found


def _plain(value: Any) -> Any:
    """JSON-ready values: numpy scalars as Python ones, NaN and infinities as None, dates as ISO text."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if value is None or isinstance(value, bool | int | str):
        return value
    return str(value)
