"""The asset factory: every catalog stream becomes a partitioned asset and a current-state asset.

``outreach/<stream>``: one file per partition, written by one sweep of the API per run.
Backfills run as a single run per range (``BackfillPolicy.single_run``), so a range costs
about one scan of the API instead of one scan per partition; the store splits the sweep
into per-partition files. Checks (ids unique, cursor inside the window, schema equal to
the catalog's) are computed on the committed files while writing and are blocking: the
current-state asset downstream is not rebuilt from a bad partition in the same run.

``outreach/<stream>_current``: one row per id with the newest cursor across all
partitions (a changed record moves to a newer partition, so older partitions keep older
versions of it); for full-snapshot streams, the latest snapshot.
"""

import json
import os
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import dagster as dg
import pyarrow as pa

from outreach_assets.catalog import STREAMS, Stream
from outreach_assets.client import (
    OutreachAPIError,
    OutreachAuthError,
    OutreachConfigError,
    OutreachError,
)
from outreach_assets.extract import SweepStats, sweep
from outreach_assets.io_manager import OutreachParquetIOManager
from outreach_assets.records import arrow_schema
from outreach_assets.resource import OutreachResource
from outreach_assets.storage import ParquetStore, PartitionResult, PartitionWindow

KEY_PREFIX = "outreach"
GROUP = "outreach"
POOL = "outreach_api"  # every asset that calls Outreach shares this concurrency pool
ENV_KEEP_COLUMNS = "OUTREACH_KEEP_COLUMNS"  # e.g. "prospects.contactHistogram"

# Transient failures the client's own retries did not absorb (a long outage): the step asks
# Dagster to run it again later, with these growing, jittered delays. It asks by raising
# RetryRequested; the policy is not the asset's retry_policy, because Dagster turns an
# interrupt inside an op that has one (Ctrl-C, SIGTERM, Terminate in the UI) into a retry
# (dagster-io/dagster#15026): a stopped run would go on and wait for the quota again.
# A killed worker is the instance's run_retries' business (dagster.yaml).
RETRY_POLICY = dg.RetryPolicy(
    max_retries=3, delay=60, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS
)

# A current-state table is rebuilt once any partition of its stream has landed and the
# stream has no run in flight. Not ``AutomationCondition.eager()``: eager also waits until no
# upstream partition is missing, which never holds while the history is not fully backfilled.
CURRENT_STATE_CONDITION = (
    dg.AutomationCondition.any_deps_updated().since_last_handled()
    & ~dg.AutomationCondition.any_deps_in_progress()
    & ~dg.AutomationCondition.in_progress()
).with_label("rebuild_after_stream_update")

# Dagster copies a range run's metadata onto every partition's materialization, so a
# per-partition map would grow with the square of the range (1,000 partitions: ~20 KB per
# event, ~1 GB of event log for a full backfill). Longer ranges log the counts instead.
MAX_PARTITIONS_IN_METADATA = 31

CHECK_IDS_UNIQUE = "ids_unique"
CHECK_CURSOR_IN_WINDOW = "cursor_in_window"
CHECK_SCHEMA = "schema_matches_catalog"

_ARROW_TO_COLUMN_TYPE = {
    pa.types.is_int64: "int64",
    pa.types.is_float64: "float64",
    pa.types.is_boolean: "boolean",
    pa.types.is_string: "string",
    pa.types.is_timestamp: "timestamp[us, UTC]",
    pa.types.is_date32: "date",
}


def stream_key(stream: Stream) -> dg.AssetKey:
    return dg.AssetKey([KEY_PREFIX, stream.name])


def current_key(stream: Stream) -> dg.AssetKey:
    return dg.AssetKey([KEY_PREFIX, f"{stream.name}_current"])


