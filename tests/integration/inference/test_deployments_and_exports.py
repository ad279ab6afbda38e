"""Deployments as detached servers that follow their alias without failing a request; export directories."""

from __future__ import annotations

import copy
import json
import os
import re
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import numpy as np
import pandas as pd
import pytest
import yaml

from conveyor.adapters.tracking import MlflowTracker
from conveyor.bootstrap import build_services
from conveyor.services.exports import ExportService, kserve_manifest, seldon_manifest
from conveyor.settings import Settings

from .conftest import free_port, keep_requesting

COLUMNS = ["age", "education_num", "hours_per_week"]
NAME = "lgbm"
SCHEMAS = Path(__file__).parent / "schemas"
KSERVE_CRD = SCHEMAS / "kserve-inferenceservice-crd.excerpt.yaml"  # see the file's header for source and licence
SELDON_CRD = SCHEMAS / "seldon-model-crd.yaml"
MLSERVER = Path.home() / "venvs" / "servebench" / "bin" / "mlserver"


def _save(rows: pd.DataFrame, path: Path, rounds: int) -> None:
    import lightgbm as lgb
    import mlflow.lightgbm
    from mlflow.models import ModelSignature
    from mlflow.types import ColSpec, Schema

    target = (rows["income"] == ">50K").astype("int64")
    params = {"objective": "binary", "num_leaves": 7, "verbose": -1, "num_threads": 1, "seed": 0}
    booster = lgb.train(params, lgb.Dataset(rows[COLUMNS], target), num_boost_round=rounds)
    signature = ModelSignature(inputs=Schema([ColSpec("long", c) for c in COLUMNS]))
    mlflow.lightgbm.save_model(booster, str(path), signature=signature, pip_requirements=["lightgbm"])


@pytest.fixture(scope="module")
def workspace(adult_rows: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory):
    """A workspace whose registry holds `lgbm` versions 1 and 2, @champion on 1."""
    root = tmp_path_factory.mktemp("deploy")
    settings = Settings.for_home(root / "home")
    tracker = MlflowTracker(settings.mlflow_tracking_uri, settings.mlflow_artifact_root)
    for version, rounds in ((1, 5), (2, 15)):
        path = root / f"v{version}"
        _save(adult_rows, path, rounds)
        tracker.register_model(NAME, source=str(path), run_id=None, tags={})  # type: ignore[arg-type]
    tracker.set_alias(NAME, "champion", 1)
    return settings, tracker, root


def _infer(base: str, rows: np.ndarray, client: httpx.Client) -> httpx.Response:
    body = {"inputs": [{"name": "x", "shape": list(rows.shape), "datatype": "FP64", "data": rows.ravel().tolist()}]}
    return client.post(f"{base}/v2/models/{NAME}/infer", json=body)


def test_deployment_follows_its_alias_without_failing_a_request(workspace, adult_rows) -> None:
    settings, tracker, _ = workspace
    service = build_services(settings).deployments
    port = free_port()
    deployment = service.deploy(f"{NAME}@champion", "web", port=port, follow_seconds=0.3, wait_seconds=120)
    try:
        assert deployment.status == "running", service.logs("web")
        assert deployment.model_version == "1"
        assert [d.name for d in service.list()] == ["web"]
        rows = adult_rows[COLUMNS].iloc[:5].to_numpy(dtype=float)
        failures: list[str] = []
        seen: list[str] = []
        stop = threading.Event()

        def send(client: httpx.Client) -> httpx.Response:
            return _infer(deployment.url, rows, client)

        threads = [threading.Thread(target=keep_requesting, args=(send, stop, failures, seen)) for _ in range(3)]
        for t in threads:
            t.start()
        time.sleep(0.5)
        tracker.set_alias(NAME, "champion", 2)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and (not seen or seen[-1] != "2"):
            time.sleep(0.1)
        time.sleep(0.3)
        stop.set()
        for t in threads:
            t.join()
        assert failures == []
        assert seen[0] == "1"
        assert seen[-1] == "2"
        assert service.show("web").model_version == "2"
        assert "conveyor_requests_total" in httpx.get(f"{deployment.url}/metrics").text
    finally:
        stopped = service.stop("web")
    assert stopped.status == "stopped"
    # the workers wrote what they had gathered as they stopped
    logged = pd.read_parquet(settings.home / "deployments" / "web" / "predictions")
    assert set(logged["model_version"]) == {"1", "2"}
    assert len(logged) == 5 * (len(seen) + len(failures))
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{deployment.url}/v2/health/ready", timeout=1)


