"""Differences between two dataset versions: schema changes, row counts, and per-column statistic shifts.

Works from what each version recorded (schema and profile), so comparing needs no data read.
"""

from __future__ import annotations

from typing import Any

from conveyor.domain.datasets import DatasetVersion

_STATISTICS = ("missing_pct", "distinct", "min", "max", "mean", "std")


def diff_versions(old: DatasetVersion, new: DatasetVersion) -> dict[str, Any]:
    """What changed from `old` to `new` (JSON-ready)."""
    old_columns = {c.name: c for c in old.columns}
    new_columns = {c.name: c for c in new.columns}
    changed_types = [
        {
            "column": name,
            "old_type": old_columns[name].physical_type,
            "new_type": new_columns[name].physical_type,
            "old_semantic": old_columns[name].semantic_type.value,
            "new_semantic": new_columns[name].semantic_type.value,
        }
        for name in old_columns
        if name in new_columns
        and (
            old_columns[name].physical_type != new_columns[name].physical_type
            or old_columns[name].semantic_type != new_columns[name].semantic_type
        )
    ]
    old_profiles = {p.name: p for p in old.profile}
    new_profiles = {p.name: p for p in new.profile}
    shifts = []
    for name in (n for n in old_columns if n in new_columns):
        before, after = old_profiles.get(name), new_profiles.get(name)
        if before is None or after is None:
            continue
        changes = {}
        for key in _STATISTICS:
            a, b = getattr(before, key), getattr(after, key)
            if a != b:
                changes[key] = {"old": a, "new": b, **_relative(a, b)}
        if changes:
            shifts.append({"column": name, "changes": changes, "shift": _standardised_shift(before, after)})
    shifts.sort(key=lambda s: -(s["shift"] or 0.0))
    return {
        "old": old.ref,
        "new": new.ref,
        "same_content": old.content_hash == new.content_hash,
        "rows": {"old": old.rows, "new": new.rows, "change": new.rows - old.rows},
        "added_columns": [n for n in new_columns if n not in old_columns],
        "removed_columns": [n for n in old_columns if n not in new_columns],
        "type_changes": changed_types,
        "column_shifts": shifts,
    }


def _relative(a: Any, b: Any) -> dict[str, float]:
    if isinstance(a, bool) or isinstance(b, bool) or not isinstance(a, int | float) or not isinstance(b, int | float):
        return {}
    if a == 0:
        return {}
    return {"change_pct": 100.0 * (b - a) / abs(a)}


def _standardised_shift(before: Any, after: Any) -> float | None:
    """How far the mean moved, in old standard deviations (numbers), else the change in missing share (points)."""
    if before.mean is not None and after.mean is not None and before.std:
        return abs(after.mean - before.mean) / before.std
    return abs(after.missing_pct - before.missing_pct) / 100.0
