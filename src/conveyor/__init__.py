"""Conveyor: a self-hosted machine-learning platform.

The SDK for notebooks::

    import conveyor as cv
    ws = cv.Workspace()
    ws.add_dataset("churn.csv", name="churn")
    result = ws.train("churn", target="churn", time_budget=60)
    ws.predict("churn@champion", frame)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from conveyor._version import __version__
from conveyor.errors import Conflict, ConveyorError, InvalidInput, InvalidRequest, InvalidTrainingData, NotFound

if TYPE_CHECKING:
    from conveyor.entrypoints.sdk import TrainingResult, Workspace
    from conveyor.settings import Settings

__all__ = [
    "Conflict",
    "ConveyorError",
    "InvalidInput",
    "InvalidRequest",
    "InvalidTrainingData",
    "NotFound",
    "Settings",
    "TrainingResult",
    "Workspace",
    "__version__",
]

_LAZY = {
    "Settings": "conveyor.settings",
    "TrainingResult": "conveyor.entrypoints.sdk",
    "Workspace": "conveyor.entrypoints.sdk",
}


def __getattr__(name: str) -> Any:
    # The SDK's classes load on first use so that `import conveyor` (and the CLI) stay fast.
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'conveyor' has no attribute {name!r}")
