"""``outreach/<stream>_deletions``: what Outreach deleted, found by an id sweep.

No list endpoint tells of a deletion; a deleted record simply stops appearing. This asset
takes a census of the stream's ids (``client.census``: every id and cursor, 1,000 a
request) and compares it with the ids the current state held before the census began:

* an id the census did not return is recorded as deleted (a tombstone: the id, when the
  census first missed it, the newest cursor we held), and ``<stream>_current`` leaves it
  out from then on;
* an id the census returned with a newer cursor than we hold (or one we never landed, in a
  partition that has landed) has its partition re-synced here, so the current state ends at
  the newest version; for a full snapshot, any difference re-takes today's snapshot.

It never deletes on doubt: a census that failed, stopped or came back unsorted raises
before anything is written; one that would delete more than ``OUTREACH_MAX_DELETE_SHARE``
of the stream, or that comes back empty where the previous one counted thousands, stops
and says so.
"""

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

import dagster as dg
import numpy as np
import pyarrow as pa

from outreach_assets.assets.bound import io_manager_of, outreach_keys, outreach_of
from outreach_assets.assets.stream import outreach_failures
from outreach_assets.assets.sweep import land
from outreach_assets.assets.translator import OutreachTranslator, asset_arguments
from outreach_assets.catalog import Stream
from outreach_assets.client import OutreachClient
from outreach_assets.client.census import NO_CURSOR, Census, take_census
from outreach_assets.config import DeploymentSettings, env
from outreach_assets.convert import ID_COLUMN, arrow_schema
from outreach_assets.storage import PartitionWindow, Store
from outreach_assets.storage import tombstones as graves
from outreach_assets.timestamps import from_micros

SWEPT_KEY: Final = "swept"  # ids the census returned, read back by the next one
EMPTY_GUARD: Final = 1_000  # an empty census after one this big is not believed


@dataclass(frozen=True)
class Held:
    """What the current state held when the census began: ids and cursors (micros)."""

    ids: np.ndarray
    micros: np.ndarray | None


@dataclass(frozen=True)
class Verdict:
    """What one census means for a stream."""

    deleted: np.ndarray  # ids held that the census did not return
    deleted_micros: np.ndarray  # their newest cursor held (NO_CURSOR for snapshots)
    newer_micros: np.ndarray  # census cursors of held ids whose newest version we lack
    unheld_micros: np.ndarray  # census cursors of ids we never landed
    snapshot_changed: bool  # a full snapshot whose ids differ from the census


def held_versions(store: Store, name: str, cursor: str | None) -> Held | None:
    """The ids (and cursors) of the stream's current-state table, None if none landed."""
    path = store.table_path(f"{name}_current")
    if not store.exists(path):
        return None
    columns = [ID_COLUMN] if cursor is None else [ID_COLUMN, cursor]
    table = store.read_file(path, columns)
    ids = np.asarray(table[ID_COLUMN].to_numpy(), dtype=np.int64)
    if cursor is None:
        return Held(ids, None)
    micros = table[cursor].cast(pa.int64()).fill_null(NO_CURSOR).to_numpy()
    return Held(ids, np.asarray(micros, dtype=np.int64))


def judge(held: Held, census: Census) -> Verdict:
    """Compare what we held with what Outreach returned, id by id (vectorized)."""
    found = _array(census.ids)
    gone = ~np.isin(held.ids, found)
    deleted, none = held.ids[gone], np.empty(0, dtype=np.int64)
    if held.micros is None or census.cursors is None:
        changed = bool(gone.any()) or bool((~np.isin(found, held.ids)).any())
        return Verdict(deleted, np.full(len(deleted), NO_CURSOR), none, none, changed)
    found_micros = _array(census.cursors)
    order = np.argsort(held.ids, kind="stable")
    ids, micros = held.ids[order], held.micros[order]
    slot = np.clip(np.searchsorted(ids, found), 0, max(len(ids) - 1, 0))
    matched = ids[slot] == found if len(ids) else np.zeros(len(found), dtype=bool)
    readable = found_micros != NO_CURSOR
    newer = matched & readable & (found_micros > np.where(matched, micros[slot], NO_CURSOR))
    unheld = ~matched & readable
    return Verdict(deleted, held.micros[gone], found_micros[newer], found_micros[unheld], False)


def _array(values: Any) -> np.ndarray:
    return np.frombuffer(values, dtype=np.int64) if len(values) else np.empty(0, np.int64)


