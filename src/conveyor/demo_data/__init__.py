"""The bundled demo dataset (UCI Adult census income, CC BY 4.0; see README.md beside it)."""

from pathlib import Path

ADULT_CENSUS_INCOME = Path(__file__).with_name("adult_census_income.csv.gz")
