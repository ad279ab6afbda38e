"""Small real data sets for the AutoML engine tests."""

from __future__ import annotations

import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer, load_diabetes, load_wine

from tests_support import DEMO_CSV, SHARED


@pytest.fixture(scope="session")
def breast_cancer() -> pd.DataFrame:
    return load_breast_cancer(as_frame=True).frame


@pytest.fixture(scope="session")
def wine() -> pd.DataFrame:
    return load_wine(as_frame=True).frame


@pytest.fixture(scope="session")
def diabetes() -> pd.DataFrame:
    return load_diabetes(as_frame=True).frame


@pytest.fixture(scope="session")
def adult() -> pd.DataFrame:
    """The first 3,000 rows of the adult census income demo data (target 'income', strings and numbers)."""
    path = DEMO_CSV
    if not path.exists():
        pytest.skip(f"{path} is not available")
    return pd.read_csv(path, nrows=3000)


def bench_frame(name: str, nrows: int) -> pd.DataFrame:
    path = SHARED / "bench" / name
    if not path.exists():
        pytest.skip(f"{path} is not available")
    return pd.read_csv(path, nrows=nrows)
