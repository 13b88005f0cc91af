"""One run's partition files, split from an interleaved sweep, deduped, checked, committed.

A run's ``(partition key, batch)`` pairs arrive in API page order, which interleaves
partitions. Each partition gets its own buffered writer on a temporary file; a few pages per
partition are buffered, then written as a row group, and the fullest buffer is written out
when all of them together exceed :data:`BUFFER_BYTES`. Beyond :data:`MAX_OPEN_WRITERS` the
least recently used writer is closed, and the partition continues in a new segment file.
Once the input is exhausted each partition is finalized (segments merged, duplicate ids
dropped, facts read back from the result), and only then is anything committed; on any
error every temporary file is removed and the error propagates.
"""

import dataclasses
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Final

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from outreach_assets.storage.atomic import AtomicFiles, remove_quietly
from outreach_assets.storage.buffered import BufferedWriter
from outreach_assets.storage.facts import read_facts
from outreach_assets.storage.partitions import PartitionResult, PartitionWindow
from outreach_assets.storage.paths import Layout, safe_key
from outreach_assets.storage.schemas import require_columns, schema_difference
from outreach_assets.storage.versions import (
    has_duplicates,
    iter_masked,
    keep_mask,
    read_ids_and_cursors,
)

# All partitions' buffers together; above it the fullest buffer is written out.
BUFFER_BYTES: Final = 256 * 2**20
# Parquet writers (open files) kept at once; a multi-year single-run backfill touches
# thousands of daily partitions, more than a process may hold open.
MAX_OPEN_WRITERS: Final = 32


def write_partitions(
    layout: Layout,
    files: AtomicFiles,
    name: str,
    schema: pa.Schema,
    cursor: str | None,
    *,
    windows: Sequence[PartitionWindow],
    batches: Iterable[tuple[str, pa.RecordBatch]],
    row_group_rows: int,
) -> list[PartitionResult]:
    """Split a run's ``(key, batch)`` stream into one committed file per window.

    Every window gets a file (an empty one when no row came), so "materialized" always
    means "the file exists". Within a partition, an id seen more than once keeps the
    row with the newest cursor, the last seen on ties or without a cursor.
    """
    require_columns(schema, cursor)
    by_key = _windows_by_key(windows)
    if row_group_rows < 1:
        raise ValueError("row_group_rows must be positive")
    for key in by_key:
        files.remove_stale(layout.partition_fs_path(name, key))
    run = _Run(layout, files, name, schema, row_group_rows)
    try:
        for key, batch in batches:
            if key not in by_key:
                raise ValueError(
                    f"stream {name!r}: batch for partition {key!r}, which is not one of "
                    f"this run's {len(by_key)} partitions"
                )
            run.add(key, batch)
        run.close_writers()
        finals = [run.finalize(w.key, cursor, w) for w in windows]
        for tmp, result in finals:
            files.commit(tmp, layout.fs_path(result.path))
            run.temps.discard(tmp)
        return [result for _, result in finals]
    finally:
        run.abort()


@dataclass
class _KeyFiles:
    """The temporary segment files of one partition; more than one after an eviction."""

    segments: list[str] = field(default_factory=list)
    writer: BufferedWriter | None = None


