"""Partitioned Parquet storage for streams: one file per stream and partition, never half-written.

Layout: ``<base>/<stream>/<partition key>.parquet`` (unpartitioned tables:
``<base>/<name>/<name>.parquet``), where ``base`` is a local folder or any fsspec URL
(``s3://``, ``gs://``, ``memory://``, ``file://``). Every file of a stream has the stream's
exact Arrow schema, so pyarrow datasets, pandas and DuckDB globs read the folder as one table.

Why the store writes partition *ranges* itself (instead of Dagster's ``UPathIOManager``): a
single-run backfill sweeps the API once over the whole range, and the pages it gets back
interleave partitions; Dagster refuses multi-partition outputs. :meth:`ParquetStore.
write_partitions` takes the sweep as ``(partition key, batch)`` pairs and splits it.

Guarantees, and how they are kept:

* Atomic, all-or-nothing per run: rows go to hidden temporary files first (a leading ``.``
  hides them from pyarrow/DuckDB dataset scans), locally in the target directory so that
  the commit is an ``os.replace``, or in a local staging folder for object stores, where
  the commit is one upload that appears whole or not at all. Nothing is committed until
  the input is exhausted and every partition is finalized; on any error every temporary
  file is removed, previous good files stay, and the error propagates. (The commit of a
  run's several files is a sequence of atomic replaces, not one transaction.)
* Bounded memory: a few pages per partition are buffered, then written as a row group;
  deduplication and the current-state view read only the ``id`` and cursor columns of a
  whole partition and move full rows one row group or batch at a time.
* Checked facts: row counts, id uniqueness, cursor range and schema are read back from
  the file about to be committed, not assumed from what was written.
"""

import contextlib
import dataclasses
import os
import secrets
import tempfile
import time
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import fsspec
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.fs as pafs
import pyarrow.parquet as pq
from fsspec.implementations.local import LocalFileSystem

from outreach_assets.convert.layout import ID_COLUMN

EXTENSION: Final = ".parquet"
INPROGRESS_SUFFIX: Final = ".inprogress"
COMPRESSION: Final = "zstd"
# A temporary file untouched for this long is taken to be a killed process's and removed when
# the same file is written again. Should it belong to a run still writing that partition
# (two runs on one partition, one idle for an hour), that run loses its file and fails
# before committing anything; its retry starts over.
STALE_AFTER: Final = timedelta(hours=1)
# Per-partition buffer: a row group is written at ``row_group_rows`` or at this many bytes,
# whichever comes first (mailings pages with HTML bodies are large).
ROW_GROUP_BYTES: Final = 64 * 2**20
# All partitions' buffers together; above it the fullest buffer is written out.
BUFFER_BYTES: Final = 256 * 2**20
# Parquet writers (open files) kept at once; a multi-year single-run backfill touches
# thousands of daily partitions, more than a process may hold open.
MAX_OPEN_WRITERS: Final = 32
DEFAULT_ROW_GROUP_ROWS: Final = 50_000
READ_BATCH_ROWS: Final = 16_384  # rows moved at a time when filtering a file
STAGING_DIR_NAME: Final = "outreach_assets-staging"

_UTC_US: Final = pa.timestamp("us", tz="UTC")
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_NULL_CURSOR: Final = np.iinfo(np.int64).min  # a version without a cursor loses to any other


@dataclass(frozen=True)
class PartitionWindow:
    """One partition of a run: its key and its time window ``[start, end)`` in UTC."""

    key: str
    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        for bound in (self.start, self.end):
            if bound.tzinfo is None or bound.utcoffset() is None:
                raise ValueError(f"partition {self.key!r}: window bounds must be tz-aware")
        if self.end <= self.start:
            raise ValueError(f"partition {self.key!r}: window end must be after its start")


@dataclass(frozen=True)
class PartitionResult:
    """Facts about one committed partition file, for output metadata and asset checks."""

    key: str
    path: str
    rows: int
    bytes: int
    # Rows dropped because the same id appeared again with a newer (or equal, later-seen)
    # cursor; for full snapshots, because it appeared again at all.
    duplicates_removed: int
    min_cursor: datetime | None
    max_cursor: datetime | None
    ids_unique: bool
    # Rows whose cursor is outside [start, end), a null cursor included; 0 for snapshots.
    cursor_outside_window: int
    schema_matches: bool


