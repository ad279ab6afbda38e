"""The serving engine's public surface is exactly what `__all__` says."""

from __future__ import annotations

import conveyor.serving


def test_public_surface() -> None:
    assert conveyor.serving.__all__ == ["Limits", "ModelRuntime", "RequestTooLarge", "Scored"]
    public = {name for name in vars(conveyor.serving) if not name.startswith("_")}
    submodules = {"batching", "columns", "fastpath", "metrics", "outputs", "predlog", "routing", "runtime"}
    submodules |= {"scoring", "signature", "v2"}
    assert public - submodules == set(conveyor.serving.__all__)
