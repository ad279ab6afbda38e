"""The inference HTTP app: KServe V2 REST and MLflow scoring routes over one model runtime.

Routes are thin: they check the model name and content type, hand the body to the runtime and write
back its bytes. Errors become JSON responses once, here:

    InvalidRequest           400  {"error", "field", "row"} (+ "hint")   a request the model cannot take
    NotFound                 404  {"error"}                              another model's name or version
    HTTP errors (Starlette)  404 / 405 / 415 {"error"}                   unknown route, wrong method, media type
    anything else            500  {"error"}, traceback only in the log   the server keeps serving

Prediction runs on the event loop thread: for the small requests of online serving a thread hop costs
more than the model. Run it with uvicorn (`http="httptools", loop="uvloop"`), or through a factory
per worker process, e.g. `conveyor.entrypoints.inference.worker:app_from_environment`.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import orjson
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from conveyor.errors import InvalidRequest, NotFound

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Receive, Scope, Send

    from conveyor.serving import ModelRuntime

__all__ = ["create_app"]

logger = logging.getLogger("conveyor.inference")

JSON = "application/json"
_SCORING_TYPES = frozenset({"application/json", "text/csv"})


def create_app(runtime: ModelRuntime) -> Starlette:
    """The Starlette app serving `runtime` over the V2 and MLflow scoring protocols."""

    def check_model(request: Request) -> None:
        name = request.path_params["name"]
        if name != runtime.name:
            raise NotFound(f"Model {name!r} is not served here; this server serves {runtime.name!r}.")
        version = request.path_params.get("version")
        if version is not None and version != runtime.version:
            raise NotFound(
                f"Version {version!r} of {name!r} is not served here; this server serves version {runtime.version!r}."
            )

    async def live(request: Request) -> Response:
        return _json(b'{"live":true}')

    async def ready(request: Request) -> Response:
        return _json(b'{"ready":true}') if runtime.ready() else _json(b'{"ready":false}', 503)

    async def server_metadata(request: Request) -> Response:
        return _json(orjson.dumps(runtime.server_metadata()))

    async def model_metadata(request: Request) -> Response:
        check_model(request)
        return _json(orjson.dumps(runtime.model_metadata()))

    async def model_ready(request: Request) -> Response:
        check_model(request)
        return await ready(request)

    async def infer(request: Request) -> Response:
        check_model(request)
        media = _media_type(request)
        if media is not None and media != JSON and not media.endswith("+json"):
            raise HTTPException(415, f"Unsupported content type {media!r}; V2 infer takes application/json.")
        return _json(runtime.infer_v2(await request.body()))

    async def invocations(request: Request) -> Response:
        media = _media_type(request)
        if media is not None and media not in _SCORING_TYPES:
            raise HTTPException(415, f"Unsupported content type {media!r}; send application/json or text/csv.")
        return _json(runtime.invocations(await request.body(), media))

    async def ping(request: Request) -> Response:
        return _json(b"\n") if runtime.ready() else _json(b"\n", 503)

    async def version(request: Request) -> Response:
        return Response(str(runtime.server_metadata().get("version", "")), media_type="text/plain")

    routes = [
        Route("/v2/health/live", live, methods=["GET"]),
        Route("/v2/health/ready", ready, methods=["GET"]),
        Route("/v2", server_metadata, methods=["GET"]),
        Route("/v2/models/{name}", model_metadata, methods=["GET"]),
        Route("/v2/models/{name}/ready", model_ready, methods=["GET"]),
        Route("/v2/models/{name}/infer", infer, methods=["POST"]),
        Route("/v2/models/{name}/versions/{version}", model_metadata, methods=["GET"]),
        Route("/v2/models/{name}/versions/{version}/ready", model_ready, methods=["GET"]),
        Route("/v2/models/{name}/versions/{version}/infer", infer, methods=["POST"]),
        Route("/invocations", invocations, methods=["POST"]),
        Route("/ping", ping, methods=["GET"]),
        Route("/health", ping, methods=["GET"]),
        Route("/version", version, methods=["GET"]),
    ]
    app = Starlette(
        routes=routes,
        exception_handlers={InvalidRequest: _invalid_request, NotFound: _not_found, HTTPException: _http_error},
    )
    app.add_middleware(_CatchAll)
    return app


def _json(body: bytes, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(body, status_code=status, media_type=JSON, headers=headers)


def _error(status: int, message: str, headers: dict[str, str] | None = None, **extra: Any) -> Response:
    return _json(orjson.dumps({"error": message, **extra}), status, headers)


def _media_type(request: Request) -> str | None:
    value = request.headers.get("content-type")
    return value.partition(";")[0].strip().lower() or None if value else None


async def _invalid_request(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, InvalidRequest)
    extra: dict[str, Any] = {"field": exc.field, "row": exc.row}
    if exc.hint:
        extra["hint"] = exc.hint
    return _error(400, exc.message, **extra)


async def _not_found(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, NotFound)
    return _error(404, exc.message)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return _error(exc.status_code, exc.detail, headers=exc.headers)


class _CatchAll:
    """Turn an unexpected error into a 500 JSON answer, logged with its traceback, and keep serving.

    Starlette's own handler for `Exception` re-raises after answering, which makes uvicorn close the
    keep-alive connection; this one stops the error here.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: dict[str, Any]) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception:
            logger.exception("Unexpected error answering %s %s", scope.get("method"), scope.get("path"))
            if started:
                raise  # too late for a clean answer: let the server close the connection
            await _error(500, "Internal server error; the server log has the details.")(scope, receive, send)
