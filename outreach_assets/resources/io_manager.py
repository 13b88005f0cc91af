"""The Dagster IO manager: where stream files live, and how downstream assets read them.

It is thin on purpose; :mod:`outreach_assets.storage` does the work. Partitioned stream
assets write their files themselves through :meth:`OutreachIOManager.get_store`
(a single-run backfill writes many partitions from one API sweep, which an IO manager's
one-output-per-partition contract cannot express) and return no value. This manager writes
the unpartitioned assets (the current-state tables) and loads any of them as one object.

Files: asset key ``outreach/<name>`` -> ``<base_dir>/<name>/<partition key>.parquet`` when
partitioned, ``<base_dir>/<name>/<name>.parquet`` when not.
"""

import os
from collections.abc import Iterator
from typing import Any

import dagster as dg
import pandas as pd
import pyarrow as pa
from pydantic import Field

from outreach_assets.catalog import STREAMS_BY_NAME
from outreach_assets.config import ConfigError, DeploymentSettings, env
from outreach_assets.config.declare import from_environment_or_default
from outreach_assets.convert import arrow_schema
from outreach_assets.storage import Store, check_data_dir, open_store

_SHOWN_KEYS = 10  # missing partition keys named in a warning before "..."


def default_data_dir() -> str:
    """``$OUTREACH_DATA_DIR``, else ``data/outreach`` (relative to the working directory)."""
    value: str = from_environment_or_default(DeploymentSettings, "data_dir", os.environ)
    return value


def store_name(asset_key: dg.AssetKey) -> str:
    """The store's name for an asset: the last component of its key (``outreach/x`` -> x)."""
    return asset_key.path[-1]


class OutreachIOManager(dg.ConfigurableIOManager):
    """The Outreach assets' files (Parquet), on a local folder or an fsspec URL."""

    base_dir: str = Field(
        default_factory=default_data_dir,
        description=(
            "Folder or fsspec URL (s3://bucket/prefix, gs://..., file://...) holding one "
            f"sub-folder per asset. Defaults to ${env('data_dir')}, else "
            f"{DeploymentSettings().data_dir!r}."
        ),
    )
    storage_options: dict[str, Any] = Field(
        default_factory=dict,
        description=(
            "fsspec options for base_dir's filesystem (region, endpoint_url, ...). Prefer "
            "the filesystem's own credential chain (environment, instance role) over keys "
            "here: resource config is shown in the Dagster UI. A non-AWS S3 endpoint can "
            "also come from AWS_ENDPOINT_URL. Object stores are opened with "
            "use_listings_cache=False unless set here, so other processes' files are seen."
        ),
    )

    def get_store(self) -> Store:
        return open_store(self.base_dir, self.storage_options)

    def ready_store(self) -> Store:
        """The store, once a local data folder is known to exist and take files.

        Assets call this first, before any API request: a folder that cannot be written
        would otherwise fail with a raw ``OSError`` after the sweep and its quota were spent.
        The failure's description is the one line naming ``OUTREACH_DATA_DIR`` and the fix,
        so that is what the run's failure says in the UI and on the command line.
        """
        try:
            check_data_dir(self.base_dir)
        except ConfigError as exc:
            raise dg.Failure(description=str(exc), allow_retries=False) from exc
        return self.get_store()

    @property
    def store(self) -> Store:
        return self.get_store()

    def handle_output(self, context: dg.OutputContext, obj: object) -> None:
        """Write an unpartitioned asset's table or batch stream as one atomic file."""
        if obj is None:
            return  # partitioned stream assets have already written their files
        asset = context.asset_key.to_user_string()
        if context.has_asset_partitions:
            raise TypeError(
                f"asset {asset} is partitioned: write its partitions with "
                "get_store().write_partitions(...) and return no value"
            )
        if isinstance(obj, pa.Table):
            obj = obj.to_reader()
        if not isinstance(obj, pa.RecordBatchReader):
            raise TypeError(
                f"asset {asset} returned {type(obj).__name__}; this IO manager stores a "
                "pyarrow Table or RecordBatchReader (or None)"
            )
        store = self.get_store()
        path = store.table_path(store_name(context.asset_key))
        counted = _RowCounter(obj)
        size = store.write_table(path, pa.RecordBatchReader.from_batches(obj.schema, counted))
        context.add_output_metadata(
            {
                "dagster/row_count": counted.rows,
                "path": dg.MetadataValue.path(path),
                "bytes": size,
            }
        )

    def load_input(self, context: dg.InputContext) -> pa.Table | pd.DataFrame:
        """The upstream asset as one table: all requested partitions, or its single file.

        Missing partitions are skipped with a warning rather than failing the run, so a
        downstream asset can run while a backfill is still filling the history.
        """
        store = self.get_store()
        name = store_name(context.asset_key)
        if context.has_asset_partitions:
            table = self._load_partitions(context, store, name)
        else:
            path = store.table_path(name)
            if not store.exists(path):
                raise FileNotFoundError(
                    f"asset {context.asset_key.to_user_string()} has not been materialized "
                    f"yet: no file at {path}"
                )
            table = store.read_file(path)
        if context.dagster_type.typing_type is pa.Table:
            return table
        return table.to_pandas()

    def _load_partitions(self, context: dg.InputContext, store: Store, name: str) -> pa.Table:
        keys = context.asset_partition_keys
        table, missing = store.read_table(name, keys)
        if missing:
            shown = ", ".join(missing[:_SHOWN_KEYS]) + (
                ", ..." if len(missing) > _SHOWN_KEYS else ""
            )
            context.log.warning(
                f"{context.asset_key.to_user_string()}: {len(missing)} of {len(keys)} "
                f"partition(s) not materialized, skipped: {shown}"
            )
        if table.num_columns == 0 and name in STREAMS_BY_NAME:
            # No file of the stream exists at all: the catalog still knows its columns.
            table = arrow_schema(STREAMS_BY_NAME[name]).empty_table()
        return table


class _RowCounter:
    """Passes batches through and counts their rows, for ``dagster/row_count``."""

    def __init__(self, reader: pa.RecordBatchReader) -> None:
        self._reader = reader
        self.rows = 0

    def __iter__(self) -> Iterator[pa.RecordBatch]:
        for batch in self._reader:
            self.rows += batch.num_rows
            yield batch
