"""Small registries that map names to lazily imported objects ("module:attr").

Importing a registry imports none of its entries, so the core never pulls in a backend
library (LightGBM, s3fs, Dask) until that backend is asked for by name.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping
from importlib.metadata import entry_points
from typing import Any

from conveyor.errors import NotFound


class Registry(Mapping[str, Any]):
    """A named table of extension points, resolved on first use.

    Built-in entries are given as dotted paths; third-party packages add more through the
    entry-point group `conveyor.<kind>`.
    """

    def __init__(self, kind: str, entries: Mapping[str, str]) -> None:
        self.kind = kind
        self._paths = dict(entries)
        self._loaded: dict[str, Any] = {}
        self._plugins_read = False

    def _read_plugins(self) -> None:
        if self._plugins_read:
            return
        self._plugins_read = True
        for ep in entry_points(group=f"conveyor.{self.kind}"):
            self._paths.setdefault(ep.name, ep.value)

    def names(self) -> list[str]:
        """The registered names, sorted."""
        self._read_plugins()
        return sorted(self._paths)

    def __getitem__(self, name: str) -> Any:
        if name in self._loaded:
            return self._loaded[name]
        # A plugin never replaces a built-in entry, so only an unknown name is worth the scan of every installed
        # distribution's entry points (about 0.02 s).
        if name not in self._paths:
            self._read_plugins()
        try:
            path = self._paths[name]
        except KeyError:
            raise NotFound(
                f"Unknown {self.kind} {name!r}.", hint=f"Choose one of: {', '.join(self.names())}."
            ) from None
        module_name, _, attr = path.partition(":")
        obj = getattr(importlib.import_module(module_name), attr) if attr else importlib.import_module(module_name)
        self._loaded[name] = obj
        return obj

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self.names())
