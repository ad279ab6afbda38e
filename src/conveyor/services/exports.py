"""Exports for clusters: a registered model as an MLServer model directory, a KServe InferenceService,
a Seldon Core v2 Model, and always a Dockerfile for the Conveyor server itself.

    OUT/
      model/                   the MLflow model (MLmodel, weights, requirements.txt)
      model-settings.json      mlserver: `mlserver start OUT` serves it with mlserver-mlflow
      settings.json            mlserver: server settings (127.0.0.1, ports)
      inferenceservice.yaml    kserve: serving.kserve.io/v1beta1 InferenceService (MLflow format, V2 protocol)
      model.yaml               seldon: mlops.seldon.io/v1alpha1 Model (requirements: mlflow)
      Dockerfile               `conveyor serve /model` on port 8080
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

from conveyor.errors import InvalidInput
from conveyor.services.models import ModelService

FORMATS = ("mlserver", "kserve", "seldon")


class ExportService:
    """Writes export directories for registered models (or MLflow model directories)."""

    def __init__(self, models: ModelService) -> None:
        self._models = models

    def export(
        self, model: str, fmt: str, out: Path, *, storage_uri: str | None = None, image: str | None = None
    ) -> list[Path]:
        """Write the export of `model` in format `fmt` under `out`; returns the files written."""
        if fmt not in FORMATS:
            raise InvalidInput(f"Unknown export format {fmt!r}.", hint=f"Choose one of {', '.join(FORMATS)}.")
        loaded = self._models.load(model)
        name = _k8s_name(loaded.name)
        out.mkdir(parents=True, exist_ok=True)
        target = out / "model"
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(loaded.path, target)
        _declare_outputs(target / "MLmodel", loaded.predictor)
        version = str(loaded.version)
        written = [target]
        storage = storage_uri or f"s3://models/{name}/{version}"
        if fmt == "mlserver":
            written += [
                _write_json(
                    out / "model-settings.json",
                    {
                        "name": loaded.name,
                        "implementation": "mlserver_mlflow.MLflowRuntime",
                        "parameters": {"uri": "./model", "version": version},
                    },
                ),
                _write_json(out / "settings.json", {"host": "127.0.0.1", "http_port": 8080, "grpc_port": 8081}),
            ]
        elif fmt == "kserve":
            written.append(_write_yaml(out / "inferenceservice.yaml", kserve_manifest(name, storage)))
        else:
            written.append(_write_yaml(out / "model.yaml", seldon_manifest(name, storage)))
        written.append(_write_text(out / "Dockerfile", dockerfile(loaded.name, image)))
        return written


def kserve_manifest(name: str, storage_uri: str) -> dict[str, Any]:
    """A KServe v1beta1 InferenceService serving an MLflow model over the V2 protocol."""
    return {
        "apiVersion": "serving.kserve.io/v1beta1",
        "kind": "InferenceService",
        "metadata": {"name": name},
        "spec": {
            "predictor": {
                "model": {
                    "modelFormat": {"name": "mlflow"},
                    "protocolVersion": "v2",
                    "storageUri": storage_uri,
                }
            }
        },
    }


def seldon_manifest(name: str, storage_uri: str) -> dict[str, Any]:
    """A Seldon Core v2 Model served by MLServer's MLflow runtime."""
    return {
        "apiVersion": "mlops.seldon.io/v1alpha1",
        "kind": "Model",
        "metadata": {"name": name},
        "spec": {"storageUri": storage_uri, "requirements": ["mlflow"]},
    }


def dockerfile(name: str, image: str | None = None) -> str:
    """A Dockerfile running `conveyor serve` on the exported model directory."""
    base = image or "python:3.11-slim"
    return f"""# Conveyor inference server for {name}: V2 at /v2/models/{name}/infer, MLflow at /invocations.
FROM {base}
ENV PIP_NO_CACHE_DIR=1 OMP_NUM_THREADS=1 MLFLOW_DISABLE_TELEMETRY=true CONVEYOR_HOME=/var/lib/conveyor
COPY model /model
# The model's own pinned requirements (conveyor-ml among them for Conveyor-trained models).
RUN pip install -r /model/requirements.txt && pip install conveyor-ml
EXPOSE 8080
CMD ["conveyor", "serve", "/model", "--name", "{name}", "--host", "0.0.0.0", "--port", "8080", "--workers", "2"]
"""


def _k8s_name(name: str) -> str:
    """`name` as a DNS-1035 label (what KServe requires of an InferenceService; Seldon's Model accepts it)."""
    cleaned = re.sub(r"[^a-z0-9-]+", "-", name.lower()).strip("-")
    if not cleaned[:1].isalpha():
        cleaned = f"model-{cleaned}".rstrip("-")
    return cleaned[:63].rstrip("-")


def _declare_outputs(mlmodel: Path, predictor: Any) -> None:
    """Give the exported copy an output schema when it has none: MLServer's MLflow runtime needs one.

    The schema is read off a prediction on the model's own input example when there is one (a table
    of named columns, or one float tensor), else declared as a float64 tensor.
    """
    import yaml

    spec = yaml.safe_load(mlmodel.read_text())
    signature = spec.get("signature") or {}
    if not signature or signature.get("outputs"):
        return
    outputs: list[dict[str, Any]] = [{"type": "tensor", "tensor-spec": {"dtype": "float64", "shape": [-1]}}]
    example = mlmodel.parent / "input_example.json"
    if example.is_file():
        try:
            import pandas as pd

            raw = json.loads(example.read_text())
            frame = pd.DataFrame(raw["data"], columns=raw["columns"]) if "columns" in raw else pd.DataFrame(raw)
            predicted = predictor.predict(frame)
            if isinstance(predicted, pd.DataFrame):
                kinds = {"f": "double", "i": "long", "b": "boolean"}
                outputs = [
                    {"type": kinds.get(predicted[c].dtype.kind, "string"), "name": str(c), "required": True}
                    for c in predicted.columns
                ]
        except Exception:
            pass
    signature["outputs"] = json.dumps(outputs)
    spec["signature"] = signature
    mlmodel.write_text(yaml.safe_dump(spec, sort_keys=False))


def _write_json(path: Path, data: Any) -> Path:
    path.write_text(json.dumps(data, indent=2) + "\n")
    return path


def _write_yaml(path: Path, data: Any) -> Path:
    import yaml  # PyYAML, installed with MLflow

    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def _write_text(path: Path, text: str) -> Path:
    path.write_text(text)
    return path
