"""Partitioned Parquet storage for streams: one file per stream and partition, never half-written.

Layout: ``<base>/<stream>/<partition key>.parquet`` (unpartitioned tables:
``<base>/<name>/<name>.parquet``), where ``base`` is a local folder or any fsspec URL
(``s3://``, ``gs://``, ``memory://``, ``file://``). Every file of a stream has the stream's
exact Arrow schema, so pyarrow datasets, pandas and DuckDB globs read the folder as one table.

Why the store writes partition *ranges* itself (instead of Dagster's ``UPathIOManager``): a
single-run backfill sweeps the API once over the whole range, and the pages it gets back
interleave partitions; Dagster refuses multi-partition outputs. :meth:`ParquetStore.
write_partitions` takes the sweep as ``(partition key, batch)`` pairs and splits it.

Guarantees, and the module that keeps each:

* Atomic, all-or-nothing per run (:mod:`~outreach_assets.storage.atomic`,
  :mod:`~outreach_assets.storage.writer`): rows go to hidden temporary files first (a
  leading ``.`` hides them from pyarrow/DuckDB dataset scans), locally in the target
  directory so that the commit is an ``os.replace``, or in a local staging folder for
  object stores, where the commit is one upload that appears whole or not at all (a
  multipart upload in bounded memory, :mod:`~outreach_assets.storage.objects`). Nothing
  is committed until the input is exhausted and every partition is finalized; on any error
  every temporary file is removed, previous good files stay, and the error propagates.
  (The commit of a run's several files is a sequence of atomic replaces, not one
  transaction.) Temporary files of a killed process are removed by the next write of the
  same file once untouched for ``STALE_AFTER``, and so are a killed S3 upload's parts.
* Fresh listings on object stores (:mod:`~outreach_assets.storage.objects`): their
  filesystems are opened with listings caching off, so files another process wrote are
  seen, and a file rewritten elsewhere is not read with its old size.
* Bounded memory (:mod:`~outreach_assets.storage.writer`,
  :mod:`~outreach_assets.storage.buffered`): a few pages per partition are buffered, then
  written as a row group; deduplication and the current-state view
  (:mod:`~outreach_assets.storage.versions`, :mod:`~outreach_assets.storage.current`) read
  only the ``id`` and cursor columns of a whole partition and move full rows one row group
  or batch at a time.
* Checked facts (:mod:`~outreach_assets.storage.facts`): row counts, id uniqueness, cursor
  range and schema are read back from the file about to be committed, not assumed from
  what was written.
"""

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import fsspec
import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from outreach_assets.storage import current, writer
from outreach_assets.storage.atomic import AtomicFiles
from outreach_assets.storage.buffered import DEFAULT_ROW_GROUP_ROWS, write_file
from outreach_assets.storage.objects import filesystem_options
from outreach_assets.storage.partitions import PartitionResult, PartitionWindow
from outreach_assets.storage.paths import Layout, partition_key, strip_trailing_slash
from outreach_assets.storage.schemas import require_columns
from outreach_assets.storage.tombstones import Tombstones