class ParquetStore:
    """Stream files under one base folder or URL; see the module docstring for guarantees."""

    def __init__(self, base: str, storage_options: Mapping[str, Any] | None = None) -> None:
        self.base = _strip_trailing_slash(base)
        fs, root = fsspec.core.url_to_fs(base, **dict(storage_options or {}))
        self._fs: fsspec.AbstractFileSystem = fs
        self._root: str = _strip_trailing_slash(root)
        self._local = isinstance(fs, LocalFileSystem)
        self._arrow_fs: pafs.FileSystem = (
            pafs.LocalFileSystem() if self._local else pafs.PyFileSystem(pafs.FSSpecHandler(fs))
        )

    def __repr__(self) -> str:  # storage_options may hold credentials: never show them
        return f"ParquetStore({self.base!r})"

    # --- paths -----------------------------------------------------------------------

    def stream_path(self, name: str) -> str:
        return f"{self.base}/{_check_name(name)}"

    def partition_path(self, name: str, key: str) -> str:
        return f"{self.stream_path(name)}/{safe_key(key)}{EXTENSION}"

    def table_path(self, name: str) -> str:
        """Where an unpartitioned table (a current-state asset) lives."""
        return f"{self.stream_path(name)}/{_check_name(name)}{EXTENSION}"

    def _fs_path(self, path: str) -> str:
        """A public path (``<base>/...``) as a path of this store's filesystem."""
        if path == self.base or path.startswith(self.base + "/"):
            return self._root + path[len(self.base) :]
        return _strip_trailing_slash(self._fs._strip_protocol(path))

    # --- writing ---------------------------------------------------------------------

    def write_partitions(
        self,
        name: str,
        schema: pa.Schema,
        cursor: str | None,
        windows: Sequence[PartitionWindow],
        batches: Iterable[tuple[str, pa.RecordBatch]],
        *,
        row_group_rows: int = DEFAULT_ROW_GROUP_ROWS,
    ) -> list[PartitionResult]:
        """Split a run's ``(key, batch)`` stream into one committed file per window.

        Every window gets a file (an empty one when no row came), so "materialized" always
        means "the file exists". Within a partition, an id seen more than once keeps the
        row with the newest cursor, the last seen on ties or without a cursor.
        """
        _check_schema_has(schema, cursor)
        by_key = _windows_by_key(windows)
        if row_group_rows < 1:
            raise ValueError("row_group_rows must be positive")
        for key in by_key:
            self._remove_stale(name, key)
        run = _Run(self, name, schema, row_group_rows)
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
                self._commit(tmp, self._fs_path(result.path))
                run.temps.discard(tmp)
            return [result for _, result in finals]
        finally:
            run.abort()

    def write_table(self, path: str, reader: pa.RecordBatchReader) -> int:
        """Write one file atomically from a stream of batches; returns its size in bytes."""
        target = self._fs_path(path)
        self._remove_stale_for(target)
        tmp = self._new_temp(target)
        writer: _BufferedWriter | None = None
        try:
            writer = _BufferedWriter(tmp, reader.schema, DEFAULT_ROW_GROUP_ROWS)
            for batch in reader:
                writer.write(batch)
            writer.close()
            writer = None
            size = os.path.getsize(tmp)
            self._commit(tmp, target)
            return size
        finally:
            if writer is not None:
                writer.abort()
            _remove_quietly(tmp)

    def _commit(self, tmp: str, target: str) -> None:
        if self._local:
            os.replace(tmp, target)
        else:
            self._fs.makedirs(_parent(target), exist_ok=True)
            self._fs.put_file(tmp, target)
            _remove_quietly(tmp)

    def _new_temp(self, target: str) -> str:
        """A hidden local temporary file name for ``target`` (created empty, exclusive)."""
        directory, prefix = self._temp_location(target)
        os.makedirs(directory, exist_ok=True)
        while True:
            path = os.path.join(directory, f"{prefix}{secrets.token_hex(4)}{INPROGRESS_SUFFIX}")
            try:
                os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
            except FileExistsError:
                continue
            return path

    def _temp_location(self, target: str) -> tuple[str, str]:
        """Directory and name prefix of ``target``'s temporary files.

        Locally they sit next to the target (same filesystem, so ``os.replace`` is atomic);
        for object stores in a local staging folder, named after the target's stream too.
        """
        parent, base = _parent(target), target.rsplit("/", 1)[-1]
        if self._local:
            return parent, f".{base}."
        stream = parent.rsplit("/", 1)[-1]
        return os.path.join(tempfile.gettempdir(), STAGING_DIR_NAME), f".{stream}.{base}."

    def _remove_stale(self, name: str, key: str) -> None:
        self._remove_stale_for(self._fs_path(self.partition_path(name, key)))

    def _remove_stale_for(self, target: str) -> None:
        """Delete temporary files of ``target`` left behind by a killed process."""
        directory, prefix = self._temp_location(target)
        try:
            entries = os.listdir(directory)
        except FileNotFoundError:
            return
        cutoff = time.time() - STALE_AFTER.total_seconds()
        for entry in entries:
            if entry.startswith(prefix) and entry.endswith(INPROGRESS_SUFFIX):
                path = os.path.join(directory, entry)
                with contextlib.suppress(FileNotFoundError):
                    if os.path.getmtime(path) < cutoff:
                        os.remove(path)

    # --- reading ---------------------------------------------------------------------

    def existing_keys(self, name: str) -> list[str]:
        """Sorted keys of the partitions that have a committed file."""
        directory = self._fs_path(self.stream_path(name))
        self._fs.invalidate_cache(directory)  # object-store listings are cached per instance
        try:
            entries = self._fs.ls(directory, detail=False)
        except FileNotFoundError:
            return []
        keys = []
        for entry in entries:
            base = str(entry).rstrip("/").rsplit("/", 1)[-1]
            if base.endswith(EXTENSION) and not base.startswith((".", "_")):
                keys.append(unsafe_key(base[: -len(EXTENSION)]))
        return sorted(keys)

    def read_table(
        self,
        name: str,
        keys: Sequence[str] | None = None,
        columns: Sequence[str] | None = None,
    ) -> tuple[pa.Table, list[str]]:
        """The partitions ``keys`` (all when None) as one table, and the keys with no file.

        Partitions written under an older schema are promoted to one schema (a column added
        later reads as null in older files). With no file at all, the table is empty with
        the schema of any other partition of the stream, or no columns if there is none.
        """
        present = set(self.existing_keys(name))
        wanted = sorted(present) if keys is None else list(keys)
        missing = [k for k in wanted if k not in present]
        tables = [
            self._read(self._fs_path(self.partition_path(name, k)), columns)
            for k in wanted
            if k in present
        ]
        if tables:
            return pa.concat_tables(tables, promote_options="permissive"), missing
        return self._empty_like(name, sorted(present), columns), missing

    def read_file(self, path: str, columns: Sequence[str] | None = None) -> pa.Table:
        """One file (an unpartitioned table) in full; FileNotFoundError if it is missing."""
        return self._read(self._fs_path(path), columns)

    def exists(self, path: str) -> bool:
        return bool(self._fs.exists(self._fs_path(path)))

    def current_state(
        self, name: str, schema: pa.Schema, cursor: str | None
    ) -> pa.RecordBatchReader:
        """One row per id: the version with the newest cursor across all partitions.

        Ties go to the later partition key. Full-snapshot streams (``cursor`` None): the
        latest partition's file. Only ids and cursors of every file are held at once; the
        winning rows stream out file by file.
        """
        _check_schema_has(schema, cursor)
        keys = self.existing_keys(name)
        paths = [self._fs_path(self.partition_path(name, k)) for k in keys]
        if not paths:
            return pa.RecordBatchReader.from_batches(schema, iter(()))
        if cursor is None:
            return pa.RecordBatchReader.from_batches(
                schema, self._stream_rows(paths[-1], None, schema)
            )
        return self._newest_rows(paths, schema, cursor)

    def merge_current(
        self, name: str, schema: pa.Schema, cursor: str, previous: str, keys: Sequence[str]
    ) -> pa.RecordBatchReader:
        """The current state updated with some partitions, without reading the others.

        ``previous`` is the last current-state file; the rows of ``keys`` (partitions
        written since) replace its versions where their cursor is newer or equal. Same
        answer as :meth:`current_state` for changed and new records; a record that a
        re-synced partition no longer holds stays until the next full rebuild.
        """
        _check_schema_has(schema, cursor)
        present = set(self.existing_keys(name))
        paths = [self._fs_path(previous)] + [
            self._fs_path(self.partition_path(name, k)) for k in sorted(keys) if k in present
        ]
        return self._newest_rows(paths, schema, cursor)

    def _newest_rows(
        self, paths: list[str], schema: pa.Schema, cursor: str
    ) -> pa.RecordBatchReader:
        """One row per id over ``paths``: newest cursor, ties to the later path."""
        sizes = [pq.read_metadata(p, filesystem=self._arrow_fs).num_rows for p in paths]
        ids, cursors = _read_ids_and_cursors(paths, cursor, self._arrow_fs)
        keep = keep_mask(ids, cursors)
        masks = np.split(keep, np.cumsum(sizes)[:-1])
        return pa.RecordBatchReader.from_batches(
            schema, self._stream_winners(list(zip(paths, masks, strict=True)), schema)
        )

    def _stream_winners(
        self, files: list[tuple[str, np.ndarray]], schema: pa.Schema
    ) -> Iterator[pa.RecordBatch]:
        for path, mask in files:
            if mask.any():
                yield from self._stream_rows(path, mask, schema)

    def _stream_rows(
        self, path: str, mask: np.ndarray | None, schema: pa.Schema
    ) -> Iterator[pa.RecordBatch]:
        """The rows of one file where ``mask`` is true (all when None), batch by batch."""
        with self._arrow_fs.open_input_file(path) as source:
            for batch in iter_masked(pq.ParquetFile(source), mask):
                yield conform(batch, schema)

    def _read(self, path: str, columns: Sequence[str] | None) -> pa.Table:
        return pq.read_table(
            path, columns=None if columns is None else list(columns), filesystem=self._arrow_fs
        )

    def _empty_like(self, name: str, keys: list[str], columns: Sequence[str] | None) -> pa.Table:
        if not keys:
            return pa.schema([]).empty_table()
        path = self._fs_path(self.partition_path(name, keys[-1]))
        schema = pq.read_schema(path, filesystem=self._arrow_fs)
        if columns is not None:
            schema = pa.schema([schema.field(c) for c in columns], metadata=schema.metadata)
        return schema.empty_table()


