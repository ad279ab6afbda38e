"""The data engine: ingest, profile, validate, transform and read tables with DuckDB; no metadata DB, no web."""

from conveyor.data.diff import diff_versions
from conveyor.data.export import export
from conveyor.data.frames import FrameWriter, iter_frames, read_frame
from conveyor.data.ingestion import IngestResult, ingest, ingest_source
from conveyor.data.insights import analyze
from conveyor.data.profiling import profile
from conveyor.data.recipes import recipe_inputs, run_recipe
from conveyor.data.report_html import fragment, render_html
from conveyor.data.validation import check, parse_expectations, suggest

__all__ = [
    "FrameWriter",
    "IngestResult",
    "analyze",
    "check",
    "diff_versions",
    "export",
    "fragment",
    "ingest",
    "ingest_source",
    "iter_frames",
    "parse_expectations",
    "profile",
    "read_frame",
    "recipe_inputs",
    "render_html",
    "run_recipe",
    "suggest",
]
