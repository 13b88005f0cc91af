"""What the Dagster layer needs of a place that holds stream files: the ``Store`` protocol.

Assets, sensors and the IO manager talk to a ``Store``, never to the Parquet class, so a
store of another format or on another backend is one class implementing these methods.
"""

from collections.abc import Iterable, Sequence
from typing import Protocol

import pyarrow as pa

from outreach_assets.storage.partitions import PartitionResult, PartitionWindow
from outreach_assets.storage.tombstones import Tombstones


class Store(Protocol):
    """Stream files under one base folder or URL: one file per partition, plus tables."""

    base: str

    def partition_path(self, name: str, key: str) -> str:
        """Where the file of one partition of a stream lives, committed or not."""
        ...

    def table_path(self, name: str) -> str:
        """Where an unpartitioned table (a current-state asset) lives."""
        ...

    def write_partitions(
        self,
        name: str,
        schema: pa.Schema,
        cursor: str | None,
        windows: Sequence[PartitionWindow],
        batches: Iterable[tuple[str, pa.RecordBatch]],
    ) -> list[PartitionResult]:
        """Split a run's ``(key, batch)`` stream into one committed file per window.

        Every window gets a file, an empty one when no row came, and nothing is committed
        unless every window's file is ready.
        """
        ...

    def write_table(self, path: str, reader: pa.RecordBatchReader) -> int:
        """Write one file atomically from a stream of batches; returns its size in bytes."""
        ...

    def existing_keys(self, name: str) -> list[str]:
        """Sorted keys of the partitions that have a committed file."""
        ...

    def read_table(
        self,
        name: str,
        keys: Sequence[str] | None = None,
        columns: Sequence[str] | None = None,
    ) -> tuple[pa.Table, list[str]]:
        """The partitions ``keys`` (all when None) as one table, and the keys with no file."""
        ...

    def read_file(self, path: str, columns: Sequence[str] | None = None) -> pa.Table:
        """One file (an unpartitioned table) in full; FileNotFoundError if it is missing."""
        ...

    def exists(self, path: str) -> bool:
        """Whether a committed file is at ``path`` (temporary files never are)."""
        ...

    def current_state(
        self,
        name: str,
        schema: pa.Schema,
        cursor: str | None,
        *,
        previous: str | None = None,
        deleted: Tombstones | None = None,
    ) -> pa.RecordBatchReader:
        """One row per id: the version with the newest cursor across all partitions."""
        ...

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
        """The current state ``previous`` updated with the partitions ``keys`` only."""
        ...