# --- one run of write_partitions --------------------------------------------------------


@dataclass
class _KeyFiles:
    """The temporary segment files of one partition; more than one after an eviction."""

    segments: list[str] = field(default_factory=list)
    writer: "_BufferedWriter | None" = None


class _Run:
    """The mutable state of one ``write_partitions`` call: writers, segments, temp files."""

    def __init__(self, store: ParquetStore, name: str, schema: pa.Schema, rg_rows: int) -> None:
        self.store, self.name, self.schema, self.rg_rows = store, name, schema, rg_rows
        self.files: dict[str, _KeyFiles] = {}
        self.open: OrderedDict[str, _BufferedWriter] = OrderedDict()  # least recent first
        self.temps: set[str] = set()  # every temporary file not yet committed or removed
        self.empty: tuple[bytes, PartitionResult] | None = None  # a checked empty file

    def add(self, key: str, batch: pa.RecordBatch) -> None:
        if not batch.schema.equals(self.schema, check_metadata=False):
            raise ValueError(
                f"stream {self.name!r}, partition {key!r}: batch schema differs from the "
                f"stream schema: {_schema_difference(batch.schema, self.schema)}"
            )
        if batch.num_rows == 0:
            return
        files = self.files.setdefault(key, _KeyFiles())
        if files.writer is None:
            if len(self.open) >= MAX_OPEN_WRITERS:
                self._evict()
            files.writer = _BufferedWriter(self._temp(key), self.schema, self.rg_rows)
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
        path = self.store._new_temp(self.store._fs_path(self.store.partition_path(self.name, key)))
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
        ids, cursors = _read_ids_and_cursors(segments, cursor)
        keep = keep_mask(ids, cursors) if _has_duplicates(ids) else None
        path = self._temp(key)
        _rewrite(segments, keep, path, self.schema, self.rg_rows)
        for segment in segments:
            _remove_quietly(segment)
            self.temps.discard(segment)
        dropped = 0 if keep is None else int(len(keep) - np.count_nonzero(keep))
        return path, self._facts(key, path, cursor, window, dropped)

    def _facts(
        self, key: str, path: str, cursor: str | None, window: PartitionWindow, dropped: int
    ) -> PartitionResult:
        """What the checks need, read back from the file about to be committed (one open:
        the footer of a 200-column file is a good part of the cost)."""
        with pq.ParquetFile(path) as source:
            table, schema = source.read(columns=_fact_columns(cursor)), source.schema_arrow
        ids, cursors = _ids_and_cursors(table, cursor)
        return PartitionResult(
            key=key,
            path=self.store.partition_path(self.name, key),
            rows=len(ids),
            bytes=os.path.getsize(path),
            duplicates_removed=dropped,
            **_cursor_facts(cursors, window),
            ids_unique=not _has_duplicates(ids),
            schema_matches=schemas_match(schema, self.schema),
        )

    def _finalize_empty(
        self, key: str, cursor: str | None, window: PartitionWindow
    ) -> tuple[str, PartitionResult]:
        """An empty partition's file: the first one is written and checked like any other,
        the rest are byte copies of it (most days of a long backfill of a small stream are
        empty, and a Parquet writer for a 200-column schema costs milliseconds)."""
        path = self._temp(key)
        if self.empty is None:
            _BufferedWriter(path, self.schema, self.rg_rows).close()
            facts = self._facts(key, path, cursor, window, 0)
            with open(path, "rb") as handle:
                self.empty = (handle.read(), facts)
            return path, facts
        content, first = self.empty
        with open(path, "wb") as handle:
            handle.write(content)
        return path, dataclasses.replace(
            first, key=key, path=self.store.partition_path(self.name, key)
        )

    def abort(self) -> None:
        """Close every writer and remove every temporary file that was not committed."""
        for writer in self.open.values():
            writer.abort()
        self.open.clear()
        for path in self.temps:
            _remove_quietly(path)
        self.temps.clear()


