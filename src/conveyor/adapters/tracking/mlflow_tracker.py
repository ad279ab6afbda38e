"""The MLflow implementation of the `Tracker` port: runs, trials, model logging and the registry.

Everything goes through one `MlflowClient` bound to Conveyor's own tracking URI, so the
user's MLflow settings (`MLFLOW_TRACKING_URI`, the fluent API's active run) are never touched.
"""

from __future__ import annotations

import os
import pickle
import re
import tempfile
import time
import warnings
from functools import cached_property
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

# Telemetry would resolve an outside host from a background thread; a self-hosted platform
# stays offline. The user's own choice, when set, wins.
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")

import mlflow.artifacts
import mlflow.pyfunc
from mlflow import MlflowClient
from mlflow.entities import LoggedModelOutput, LoggedModelStatus, Metric, Param, RunStatus
from mlflow.exceptions import MlflowException
from mlflow.models import ModelSignature
from mlflow.types import ColSpec, Schema

from conveyor.adapters.tracking.pyfunc import MODEL_ARTIFACT, TabularPyfunc
from conveyor.domain.models import InputColumn, LoadedModel, ModelRef, ModelVersionInfo
from conveyor.domain.training import TrialResult
from conveyor.errors import NotFound

# Libraries a saved model needs at load time, pinned to what trained it. Passing them
# explicitly skips MLflow's requirement inference (15-20 s, a child interpreter).
_MODEL_REQUIREMENTS = (
    "conveyor-ml",
    "mlflow",
    "scikit-learn",
    "pandas",
    "numpy",
    "lightgbm",
    "xgboost-cpu",
    "catboost",
)

# MLflow type of each input kind a Conveyor model declares. Integers are declared as
# doubles because a missing value in a scoring row turns an integer column into floats.
_SIGNATURE_TYPES = {
    "double": "double",
    "long": "double",
    "boolean": "boolean",
    "string": "string",
    "datetime": "datetime",
}


def _requirements() -> list[str]:
    pinned = []
    for package in _MODEL_REQUIREMENTS:
        try:
            pinned.append(f"{package}=={version(package)}")
        except PackageNotFoundError:
            continue
    return pinned


def _now_ms() -> int:
    return int(time.time() * 1000)