class _Run:
    """The mutable state of one :func:`write_partitions` call: writers, segments, temps."""

    def __init__(
        self, layout: Layout, atomic: AtomicFiles, name: str, schema: pa.Schema, rg_rows: int
    ) -> None:
        self.layout, self.atomic = layout, atomic
        self.name, self.schema, self.rg_rows = name, schema, rg_rows
        self.files: dict[str, _KeyFiles] = {}
        self.open: OrderedDict[str, BufferedWriter] = OrderedDict()  # least recent first
        self.temps: set[str] = set()  # every temporary file not yet committed or removed
        self.empty: tuple[bytes, PartitionResult] | None = None  # a checked empty file

    def add(self, key: str, batch: pa.RecordBatch) -> None:
        if not batch.schema.equals(self.schema, check_metadata=False):
            raise ValueError(
                f"stream {self.name!r}, partition {key!r}: batch schema differs from the "
                f"stream schema: {schema_difference(batch.schema, self.schema)}"
            )
        if batch.num_rows == 0:
            return
        files = self.files.setdefault(key, _KeyFiles())
        if files.writer is None:
            if len(self.open) >= MAX_OPEN_WRITERS:
                self._evict()
            files.writer = BufferedWriter(self._temp(key), self.schema, self.rg_rows)
            files.segments.append(files.writer.path)
            self.open[key] = files.writer
        self.open.move_to_end(key)
        files.writer.write(batch)
        if sum(w.buffered_bytes for w in self.open.values()) > BUFFER_BYTES:
            max(self.open.values(), key=lambda w: w.buffered_bytes).flush()

    def _evict(self) -> None:
        key, writer = self.open.popitem(last=False)
        writer.close()
        self.files[key].writer = None

    def _temp(self, key: str) -> str:
        path = self.atomic.new_temp(self.layout.partition_fs_path(self.name, key))
        self.temps.add(path)
        return path

    def close_writers(self) -> None:
        while self.open:
            self._evict()

    def finalize(
        self, key: str, cursor: str | None, window: PartitionWindow
    ) -> tuple[str, PartitionResult]:
        """Merge, dedupe and check one partition; returns its final temp file and facts."""
        segments = self.files.get(key, _KeyFiles()).segments
        if not segments:
            return self._finalize_empty(key, cursor, window)
        if len(segments) == 1:
            facts = self._facts(key, segments[0], cursor, window, 0)
            if facts.ids_unique:  # the usual case: the file as written is the partition
                return segments[0], facts
        ids, cursors = read_ids_and_cursors(segments, cursor)
        keep = keep_mask(ids, cursors) if has_duplicates(ids) else None
        path = self._temp(key)
        _rewrite(segments, keep, path, self.schema, self.rg_rows)
        for segment in segments:
            remove_quietly(segment)
            self.temps.discard(segment)
        dropped = 0 if keep is None else int(len(keep) - np.count_nonzero(keep))
        return path, self._facts(key, path, cursor, window, dropped)

    def _facts(
        self, key: str, path: str, cursor: str | None, window: PartitionWindow, dropped: int
    ) -> PartitionResult:
        return read_facts(
            path,
            key=key,
            public_path=self.layout.partition_path(self.name, key),
            schema=self.schema,
            cursor=cursor,
            window=window,
            duplicates_removed=dropped,
        )

    def _finalize_empty(
        self, key: str, cursor: str | None, window: PartitionWindow
    ) -> tuple[str, PartitionResult]:
        """An empty partition's file: the first one is written and checked like any other,
        the rest are byte copies of it (most days of a long backfill of a small stream are
        empty, and a Parquet writer for a 200-column schema costs milliseconds)."""
        path = self._temp(key)
        if self.empty is None:
            BufferedWriter(path, self.schema, self.rg_rows).close()
            facts = self._facts(key, path, cursor, window, 0)
            with open(path, "rb") as handle:
                self.empty = (handle.read(), facts)
            return path, facts
        content, first = self.empty
        with open(path, "wb") as handle:
            handle.write(content)
        return path, dataclasses.replace(
            first, key=key, path=self.layout.partition_path(self.name, key)
        )

    def abort(self) -> None:
        """Close every writer and remove every temporary file that was not committed."""
        for writer in self.open.values():
            writer.abort()
        self.open.clear()
        for path in self.temps:
            remove_quietly(path)
        self.temps.clear()


def _rewrite(
    paths: Sequence[str], keep: np.ndarray | None, out: str, schema: pa.Schema, rg_rows: int
) -> None:
    """Copy the kept rows of ``paths`` (concatenated) into ``out``, a batch at a time."""
    writer = BufferedWriter(out, schema, rg_rows)
    try:
        offset = 0
        for path in paths:
            with pq.ParquetFile(path) as source:
                rows = source.metadata.num_rows
                mask = None if keep is None else keep[offset : offset + rows]
                offset += rows
                for batch in iter_masked(source, mask):
                    writer.write(batch)
        writer.close()
    except BaseException:
        writer.abort()
        raise


def _windows_by_key(windows: Sequence[PartitionWindow]) -> dict[str, PartitionWindow]:
    by_key: dict[str, PartitionWindow] = {}
    for window in windows:
        if window.key in by_key:
            raise ValueError(f"partition {window.key!r} appears twice in the run's windows")
        safe_key(window.key)  # fail before any work on a key that cannot be a file name
        by_key[window.key] = window
    if not by_key:
        raise ValueError("a run must have at least one partition window")
    return by_key