class _BufferedWriter:
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
        self._buffer = []
        with contextlib.suppress(Exception):
            self._writer.close()


# --- per-partition work on temporary (local) files ---------------------------------------


def _read_ids_and_cursors(
    paths: Sequence[str], cursor: str | None, filesystem: pafs.FileSystem | None = None
) -> tuple[np.ndarray, np.ndarray | None]:
    """The ids (and cursors as int64 microseconds, or None) of files, in order.

    Held as numpy arrays, 8 bytes per row and column; each file's Arrow columns are
    released as soon as they are converted.
    """
    ids: list[np.ndarray] = []
    micros: list[np.ndarray] = []
    for path in paths:
        table = pq.read_table(path, columns=_fact_columns(cursor), filesystem=filesystem)
        file_ids, file_micros = _ids_and_cursors(table, cursor)
        ids.append(file_ids)
        if file_micros is not None:
            micros.append(file_micros)
        del table
    return np.concatenate(ids), np.concatenate(micros) if cursor is not None else None


def _fact_columns(cursor: str | None) -> list[str]:
    return [ID_COLUMN] if cursor is None else [ID_COLUMN, cursor]


def _ids_and_cursors(table: pa.Table, cursor: str | None) -> tuple[np.ndarray, np.ndarray | None]:
    return _ids(table), None if cursor is None else _cursor_micros(table[cursor])