def keep_columns_from_env(environ: Mapping[str, str] | None = None) -> dict[str, frozenset[str]]:
    """Parse ``OUTREACH_KEEP_COLUMNS=prospects.contactHistogram,...`` into keep sets.

    Only columns the catalog drops by default can be kept; anything else is an error that
    names the variable, so a typo never silently changes a schema.
    """
    raw = (os.environ if environ is None else environ).get(ENV_KEEP_COLUMNS, "")
    keep: dict[str, set[str]] = {}
    droppable = {f"{s.name}.{c}" for s in STREAMS for c in s.dropped_by_default}
    for item in filter(None, (part.strip() for part in raw.split(","))):
        if item not in droppable:
            raise ValueError(
                f"{ENV_KEEP_COLUMNS}: {item!r} is not a column dropped by default; "
                f"choose from {', '.join(sorted(droppable))}"
            )
        name, column = item.split(".", 1)
        keep.setdefault(name, set()).add(column)
    return {name: frozenset(columns) for name, columns in keep.items()}


def table_schema(schema: pa.Schema) -> dg.TableSchema:
    """The Arrow schema as Dagster's column schema (shown on the asset page)."""
    return dg.TableSchema(columns=[dg.TableColumn(f.name, _column_type(f.type)) for f in schema])


def _column_type(arrow_type: pa.DataType) -> str:
    for test, name in _ARROW_TO_COLUMN_TYPE.items():
        if test(arrow_type):
            return name
    return str(arrow_type)


def _is_permanent(exc: OutreachError) -> bool:
    """Errors a later retry cannot fix: bad credentials or config, refused 4xx requests."""
    if isinstance(exc, OutreachAPIError):
        return exc.is_permanent
    return isinstance(exc, OutreachAuthError | OutreachConfigError)


def run_windows(
    context: dg.AssetExecutionContext, partitions_def: dg.TimeWindowPartitionsDefinition
) -> list[PartitionWindow]:
    """The windows of this run's partitions, in order (one, or a backfill's whole range)."""
    windows = []
    for key in context.partition_keys:
        window = partitions_def.time_window_for_partition_key(key)
        windows.append(PartitionWindow(key, window.start, window.end))
    return windows


def check_results(results: Sequence[PartitionResult]) -> list[dg.AssetCheckResult]:
    """The three data checks over every partition the run wrote; failing keys are named."""

    def result(name: str, bad: list[str], what: str) -> dg.AssetCheckResult:
        return dg.AssetCheckResult(
            check_name=name,
            passed=not bad,
            metadata={"partitions_checked": len(results), "failing_partitions": bad[:50]},
            description=f"{len(bad)} partition(s) {what}" if bad else None,
        )

    return [
        result(CHECK_IDS_UNIQUE, [r.key for r in results if not r.ids_unique], "repeat an id"),
        result(
            CHECK_CURSOR_IN_WINDOW,
            [r.key for r in results if r.cursor_outside_window],
            "hold rows whose cursor is outside the partition window",
        ),
        result(
            CHECK_SCHEMA,
            [r.key for r in results if not r.schema_matches],
            "differ from the catalog's schema",
        ),
    ]


def run_metadata(
    stream: Stream,
    results: Sequence[PartitionResult],
    sweep_stats: SweepStats,
    requests: int,
) -> dict[str, Any]:
    """Output metadata; with a partition range every partition gets the run's figures."""
    rows = sum(r.rows for r in results)
    cursors = [c for r in results for c in (r.min_cursor, r.max_cursor) if c is not None]
    metadata: dict[str, Any] = {
        "rows_in_run": rows,
        "partitions_in_run": len(results),
        "bytes": sum(r.bytes for r in results),
        "requests": requests,
        "pages": sweep_stats.pages,
        "page_size": max(sweep_stats.page_sizes) if sweep_stats.page_sizes else None,
        "rows_outside_run_range": sweep_stats.outside_range,
        "duplicates_removed": sum(r.duplicates_removed for r in results),
    }
    if len(results) == 1:
        metadata["dagster/row_count"] = rows
        metadata["path"] = dg.MetadataValue.path(results[0].path)
    elif len(results) <= MAX_PARTITIONS_IN_METADATA:
        metadata["rows_per_partition"] = dg.MetadataValue.json({r.key: r.rows for r in results})
    if cursors and stream.cursor:
        metadata[f"min_{stream.cursor}"] = min(cursors).isoformat()
        metadata[f"max_{stream.cursor}"] = max(cursors).isoformat()
    moved = sweep_stats.conversion.moved_to_extra
    if moved or sweep_stats.conversion.unknown_attributes:
        metadata["values_moved_to__extra"] = dg.MetadataValue.json(moved)
        metadata["unknown_attributes"] = dg.MetadataValue.json(
            sweep_stats.conversion.unknown_attributes
        )
    return metadata