class MlflowTracker:
    """Tracking and registry on one MLflow store."""

    def __init__(self, tracking_uri: str, artifact_root: str) -> None:
        self.tracking_uri = tracking_uri
        self._artifact_root = artifact_root.rstrip("/")
        self._experiments: dict[str, str] = {}

    @cached_property
    def _client(self) -> MlflowClient:
        # Built on first use: loading a model directory needs no tracking store at all.
        return MlflowClient(tracking_uri=self.tracking_uri, registry_uri=self.tracking_uri)

    def _experiment_id(self, name: str) -> str:
        if name not in self._experiments:
            experiment = self._client.get_experiment_by_name(name)
            if experiment is None:
                folder = re.sub(r"[^A-Za-z0-9_.-]+", "_", name)
                experiment_id = self._client.create_experiment(
                    name, artifact_location=f"{self._artifact_root}/{folder}"
                )
            else:
                experiment_id = experiment.experiment_id
            self._experiments[name] = experiment_id
        return self._experiments[name]

    def start_job_run(self, experiment: str, *, run_name: str, tags: dict[str, str], params: dict[str, Any]) -> str:
        run = self._client.create_run(self._experiment_id(experiment), run_name=run_name, tags=tags)
        self._client.log_batch(run.info.run_id, params=[Param(k, str(v)) for k, v in params.items()])
        return run.info.run_id

    def log_trial(self, parent_run_id: str, experiment: str, trial: TrialResult) -> None:
        tags = {
            "mlflow.parentRunId": parent_run_id,
            "conveyor.family": trial.family,
            "conveyor.status": trial.status,
        }
        if trial.error:
            tags["conveyor.error"] = trial.error[:5000]
        run = self._client.create_run(
            self._experiment_id(experiment), run_name=f"trial-{trial.number:03d}-{trial.family}", tags=tags
        )
        metrics = {
            f"cv_{trial.metric}_mean": trial.cv_mean,
            f"cv_{trial.metric}_std": trial.cv_std,
            "fit_seconds": trial.fit_seconds,
            "folds": float(trial.folds),
        }
        if trial.predict_seconds_per_1k is not None:
            metrics["predict_seconds_per_1k_rows"] = trial.predict_seconds_per_1k
        stamp = _now_ms()
        self._client.log_batch(
            run.info.run_id,
            metrics=[Metric(k, float(v), stamp, 0) for k, v in metrics.items() if v == v],
            params=[Param("family", trial.family)] + [Param(k, str(v)[:6000]) for k, v in trial.params.items()],
        )
        status = RunStatus.to_string(RunStatus.FINISHED if trial.status == "ok" else RunStatus.FAILED)
        self._client.set_terminated(run.info.run_id, status=status)

    def log_model(
        self,
        run_id: str,
        model: Any,
        *,
        input_example: Any,
        metrics: dict[str, float],
        artifacts: dict[str, Path] | None = None,
    ) -> str:
        run = self._client.get_run(run_id)
        self._client.log_batch(run_id, metrics=[Metric(k, float(v), _now_ms(), 0) for k, v in metrics.items()])
        declared = {name: _SIGNATURE_TYPES[kind] for name, kind in model.input_columns}
        signature = ModelSignature(inputs=Schema([ColSpec(kind, name) for name, kind in declared.items()]))
        input_example = input_example[list(declared)].astype(
            {name: "float64" for name, kind in declared.items() if kind == "double"}
        )
        logged = self._client.create_logged_model(
            run.info.experiment_id, name="model", source_run_id=run_id, model_type="conveyor-tabular"
        )
        with tempfile.TemporaryDirectory() as scratch:
            pickled = Path(scratch) / "tabular_model.pkl"
            pickled.write_bytes(pickle.dumps(model, protocol=pickle.HIGHEST_PROTOCOL))
            model_dir = Path(scratch) / "model"
            with warnings.catch_warnings():
                # MLflow 3.17 compares the example's columns with a range, which pandas 3 deprecates.
                warnings.filterwarnings("ignore", message="Operation with range is deprecated")
                mlflow.pyfunc.save_model(
                    path=str(model_dir),
                    python_model=TabularPyfunc(),
                    artifacts={MODEL_ARTIFACT: str(pickled), **{k: str(v) for k, v in (artifacts or {}).items()}},
                    signature=signature,
                    input_example=input_example,
                    pip_requirements=_requirements(),
                    metadata={"conveyor_task": model.task.value, "conveyor_target": model.target},
                )
            self._client.log_model_artifacts(logged.model_id, str(model_dir))
        self._client.finalize_logged_model(logged.model_id, LoggedModelStatus.READY)
        self._client.log_outputs(run_id, [LoggedModelOutput(model_id=logged.model_id, step=0)])
        return f"models:/{logged.model_id}"

    def end_run(self, run_id: str, *, succeeded: bool) -> None:
        status = RunStatus.FINISHED if succeeded else RunStatus.FAILED
        self._client.set_terminated(run_id, status=RunStatus.to_string(status))

    @staticmethod
    def _info(model_version: Any) -> ModelVersionInfo:
        return ModelVersionInfo(
            name=model_version.name,
            version=int(model_version.version),
            aliases=list(model_version.aliases or []),
            run_id=model_version.run_id,
            source=model_version.source,
            tags=dict(model_version.tags or {}),
        )

    def register_model(self, name: str, *, source: str, run_id: str, tags: dict[str, str]) -> ModelVersionInfo:
        try:
            self._client.get_registered_model(name)
        except MlflowException:
            self._client.create_registered_model(name)
        model_id = None
        if source.startswith("models:/m-"):
            # The registry's SQL store resolves `models:/m-…` through the *global* tracking URI,
            # which is the user's, not ours: hand it the logged model's storage location instead.
            model_id = source.removeprefix("models:/")
            source = self._client.get_logged_model(model_id).artifact_location
        created = self._client.create_model_version(name, source, run_id=run_id, tags=tags, model_id=model_id)
        return self._info(self._client.get_model_version(name, created.version))

    def _known_models(self) -> list[str]:
        return sorted(m.name for m in self._client.search_registered_models())

    def resolve(self, ref: ModelRef) -> ModelVersionInfo:
        try:
            self._client.get_registered_model(ref.name)
        except MlflowException:
            known = self._known_models()
            hint = f"Registered models: {', '.join(known)}." if known else "Train one with `conveyor train`."
            raise NotFound(f"No registered model named {ref.name!r}.", hint=hint) from None
        try:
            if ref.version is not None:
                return self._info(self._client.get_model_version(ref.name, str(ref.version)))
            return self._info(self._client.get_model_version_by_alias(ref.name, ref.alias or "champion"))
        except MlflowException:
            versions = self.list_versions(ref.name)
            listing = ", ".join(f"{v.version}{' @' + ' @'.join(v.aliases) if v.aliases else ''}" for v in versions)
            what = f"version {ref.version}" if ref.version is not None else f"alias {ref.alias!r}"
            raise NotFound(
                f"Model {ref.name!r} has no {what}.",
                hint=f"Its versions are: {listing}. Write NAME:VERSION or NAME@ALIAS.",
            ) from None

    def set_alias(self, name: str, alias: str, version: int) -> None:
        self._client.set_registered_model_alias(name, alias, str(version))

    def list_versions(self, name: str) -> list[ModelVersionInfo]:
        # Searches leave a version's aliases empty; the registered model holds them.
        aliases: dict[int, list[str]] = {}
        for alias, number in self._client.get_registered_model(name).aliases.items():
            aliases.setdefault(int(number), []).append(alias)
        found = [self._info(v) for v in self._client.search_model_versions(f"name = '{name}'")]
        return sorted(
            (v.model_copy(update={"aliases": sorted(aliases.get(v.version, []))}) for v in found),
            key=lambda v: v.version,
        )

    def list_models(self) -> list[ModelVersionInfo]:
        newest = []
        for name in self._known_models():
            versions = self.list_versions(name)
            if versions:
                newest.append(versions[-1])
        return newest

    def load(self, ref: ModelRef) -> LoadedModel:
        info = self.resolve(ref)
        uri = self._client.get_model_version_download_uri(info.name, str(info.version))
        path = Path(mlflow.artifacts.download_artifacts(artifact_uri=uri, tracking_uri=self.tracking_uri))
        return self._load_path(path, name=info.name, version=str(info.version))

    def load_dir(self, path: Path) -> LoadedModel:
        if not (path / "MLmodel").is_file():
            raise NotFound(
                f"{path} is not an MLflow model directory (it has no MLmodel file).",
                hint="Give a registered model as NAME[@ALIAS] or a folder written by mlflow.*.save_model.",
            )
        return self._load_path(path, name=path.resolve().name, version="1")

    @staticmethod
    def _load_path(path: Path, *, name: str, version: str) -> LoadedModel:
        pyfunc_model = mlflow.pyfunc.load_model(str(path))
        schema = pyfunc_model.metadata.get_input_schema()
        inputs = None
        if schema is not None and schema.has_input_names():
            inputs = [
                InputColumn(name=spec.name, type=spec.type.name, required=spec.required) for spec in schema.inputs
            ]
        try:
            python_model = pyfunc_model.unwrap_python_model()
        except MlflowException:
            python_model = None
        # A Conveyor model answers straight from its fitted pipeline, skipping MLflow's
        # per-call schema enforcement, which the serving runtime already does.
        predictor = _FramePredictor(python_model.model) if isinstance(python_model, TabularPyfunc) else pyfunc_model
        flavor, native = None, None
        if "lightgbm" in (pyfunc_model.metadata.flavors or {}):
            # The booster itself, so serving can predict on float64 arrays without pandas.
            from mlflow import lightgbm as mlflow_lightgbm

            flavor, native = "lightgbm", mlflow_lightgbm.load_model(str(path))
        return LoadedModel(
            name=name,
            version=version,
            path=path,
            predictor=predictor,
            inputs=inputs,
            metadata=dict(pyfunc_model.metadata.metadata or {}),
            flavor=flavor,
            native=native,
        )


class _FramePredictor:
    """Presents a Conveyor tabular model through the pyfunc `predict` call."""

    def __init__(self, model: Any) -> None:
        self.model = model

    def predict(self, frame: Any) -> Any:
        return self.model.predict_frame(frame)
