"""The public surface of conveyor.data is exactly what the services layer relies on."""

from __future__ import annotations

import conveyor.data


def test_exported_members_are_sorted_and_public() -> None:
    assert conveyor.data.__all__ == sorted(conveyor.data.__all__)
    assert set(conveyor.data.__all__) == {
        "FrameWriter",
        "IngestResult",
        "analyze",
        "check",
        "diff_versions",
        "export",
        "fragment",
        "ingest",
        "ingest_source",
        "is_object_url",
        "iter_frames",
        "parse_expectations",
        "profile",
        "read_frame",
        "recipe_inputs",
        "render_html",
        "run_recipe",
        "suggest",
    }
    for name in conveyor.data.__all__:
        assert getattr(conveyor.data, name).__module__.startswith("conveyor.data.")