def build_stream_asset(
    stream: Stream,
    partitions_def: dg.TimeWindowPartitionsDefinition,
    keep: frozenset[str] = frozenset(),
) -> dg.AssetsDefinition:
    """One partitioned asset for a catalog stream."""
    schema = arrow_schema(stream, keep)
    key = stream_key(stream)
    replication = (
        f"incremental on `{stream.cursor}`" if stream.cursor else "full snapshot per period"
    )

    @dg.asset(
        key=key,
        group_name=GROUP,
        kinds={"outreach", "parquet"},
        description=f"{stream.description}\n\nOutreach `/{stream.path}`, {replication}.",
        partitions_def=partitions_def,
        backfill_policy=dg.BackfillPolicy.single_run(),
        pool=POOL,
        metadata={
            "dagster/column_schema": table_schema(schema),
            "outreach/path": f"/{stream.path}",
            "outreach/cursor": stream.cursor or "none (full snapshot)",
            "outreach/scope": stream.scope,
        },
        check_specs=[
            dg.AssetCheckSpec(name, asset=key, blocking=True)
            for name in (CHECK_IDS_UNIQUE, CHECK_CURSOR_IN_WINDOW, CHECK_SCHEMA)
        ],
    )
    def _stream_asset(
        context: dg.AssetExecutionContext,
        outreach: OutreachResource,
        io_manager: dg.ResourceParam[OutreachParquetIOManager],
    ) -> dg.MaterializeResult:
        windows = run_windows(context, partitions_def)
        client = outreach.get_client()
        requests_before = client.stats.requests
        stats = SweepStats()
        try:
            results = io_manager.get_store().write_partitions(
                stream.name,
                schema,
                stream.cursor,
                windows,
                sweep(client, stream, windows, stats, keep=keep),
            )
        except OutreachError as exc:
            if not _is_permanent(exc):
                raise dg.RetryRequested(
                    max_retries=RETRY_POLICY.max_retries,
                    seconds_to_wait=RETRY_POLICY.calculate_delay(context.retry_number + 1),
                ) from exc
            raise dg.Failure(
                description=f"{stream.name}, partitions {windows[0].key}..{windows[-1].key}: "
                f"{exc}. Retrying cannot fix this; the previous files are unchanged.",
                allow_retries=False,
            ) from exc
        requests = client.stats.requests - requests_before
        context.log.info(
            f"{stream.name} {windows[0].key}..{windows[-1].key}: {stats.records} records in "
            f"{stats.pages} pages ({requests} requests) -> {len(results)} partition file(s), "
            f"{sum(r.rows for r in results)} rows"
        )
        if len(results) > MAX_PARTITIONS_IN_METADATA:
            nonempty = {r.key: r.rows for r in results if r.rows}
            context.log.info(f"{stream.name}: rows per non-empty partition: {json.dumps(nonempty)}")
        decoder = stats.decoder
        if decoder is not None and decoder.refused:
            context.log.info(
                f"{stream.name}: {decoder.refused} of {decoder.refused + decoder.decoded} "
                f"pages went the slower way (json.loads, then conversion) instead of being "
                f"read straight into Arrow: {json.dumps(decoder.reasons)}; last: "
                f"{decoder.last_refusal}"
            )
        if stats.conversion.moved_to_extra:
            context.log.warning(
                f"{stream.name}: values of an unexpected type were kept in _extra instead of "
                f"their column: {json.dumps(stats.conversion.moved_to_extra)}"
            )
        return dg.MaterializeResult(
            metadata=run_metadata(stream, results, stats, requests),
            check_results=check_results(results),
        )

    return _stream_asset


