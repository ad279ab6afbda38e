"""The inference HTTP app: KServe V2 REST and MLflow scoring routes over one model runtime (or a router).

The two scoring routes (`POST /v2/models/{name}[/versions/{v}]/infer`, `POST /invocations`) are
answered by a plain ASGI function in front of Starlette: no routing tables, request objects or
middleware stack on the hot path. Everything else (health, metadata, metrics, docs) goes through
Starlette. Errors become JSON responses once, here:

    InvalidRequest           400  {"error", "field", "row"} (+ "hint")   a request the model cannot take
    RequestTooLarge          413  {"error", "field", "limit", "hint"}     over the body or row limit
    NotFound                 404  {"error"}                              another model's name or version
    HTTP errors (Starlette)  404 / 405 / 415 {"error"}                   unknown route, wrong method, media type
    anything else            500  {"error"}, traceback only in the log   the server keeps serving

Prediction runs on the event loop thread: for the small requests of online serving a thread hop costs
more than the model, and requests decoded in the same loop turn are scored in one call by the
runtime's micro-batcher. Run it with uvicorn (`http="httptools", loop="uvloop"`), or through a factory
per worker process, e.g. `conveyor.entrypoints.inference.worker:app_from_environment`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
import time
import uuid
from typing import TYPE_CHECKING, Any

import orjson
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from conveyor.entrypoints.inference.openapi import docs_html, openapi_spec
from conveyor.errors import InvalidRequest, NotFound

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from starlette.types import ASGIApp, Receive, Scope, Send

__all__ = ["create_app"]

logger = logging.getLogger("conveyor.inference")

JSON = "application/json"
_SCORING_TYPES = frozenset({"application/json", "text/csv"})
_JSON_HEADERS = [(b"content-type", b"application/json")]
DEFAULT_MAX_BODY = 32 * 1024 * 1024


class _Single:
    """A router over one runtime (what `create_app(runtime)` serves)."""

    canary = None
    shadow = None

    def __init__(self, runtime: Any) -> None:
        self.primary = runtime

    def pick(self) -> tuple[Any, str]:
        return self.primary, "primary"

    def runtimes(self) -> list[tuple[str, Any]]:
        return [("primary", self.primary)]


def create_app(
    runtime: Any,
    *,
    metrics: Any = None,
    prediction_log: Any = None,
    access_log: bool = False,
    max_body_bytes: int = DEFAULT_MAX_BODY,
    log_stream: Any = None,
) -> InferenceApp:
    """The ASGI app serving `runtime` (a `ModelRuntime`, or a `Router` for canary/shadow/alias swaps)."""
    router = runtime if hasattr(runtime, "pick") else _Single(runtime)
    return InferenceApp(
        router,
        metrics=metrics,
        prediction_log=prediction_log,
        access_log=access_log,
        max_body_bytes=max_body_bytes,
        log_stream=log_stream,
    )


class InferenceApp:
    """The hot scoring routes as plain ASGI; the rest through a Starlette app."""

    def __init__(
        self,
        router: Any,
        *,
        metrics: Any,
        prediction_log: Any,
        access_log: bool,
        max_body_bytes: int,
        log_stream: Any,
    ) -> None:
        self.router = router
        self.metrics = metrics
        self.prediction_log = prediction_log
        self.access_log = access_log
        self.max_body_bytes = max_body_bytes
        self._log_stream = log_stream or sys.stderr
        self._background: set[asyncio.Task[Any]] = set()
        self.starlette = _starlette_app(self)

    @property
    def runtime(self) -> Any:
        return self.router.primary

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            path = scope["path"]
            if path == "/invocations":
                await self._score(scope, receive, send, "invocations", None)
                return
            if path.startswith("/v2/models/") and path.endswith("/infer"):
                parts = path[11:-6].split("/")
                if len(parts) == 1:
                    await self._score(scope, receive, send, "v2", (parts[0], None))
                    return
                if len(parts) == 3 and parts[1] == "versions":
                    await self._score(scope, receive, send, "v2", (parts[0], parts[2]))
                    return
        await self.starlette(scope, receive, send)

    # ------------------------------------------------------------------ scoring
    async def _score(self, scope: Scope, receive: Receive, send: Send, endpoint: str, target: Any) -> None:
        started = time.perf_counter()
        content_type = None
        request_id = None
        length = None
        for key, value in scope["headers"]:
            if key == b"content-type":
                content_type = value.decode("latin-1")
            elif key == b"x-request-id":
                request_id = value.decode("latin-1")[:200]
            elif key == b"content-length":
                length = value
        if request_id is None:
            request_id = uuid.uuid4().hex
        runtime, variant = self.router.pick()
        status = 200
        scored = None
        try:
            if length is not None and int(length) > self.max_body_bytes:
                raise _too_large(self.max_body_bytes)
            body = await self._body(receive)
            media = _media(content_type)
            if endpoint == "v2":
                name, version = target
                _check_model(runtime, name, version)
                if media is not None and media != JSON and not media.endswith("+json"):
                    raise HTTPException(415, f"Unsupported content type {media!r}; V2 infer takes application/json.")
                scored = await runtime.infer_v2_async(body, request_id)
            else:
                if media is not None and media not in _SCORING_TYPES:
                    raise HTTPException(415, f"Unsupported content type {media!r}; send application/json or text/csv.")
                scored = await runtime.invocations_async(body, content_type, request_id)
            payload = scored.body
            request_id = scored.request_id or request_id  # the body's `id` wins over the header
        except Exception as exc:  # every error is answered as JSON here; the server keeps serving
            status, payload = _error_answer(exc, scope)
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(payload)).encode()),
            (b"x-request-id", request_id.encode("latin-1")),
        ]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": payload})
        seconds = time.perf_counter() - started
        version = getattr(runtime, "version", "")
        if self.metrics is not None:
            self.metrics.observe(
                endpoint, status, seconds, rows=scored.rows if scored else 0, version=version, variant=variant
            )
            self.metrics.snapshot_to()
        if scored is not None and self.prediction_log is not None:
            self.prediction_log.record(
                model=runtime.name,
                version=scored.model_version,
                variant=variant,
                request_id=request_id,
                seconds=seconds,
                inputs=scored.inputs,
                outputs=scored.outputs,
            )
        if self.access_log:
            self._log_access(scope, endpoint, status, seconds, request_id, version, variant, scored)
        shadow = self.router.shadow
        if shadow is not None and status == 200:
            task = asyncio.get_running_loop().create_task(
                self._shadow(shadow, endpoint, body, content_type, request_id)
            )
            self._background.add(task)
            task.add_done_callback(self._background.discard)

    async def _shadow(self, shadow: Any, endpoint: str, body: bytes, content_type: str | None, request_id: str) -> None:
        """Score a copy of the request on the shadow runtime: logged, never answered, never failing."""
        try:
            if endpoint == "v2":
                scored = await shadow.infer_v2_async(body, request_id)
            else:
                scored = await shadow.invocations_async(body, content_type, request_id)
        except Exception:  # the shadow's trouble is its own
            if self.metrics is not None:
                self.metrics.observe(endpoint, 500, 0.0, version=shadow.version, variant="shadow")
            return
        if self.metrics is not None:
            self.metrics.observe(
                endpoint, 200, scored.seconds, rows=scored.rows, version=shadow.version, variant="shadow"
            )
        if self.prediction_log is not None:
            self.prediction_log.record(
                model=shadow.name,
                version=scored.model_version,
                variant="shadow",
                request_id=request_id,
                seconds=scored.seconds,
                inputs=scored.inputs,
                outputs=scored.outputs,
            )

    async def _body(self, receive: Receive) -> bytes:
        message = await receive()
        body = message.get("body", b"")
        if not message.get("more_body", False):
            if len(body) > self.max_body_bytes:
                raise _too_large(self.max_body_bytes)
            return body
        chunks = [body]
        size = len(body)
        while message.get("more_body", False):
            message = await receive()
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                raise _too_large(self.max_body_bytes)
            chunks.append(chunk)
        return b"".join(chunks)

    def _log_access(
        self,
        scope: Scope,
        endpoint: str,
        status: int,
        seconds: float,
        rid: str,
        version: str,
        variant: str,
        scored: Any,
    ) -> None:
        client = scope.get("client")
        record = {
            "ts": time.time(),
            "method": scope["method"],
            "path": scope["path"],
            "endpoint": endpoint,
            "status": status,
            "latency_ms": round(seconds * 1000, 3),
            "rows": scored.rows if scored is not None else 0,
            "request_id": rid,
            "model_version": version,
            "variant": variant,
            "client": f"{client[0]}:{client[1]}" if client else None,
        }
        with contextlib.suppress(OSError, ValueError):
            self._log_stream.write(orjson.dumps(record).decode() + "\n")

    # ------------------------------------------------------------------ metrics
    def metrics_text(self) -> str:
        metrics = self.metrics
        for _, runtime in self.router.runtimes():
            batcher = getattr(runtime, "batcher", None)
            if batcher is not None:
                metrics.observe_batches(batcher.stats.sizes)
        metrics.model.update({"name": self.runtime.name, "version": self.runtime.version})
        if self.router.canary is not None:
            metrics.model["canary_version"] = self.router.canary.version
        if self.router.shadow is not None:
            metrics.model["shadow_version"] = self.router.shadow.version
        metrics.snapshot_to(force=True)
        return metrics.render()


def _check_model(runtime: Any, name: str, version: str | None) -> None:
    if name != runtime.name:
        raise NotFound(f"Model {name!r} is not served here; this server serves {runtime.name!r}.")
    if version is not None and version != runtime.version:
        raise NotFound(
            f"Version {version!r} of {name!r} is not served here; this server serves version {runtime.version!r}."
        )


def _media(content_type: str | None) -> str | None:
    return content_type.partition(";")[0].strip().lower() or None if content_type else None


def _too_large(limit: int) -> InvalidRequest:
    error = InvalidRequest(
        f"The request body is larger than this server's limit of {limit} bytes.",
        field="body",
        hint="Send fewer rows per request, or raise the server's --max-body-bytes.",
    )
    error.status_code = 413  # type: ignore[attr-defined]
    error.limit = limit  # type: ignore[attr-defined]
    return error


def _error_answer(exc: Exception, scope: Scope) -> tuple[int, bytes]:
    if isinstance(exc, InvalidRequest):
        status = getattr(exc, "status_code", 400)
        extra: dict[str, Any] = {"field": exc.field, "row": exc.row}
        if getattr(exc, "limit", None) is not None:
            extra["limit"] = exc.limit  # type: ignore[attr-defined]
        if exc.hint:
            extra["hint"] = exc.hint
        return status, orjson.dumps({"error": exc.message, **extra})
    if isinstance(exc, NotFound):
        return 404, orjson.dumps({"error": exc.message})
    if isinstance(exc, HTTPException):
        return exc.status_code, orjson.dumps({"error": exc.detail})
    logger.error("Unexpected error answering %s %s", scope.get("method"), scope.get("path"), exc_info=exc)
    return 500, orjson.dumps({"error": "Internal server error; the server log has the details."})


# ---------------------------------------------------------------------- the other routes (Starlette)
def _starlette_app(app: InferenceApp) -> Starlette:
    def check_model(request: Request) -> Any:
        runtime = app.runtime
        _check_model(runtime, request.path_params["name"], request.path_params.get("version"))
        return runtime

    async def live(request: Request) -> Response:
        return _json(b'{"live":true}')

    async def ready(request: Request) -> Response:
        return _json(b'{"ready":true}') if app.runtime.ready() else _json(b'{"ready":false}', 503)

    async def server_metadata(request: Request) -> Response:
        return _json(orjson.dumps(app.runtime.server_metadata()))

    async def model_metadata(request: Request) -> Response:
        runtime = check_model(request)
        metadata = runtime.model_metadata()
        if app.router.canary is not None or app.router.shadow is not None:
            metadata["parameters"] = {
                **metadata.get("parameters", {}),
                "variants": {label: r.version for label, r in app.router.runtimes()},
                "canary_percent": getattr(app.router, "canary_percent", 0),
            }
        return _json(orjson.dumps(metadata))

    async def model_ready(request: Request) -> Response:
        check_model(request)
        return await ready(request)

    async def wrong_method(request: Request) -> Response:
        raise HTTPException(405, f"{request.method} is not allowed here; use POST.")

    async def ping(request: Request) -> Response:
        return _json(b"\n") if app.runtime.ready() else _json(b"\n", 503)

    async def version(request: Request) -> Response:
        return Response(str(app.runtime.server_metadata().get("version", "")), media_type="text/plain")

    async def metrics(request: Request) -> Response:
        if app.metrics is None:
            raise HTTPException(404, "Metrics are off on this server.")
        return Response(app.metrics_text(), media_type="text/plain; version=0.0.4; charset=utf-8")

    async def spec(request: Request) -> Response:
        return _json(orjson.dumps(openapi_spec(app.runtime.name)))

    async def docs(request: Request) -> Response:
        return HTMLResponse(docs_html(openapi_spec(app.runtime.name)))

    routes = [
        Route("/v2/health/live", live, methods=["GET"]),
        Route("/v2/health/ready", ready, methods=["GET"]),
        Route("/v2", server_metadata, methods=["GET"]),
        Route("/v2/models/{name}", model_metadata, methods=["GET"]),
        Route("/v2/models/{name}/ready", model_ready, methods=["GET"]),
        Route("/v2/models/{name}/infer", wrong_method, methods=["GET", "PUT", "DELETE", "PATCH"]),
        Route("/v2/models/{name}/versions/{version}", model_metadata, methods=["GET"]),
        Route("/v2/models/{name}/versions/{version}/ready", model_ready, methods=["GET"]),
        Route("/v2/models/{name}/versions/{version}/infer", wrong_method, methods=["GET", "PUT", "DELETE", "PATCH"]),
        Route("/invocations", wrong_method, methods=["GET", "PUT", "DELETE", "PATCH"]),
        Route("/ping", ping, methods=["GET"]),
        Route("/health", ping, methods=["GET"]),
        Route("/version", version, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
        Route("/openapi.json", spec, methods=["GET"]),
        Route("/docs", docs, methods=["GET"]),
    ]

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        yield
        if app.prediction_log is not None:  # the records gathered for the next file are written now
            await asyncio.to_thread(app.prediction_log.close)

    starlette = Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={
            InvalidRequest: _starlette_error,
            NotFound: _starlette_error,
            HTTPException: _starlette_error,
        },
    )
    starlette.add_middleware(_CatchAll)
    return starlette


def _json(body: bytes, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(body, status_code=status, media_type=JSON, headers=headers)


async def _starlette_error(request: Request, exc: Exception) -> Response:
    status, payload = _error_answer(exc, request.scope)
    headers = exc.headers if isinstance(exc, HTTPException) else None
    return _json(payload, status, headers)


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
            status, payload = 500, orjson.dumps({"error": "Internal server error; the server log has the details."})
            await _json(payload, status)(scope, receive, send)
