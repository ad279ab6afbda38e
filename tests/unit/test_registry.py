"""Registries: built-in entries resolve without scanning installed packages; plugins and unknown names need it."""

from __future__ import annotations

from importlib.metadata import EntryPoint

import pytest

from conveyor import registry
from conveyor.errors import NotFound
from conveyor.registry import Registry


@pytest.fixture
def scans(monkeypatch):
    """The entry-point groups read, with one installed plugin `conveyor.thing: extra = json:dumps`."""
    read: list[str] = []

    def entry_points(*, group: str) -> list[EntryPoint]:
        read.append(group)
        return [EntryPoint(name="extra", value="json:dumps", group=group)]

    monkeypatch.setattr(registry, "entry_points", entry_points)
    return read


def test_a_built_in_entry_resolves_without_reading_entry_points(scans):
    things = Registry("thing", {"path": "pathlib:Path"})
    assert things["path"].__name__ == "Path"
    assert scans == []


def test_a_plugin_resolves_after_one_scan_and_is_listed(scans):
    things = Registry("thing", {"path": "pathlib:Path"})
    assert things["extra"].__name__ == "dumps"
    assert things.names() == ["extra", "path"]
    assert scans == ["conveyor.thing"]


def test_an_unknown_name_lists_every_choice(scans):
    with pytest.raises(NotFound, match="Unknown thing 'nope'") as unknown:
        Registry("thing", {"path": "pathlib:Path"})["nope"]
    assert unknown.value.hint == "Choose one of: extra, path."