def test_exports_write_manifests_the_published_crd_schemas_accept(workspace, tmp_path) -> None:
    settings, _, _ = workspace
    exports = ExportService(build_services(settings).models)
    exports.export(f"{NAME}:1", "kserve", tmp_path / "kserve", storage_uri="s3://bucket/lgbm/1")
    isvc = yaml.safe_load((tmp_path / "kserve" / "inferenceservice.yaml").read_text())
    assert _schema_errors(KSERVE_CRD, "v1beta1", isvc) == []
    assert (isvc["apiVersion"], isvc["kind"]) == ("serving.kserve.io/v1beta1", "InferenceService")
    model = isvc["spec"]["predictor"]["model"]
    assert model == {"modelFormat": {"name": "mlflow"}, "protocolVersion": "v2", "storageUri": "s3://bucket/lgbm/1"}
    exports.export(f"{NAME}:1", "seldon", tmp_path / "seldon")
    seldon = yaml.safe_load((tmp_path / "seldon" / "model.yaml").read_text())
    assert _schema_errors(SELDON_CRD, "v1alpha1", seldon) == []
    assert (seldon["apiVersion"], seldon["kind"]) == ("mlops.seldon.io/v1alpha1", "Model")
    assert seldon["spec"]["requirements"] == ["mlflow"]
    assert seldon["spec"]["storageUri"] == "s3://models/lgbm/1"  # required by Seldon's current Model schema
    dockerfile = (tmp_path / "seldon" / "Dockerfile").read_text()
    assert 'conveyor", "serve", "/model"' in dockerfile
    assert (tmp_path / "seldon" / "model" / "MLmodel").is_file()


def test_exported_manifests_are_named_as_kubernetes_requires(workspace, tmp_path) -> None:
    settings, tracker, root = workspace
    registered = "2024_Income.Model"
    tracker.register_model(registered, source=str(root / "v1"), run_id=None, tags={})  # type: ignore[arg-type]
    exports = ExportService(build_services(settings).models)
    exports.export(f"{registered}:1", "kserve", tmp_path / "kserve")
    exports.export(f"{registered}:1", "seldon", tmp_path / "seldon")
    for manifest in (tmp_path / "kserve" / "inferenceservice.yaml", tmp_path / "seldon" / "model.yaml"):
        name = yaml.safe_load(manifest.read_text())["metadata"]["name"]
        # KServe refuses InferenceService names that are not DNS-1035 labels; they suit Seldon's Model too.
        assert re.fullmatch(r"[a-z]([-a-z0-9]{0,61}[a-z0-9])?", name), name
        assert name == "model-2024-income-model"


def test_the_schema_check_catches_what_the_api_server_would_refuse_or_drop() -> None:
    good = kserve_manifest("lgbm", "s3://models/lgbm/1")
    misspelt = copy.deepcopy(good)
    misspelt["spec"]["predictor"]["model"]["storageURI"] = misspelt["spec"]["predictor"]["model"].pop("storageUri")
    nameless = copy.deepcopy(good)
    del nameless["spec"]["predictor"]["model"]["modelFormat"]["name"]
    assert _schema_errors(KSERVE_CRD, "v1beta1", good) == []
    assert any("storageURI" in e for e in _schema_errors(KSERVE_CRD, "v1beta1", misspelt))
    assert any("'name' is a required property" in e for e in _schema_errors(KSERVE_CRD, "v1beta1", nameless))
    replicas = seldon_manifest("lgbm", "s3://models/lgbm/1")
    replicas["spec"]["replicas"] = "two"
    assert any("'two' is not of type 'integer'" in e for e in _schema_errors(SELDON_CRD, "v1alpha1", replicas))