def build_current_asset(stream: Stream, keep: frozenset[str] = frozenset()) -> dg.AssetsDefinition:
    """The stream's current state: one row per id, newest version, rebuilt from the files."""
    schema = arrow_schema(stream, keep)
    what = (
        f"one row per id with the newest `{stream.cursor}`"
        if stream.cursor
        else "the latest snapshot"
    )

    @dg.asset(
        key=current_key(stream),
        group_name=GROUP,
        kinds={"parquet"},
        deps=[stream_key(stream)],
        description=f"Current state of `outreach/{stream.name}`: {what}.",
        metadata={"dagster/column_schema": table_schema(schema)},
        automation_condition=CURRENT_STATE_CONDITION,
    )
    def _current_asset(
        context: dg.AssetExecutionContext,
        io_manager: dg.ResourceParam[OutreachParquetIOManager],
    ) -> dg.MaterializeResult:
        store = io_manager.get_store()
        name = stream.name
        latest = _latest_materialization_id(context.instance, stream_key(stream))
        changed = _changed_partitions(context, stream, store)
        if changed is None or stream.cursor is None:
            reader = store.current_state(name, schema, stream.cursor)
            rebuild = "full"
        else:
            previous = store.table_path(current_key(stream).path[-1])
            reader = store.merge_current(name, schema, stream.cursor, previous, changed)
            rebuild = f"incremental ({len(changed)} partition(s) merged)"
        context.log.info(f"{current_key(stream).to_user_string()}: {rebuild} rebuild")
        return dg.MaterializeResult(
            value=reader,
            metadata={"rebuild": rebuild, SOURCE_EVENT_KEY: latest if latest is not None else -1},
        )

    return _current_asset


# The newest materialization of the stream a current-state build has seen (an event storage
# id): the next build merges only the partitions materialized after it.
SOURCE_EVENT_KEY = "outreach/source_event_id"
# Merging is cheaper than a full rebuild while few partitions changed; past this share of
# the stream's files (or on the first build) the whole state is rebuilt, which also drops
# records that re-synced partitions no longer hold.
MAX_MERGE_SHARE = 0.25


def _latest_materialization_id(instance: dg.DagsterInstance, key: dg.AssetKey) -> int | None:
    result = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=key), limit=1, ascending=False
    )
    return result.records[0].storage_id if result.records else None


def _changed_partitions(
    context: dg.AssetExecutionContext, stream: Stream, store: ParquetStore
) -> list[str] | None:
    """Partitions of the stream materialized since the last build, or None for a full one."""
    last = context.instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=current_key(stream)), limit=1, ascending=False
    )
    if not last.records:
        return None
    event = last.records[0].asset_materialization
    seen = event.metadata.get(SOURCE_EVENT_KEY) if event is not None else None
    if seen is None or not isinstance(seen.value, int) or seen.value < 0:
        return None
    if not store.exists(store.table_path(current_key(stream).path[-1])):
        return None
    existing = store.existing_keys(stream.name)
    limit = max(1, int(len(existing) * MAX_MERGE_SHARE))
    since = context.instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=stream_key(stream), after_storage_id=seen.value),
        limit=limit + 1,
    )
    keys = {r.partition_key for r in since.records if r.partition_key is not None}
    if since.has_more or len(keys) > limit:
        return None
    return sorted(keys)


def build_assets(
    partitions_def: dg.TimeWindowPartitionsDefinition,
    keep: Mapping[str, frozenset[str]] | None = None,
) -> list[dg.AssetsDefinition]:
    """Every stream's partitioned asset and current-state asset, with code references."""
    keep = keep or {}
    assets = []
    # Single-run backfill policies and code references are flagged beta; they are deliberate
    # here, and 48 identical warnings at every code-location load would bury real ones.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.BetaWarning)
        for stream in STREAMS:
            columns = keep.get(stream.name, frozenset())
            assets.append(build_stream_asset(stream, partitions_def, columns))
            assets.append(build_current_asset(stream, columns))
        referenced = dg.with_source_code_references(assets)
    return [a for a in referenced if isinstance(a, dg.AssetsDefinition)]
