"""Stream files: one Parquet file per stream and partition, never half-written.

``protocol``: the ``Store`` the Dagster layer uses. ``parquet``: the Parquet store, on a
local folder or any fsspec URL. :func:`open_store` picks the store for a base path.
"""

from collections.abc import Mapping
from typing import Any

from outreach_assets.storage.parquet import (
    COMPRESSION,
    EXTENSION,
    INPROGRESS_SUFFIX,
    STALE_AFTER,
    ParquetStore,
    PartitionResult,
    PartitionWindow,
    safe_key,
    schemas_match,
)
from outreach_assets.storage.protocol import Store


def open_store(base: str, storage_options: Mapping[str, Any] | None = None) -> Store:
    """The store for ``base`` (a folder or an fsspec URL)."""
    return ParquetStore(base, storage_options)


__all__ = [
    "COMPRESSION",
    "EXTENSION",
    "INPROGRESS_SUFFIX",
    "STALE_AFTER",
    "ParquetStore",
    "PartitionResult",
    "PartitionWindow",
    "Store",
    "open_store",
    "safe_key",
    "schemas_match",
]
