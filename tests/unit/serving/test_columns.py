"""Column converters: what each MLflow type accepts, what it refuses, and which row is named."""

from __future__ import annotations

import numpy as np
import pytest

from conveyor.serving.columns import BadValue, column_for


def convert(mlflow_type: str, values: object) -> np.ndarray:
    return column_for("c", mlflow_type).convert(values)


def bad_row(mlflow_type: str, values: object) -> int | None:
    with pytest.raises(BadValue) as info:
        convert(mlflow_type, values)
    return info.value.row


def test_doubles_take_numbers_and_null() -> None:
    out = convert("double", [1, 2.5, None])
    assert out.dtype == np.float64
    assert out[:2].tolist() == [1.0, 2.5]
    assert np.isnan(out[2])
    assert convert("float", [1, 2]).dtype == np.float32


@pytest.mark.parametrize(("values", "row"), [([1.0, "2"], 1), (["x"], 0), ([1.0, None, "a"], 2), ([True], 0)])
def test_doubles_refuse_strings_and_booleans(values: list, row: int) -> None:
    assert bad_row("double", values) == row


def test_longs_take_integral_numbers_in_any_json_form() -> None:
    out = convert("long", [1, 2.0, -3])
    assert out.dtype == np.int64
    assert out.tolist() == [1, 2, -3]
    assert convert("long", np.array([[4.0, 5.0]]).ravel()).tolist() == [4, 5]


@pytest.mark.parametrize(
    ("values", "row"),
    [([1, 2.5], 1), ([1, None], 1), ([1, "3"], 1), ([2.0**70], 0), ([0, 2**70], 1), ([float("inf")], 0)],
)
def test_longs_refuse_fractions_null_text_and_overflow(values: list, row: int) -> None:
    assert bad_row("long", values) == row


def test_integers_are_checked_against_int32() -> None:
    assert convert("integer", [2**31 - 1]).dtype == np.int32
    assert bad_row("integer", [0, 2**31]) == 1


def test_strings_keep_null_and_refuse_numbers() -> None:
    assert convert("string", ["a", None]).tolist() == ["a", None]
    assert bad_row("string", ["a", 1]) == 1
    assert bad_row("string", np.array([1.0, 2.0])) == 0


def test_booleans_datetimes_and_binaries() -> None:
    assert convert("boolean", [True, False]).tolist() == [True, False]
    assert bad_row("boolean", [True, 1]) == 1
    assert convert("datetime", ["2026-01-02T03:04:05", None]).dtype == np.dtype("datetime64[ns]")
    assert bad_row("datetime", ["2026-01-02", "yesterday"]) == 1
    assert convert("binary", ["aGk="]).tolist() == [b"hi"]
    assert bad_row("binary", ["aGk=", "%%"]) == 1


def test_nested_values_are_refused() -> None:
    assert bad_row("double", [1.0, [2.0]]) == 1


def test_enum_spelling_and_unknown_types() -> None:
    assert column_for("c", "DataType.long").type == "long"
    assert column_for("c", "Array(string)").dtype == np.dtype(object)


def test_integral_floats_at_the_int64_edges() -> None:
    assert convert("long", [-(2.0**63), 2.0**62]).tolist() == [-(2**63), 2**62]
    assert bad_row("long", [1.0, 2.0**63]) == 1
    assert bad_row("long", [1.0, float("nan")]) == 1
