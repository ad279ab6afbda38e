"""The inference server's OpenAPI 3.1 description (static, with the served model's name filled in)."""

from __future__ import annotations

import html
from typing import Any

__all__ = ["docs_html", "openapi_spec"]

_ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {"type": "string"},
        "field": {"type": ["string", "null"], "description": "The offending input: a column or JSON path."},
        "row": {"type": ["integer", "null"], "description": "The offending row, when known."},
        "hint": {"type": "string"},
        "limit": {"type": "integer", "description": "The limit exceeded (413 only)."},
    },
}
_TENSOR = {
    "type": "object",
    "required": ["name", "shape", "datatype", "data"],
    "properties": {
        "name": {"type": "string"},
        "shape": {"type": "array", "items": {"type": "integer"}},
        "datatype": {
            "enum": [
                "BOOL",
                "UINT8",
                "UINT16",
                "UINT32",
                "UINT64",
                "INT8",
                "INT16",
                "INT32",
                "INT64",
                "FP16",
                "FP32",
                "FP64",
                "BYTES",
            ]
        },
        "parameters": {"type": "object"},
        "data": {"type": "array"},
    },
}


def _errors(*codes: int) -> dict[str, Any]:
    reasons = {400: "Bad request", 404: "Unknown model or version", 413: "Over a size limit", 415: "Media type"}
    return {
        str(c): {
            "description": reasons[c],
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        }
        for c in codes
    }


def _get(summary: str) -> dict[str, Any]:
    return {"get": {"summary": summary, "responses": {"200": {"description": "OK"}}}}


def openapi_spec(model_name: str) -> dict[str, Any]:
    """The spec for a server serving `model_name`."""
    infer = {
        "post": {
            "summary": "KServe V2 inference",
            "description": "One [n, k] numeric tensor (columns by position) or one tensor per column. "
            "`parameters.explain: true` adds a `contributions` output when the model offers them. "
            "`id` (or the X-Request-Id header) is echoed.",
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/InferRequest"}}},
            },
            "responses": {
                "200": {
                    "description": "Predictions",
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/InferResponse"}}},
                },
                **_errors(400, 404, 413, 415),
            },
        }
    }
    return {
        "openapi": "3.1.0",
        "info": {"title": "Conveyor inference server", "version": "1", "description": f"Serving model `{model_name}`."},
        "paths": {
            "/v2/health/live": _get("Liveness"),
            "/v2/health/ready": _get("Readiness"),
            "/v2": _get("Server metadata"),
            "/v2/models/{name}": _get("Model metadata (inputs from the signature)"),
            "/v2/models/{name}/ready": _get("Model readiness"),
            "/v2/models/{name}/infer": infer,
            "/v2/models/{name}/versions/{version}/infer": infer,
            "/invocations": {
                "post": {
                    "summary": "MLflow scoring protocol",
                    "description": "JSON: one of dataframe_split, dataframe_records, instances, inputs; or text/csv.",
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {"schema": {"type": "object"}},
                            "text/csv": {"schema": {"type": "string"}},
                        },
                    },
                    "responses": {"200": {"description": '{"predictions": ...}'}, **_errors(400, 413, 415)},
                }
            },
            "/ping": _get("MLflow health"),
            "/version": _get("Server version"),
            "/metrics": _get("Prometheus metrics"),
        },
        "components": {
            "schemas": {
                "Error": _ERROR,
                "Tensor": _TENSOR,
                "InferRequest": {
                    "type": "object",
                    "required": ["inputs"],
                    "properties": {
                        "id": {"type": "string"},
                        "parameters": {"type": "object", "properties": {"explain": {"type": "boolean"}}},
                        "inputs": {"type": "array", "items": {"$ref": "#/components/schemas/Tensor"}},
                        "outputs": {
                            "type": "array",
                            "items": {"type": "object", "properties": {"name": {"type": "string"}}},
                        },
                    },
                },
                "InferResponse": {
                    "type": "object",
                    "properties": {
                        "model_name": {"type": "string"},
                        "model_version": {"type": "string"},
                        "id": {"type": "string"},
                        "outputs": {"type": "array", "items": {"$ref": "#/components/schemas/Tensor"}},
                    },
                },
            }
        },
    }


def docs_html(spec: dict[str, Any]) -> str:
    """A plain page listing the routes (no scripts from elsewhere: the server may be offline)."""
    rows = []
    for path, item in spec["paths"].items():
        for method, op in item.items():
            rows.append(
                f"<tr><td><code>{method.upper()}</code></td><td><code>{html.escape(path)}</code></td>"
                f"<td>{html.escape(op.get('summary', ''))}</td></tr>"
            )
    title = html.escape(spec["info"]["title"])
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{title}</title></head><body>"
        f"<h1>{title}</h1><p>{html.escape(spec['info']['description'])} "
        "Machine-readable spec: <a href='/openapi.json'>/openapi.json</a>.</p>"
        f"<table>{''.join(rows)}</table></body></html>"
    )