def tombstone_table(previous: pa.Table | None, verdict: Verdict, census: Census) -> pa.Table:
    """Every tombstone: the previous ones still missing, and this census's new ones."""
    now = datetime.now(UTC)
    found = _array(census.ids)
    kept: list[pa.Table] = []
    if previous is not None and previous.num_rows:
        back = np.isin(previous[ID_COLUMN].to_numpy(), found)  # a census proves them alive
        kept.append(previous.filter(pa.array(~back)))
    fresh = {
        ID_COLUMN: verdict.deleted,
        graves.DELETED_AT: [now] * len(verdict.deleted),
        graves.LAST_CURSOR: [
            None if m == NO_CURSOR else from_micros(int(m)) for m in verdict.deleted_micros
        ],
    }
    kept.append(pa.table(fresh, schema=graves.SCHEMA))
    table = pa.concat_tables(kept).combine_chunks()
    ids = table[ID_COLUMN].to_numpy()
    _, first = np.unique(ids, return_index=True)  # an id buried twice keeps its first date
    return table.take(pa.array(np.sort(first)))


def stale_windows(
    micros: np.ndarray,
    partitions_def: dg.TimeWindowPartitionsDefinition,
    now: datetime,
    only: set[str] | None = None,
) -> list[list[PartitionWindow]]:
    """The partitions holding the given cursors (within the definition's range, and among
    ``only`` when given), in contiguous runs."""
    keys = set()
    first, last = partitions_def.start.timestamp(), now.timestamp()
    for value in np.unique(micros):
        seconds = int(value) / 1_000_000
        if first <= seconds <= last:
            keys.add(partitions_def.get_partition_key_for_timestamp(seconds))
    if only is not None:
        keys &= only
    windows = sorted((_window(partitions_def, key) for key in keys), key=lambda w: w.start)
    return _contiguous(windows)


def _contiguous(windows: Sequence[PartitionWindow]) -> list[list[PartitionWindow]]:
    """Ordered windows in runs a single sweep can land (each one's end the next's start)."""
    runs: list[list[PartitionWindow]] = []
    for window in windows:
        if runs and runs[-1][-1].end == window.start:
            runs[-1].append(window)
        else:
            runs.append([window])
    return runs


def _window(partitions_def: dg.TimeWindowPartitionsDefinition, key: str) -> PartitionWindow:
    window = partitions_def.time_window_for_partition_key(key)
    return PartitionWindow(key, window.start, window.end)


def doubts(
    stream: Stream,
    held: Held,
    verdict: Verdict,
    census: Census,
    *,
    previous_swept: int | None,
    max_share: float,
) -> str | None:
    """Why this census must not delete anything, or None when it may."""
    if previous_swept is not None and previous_swept >= EMPTY_GUARD and not len(census):
        return (
            f"{stream.name}: the id sweep returned no record where the previous one counted "
            f"{previous_swept:,}; an empty answer is not believed, nothing was deleted"
        )
    share = len(verdict.deleted) / max(len(held.ids), 1)
    if share > max_share:
        return (
            f"{stream.name}: the id sweep would record {len(verdict.deleted):,} of "
            f"{len(held.ids):,} records as deleted ({share:.0%}), more than "
            f"{env('max_delete_share')}={max_share:g}; nothing was deleted. If Outreach "
            f"really lost them, run again with {env('max_delete_share')}={min(1.0, share):.2f}"
        )
    return None


def _previous_swept(instance: dg.DagsterInstance, key: dg.AssetKey) -> int | None:
    event = instance.get_latest_materialization_event(key)
    materialization = event.asset_materialization if event is not None else None
    value = materialization.metadata.get(SWEPT_KEY) if materialization is not None else None
    return value.value if value is not None and isinstance(value.value, int) else None


