"""The inference worker: builds the serving app for the model named in the environment."""

from __future__ import annotations

import gc
import json
import os

from conveyor.bootstrap import build_services

MODEL_VARIABLE = "CONVEYOR_SERVE_MODEL"
NAME_VARIABLE = "CONVEYOR_SERVE_NAME"
OPTIONS_VARIABLE = "CONVEYOR_SERVE_OPTIONS"


def app_from_environment():  # type: ignore[no-untyped-def]
    """Uvicorn app factory: every worker process loads the model once, here."""
    from conveyor.entrypoints.inference.app import create_app
    from conveyor.services.serving import ServeOptions

    options = ServeOptions.from_dict(json.loads(os.environ.get(OPTIONS_VARIABLE) or "{}"))
    stack = build_services().serving.stack(
        os.environ[MODEL_VARIABLE], name=os.environ.get(NAME_VARIABLE) or None, options=options
    )
    if stack.follower is not None:
        stack.follower.start()
    # The model and libraries are loaded for good: keep the collector from walking them again, so
    # collections triggered by request garbage stay short (they show in the latency tail otherwise).
    gc.collect()
    gc.freeze()
    return create_app(
        stack.router,
        metrics=stack.metrics,
        prediction_log=stack.prediction_log,
        access_log=options.access_log,
        max_body_bytes=options.max_body_bytes,
    )
