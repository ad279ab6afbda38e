"""Online serving: a model loaded into a runtime that answers the V2 and MLflow protocols.

`stack()` builds everything one server worker needs from `ServeOptions`: the router (primary, canary,
shadow runtimes), the metrics and the prediction log, and, when the model is named by an alias, an
`AliasFollower` that polls the registry and swaps the primary runtime when the alias moves.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from conveyor.domain.models import ModelRef
from conveyor.errors import NotFound
from conveyor.services.models import ModelService

if TYPE_CHECKING:
    from conveyor.serving import ModelRuntime
    from conveyor.serving.routing import Router

logger = logging.getLogger("conveyor.serving")


@dataclass
class ServeOptions:
    """How a server serves: limits, batching, observability, rollout. JSON-able, so workers can inherit it."""

    max_body_bytes: int = 32 * 1024 * 1024
    max_rows: int = 100_000
    batching: bool = True
    batch_max_rows: int = 512
    batch_max_wait_ms: float = 0.0
    metrics_dir: str | None = None
    prediction_log_dir: str | None = None
    prediction_log_sample: float = 1.0
    prediction_log_queue: int = 10_000
    access_log: bool = False
    canary: str | None = None
    canary_percent: float = 0.0
    shadow: str | None = None
    compile_cache: str | None = None  # compile LightGBM models with lleaves, cached here (None: do not)
    follow_seconds: float = 0.0  # poll the registry this often when the model is NAME@ALIAS (0: never)
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ServeOptions:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)


@dataclass
class ServingStack:
    """What one worker serves with."""

    router: Router
    metrics: Any
    prediction_log: Any
    follower: AliasFollower | None
    options: ServeOptions


class ServingService:
    """Builds serving runtimes from registered models or model directories."""

    def __init__(self, models: ModelService) -> None:
        self._models = models

    def check(self, model: str) -> str:
        """Fail fast on a model that does not exist; returns the name it will be served under."""
        path = Path(model).expanduser()
        if path.is_dir():
            # Only look: loading here would keep a copy of the model in the supervisor of the workers.
            if not (path / "MLmodel").is_file():
                raise NotFound(
                    f"{path} is not an MLflow model directory (it has no MLmodel file).",
                    hint="Give a registered model as NAME[@ALIAS] or a folder written by mlflow.*.save_model.",
                )
            return path.resolve().name
        return self._models.resolve(model).name

    def runtime(self, model: str, name: str | None = None, options: ServeOptions | None = None) -> ModelRuntime:
        from conveyor.serving import Limits, ModelRuntime

        options = options or ServeOptions()
        loaded = self._models.load(model)
        if name:
            loaded = loaded.model_copy(update={"name": name})
        limits = Limits(
            max_body_bytes=options.max_body_bytes,
            max_rows=options.max_rows,
            batch_max_rows=options.batch_max_rows,
            batch_max_wait_ms=options.batch_max_wait_ms,
            batching=options.batching,
            compile_cache=options.compile_cache,
        )
        return ModelRuntime(loaded, limits, explainer=_explainer(loaded.predictor))

    def stack(self, model: str, name: str | None = None, options: ServeOptions | None = None) -> ServingStack:
        """Router, metrics, prediction log and alias follower for one worker serving `model`."""
        from conveyor.serving.metrics import ServingMetrics
        from conveyor.serving.predlog import ParquetWriter, PredictionLog
        from conveyor.serving.routing import Router

        options = options or ServeOptions()
        primary = self.runtime(model, name, options)
        canary = self.runtime(options.canary, primary.name, options) if options.canary else None
        shadow = self.runtime(options.shadow, primary.name, options) if options.shadow else None
        router = Router(primary, canary=canary, canary_percent=options.canary_percent, shadow=shadow)
        metrics = ServingMetrics(Path(options.metrics_dir) if options.metrics_dir else None)
        prediction_log = None
        if options.prediction_log_dir:
            prediction_log = PredictionLog(
                ParquetWriter(Path(options.prediction_log_dir)),
                columns=primary.signature.names or None,
                sample=options.prediction_log_sample,
                queue_size=options.prediction_log_queue,
            )
            metrics.prediction_log = prediction_log.counters
        follower = None
        if options.follow_seconds > 0 and not Path(model).expanduser().is_dir():
            follower = AliasFollower(self, model, primary.name, options, router)
        return ServingStack(router, metrics, prediction_log, follower, options)

    def current_version(self, model: str) -> str:
        """The version `model` (NAME@ALIAS, NAME:VERSION) names in the registry now."""
        return str(self._models.resolve(model).version)


def _explainer(predictor: Any) -> Any:
    """Contributions of a Conveyor tabular model (the AutoML engine's tree SHAP values), else None."""
    tabular = getattr(predictor, "model", None)
    if tabular is None:
        return None
    from conveyor import automl

    if not isinstance(tabular, automl.TabularModel):
        return None
    return lambda frame: automl.contributions(tabular, frame)


class AliasFollower:
    """Polls the registry; when the served alias points at another version, loads it and swaps it in.

    Loading happens on this thread while the old runtime keeps answering; the swap is one assignment,
    so no request is dropped or answered by a half-loaded model.
    """

    def __init__(self, serving: ServingService, model: str, name: str, options: ServeOptions, router: Router) -> None:
        self._serving = serving
        self._model = model
        self._name = name
        self._options = options
        self._router = router
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        ref = ModelRef.parse(model)
        self.pinned = ref.version is not None

    def start(self) -> None:
        if self.pinned or self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="conveyor-alias-follower", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def check_once(self) -> bool:
        """Swap if the alias moved; True when it did."""
        version = self._serving.current_version(self._model)
        if version == self._router.primary.version:
            return False
        runtime = self._serving.runtime(f"{ModelRef.parse(self._model).name}:{version}", self._name, self._options)
        self._router.swap(runtime)
        logger.warning("%s now serves version %s", self._model, version)
        return True

    def _run(self) -> None:
        while not self._stop.wait(self._options.follow_seconds):
            try:
                self.check_once()
            except Exception:  # the registry may be briefly unreachable: keep serving, try again later
                logger.exception("Could not follow %s", self._model)