def build_deletions_asset(
    stream: Stream,
    partitions_def: dg.TimeWindowPartitionsDefinition,
    settings: DeploymentSettings | None = None,
    translator: OutreachTranslator | None = None,
) -> dg.AssetsDefinition:
    """The id sweep of one stream, its tombstones, and the re-syncs it calls for."""
    settings = settings or DeploymentSettings()
    translator = translator or OutreachTranslator()
    keep = settings.kept_columns(stream.name)
    schema = arrow_schema(stream, keep)
    spec = translator.get_deletions_spec(stream, schema)
    stream_key = translator.get_asset_spec(stream, schema).key

    @dg.asset(
        **asset_arguments(spec, _described()),
        pool=translator.pool,
        required_resource_keys=outreach_keys(translator),
        io_manager_key=translator.io_manager_key,
    )
    def _deletions(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        store = io_manager_of(context, translator).ready_store()
        held = held_versions(store, stream.name, stream.cursor)
        client = outreach_of(context, translator).get_client()
        with outreach_failures(context, f"{stream.name}: the id sweep"):
            census = take_census(client, stream)
        previous_path = store.table_path(spec.key.path[-1])
        previous = store.read_file(previous_path) if store.exists(previous_path) else None
        if held is None:
            context.log.info(f"{stream.name}: nothing landed yet; {len(census):,} ids counted")
            table = previous if previous is not None else graves.SCHEMA.empty_table()
            return _result(table, census, 0, [])
        verdict = judge(held, census)
        reason = doubts(
            stream,
            held,
            verdict,
            census,
            previous_swept=_previous_swept(context.instance, spec.key),
            max_share=settings.max_delete_share,
        )
        if reason is not None:
            raise dg.Failure(description=reason, allow_retries=False)
        runs = _runs(stream, verdict, store, partitions_def)
        resynced = list(
            _resync(context, client, store, stream, runs=runs, keep=keep, stream_key=stream_key)
        )
        table = tombstone_table(previous, verdict, census)
        context.log.info(
            f"{stream.name}: id sweep of {len(census):,} ids in {census.requests} requests "
            f"against {len(held.ids):,} held: {len(verdict.deleted):,} deleted, "
            f"{len(resynced)} partition(s) re-synced, {table.num_rows:,} tombstones in all"
        )
        return _result(table, census, len(verdict.deleted), resynced)

    return _deletions


def _runs(
    stream: Stream,
    verdict: Verdict,
    store: Store,
    partitions_def: dg.TimeWindowPartitionsDefinition,
) -> list[list[PartitionWindow]]:
    """What to re-sync: for a snapshot that changed, today's snapshot; otherwise the
    partitions of newer versions, and those of records we never landed where their
    partition has landed (a partition never synced is a backfill's business, not ours)."""
    now = datetime.now(UTC)
    if stream.cursor is None:
        today = partitions_def.get_partition_key_for_timestamp(now.timestamp())
        return [[_window(partitions_def, today)]] if verdict.snapshot_changed else []
    newer = stale_windows(verdict.newer_micros, partitions_def, now)
    landed = set(store.existing_keys(stream.name))
    unheld = stale_windows(verdict.unheld_micros, partitions_def, now, only=landed)
    keys = {w.key for run in (*newer, *unheld) for w in run}
    windows = sorted((_window(partitions_def, k) for k in keys), key=lambda w: w.start)
    return _contiguous(windows)


def _resync(
    context: dg.AssetExecutionContext,
    client: OutreachClient,
    store: Store,
    stream: Stream,
    *,
    runs: list[list[PartitionWindow]],
    keep: frozenset[str],
    stream_key: dg.AssetKey,
) -> Iterator[str]:
    """Land ``runs``, recorded as materializations of the stream itself; yields the keys."""
    for windows in runs:
        what = f"{stream.name}, partitions {windows[0].key}..{windows[-1].key} (re-sync)"
        with outreach_failures(context, what):
            landed = land(client, store, stream, windows, keep)
        for result in landed.results:
            context.log_event(
                dg.AssetMaterialization(
                    asset_key=stream_key,
                    partition=result.key,
                    metadata={"dagster/row_count": result.rows, "resynced_by": "id sweep"},
                )
            )
            yield result.key


def _result(
    table: pa.Table, census: Census, deleted: int, resynced: Sequence[str]
) -> dg.MaterializeResult:
    return dg.MaterializeResult(
        value=table,
        metadata={
            SWEPT_KEY: len(census),
            "requests": census.requests,
            "deleted_now": deleted,
            "tombstones": table.num_rows,
            "resynced_partitions": dg.MetadataValue.json(list(resynced)),
        },
    )


def _described() -> dg.TableSchema:
    return dg.TableSchema(
        columns=[
            dg.TableColumn(ID_COLUMN, "int64", description="The id Outreach no longer returns."),
            dg.TableColumn(
                graves.DELETED_AT,
                "timestamp[us, UTC]",
                description="When an id sweep first found it missing.",
            ),
            dg.TableColumn(
                graves.LAST_CURSOR,
                "timestamp[us, UTC]",
                description="The newest cursor we held for it (null for full snapshots).",
            ),
        ]
    )