def _has_duplicates(ids: np.ndarray) -> bool:
    ordered = np.sort(ids)
    return bool((ordered[1:] == ordered[:-1]).any())


def _cursor_facts(micros: np.ndarray | None, window: PartitionWindow) -> dict[str, Any]:
    """Cursor range and rows outside ``[start, end)`` (null cursors count as outside)."""
    if micros is None or not len(micros):
        return {"min_cursor": None, "max_cursor": None, "cursor_outside_window": 0}
    outside = (micros < _micros(window.start)) | (micros >= _micros(window.end))
    valid = micros[micros != _NULL_CURSOR]
    return {
        "min_cursor": _from_micros(valid.min()) if len(valid) else None,
        "max_cursor": _from_micros(valid.max()) if len(valid) else None,
        "cursor_outside_window": int(np.count_nonzero(outside)),
    }


def _rewrite(
    paths: Sequence[str], keep: np.ndarray | None, out: str, schema: pa.Schema, rg_rows: int
) -> None:
    """Copy the kept rows of ``paths`` (concatenated) into ``out``, a batch at a time."""
    writer = _BufferedWriter(out, schema, rg_rows)
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


# --- helpers shared by writing and reading ----------------------------------------------


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


def conform(batch: pa.RecordBatch, schema: pa.Schema) -> pa.RecordBatch:
    """``batch`` with exactly ``schema``: metadata attached, columns matched by name.

    Columns are cast where their type differs in any way, list child names included (see
    :func:`schemas_match`). Files written under an older schema version may lack a column
    (it reads as null) or have one type narrower (it is cast; an impossible cast raises).
    """
    arrays = []
    for f in schema:
        index = batch.schema.get_field_index(f.name)
        if index < 0:
            arrays.append(pa.nulls(batch.num_rows, type=f.type))
            continue
        array = batch.column(index)
        arrays.append(
            array if array.type.equals(f.type, check_metadata=True) else array.cast(f.type)
        )
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


