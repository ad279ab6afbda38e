"""The data engine: ingest, profile and read tables with DuckDB; no metadata DB, no MLflow, no web."""

from conveyor.data.frames import FrameWriter, iter_frames, read_frame
from conveyor.data.ingestion import IngestResult, ingest
from conveyor.data.profiling import profile

__all__ = ["FrameWriter", "IngestResult", "ingest", "iter_frames", "profile", "read_frame"]
