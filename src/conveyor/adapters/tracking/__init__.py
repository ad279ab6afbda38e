"""Experiment tracking and the model registry, through an explicit MlflowClient."""

from conveyor.adapters.tracking.mlflow_tracker import MlflowTracker

__all__ = ["MlflowTracker"]
