"""The inference worker: builds the serving app for the model named in the environment."""

from __future__ import annotations

import os

from conveyor.bootstrap import build_services

MODEL_VARIABLE = "CONVEYOR_SERVE_MODEL"
NAME_VARIABLE = "CONVEYOR_SERVE_NAME"


def app_from_environment():  # type: ignore[no-untyped-def]
    """Uvicorn app factory: every worker process loads the model once, here."""
    from conveyor.entrypoints.inference.app import create_app

    runtime = build_services().serving.runtime(os.environ[MODEL_VARIABLE], name=os.environ.get(NAME_VARIABLE) or None)
    return create_app(runtime)
