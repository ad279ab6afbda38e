"""Frames in and out: training reads, chunked scoring reads, atomic chunked writes."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from conveyor.data import FrameWriter, ingest, iter_frames, read_frame
from conveyor.errors import InvalidInput, UnreadableData


def _csv(path: Path, rows: int) -> Path:
    path.write_text("n;label;amount\n" + "".join(f"{i};{'ab'[i % 2]};{i},5\n" for i in range(rows)))
    return path


def test_iter_frames_chunks_with_the_ingest_dialect(tmp_path: Path) -> None:
    chunks = list(iter_frames(_csv(tmp_path / "t.csv", 2_500), batch_rows=1_000))
    assert [len(c) for c in chunks] == [1_000, 1_000, 500]
    whole = pd.concat(chunks, ignore_index=True)
    assert whole["n"].tolist() == list(range(2_500))
    assert whole["amount"].iloc[3] == 3.5


def test_iter_frames_reads_parquet(tmp_path: Path) -> None:
    dest = tmp_path / "t.parquet"
    ingest(_csv(tmp_path / "t.csv", 10), dest)
    assert sum(len(c) for c in iter_frames(dest, batch_rows=4)) == 10


def test_iter_frames_refuses_bad_input(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n3\n")
    with pytest.raises(UnreadableData, match="Line 3"):
        list(iter_frames(bad))


def test_read_frame_all_or_some_columns(tmp_path: Path) -> None:
    dest = tmp_path / "t.parquet"
    ingest(_csv(tmp_path / "t.csv", 10), dest)
    assert list(read_frame(dest).columns) == ["n", "label", "amount"]
    assert list(read_frame(dest, ["amount", "n"]).columns) == ["amount", "n"]
    with pytest.raises(InvalidInput, match="Unknown columns"):
        read_frame(dest, ["nope"])


@pytest.mark.parametrize("name", ["out.csv", "out.parquet", "out.pq"])
def test_frame_writer_appends_chunks(tmp_path: Path, name: str) -> None:
    path = tmp_path / "deep" / name
    with FrameWriter(path) as writer:
        writer.write(pd.DataFrame({"x": [1, 2], "y": ["a", "b"]}))
        writer.write(pd.DataFrame({"x": [3], "y": ["c"]}))
    back = pd.read_csv(path) if name.endswith(".csv") else pq.read_table(path).to_pandas()
    assert back["x"].tolist() == [1, 2, 3]
    assert back["y"].tolist() == ["a", "b", "c"]
    assert [p.name for p in path.parent.iterdir()] == [name]


@pytest.mark.parametrize("name", ["out.csv", "out.parquet"])
def test_frame_writer_leaves_nothing_on_error(tmp_path: Path, name: str) -> None:
    path = tmp_path / name

    def fail_midway() -> None:
        with FrameWriter(path) as writer:
            writer.write(pd.DataFrame({"x": [1]}))
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        fail_midway()
    assert list(tmp_path.iterdir()) == []


def test_frame_writer_rejects_unknown_extensions(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="unknown file type"):
        FrameWriter(tmp_path / "out.xlsx")


def test_large_files_keep_their_row_order_through_ingest_and_chunked_reads(tmp_path: Path) -> None:
    # Big enough for DuckDB to scan in parallel; text columns get the missing-value markers' projection,
    # which DuckDB once planned as a join that returned rows out of file order.
    rows = 200_000
    source = tmp_path / "ordered.csv"
    labels = ("normal", "smurf", "neptune", "back")
    padding = ",".join(f"{k / 7:.6f}" for k in range(20))
    source.write_text(
        "n,label,kind,"
        + ",".join(f"x{k}" for k in range(20))
        + "\n"
        + "".join(f"{i},{labels[i * 7 % 4]},{'xyz'[i % 3]},{padding}\n" for i in range(rows))
    )
    streamed = pd.concat(iter_frames(source, batch_rows=50_000), ignore_index=True)
    assert streamed["n"].tolist() == list(range(rows))
    stored = tmp_path / "ordered.parquet"
    ingest(source, stored)
    assert read_frame(stored)["n"].tolist() == list(range(rows))
