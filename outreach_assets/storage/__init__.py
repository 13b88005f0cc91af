"""Stream files: one Parquet file per stream and partition, never half-written.

``protocol``: the ``Store`` the Dagster layer uses. ``parquet``: the Parquet store, on a
local folder or any fsspec URL, composed of ``paths`` (file names and layout), ``atomic``
(temporary files and their commit), ``writer`` (one run's partition files), ``buffered``
(row groups of bounded size), ``facts`` (what a finished file holds, read back),
``versions`` and ``current`` (the newest version of each id), ``schemas`` (comparison and
conformance), ``partitions`` (a run's windows and results, plain data) and ``tombstones``
(records Outreach deleted, left out of current states); ``folder`` (whether the data
folder can take files, asked before any request); ``objects`` (what object stores need:
fresh listings, uploads in bounded memory, cleanup of killed uploads).
:func:`open_store` picks the store for a base path.
"""

from collections.abc import Mapping
from typing import Any

from outreach_assets.storage.atomic import INPROGRESS_SUFFIX, STALE_AFTER
from outreach_assets.storage.buffered import COMPRESSION
from outreach_assets.storage.folder import FolderState, check_data_dir
from outreach_assets.storage.parquet import ParquetStore
from outreach_assets.storage.partitions import PartitionResult, PartitionWindow
from outreach_assets.storage.paths import EXTENSION, safe_key
from outreach_assets.storage.protocol import Store
from outreach_assets.storage.schemas import schemas_match
from outreach_assets.storage.tombstones import Tombstones


def open_store(base: str, storage_options: Mapping[str, Any] | None = None) -> Store:
    """The store for ``base`` (a folder or an fsspec URL)."""
    return ParquetStore(base, storage_options)


__all__ = [
    "COMPRESSION",
    "EXTENSION",
    "INPROGRESS_SUFFIX",
    "STALE_AFTER",
    "FolderState",
    "ParquetStore",
    "PartitionResult",
    "PartitionWindow",
    "Store",
    "Tombstones",
    "check_data_dir",
    "open_store",
    "safe_key",
    "schemas_match",
]
