"""The current-state asset: one row per id with the newest cursor, rebuilt from the files.

A changed record moves to a newer partition, so older partitions keep older versions of it;
``<stream>_current`` holds the newest version of each (for full snapshots: the latest
snapshot). A build merges only the partitions materialized since the previous build into
the previous state; the first build, or one after more than :data:`MAX_MERGE_SHARE` of the
files changed, rebuilds from every file, the previous state included, so a record never
falls back to an older version than it had. Records an id sweep found deleted
(``<stream>_deletions``) are left out of either.
"""

import dagster as dg

from outreach_assets.assets.bound import io_manager_of
from outreach_assets.assets.translator import OutreachTranslator, asset_arguments
from outreach_assets.catalog import Stream
from outreach_assets.convert import arrow_schema
from outreach_assets.storage import Store, Tombstones

# The newest materialization of the stream a current-state build has seen (an event storage
# id): the next build merges only the partitions materialized after it.
SOURCE_EVENT_KEY = "outreach/source_event_id"
# Merging is cheaper than a full rebuild while few partitions changed; past this share of
# the stream's files (or on the first build) the whole state is rebuilt, which also drops
# records that re-synced partitions no longer hold.
MAX_MERGE_SHARE = 0.25


def build_current_asset(
    stream: Stream,
    keep: frozenset[str] = frozenset(),
    translator: OutreachTranslator | None = None,
) -> dg.AssetsDefinition:
    """The stream's current state, rebuilt from its partition files (no API calls)."""
    translator = translator or OutreachTranslator()
    schema = arrow_schema(stream, keep)
    spec = translator.get_current_asset_spec(stream, schema)
    source_key = translator.get_asset_spec(stream, schema).key
    deletions_name = translator.get_deletions_spec(stream, schema).key.path[-1]

    @dg.asset(
        **asset_arguments(spec),
        required_resource_keys={translator.io_manager_key},
        io_manager_key=translator.io_manager_key,
    )
    def _current_asset(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        store = io_manager_of(context, translator).ready_store()
        latest = _latest_materialization_id(context.instance, source_key)
        previous = store.table_path(spec.key.path[-1])
        deleted = _tombstones(store, deletions_name)
        changed = _changed_partitions(context, stream.name, source_key, store, previous)
        if changed is None or stream.cursor is None:
            reader = store.current_state(
                stream.name, schema, stream.cursor, previous=previous, deleted=deleted
            )
            rebuild = "full"
        else:
            reader = store.merge_current(
                stream.name, schema, stream.cursor, previous, changed, deleted=deleted
            )
            rebuild = f"incremental ({len(changed)} partition(s) merged)"
        context.log.info(
            f"{spec.key.to_user_string()}: {rebuild} rebuild, {len(deleted):,} deleted "
            "record(s) left out"
        )
        return dg.MaterializeResult(
            value=reader,
            metadata={
                "rebuild": rebuild,
                "deleted_left_out": len(deleted),
                SOURCE_EVENT_KEY: latest if latest is not None else -1,
            },
        )

    return _current_asset


def _tombstones(store: Store, name: str) -> Tombstones:
    """The stream's deletions (none before its first id sweep)."""
    path = store.table_path(name)
    return (
        Tombstones.from_table(store.read_file(path)) if store.exists(path) else Tombstones.empty()
    )


def _latest_materialization_id(instance: dg.DagsterInstance, key: dg.AssetKey) -> int | None:
    result = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=key), limit=1, ascending=False
    )
    return result.records[0].storage_id if result.records else None


def _changed_partitions(
    context: dg.AssetExecutionContext,
    name: str,
    source_key: dg.AssetKey,
    store: Store,
    previous: str,
) -> list[str] | None:
    """Partitions of the stream materialized since the last build, or None for a full one."""
    last = context.instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=context.asset_key), limit=1, ascending=False
    )
    if not last.records:
        return None
    event = last.records[0].asset_materialization
    seen = event.metadata.get(SOURCE_EVENT_KEY) if event is not None else None
    if seen is None or not isinstance(seen.value, int) or seen.value < 0:
        return None
    if not store.exists(previous):
        return None
    existing = store.existing_keys(name)
    limit = max(1, int(len(existing) * MAX_MERGE_SHARE))
    since = context.instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=source_key, after_storage_id=seen.value),
        limit=limit + 1,
    )
    keys = {r.partition_key for r in since.records if r.partition_key is not None}
    if since.has_more or len(keys) > limit:
        return None
    return sorted(keys)
