"""Real MLflow models for the serving tests: an sklearn pipeline with string categoricals, a LightGBM booster."""

from __future__ import annotations

import os

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")  # before mlflow is imported anywhere

import warnings
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from conveyor.domain.models import InputColumn, LoadedModel
from conveyor.serving import ModelRuntime
from tests_support import DEMO_CSV

with warnings.catch_warnings():
    # mlflow 3.17.2 warns while importing its own chat-agent types (mlflow/types/responses.py); nothing of ours.
    warnings.filterwarnings("ignore", message=".*Any type hint is inferred as AnyType", category=UserWarning)
    import mlflow.pyfunc

ADULT = DEMO_CSV
LONGS = ["age", "education_num", "hours_per_week"]
DOUBLES = ["capital_gain"]
STRINGS = ["workclass", "sex"]
FEATURES = LONGS + DOUBLES + STRINGS


@pytest.fixture(scope="session")
def adult() -> pd.DataFrame:
    """2,000 rows of the Adult census table, with a double and two string columns."""
    frame = pd.read_csv(ADULT, nrows=2000)
    frame["capital_gain"] = frame["capital_gain"].astype("float64")
    return frame


def _load(path: Path, name: str) -> tuple[Any, LoadedModel]:
    pyfunc_model = mlflow.pyfunc.load_model(str(path))
    schema = pyfunc_model.metadata.get_input_schema()
    inputs = [InputColumn(name=c.name, type=c.type.name, required=c.required) for c in schema.inputs]
    loaded = LoadedModel(name=name, version="1", path=path, predictor=pyfunc_model, inputs=inputs, metadata={})
    return pyfunc_model, loaded


@pytest.fixture(scope="session")
def sklearn_model(adult: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, LoadedModel]:
    """A one-hot + random forest pipeline saved as an MLflow sklearn model answering probabilities."""
    import mlflow.sklearn
    from mlflow.models import ModelSignature
    from mlflow.types import ColSpec, Schema
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder

    pipeline = make_pipeline(
        ColumnTransformer(
            [("cats", OneHotEncoder(handle_unknown="error", sparse_output=False), STRINGS)], remainder="passthrough"
        ),
        RandomForestClassifier(n_estimators=10, max_depth=6, n_jobs=1, random_state=0),
    )
    pipeline.fit(adult[FEATURES], adult["income"])
    schema = Schema(
        [ColSpec("long", c) for c in LONGS]
        + [ColSpec("double", c) for c in DOUBLES]
        + [ColSpec("string", c) for c in STRINGS]
    )
    path = tmp_path_factory.mktemp("models") / "adult-sklearn"
    mlflow.sklearn.save_model(
        pipeline,
        str(path),
        signature=ModelSignature(inputs=schema),
        pip_requirements=["scikit-learn", "pandas"],
        pyfunc_predict_fn="predict_proba",
        serialization_format="cloudpickle",
    )
    return _load(path, "adult")


@pytest.fixture(scope="session")
def lgbm_model(adult: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, LoadedModel]:
    """A LightGBM booster on integer-coded columns, as the serving benchmark builds it (all `long`)."""
    import lightgbm as lgb
    import mlflow.lightgbm
    from mlflow.models import ModelSignature
    from mlflow.types import ColSpec, Schema

    features = adult[LONGS + STRINGS].copy()
    for c in STRINGS:
        features[c] = features[c].astype("category").cat.codes.astype("int64")
    target = (adult["income"] == ">50K").astype("int64")
    params = {"objective": "binary", "num_leaves": 7, "verbose": -1, "num_threads": 1, "seed": 0}
    booster = lgb.train(params, lgb.Dataset(features, target, categorical_feature=STRINGS), num_boost_round=10)
    path = tmp_path_factory.mktemp("models") / "adult-lgbm"
    schema = Schema([ColSpec("long", c) for c in features.columns])
    mlflow.lightgbm.save_model(
        booster, str(path), signature=ModelSignature(inputs=schema), pip_requirements=["lightgbm"]
    )
    return _load(path, "adult-lgbm")


@pytest.fixture(scope="session")
def runtime(sklearn_model: tuple[Any, LoadedModel]) -> ModelRuntime:
    return ModelRuntime(sklearn_model[1])


@pytest.fixture(scope="session")
def lgbm_runtime(lgbm_model: tuple[Any, LoadedModel]) -> ModelRuntime:
    return ModelRuntime(lgbm_model[1])


@pytest.fixture
def rows(adult: pd.DataFrame) -> pd.DataFrame:
    """Three rows of the model's features, as a client would send them."""
    return adult[FEATURES].iloc[:3].reset_index(drop=True)


@pytest.fixture(scope="session")
def lgbm_fast_model(lgbm_model: tuple[Any, LoadedModel]) -> LoadedModel:
    """The LightGBM model as the tracker loads it: with its flavour and native booster (the fast path)."""
    import mlflow.lightgbm

    loaded = lgbm_model[1]
    return loaded.model_copy(update={"flavor": "lightgbm", "native": mlflow.lightgbm.load_model(str(loaded.path))})
