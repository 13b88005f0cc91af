"""The current state of a stream: one row per id, the newest version across files.

Only the ids and cursors of every file are held at once (see
:mod:`outreach_assets.storage.versions`); the winning rows stream out file by file, each
batch conformed to the stream's schema, so partitions written under an older schema
version read as the current one. Ids with a tombstone (``storage.tombstones``) are left
out, unless a version newer than the tombstone's cursor exists.
"""

from collections.abc import Iterator, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from outreach_assets.storage.schemas import conform
from outreach_assets.storage.tombstones import Tombstones
from outreach_assets.storage.versions import iter_masked, keep_mask, read_ids_and_cursors


def current_rows(
    paths: Sequence[str],
    schema: pa.Schema,
    cursor: str | None,
    filesystem: pafs.FileSystem,
    deleted: Tombstones | None = None,
) -> pa.RecordBatchReader:
    """One row per id over a stream's files, given in order (a previous current state
    first, then the partitions by key).

    Ties go to the later file. Full-snapshot streams (``cursor`` None): the last file,
    since each partition is a whole snapshot.
    """
    if not paths:
        return pa.RecordBatchReader.from_batches(schema, iter(()))
    if cursor is None:
        last = paths[-1]
        ids, _ = read_ids_and_cursors([last], None, filesystem)
        alive = (deleted or Tombstones.empty()).alive(ids, None)
        return pa.RecordBatchReader.from_batches(
            schema, _stream_rows(last, None if alive.all() else alive, schema, filesystem)
        )
    return newest_rows(paths, schema, cursor, filesystem, deleted)


def newest_rows(
    paths: Sequence[str],
    schema: pa.Schema,
    cursor: str,
    filesystem: pafs.FileSystem,
    deleted: Tombstones | None = None,
) -> pa.RecordBatchReader:
    """One row per id over ``paths``: newest cursor, ties to the later path; tombstoned
    ids left out.

    Ids and cursors are read now, so a missing file fails here rather than mid-stream.
    """
    sizes = [pq.read_metadata(p, filesystem=filesystem).num_rows for p in paths]
    ids, cursors = read_ids_and_cursors(paths, cursor, filesystem)
    keep = keep_mask(ids, cursors)
    if deleted is not None and len(deleted):
        keep &= deleted.alive(ids, cursors)
    masks = np.split(keep, np.cumsum(sizes)[:-1])
    return pa.RecordBatchReader.from_batches(
        schema, _stream_winners(list(zip(paths, masks, strict=True)), schema, filesystem)
    )


def _stream_winners(
    files: list[tuple[str, np.ndarray]], schema: pa.Schema, filesystem: pafs.FileSystem
) -> Iterator[pa.RecordBatch]:
    for path, mask in files:
        if mask.any():
            yield from _stream_rows(path, mask, schema, filesystem)


def _stream_rows(
    path: str, mask: np.ndarray | None, schema: pa.Schema, filesystem: pafs.FileSystem
) -> Iterator[pa.RecordBatch]:
    """The rows of one file where ``mask`` is true (all when None), batch by batch."""
    with filesystem.open_input_file(path) as source:
        for batch in iter_masked(pq.ParquetFile(source), mask):
            yield conform(batch, schema)
