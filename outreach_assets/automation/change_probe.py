"""What changed since the last sync: the landed baseline and the one-request probe.

The change sensor compares two cursors per stream: the newest one in the files (or the last
materialization's metadata) and the oldest one Outreach holds beyond it. Both are read here;
deciding what to run is the sensor's job (``automation.change_sensor``).
"""

from collections.abc import Generator
from dataclasses import replace
from datetime import datetime

import dagster as dg
import pyarrow.compute as pc

from outreach_assets.catalog import Stream
from outreach_assets.client import OutreachClient
from outreach_assets.config import ClientSettings
from outreach_assets.errors import RetriableAPIError
from outreach_assets.storage import Store
from outreach_assets.timestamps import ONE_MS, aware, parse_timestamp

# A sensor tick must return within Dagster's sensor gRPC timeout (60 s by default), or it
# fails and its cursor is lost. The probes therefore get a time budget and a client that
# gives up quickly instead of waiting an hour for the quota window: a stream not probed in
# one tick is probed in the next.
PROBE_BUDGET_S = 40.0
PROBE_MAX_RATE_LIMIT_WAIT_S = 5.0
PROBE_REQUEST_TIMEOUT_S = 10.0
PROBE_MAX_RETRIES = 1


def landed_cursor(
    stream: Stream,
    store: Store,
    instance: dg.DagsterInstance,
    partitions_def: dg.TimeWindowPartitionsDefinition,
    key: dg.AssetKey,
) -> datetime | None:
    """The newest cursor that has landed for ``stream``, or None if nothing has.

    The newest partition file decides: its largest cursor. An empty newest file says nothing
    in its window existed when it was written, so everything from the window's start is
    new. Without files (a different data folder, pruned files), the stream's latest
    materialization metadata ``max_<cursor>``.
    """
    cursor = stream.cursor
    if cursor is None:
        return None
    keys = store.existing_keys(stream.name)
    if not keys:
        return _metadata_cursor(stream, instance, key)
    table, _ = store.read_table(stream.name, [keys[-1]], columns=[cursor])
    newest = pc.max(table.column(cursor)).as_py() if table.num_rows else None
    if newest is not None:
        return aware(newest)
    return partitions_def.time_window_for_partition_key(keys[-1]).start - ONE_MS


def _metadata_cursor(
    stream: Stream, instance: dg.DagsterInstance, key: dg.AssetKey
) -> datetime | None:
    event = instance.get_latest_materialization_event(key)
    materialization = event.asset_materialization if event is not None else None
    if materialization is None:
        return None
    value = materialization.metadata.get(f"max_{stream.cursor}")
    return parse_timestamp(value.value if value is not None else None)


def probe(client: OutreachClient, stream: Stream, after: datetime) -> datetime | None:
    """The cursor of the oldest record newer than ``after``, or None: one request.

    Page size 1, sorted by the cursor ascending, first page only (the scan is closed, so
    ``links.next`` is never followed).
    """
    pages = client.iter_pages(stream, after + ONE_MS, page_size=1)
    try:
        page = next(pages, None)
    finally:
        if isinstance(pages, Generator):
            pages.close()
    if page is None or not page.records:
        return None
    attributes = page.records[0].get("attributes") or {}
    found = parse_timestamp(attributes.get(stream.cursor))
    if found is None:
        raise RetriableAPIError(
            f"{stream.name}: the probe's record has no readable {stream.cursor!r}",
            stream=stream.name,
            url_path=page.url_path,
        )
    return found if found > after else None  # a server that ignored the filter: no news


def probe_settings(settings: ClientSettings) -> ClientSettings:
    """The resource's settings with the short waits a sensor tick can afford."""
    return replace(
        settings,
        max_rate_limit_wait_s=min(settings.max_rate_limit_wait_s, PROBE_MAX_RATE_LIMIT_WAIT_S),
        request_timeout_s=min(settings.request_timeout_s, PROBE_REQUEST_TIMEOUT_S),
        max_retries=min(settings.max_retries, PROBE_MAX_RETRIES),
    )
