"""Temporary files: whole files or none, and a killed process's leftovers removed."""

import os
import socket
import subprocess
import sys
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


def _dead_pid() -> int:
    """The pid of a process that has exited (and been reaped)."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_the_first_write_of_a_stream_removes_its_dead_writers_leftovers(
    store: ParquetStore,
) -> None:
    """Any partition's: a file of a gone process on this host at once, any other after
    STALE_AFTER; a file of a live process (this one) or of another host stays."""
    folder = Path(store.stream_path("call_purposes"))
    folder.mkdir(parents=True)
    host = socket.gethostname()
    dead = folder / f".2024-03-09.parquet.{host}-{_dead_pid()}.a1b2c3d4.inprogress"
    alive = folder / f".2024-03-08.parquet.{host}-{os.getpid()}.a1b2c3d4.inprogress"
    elsewhere = folder / ".2024-03-07.parquet.otherhost-1.a1b2c3d4.inprogress"
    old = folder / ".2024-03-06.parquet.otherhost-1.e5f6a7b8.inprogress"
    unnamed = folder / ".2024-03-05.parquet.dead.inprogress"  # a name without its writer
    for path in (dead, alive, elsewhere, old, unnamed):
        path.write_bytes(b"x")
    two_hours_ago = time.time() - 7200
    for path in (old, unnamed):
        os.utime(path, (two_hours_ago, two_hours_ago))

    write_purposes(store, [window(1)], [])  # another partition than any of theirs

    assert not dead.exists() and not old.exists() and not unnamed.exists()
    assert alive.exists() and elsewhere.exists()