class ParquetStore:
    """Stream files under one base folder or URL; see the module docstring for guarantees."""

    def __init__(self, base: str, storage_options: Mapping[str, Any] | None = None) -> None:
        self.base = strip_trailing_slash(base)
        fs, root = fsspec.core.url_to_fs(base, **filesystem_options(base, storage_options))
        self._fs: fsspec.AbstractFileSystem = fs
        self._layout = Layout(self.base, fs, root)
        self._files = AtomicFiles(fs)
        self._arrow_fs: pafs.FileSystem = (
            pafs.LocalFileSystem()
            if self._files.local
            else pafs.PyFileSystem(pafs.FSSpecHandler(fs))
        )

    def __repr__(self) -> str:  # storage_options may hold credentials: never show them
        return f"ParquetStore({self.base!r})"

    # --- paths -----------------------------------------------------------------------

    def stream_path(self, name: str) -> str:
        return self._layout.stream_path(name)

    def partition_path(self, name: str, key: str) -> str:
        return self._layout.partition_path(name, key)

    def table_path(self, name: str) -> str:
        """Where an unpartitioned table (a current-state asset) lives."""
        return self._layout.table_path(name)

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
        return writer.write_partitions(
            self._layout,
            self._files,
            name,
            schema,
            cursor,
            windows=windows,
            batches=batches,
            row_group_rows=row_group_rows,
        )

    def write_table(self, path: str, reader: pa.RecordBatchReader) -> int:
        """Write one file atomically from a stream of batches; returns its size in bytes."""
        return write_file(self._files, self._layout.fs_path(path), reader)

    # --- reading ---------------------------------------------------------------------

    def existing_keys(self, name: str) -> list[str]:
        """Sorted keys of the partitions that have a committed file."""
        directory = self._layout.fs_path(self.stream_path(name))
        self._fs.invalidate_cache(directory)  # object-store listings are cached per instance
        try:
            entries = self._fs.ls(directory, detail=False)
        except FileNotFoundError:
            return []
        keys = []
        for entry in entries:
            key = partition_key(str(entry).rstrip("/").rsplit("/", 1)[-1])
            if key is not None:
                keys.append(key)
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
            self._read(self._layout.partition_fs_path(name, k), columns)
            for k in wanted
            if k in present
        ]
        if tables:
            return pa.concat_tables(tables, promote_options="permissive"), missing
        return self._empty_like(name, sorted(present), columns), missing

    def read_file(self, path: str, columns: Sequence[str] | None = None) -> pa.Table:
        """One file (an unpartitioned table) in full; FileNotFoundError if it is missing."""
        return self._read(self._layout.fs_path(path), columns)

    def exists(self, path: str) -> bool:
        return bool(self._fs.exists(self._layout.fs_path(path)))

    def current_state(
        self,
        name: str,
        schema: pa.Schema,
        cursor: str | None,
        *,
        previous: str | None = None,
        deleted: Tombstones | None = None,
    ) -> pa.RecordBatchReader:
        """One row per id: the version with the newest cursor across all partitions.

        Ties go to the later partition key. ``previous``, the last current-state file if
        there is one, takes part as the oldest file: a record whose newest version a
        re-synced partition no longer holds keeps that version instead of falling back to
        an older one (which would bring back a record Outreach deleted). Tombstoned ids are
        left out. Full-snapshot streams (``cursor`` None): the latest partition's file.
        Only ids and cursors of every file are held at once; the winning rows stream out
        file by file.
        """
        require_columns(schema, cursor)
        paths = [self._layout.partition_fs_path(name, k) for k in self.existing_keys(name)]
        if previous is not None and cursor is not None and self.exists(previous):
            paths.insert(0, self._layout.fs_path(previous))
        return current.current_rows(paths, schema, cursor, self._arrow_fs, deleted)

    def merge_current(
        self,
        name: str,
        schema: pa.Schema,
        cursor: str,
        previous: str,
        keys: Sequence[str],
        *,
        deleted: Tombstones | None = None,
    ) -> pa.RecordBatchReader:
        """The current state updated with some partitions, without reading the others.

        ``previous`` is the last current-state file; the rows of ``keys`` (partitions
        written since) replace its versions where their cursor is newer or equal, and
        tombstoned ids are left out: the same answer as :meth:`current_state` with
        ``previous``, from fewer files.
        """
        require_columns(schema, cursor)
        present = set(self.existing_keys(name))
        paths = [self._layout.fs_path(previous)] + [
            self._layout.partition_fs_path(name, k) for k in sorted(keys) if k in present
        ]
        return current.newest_rows(paths, schema, cursor, self._arrow_fs, deleted)

    def _read(self, path: str, columns: Sequence[str] | None) -> pa.Table:
        return pq.read_table(
            path, columns=None if columns is None else list(columns), filesystem=self._arrow_fs
        )

    def _empty_like(self, name: str, keys: list[str], columns: Sequence[str] | None) -> pa.Table:
        if not keys:
            return pa.schema([]).empty_table()
        path = self._layout.partition_fs_path(name, keys[-1])
        schema = pq.read_schema(path, filesystem=self._arrow_fs)
        if columns is not None:
            schema = pa.schema([schema.field(c) for c in columns], metadata=schema.metadata)
        return schema.empty_table()
