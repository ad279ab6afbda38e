"""Shared locations of the datasets the data-engine tests read."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests_support import SHARED

SHARED_DATASETS = SHARED


@pytest.fixture
def shared_file():
    """Path to a shared dataset file, skipping the test when the shared folder is not there."""

    def find(relative: str) -> Path:
        path = SHARED_DATASETS / relative
        if not path.exists():
            pytest.skip(f"{path} is not available")
        return path

    return find
