"""The data engine: ingest, profile, validate, transform and read tables with DuckDB; no metadata DB, no web.

Members load on first use (PEP 562), so ingesting a file never imports pandas, which only reading frames needs.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from conveyor.data.diff import diff_versions  # noqa: F401
    from conveyor.data.export import export  # noqa: F401
    from conveyor.data.frames import FrameWriter, iter_frames, read_frame  # noqa: F401
    from conveyor.data.ingestion import IngestResult, ingest, ingest_source  # noqa: F401
    from conveyor.data.insights import analyze  # noqa: F401
    from conveyor.data.profiling import profile  # noqa: F401
    from conveyor.data.recipes import recipe_inputs, run_recipe  # noqa: F401
    from conveyor.data.remote import is_object_url  # noqa: F401
    from conveyor.data.report_html import fragment, render_html  # noqa: F401
    from conveyor.data.validation import check, parse_expectations, suggest  # noqa: F401

_MEMBERS = {
    "FrameWriter": "frames",
    "IngestResult": "ingestion",
    "analyze": "insights",
    "check": "validation",
    "diff_versions": "diff",
    "export": "export",
    "fragment": "report_html",
    "ingest": "ingestion",
    "ingest_source": "ingestion",
    "is_object_url": "remote",
    "iter_frames": "frames",
    "parse_expectations": "validation",
    "profile": "profiling",
    "read_frame": "frames",
    "recipe_inputs": "recipes",
    "render_html": "report_html",
    "run_recipe": "recipes",
    "suggest": "validation",
}

__all__ = sorted(_MEMBERS)


def __getattr__(name: str) -> Any:
    module = _MEMBERS.get(name)
    if module is None:
        raise AttributeError(f"module 'conveyor.data' has no attribute {name!r}")
    value = getattr(import_module(f"conveyor.data.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