def _schema_errors(crd_file: Path, version: str, manifest: dict[str, Any]) -> list[str]:
    """What the vendored CRD's schema says against `manifest`, as "path: message" lines."""
    (crd,) = [d for d in yaml.safe_load_all(crd_file.read_text()) if d]
    (served,) = [v for v in crd["spec"]["versions"] if v["name"] == version]
    validator = jsonschema.Draft4Validator(_closed(served["schema"]["openAPIV3Schema"]))
    return [f"{'.'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(manifest)]


def _closed(schema: Any) -> Any:
    """The schema with undeclared fields refused wherever the API server would prune them.

    A structural CRD schema drops fields it does not declare, silently: a misspelt field would be lost.
    """
    if isinstance(schema, list):
        return [_closed(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    closed = {key: _closed(value) for key, value in schema.items()}
    if "properties" in schema and not schema.get("x-kubernetes-preserve-unknown-fields"):
        closed.setdefault("additionalProperties", False)
    return closed


def test_mlserver_export_is_served_by_real_mlserver(workspace, adult_rows, tmp_path) -> None:
    if not MLSERVER.exists():
        pytest.skip(f"MLServer is not installed at {MLSERVER} (bench/serving.sh sets up that venv)")
    settings, _, _ = workspace
    out = tmp_path / "mlserver"
    ExportService(build_services(settings).models).export(f"{NAME}:2", "mlserver", out)
    assert json.loads((out / "model-settings.json").read_text())["implementation"] == "mlserver_mlflow.MLflowRuntime"
    http_port, grpc_port, metrics_port = free_port(), free_port(), free_port()
    (out / "settings.json").write_text(
        json.dumps(
            {"host": "127.0.0.1", "http_port": http_port, "grpc_port": grpc_port, "metrics_port": metrics_port,
             "parallel_workers": 0}
        )
    )  # fmt: skip
    env = {**os.environ, "MLSERVER_DEBUG": "false", "MLFLOW_DISABLE_TELEMETRY": "true"}
    log_path = tmp_path / "mlserver.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [str(MLSERVER), "start", str(out)], cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    base = f"http://127.0.0.1:{http_port}"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if process.poll() is not None:
                pytest.fail(f"mlserver exited: {log_path.read_text()[-3000:]}")
            try:
                if httpx.get(f"{base}/v2/models/{NAME}/ready", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.5)
        else:
            pytest.fail("mlserver did not get ready in 120 s")
        rows = adult_rows[COLUMNS].iloc[:3]
        body = {
            "parameters": {"content_type": "pd"},
            "inputs": [
                {"name": c, "shape": [3], "datatype": "INT64", "data": rows[c].astype(int).tolist()} for c in COLUMNS
            ],
        }
        answer = httpx.post(f"{base}/v2/models/{NAME}/infer", json=body, timeout=30)
        assert answer.status_code == 200, answer.text
        import mlflow.pyfunc

        expected = mlflow.pyfunc.load_model(str(out / "model")).predict(rows.astype("int64"))
        np.testing.assert_allclose(answer.json()["outputs"][0]["data"], np.asarray(expected).ravel(), atol=1e-9)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, 15)
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, 9)
                process.wait(5)


def test_cli_deploy_list_show_logs_stop_and_export(workspace, conveyor_process, tmp_path) -> None:
    settings, _, _ = workspace
    home = settings.home
    port = free_port()
    deployed = conveyor_process("deploy", f"{NAME}:1", "--name", "cli", "--port", port, "--json", home=home)
    assert deployed.returncode == 0, deployed.stderr
    try:
        record = json.loads(deployed.stdout)
        assert (record["status"], record["model_version"], record["url"]) == (
            "running",
            "1",
            f"http://127.0.0.1:{port}",
        )
        listing = conveyor_process("deployments", "list", "--json", home=home)
        assert [d["name"] for d in json.loads(listing.stdout) if d["status"] == "running"] == ["cli"]
        again = conveyor_process("deploy", f"{NAME}:1", "--name", "cli", "--port", port, home=home)
        assert again.returncode == 1
        assert "already running" in again.stdout + again.stderr
        assert conveyor_process("deployments", "logs", "cli", home=home).returncode == 0
    finally:
        stopped = conveyor_process("deployments", "stop", "cli", home=home)
    assert stopped.returncode == 0, stopped.stderr
    assert json.loads(conveyor_process("deployments", "show", "cli", "--json", home=home).stdout)["status"] == "stopped"
    missing = conveyor_process("deployments", "show", "nope", home=home)
    assert missing.returncode == 1
    exported = conveyor_process("export", f"{NAME}@champion", "--format", "kserve", "--out", tmp_path / "k", home=home)
    assert exported.returncode == 0, exported.stderr
    assert (tmp_path / "k" / "inferenceservice.yaml").is_file()
