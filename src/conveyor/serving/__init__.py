"""The serving engine: validate requests against a model's signature, predict, encode (V2 and MLflow scoring)."""

from conveyor.serving.runtime import Limits, ModelRuntime, RequestTooLarge, Scored

__all__ = ["Limits", "ModelRuntime", "RequestTooLarge", "Scored"]