def schemas_match(actual: pa.Schema, expected: pa.Schema) -> bool:
    """Same columns, types, nullability, field and schema metadata.

    A list's child field name is not compared: Arrow names it ``item``, while Parquet
    writers (pyarrow's default, for other readers' sake) store the spec's ``element``, so
    a file never reads back with Arrow's name.
    """
    return (
        actual.equals(expected, check_metadata=False)
        and (actual.metadata or {}) == (expected.metadata or {})
        and all(
            (a.metadata or {}) == (e.metadata or {}) for a, e in zip(actual, expected, strict=True)
        )
    )


def safe_key(key: str) -> str:
    """A partition key as a file name: no path separators, not hidden from dataset scans.

    ``%`` is escaped first so the mapping can be undone (:func:`unsafe_key`); ``:`` in
    hourly keys and ``|`` in multi-partition keys are left alone (valid on POSIX and S3).
    """
    if not key:
        raise ValueError("partition key must not be empty")
    out = key.replace("%", "%25").replace("/", "%2F").replace("\\", "%5C").replace("\0", "%00")
    if out[0] == ".":
        out = "%2E" + out[1:]
    elif out[0] == "_":
        out = "%5F" + out[1:]
    return out


def unsafe_key(name: str) -> str:
    """The partition key a file name stands for (inverse of :func:`safe_key`)."""
    out = []
    i = 0
    while i < len(name):
        if name[i] == "%" and _is_hex(name[i + 1 : i + 3]):
            out.append(chr(int(name[i + 1 : i + 3], 16)))
            i += 3
        else:
            out.append(name[i])
            i += 1
    return "".join(out)


def _is_hex(text: str) -> bool:
    return len(text) == 2 and all(c in "0123456789abcdefABCDEF" for c in text)


def _ids(table: pa.Table) -> np.ndarray:
    return np.asarray(table[ID_COLUMN].to_numpy(), dtype=np.int64)


def _cursor_micros(column: pa.ChunkedArray) -> np.ndarray:
    """A timestamp column as int64 microseconds since the epoch; nulls sort first."""
    micros = pc.cast(pc.cast(column, _UTC_US), pa.int64())
    return np.asarray(pc.fill_null(micros, _NULL_CURSOR).to_numpy(), dtype=np.int64)


def _micros(moment: datetime) -> int:
    return (moment - _EPOCH) // timedelta(microseconds=1)


def _from_micros(micros: np.int64) -> datetime:
    return _EPOCH + timedelta(microseconds=int(micros))


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


def _check_schema_has(schema: pa.Schema, cursor: str | None) -> None:
    for column in (ID_COLUMN, cursor):
        if column is not None and schema.get_field_index(column) < 0:
            raise ValueError(f"schema has no {column!r} column")


def _check_name(name: str) -> str:
    if not name or "/" in name or "\\" in name or name.startswith((".", "_")):
        raise ValueError(f"invalid stream or table name {name!r}")
    return name


def _schema_difference(actual: pa.Schema, expected: pa.Schema) -> str:
    if actual.names != expected.names:
        return f"columns {actual.names[:5]}... instead of {expected.names[:5]}..."
    for got, want in zip(actual, expected, strict=True):
        if not got.equals(want):
            return f"column {want.name!r} is {got} instead of {want}"
    return "unknown difference"


def _strip_trailing_slash(path: str) -> str:
    while path.endswith("/") and not path.endswith("://") and len(path) > 1:
        path = path[:-1]
    return path


def _parent(path: str) -> str:
    return path.rsplit("/", 1)[0] if "/" in path else "."


def _remove_quietly(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.remove(path)
