"""Temporary files: whole files or none, and a killed process's leftovers removed."""

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pytest

from outreach_assets.storage import ParquetStore
from outreach_assets_tests.support.files import (
    SCHEMA,
    all_files,
    at,
    pbatch,
    purpose,
    window,
    write_purposes,
)


def test_write_table_is_atomic(tmp_path: Path) -> None:
    store = ParquetStore(str(tmp_path))
    path = store.table_path("call_purposes_current")
    size = store.write_table(path, pa.Table.from_batches([pbatch(purpose(1, at(1)))]).to_reader())
    assert size == os.path.getsize(path)
    before = Path(path).read_bytes()

    def broken() -> Iterator[pa.RecordBatch]:
        yield pbatch(purpose(2, at(1)))
        raise RuntimeError("upstream failed")

    with pytest.raises(RuntimeError):
        store.write_table(path, pa.RecordBatchReader.from_batches(SCHEMA, broken()))
    assert Path(path).read_bytes() == before
    assert all_files(tmp_path) == ["call_purposes_current.parquet"]


def test_stale_inprogress_files_of_written_keys_are_removed(store: ParquetStore) -> None:
    folder = Path(store.stream_path("call_purposes"))
    folder.mkdir(parents=True)
    stale = folder / ".2024-03-01.parquet.dead.inprogress"
    fresh = folder / ".2024-03-01.parquet.live.inprogress"
    other = folder / ".2024-03-09.parquet.dead.inprogress"
    for path in (stale, fresh, other):
        path.write_bytes(b"x")
    two_hours_ago = time.time() - 7200
    for path in (stale, other):
        os.utime(path, (two_hours_ago, two_hours_ago))

    write_purposes(store, [window(1)], [])

    assert not stale.exists()
    assert fresh.exists() and other.exists()
