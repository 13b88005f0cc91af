"""Which version of a record wins, decided on ids and cursors alone.

Deduplicating a partition and building the current state both read only the ``id`` and
cursor columns of every file involved, as numpy arrays (8 bytes per row and column), pick
the winning rows with :func:`keep_mask`, then move full rows one batch at a time with
:func:`iter_masked`; memory stays bounded whatever the width of the rows.
"""

from collections.abc import Iterator, Sequence
from typing import Final

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from outreach_assets.convert.layout import ID_COLUMN

READ_BATCH_ROWS: Final = 16_384  # rows moved at a time when filtering a file
NULL_CURSOR: Final = np.iinfo(np.int64).min  # a version without a cursor loses to any other
_UTC_US: Final = pa.timestamp("us", tz="UTC")


def keep_mask(ids: np.ndarray, cursors: np.ndarray | None) -> np.ndarray:
    """Which rows to keep so that each id keeps one: newest cursor, then last position.

    One stable lexicographic sort by (id, cursor, position); the last row of each id run
    wins. ``cursors`` None (full snapshots) means the last occurrence wins.
    """
    positions = np.arange(len(ids))
    sort_keys = (positions, ids) if cursors is None else (positions, cursors, ids)
    order = np.lexsort(sort_keys)
    sorted_ids = ids[order]
    last_of_run = np.ones(len(ids), dtype=bool)
    last_of_run[:-1] = sorted_ids[1:] != sorted_ids[:-1]
    keep = np.zeros(len(ids), dtype=bool)
    keep[order[last_of_run]] = True
    return keep


def iter_masked(source: pq.ParquetFile, mask: np.ndarray | None) -> Iterator[pa.RecordBatch]:
    """A file's batches, keeping rows where ``mask`` (aligned with the file's rows) is true."""
    offset = 0
    for batch in source.iter_batches(batch_size=READ_BATCH_ROWS):
        rows = batch.num_rows
        if mask is None:
            yield batch
            continue
        part = mask[offset : offset + rows]
        offset += rows
        if part.all():
            yield batch
        elif part.any():
            yield batch.filter(pa.array(part))


def read_ids_and_cursors(
    paths: Sequence[str], cursor: str | None, filesystem: pafs.FileSystem | None = None
) -> tuple[np.ndarray, np.ndarray | None]:
    """The ids (and cursors as int64 microseconds, or None) of files, in order.

    Held as numpy arrays, 8 bytes per row and column; each file's Arrow columns are
    released as soon as they are converted.
    """
    ids: list[np.ndarray] = []
    micros: list[np.ndarray] = []
    for path in paths:
        table = pq.read_table(path, columns=version_columns(cursor), filesystem=filesystem)
        file_ids, file_micros = ids_and_cursors(table, cursor)
        ids.append(file_ids)
        if file_micros is not None:
            micros.append(file_micros)
        del table
    return np.concatenate(ids), np.concatenate(micros) if cursor is not None else None


def version_columns(cursor: str | None) -> list[str]:
    """The columns that tell versions apart: the id, and the cursor if the stream has one."""
    return [ID_COLUMN] if cursor is None else [ID_COLUMN, cursor]


def ids_and_cursors(table: pa.Table, cursor: str | None) -> tuple[np.ndarray, np.ndarray | None]:
    """A table's ids, and its cursors as int64 microseconds (None without a cursor)."""
    ids = np.asarray(table[ID_COLUMN].to_numpy(), dtype=np.int64)
    return ids, None if cursor is None else _cursor_micros(table[cursor])


def has_duplicates(ids: np.ndarray) -> bool:
    ordered = np.sort(ids)
    return bool((ordered[1:] == ordered[:-1]).any())


def _cursor_micros(column: pa.ChunkedArray) -> np.ndarray:
    """A timestamp column as int64 microseconds since the epoch; nulls sort first."""
    micros = pc.cast(pc.cast(column, _UTC_US), pa.int64())
    return np.asarray(pc.fill_null(micros, NULL_CURSOR).to_numpy(), dtype=np.int64)
