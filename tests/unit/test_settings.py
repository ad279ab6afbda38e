"""Settings: constructor values over `CONVEYOR_*` variables over `conveyor.toml`, and bad values refused by field."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from conveyor.errors import InvalidInput
from conveyor.settings import Settings


def test_locations_default_under_home(home):
    settings = Settings()
    assert settings.home == home.resolve()
    assert settings.database_url == f"sqlite:///{home.resolve() / 'conveyor.db'}"
    assert settings.artifact_root == str(home.resolve() / "artifacts")
    assert settings.mlflow_artifact_root == (home.resolve() / "mlartifacts").as_uri()
    assert (settings.server_host, settings.server_port, settings.dask_scheduler) == ("127.0.0.1", 8000, None)


def test_constructor_over_environment_over_toml_file(home, monkeypatch):
    (home.parent / "conveyor.toml").write_text(
        'server_host = "0.0.0.0"\nserver_port = 9000\ndask_scheduler = "tcp://file:8786"\nunknown = 1\n'
    )
    monkeypatch.setenv("CONVEYOR_SERVER_PORT", "9100")
    monkeypatch.setenv("conveyor_dask_scheduler", "tcp://env:8786")
    monkeypatch.setenv("CONVEYOR_NOT_A_SETTING", "ignored")
    settings = Settings(server_host="10.0.0.1")
    assert settings.server_host == "10.0.0.1"
    assert settings.server_port == 9100
    assert settings.dask_scheduler == "tcp://env:8786"
    assert Settings().server_host == "0.0.0.0"


def test_for_home_ignores_the_locations_the_environment_names(home, tmp_path, monkeypatch):
    monkeypatch.setenv("CONVEYOR_DATABASE_URL", "postgresql+psycopg://elsewhere/db")
    monkeypatch.setenv("CONVEYOR_DATA_MEMORY_LIMIT", "512MB")
    settings = Settings.for_home(tmp_path / "other")
    assert settings.database_url == f"sqlite:///{(tmp_path / 'other').resolve() / 'conveyor.db'}"
    assert settings.data_memory_limit == "512MB"


@pytest.mark.parametrize(
    ("where", "place"),
    [("environment", "CONVEYOR_SERVER_PORT"), ("file", "server_port in conveyor.toml"), ("argument", "the argument")],
)
def test_a_bad_value_is_refused_naming_the_field_and_where_it_was_set(home, monkeypatch, where, place):
    given = {}
    if where == "environment":
        monkeypatch.setenv("CONVEYOR_SERVER_PORT", "eighty")
    elif where == "file":
        (home.parent / "conveyor.toml").write_text('server_port = "eighty"\n')
    else:
        given = {"server_port": "eighty"}
    with pytest.raises(InvalidInput, match="server_port = 'eighty'") as refused:
        Settings(**given)
    assert place in refused.value.message
    assert refused.value.hint == f"Fix or remove {place}{' server_port' if where == 'argument' else ''}."


def test_settings_are_frozen(home):
    with pytest.raises(ValidationError, match="frozen"):
        Settings().server_port = 1  # type: ignore[misc]
