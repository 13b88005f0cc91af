"""Checked facts about a partition file, read back from the file about to be committed.

Row count, id uniqueness, cursor range and schema come from the finished temporary file,
not from what the writer believes it wrote, so that asset checks test the bytes that will
be published.
"""

import os
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from outreach_assets.storage.partitions import PartitionResult, PartitionWindow
from outreach_assets.storage.schemas import schemas_match
from outreach_assets.storage.versions import (
    NULL_CURSOR,
    has_duplicates,
    ids_and_cursors,
    version_columns,
)
from outreach_assets.timestamps import from_micros, to_micros


def read_facts(
    path: str,
    *,
    key: str,
    public_path: str,
    schema: pa.Schema,
    cursor: str | None,
    window: PartitionWindow,
    duplicates_removed: int,
) -> PartitionResult:
    """What the checks need about the local file ``path``, published as ``public_path``.

    One open for the footer and the id and cursor columns: the footer of a 200-column file
    is a good part of the cost.
    """
    with pq.ParquetFile(path) as source:
        table, actual = source.read(columns=version_columns(cursor)), source.schema_arrow
    ids, cursors = ids_and_cursors(table, cursor)
    return PartitionResult(
        key=key,
        path=public_path,
        rows=len(ids),
        bytes=os.path.getsize(path),
        duplicates_removed=duplicates_removed,
        **_cursor_facts(cursors, window),
        ids_unique=not has_duplicates(ids),
        schema_matches=schemas_match(actual, schema),
    )


def _cursor_facts(micros: np.ndarray | None, window: PartitionWindow) -> dict[str, Any]:
    """Cursor range and rows outside ``[start, end)`` (null cursors count as outside)."""
    if micros is None or not len(micros):
        return {"min_cursor": None, "max_cursor": None, "cursor_outside_window": 0}
    outside = (micros < to_micros(window.start)) | (micros >= to_micros(window.end))
    valid = micros[micros != NULL_CURSOR]
    return {
        "min_cursor": from_micros(int(valid.min())) if len(valid) else None,
        "max_cursor": from_micros(int(valid.max())) if len(valid) else None,
        "cursor_outside_window": int(np.count_nonzero(outside)),
    }
