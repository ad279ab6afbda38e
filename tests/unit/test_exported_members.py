"""The SDK surface: `conveyor.__all__` is sorted, complete, and every name resolves."""

from __future__ import annotations

import subprocess
import sys

import conveyor


def test_all_is_sorted_and_resolves():
    assert conveyor.__all__ == sorted(conveyor.__all__)
    for name in conveyor.__all__:
        assert getattr(conveyor, name) is not None


def test_importing_conveyor_loads_no_heavy_library():
    probe = "import sys, conveyor; print(sorted({'mlflow', 'pandas', 'sqlalchemy', 'sklearn'} & set(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
