"""Time to the first leaderboard entry: the real `conveyor train`, with stage stamps on stderr from interpreter start.

    CONVEYOR_HOME=$(mktemp -d) .venv/bin/python bench/automl/first_entry.py [--first-only] <conveyor train options>

It imports nothing ahead of the CLI: an import hook wraps each timed module when the CLI itself first imports it,
so the CLI's own order of work (and what runs beside what, on which thread) shows. The budget's clock starts at
this script's start, as a user's would at the shell. `--first-only` ends the process at the first trial's report.
"""

from __future__ import annotations

import time

START = time.monotonic()

import atexit  # noqa: E402  (the clock above must start before any import)
import functools  # noqa: E402
import importlib.abc  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402
import threading  # noqa: E402
import types  # noqa: E402
from typing import Any  # noqa: E402

TIMED_IMPORTS = {
    "pandas",
    "sklearn",
    "optuna",
    "lightgbm",
    "sqlalchemy",
    "mlflow",
    "duckdb",
    "pyarrow",
    "conveyor.automl.search",
    "conveyor.adapters.store",
    "conveyor.adapters.tracking",
    "conveyor.data.ingestion",
    "conveyor.services.training",
}
FIRST_ONLY = "--first-only" in sys.argv


def stamp(message: str) -> None:
    thread = threading.current_thread().name
    where = "" if thread == "MainThread" else f" <{thread}>"
    print(f"[{time.monotonic() - START:6.2f}] {message}{where}", file=sys.stderr, flush=True)


def wrap(owner: Any, name: str) -> None:
    original = getattr(owner, name)

    @functools.wraps(original)
    def stamped(*args: Any, **kwargs: Any) -> Any:
        stamp(f"{name} start")
        try:
            return original(*args, **kwargs)
        finally:
            stamp(f"{name} done")

    setattr(owner, name, stamped)


def patch_search(search: types.ModuleType) -> None:
    wrap(search, "run_automl")
    run, report = search._Search.run, search._Search._report

    def stamped_run(self: Any) -> Any:
        stamp("search start")
        return run(self)

    def stamped_report(self: Any, result: Any) -> Any:
        score = f"cv={result.cv_mean:.4f} fit={result.fit_seconds:.2f}"
        stamp(f"trial {result.number} {result.family} {result.status} {score}")
        if FIRST_ONLY:
            os._exit(0)
        return report(self, result)

    search._Search.run, search._Search._report = stamped_run, stamped_report


PATCHES = {
    "conveyor.automl.search": patch_search,
    "conveyor.data.ingestion": lambda module: wrap(module, "ingest"),
    "conveyor.data.profiling": lambda module: wrap(module, "profile"),
    "conveyor.data.frames": lambda module: wrap(module, "read_frame"),
}


class _StampingLoader(importlib.abc.Loader):
    def __init__(self, inner: Any, name: str) -> None:
        self.inner, self.name = inner, name

    def create_module(self, spec: Any) -> Any:
        return self.inner.create_module(spec)

    def exec_module(self, module: types.ModuleType) -> None:
        timed = self.name in TIMED_IMPORTS
        if timed:
            stamp(f"import {self.name} start")
        self.inner.exec_module(module)
        if timed:
            stamp(f"import {self.name} done")
        if self.name in PATCHES:
            PATCHES[self.name](module)


class _StampingFinder(importlib.abc.MetaPathFinder):
    def find_spec(self, name: str, path: Any, target: Any = None) -> Any:
        if name not in TIMED_IMPORTS and name not in PATCHES:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(name, path, target)
            if spec is not None:
                if spec.loader is not None and hasattr(spec.loader, "exec_module"):
                    spec.loader = _StampingLoader(spec.loader, name)
                return spec
        return None


def main() -> None:
    atexit.register(stamp, "atexit")
    sys.meta_path.insert(0, _StampingFinder())
    sys.argv = ["conveyor", "train", *(arg for arg in sys.argv[1:] if arg != "--first-only")]
    import conveyor.entrypoints.cli.app as app

    app.time = types.SimpleNamespace(monotonic=lambda: START)
    stamp("cli imported")
    try:
        app.main()
    finally:
        stamp("main returned")


if __name__ == "__main__":
    main()
