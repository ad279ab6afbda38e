"""Helpers shared by test modules (kept out of conftest so they can be imported)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "datasets"
BAD_MANIFEST = SHARED / "bad" / "manifest.json"
DEMO_CSV = REPO / "src" / "conveyor" / "demo_data" / "adult_census_income.csv.gz"
CONVEYOR = str(Path(sys.executable).parent / "conveyor")


def bad_cases(stage: str) -> list[dict]:
    """Entries of the bad-input manifest checked at `stage` ("ingest" or "train")."""
    if not BAD_MANIFEST.exists():
        return []
    entries = json.loads(BAD_MANIFEST.read_text())
    return [e for e in entries if e.get("stage", "ingest") == stage]
