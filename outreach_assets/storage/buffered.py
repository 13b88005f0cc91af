"""Parquet files written from a stream of small batches, with row groups of bounded size.

Pages from the API are a few hundred rows; written as they come they would make tiny row
groups, and kept until the end they would hold a whole partition in memory.
:class:`BufferedWriter` collects pages until ``row_group_rows`` rows or
:data:`ROW_GROUP_BYTES`, whichever comes first. :func:`write_file` writes one whole file
with it, atomically.
"""

import contextlib
import os
from typing import Final

import pyarrow as pa
import pyarrow.parquet as pq

from outreach_assets.storage.atomic import AtomicFiles, remove_quietly

COMPRESSION: Final = "zstd"
# Per-partition buffer: a row group is written at ``row_group_rows`` or at this many bytes,
# whichever comes first (mailings pages with HTML bodies are large).
ROW_GROUP_BYTES: Final = 64 * 2**20
DEFAULT_ROW_GROUP_ROWS: Final = 50_000


def write_file(files: AtomicFiles, target: str, reader: pa.RecordBatchReader) -> int:
    """Write the filesystem path ``target`` atomically from a stream of batches; its size."""
    files.remove_stale(target)
    tmp = files.new_temp(target)
    writer: BufferedWriter | None = None
    try:
        writer = BufferedWriter(tmp, reader.schema, DEFAULT_ROW_GROUP_ROWS)
        for batch in reader:
            writer.write(batch)
        writer.close()
        writer = None
        size = os.path.getsize(tmp)
        files.commit(tmp, target)
        return size
    finally:
        if writer is not None:
            writer.abort()
        remove_quietly(tmp)


class BufferedWriter:
    """A zstd ParquetWriter that turns small page batches into row groups of bounded size."""

    def __init__(self, path: str, schema: pa.Schema, row_group_rows: int) -> None:
        self.path = path
        self._schema = schema
        self._row_group_rows = row_group_rows
        self._writer = pq.ParquetWriter(path, schema, compression=COMPRESSION)
        self._buffer: list[pa.RecordBatch] = []
        self._rows = 0
        self.buffered_bytes = 0

    def write(self, batch: pa.RecordBatch) -> None:
        self._buffer.append(batch)
        self._rows += batch.num_rows
        self.buffered_bytes += batch.nbytes
        if self._rows >= self._row_group_rows or self.buffered_bytes >= ROW_GROUP_BYTES:
            self.flush()

    def flush(self) -> None:
        if self._buffer:
            table = pa.Table.from_batches(self._buffer, schema=self._schema)
            self._writer.write_table(table, row_group_size=self._row_group_rows)
        self._buffer, self._rows, self.buffered_bytes = [], 0, 0

    def close(self) -> None:
        self.flush()
        self._writer.close()

    def abort(self) -> None:
        """Drop the buffer and release the file; the caller removes the half-written file."""
        self._buffer = []
        with contextlib.suppress(Exception):
            self._writer.close()
