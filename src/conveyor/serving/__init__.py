"""The serving engine: validate requests against a model's signature, predict, encode (V2 and MLflow scoring)."""

from conveyor.serving.runtime import ModelRuntime

__all__ = ["ModelRuntime"]
