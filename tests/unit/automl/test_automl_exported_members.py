"""The public surface of conveyor.automl is exactly its sorted __all__."""

from __future__ import annotations

import subprocess
import sys

import conveyor.automl


def test_all_is_sorted_and_resolves() -> None:
    assert conveyor.automl.__all__ == sorted(conveyor.automl.__all__, key=lambda name: (not name.isupper(), name))
    for name in conveyor.automl.__all__:
        assert getattr(conveyor.automl, name) is not None


def test_import_loads_no_model_library() -> None:
    code = "import sys, conveyor.automl; print(sorted({'sklearn', 'lightgbm', 'optuna'} & set(sys.modules)))"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert loaded.strip() == "[]"
