"""Automation: when the stream assets refresh, and what each trigger costs in API requests.

Three triggers request runs of the partitioned stream assets; the current-state tables
follow on their own (``assets.CURRENT_STATE_CONDITION``, evaluated by the
``outreach_current_state_automation`` sensor, which makes no API calls).

* ``outreach_close_out`` (on by default, one run per period): once a period has ended plus
  a lag (``OUTREACH_CLOSE_LAG_HOURS``, default 6), sync that period for every stream, full
  snapshots included. Daily partitions: 06:00 UTC, yesterday. The lag gives records written
  at the end of the period time to reach Outreach's list endpoints; whatever the day's
  refreshes missed lands here.
* ``outreach_open_period_refresh`` (off by default): on ``OUTREACH_REFRESH_CRON`` (default
  hourly), sync the still-open period of every incremental stream. Costs one request per
  stream per tick plus one per further page of the period's records.
* ``outreach_change_sensor`` (off by default): every ``OUTREACH_SENSOR_INTERVAL_S`` (default
  300 s), ask Outreach once per incremental stream for the oldest record newer than what
  has landed (one record, one request), and request runs only for streams that changed,
  over the partitions from that record's through the open one.

Nothing that is on by default can spend the quota faster than the data grows: the close-out
reads each period once. The refresh and the sensor trade requests for freshness, so the
user turns them on (README, "Automation").
"""

import json
import os
import time
from collections.abc import Generator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

import dagster as dg
import pyarrow.compute as pc

from outreach_assets.assets import stream_key
from outreach_assets.catalog import STREAMS, Stream
from outreach_assets.client import (
    ClientSettings,
    OutreachAPIError,
    OutreachClient,
    OutreachRateLimitError,
    format_cursor_time,
)
from outreach_assets.client.log import LoggerLike
from outreach_assets.io_manager import OutreachParquetIOManager
from outreach_assets.jobs import CURRENT_STATE
from outreach_assets.resource import OutreachResource
from outreach_assets.storage import ParquetStore

ENV_REFRESH_CRON = "OUTREACH_REFRESH_CRON"
ENV_CLOSE_LAG_HOURS = "OUTREACH_CLOSE_LAG_HOURS"
ENV_SENSOR_INTERVAL_S = "OUTREACH_SENSOR_INTERVAL_S"
DEFAULT_REFRESH_CRON = "0 * * * *"
DEFAULT_CLOSE_LAG_HOURS = 6.0
DEFAULT_SENSOR_INTERVAL_S = 300
# Below a week, so the close-out tick of a weekly or monthly period stays inside the period
# that follows (a monthly tick on day 1 + lag must be a day every month has).
MAX_CLOSE_LAG_HOURS = 7 * 24
MIN_SENSOR_INTERVAL_S = 30

CLOSE_OUT_SCHEDULE = "outreach_close_out"
REFRESH_SCHEDULE = "outreach_open_period_refresh"
CHANGE_SENSOR = "outreach_change_sensor"
CURRENT_STATE_SENSOR = "outreach_current_state_automation"

TRIGGER_TAG = "outreach/trigger"
STREAM_TAG = "outreach/stream"
# Dagster's system tags for a run over a partition range (what a single-run backfill sets).
RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"

# A sensor tick must return within Dagster's sensor gRPC timeout (60 s by default), or it
# fails and its cursor is lost. The probes therefore get a time budget and a client that
# gives up quickly instead of waiting an hour for the quota window: a stream not probed in
# one tick is probed in the next.
PROBE_BUDGET_S = 40.0
PROBE_MAX_RATE_LIMIT_WAIT_S = 5.0
PROBE_REQUEST_TIMEOUT_S = 10.0
PROBE_MAX_RETRIES = 1
ONE_MS = timedelta(milliseconds=1)  # the resolution of Outreach's cursor timestamps


class AutomationConfigError(ValueError):
    """An automation setting from the environment is unusable; the message names it."""


@dataclass(frozen=True)
class AutomationSettings:
    refresh_cron: str = DEFAULT_REFRESH_CRON
    close_lag: timedelta = timedelta(hours=DEFAULT_CLOSE_LAG_HOURS)
    sensor_interval_s: int = DEFAULT_SENSOR_INTERVAL_S


def automation_settings_from_env(environ: Mapping[str, str] | None = None) -> AutomationSettings:
    """Read the three knobs; unset or empty means the default."""
    env = os.environ if environ is None else environ
    lag_text = (env.get(ENV_CLOSE_LAG_HOURS) or "").strip()
    interval_text = (env.get(ENV_SENSOR_INTERVAL_S) or "").strip()
    return AutomationSettings(
        refresh_cron=(env.get(ENV_REFRESH_CRON) or "").strip() or DEFAULT_REFRESH_CRON,
        close_lag=_close_lag(lag_text) if lag_text else timedelta(hours=DEFAULT_CLOSE_LAG_HOURS),
        sensor_interval_s=_sensor_interval(interval_text)
        if interval_text
        else DEFAULT_SENSOR_INTERVAL_S,
    )


def _close_lag(text: str) -> timedelta:
    try:
        hours = float(text)
    except ValueError:
        hours = -1.0
    if not 0 <= hours < MAX_CLOSE_LAG_HOURS:  # also refuses nan and inf
        raise AutomationConfigError(
            f"{ENV_CLOSE_LAG_HOURS}={text!r} must be a number of hours from 0 to below "
            f"{MAX_CLOSE_LAG_HOURS}"
        )
    return timedelta(minutes=round(hours * 60))


def _sensor_interval(text: str) -> int:
    try:
        seconds = int(text)
    except ValueError:
        seconds = 0
    if seconds < MIN_SENSOR_INTERVAL_S:
        raise AutomationConfigError(
            f"{ENV_SENSOR_INTERVAL_S}={text!r} must be a whole number of seconds, at least "
            f"{MIN_SENSOR_INTERVAL_S}"
        )
    return seconds


# --- partitions at a moment -------------------------------------------------------------


def open_partition_key(
    partitions_def: dg.TimeWindowPartitionsDefinition, moment: datetime
) -> str | None:
    """The partition whose window contains ``moment``; None before the first partition."""
    if moment < partitions_def.start:
        return None
    return partitions_def.get_partition_key_for_timestamp(moment.timestamp())


def closed_partition_key(
    partitions_def: dg.TimeWindowPartitionsDefinition, moment: datetime, lag: timedelta
) -> str | None:
    """The newest partition whose window ended at least ``lag`` before ``moment``."""
    containing = open_partition_key(partitions_def, moment - lag)
    if containing is None:
        return None
    window = partitions_def.time_window_for_partition_key(containing)
    previous = partitions_def.get_prev_partition_window(window.start)
    if previous is None:
        return None
    return partitions_def.get_partition_key_for_timestamp(previous.start.timestamp())


def close_out_cron(partitions_def: dg.TimeWindowPartitionsDefinition, lag: timedelta) -> str:
    """The partitions' own cron shifted by ``lag``: one tick per period, ``lag`` after its end.

    Daily ``0 0 * * *`` + 6 h -> ``0 6 * * *``; weekly ``0 0 * * 0`` + 30 h -> ``0 6 * * 1``;
    monthly ``0 0 1 * *`` + 30 h -> ``0 6 2 * *``.
    """
    parts = partitions_def.cron_schedule.split()
    if len(parts) != 5 or not (parts[0].isdigit() and parts[1].isdigit()) or parts[3] != "*":
        raise ValueError(f"cannot shift the partition cron {partitions_def.cron_schedule!r}")
    minute, hour, day_of_month, month, day_of_week = parts
    total = int(hour) * 60 + int(minute) + round(lag.total_seconds() / 60)
    days, minutes = divmod(total, 24 * 60)
    if day_of_week != "*":
        day_of_week = str((int(day_of_week) + days) % 7)
    elif day_of_month != "*":
        day_of_month = str(int(day_of_month) + days)
    return f"{minutes % 60} {minutes // 60} {day_of_month} {month} {day_of_week}"


def _tick_time(context: dg.ScheduleEvaluationContext) -> datetime:
    moment = context.scheduled_execution_time
    return datetime.now(UTC) if moment is None else moment.astimezone(UTC)


def _incremental_streams() -> list[Stream]:
    return [s for s in STREAMS if s.is_incremental and s.cursor]


def _selection(streams: Sequence[Stream]) -> dg.AssetSelection:
    return dg.AssetSelection.assets(*(stream_key(s) for s in streams))


# --- schedules --------------------------------------------------------------------------


def build_close_out_schedule(
    partitions_def: dg.TimeWindowPartitionsDefinition, lag: timedelta
) -> dg.ScheduleDefinition:
    """Every stream, the period that ended ``lag`` ago: one run per period, on by default."""
    keys = [stream_key(s) for s in STREAMS]
    hours = lag.total_seconds() / 3600

    @dg.schedule(
        cron_schedule=close_out_cron(partitions_def, lag),
        name=CLOSE_OUT_SCHEDULE,
        target=_selection(STREAMS),
        execution_timezone=partitions_def.timezone,
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description=f"Sync the period that ended {hours:g} h ago for every stream "
        f"({ENV_CLOSE_LAG_HOURS}); one run per period.",
    )
    def _close_out(context: dg.ScheduleEvaluationContext) -> dg.RunRequest | dg.SkipReason:
        key = closed_partition_key(partitions_def, _tick_time(context), lag)
        if key is None:
            return dg.SkipReason(f"no partition has ended {hours:g} h before this tick yet")
        return dg.RunRequest(
            run_key=f"{CLOSE_OUT_SCHEDULE}:{key}",
            partition_key=key,
            asset_selection=keys,
            tags={TRIGGER_TAG: "close_out"},
        )

    return _close_out


def build_refresh_schedule(
    partitions_def: dg.TimeWindowPartitionsDefinition, cron: str
) -> dg.ScheduleDefinition:
    """Every incremental stream, the period the tick falls in; off by default."""
    streams = _incremental_streams()
    keys = [stream_key(s) for s in streams]

    def refresh(context: dg.ScheduleEvaluationContext) -> dg.RunRequest | dg.SkipReason:
        moment = _tick_time(context)
        key = open_partition_key(partitions_def, moment)
        if key is None:
            return dg.SkipReason(f"{moment.isoformat()} is before the first partition")
        return dg.RunRequest(
            run_key=f"{REFRESH_SCHEDULE}:{key}:{format_cursor_time(moment)}",
            partition_key=key,
            asset_selection=keys,
            tags={TRIGGER_TAG: "refresh"},
        )

    try:
        return dg.ScheduleDefinition(
            name=REFRESH_SCHEDULE,
            cron_schedule=cron,
            execution_fn=refresh,
            target=_selection(streams),
            execution_timezone=partitions_def.timezone,
            default_status=dg.DefaultScheduleStatus.STOPPED,
            description=f"Sync the open period of the {len(streams)} incremental streams "
            f"({ENV_REFRESH_CRON}={cron!r}).",
        )
    except dg.DagsterInvalidDefinitionError:
        raise AutomationConfigError(
            f"{ENV_REFRESH_CRON}={cron!r} is not a cron schedule; e.g. '0 * * * *' (hourly)"
        ) from None


# --- the change sensor ------------------------------------------------------------------


def parse_sensor_cursor(text: str | None, log: LoggerLike | None = None) -> dict[str, datetime]:
    """The sensor's cursor: stream -> newest cursor landed or already requested.

    An unreadable cursor (edited by hand) starts over from the files, with a warning,
    rather than stopping the sensor.
    """
    if not text:
        return {}
    try:
        raw = json.loads(text)
        if not isinstance(raw, dict):
            raise ValueError("not an object")
        return {str(name): _aware(datetime.fromisoformat(value)) for name, value in raw.items()}
    except (ValueError, TypeError) as exc:
        if log is not None:
            log.warning(f"{CHANGE_SENSOR}: ignoring an unreadable cursor ({exc}); starting over")
        return {}


def dump_sensor_cursor(seen: Mapping[str, datetime]) -> str:
    return json.dumps({name: format_cursor_time(seen[name]) for name in sorted(seen)})


def _aware(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _parse_time(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return _aware(datetime.fromisoformat(value))
    except ValueError:
        return None


def landed_cursor(
    stream: Stream,
    store: ParquetStore,
    instance: dg.DagsterInstance,
    partitions_def: dg.TimeWindowPartitionsDefinition,
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
        return _metadata_cursor(stream, instance)
    table, _ = store.read_table(stream.name, [keys[-1]], columns=[cursor])
    newest = pc.max(table.column(cursor)).as_py() if table.num_rows else None
    if newest is not None:
        return _aware(newest)
    return partitions_def.time_window_for_partition_key(keys[-1]).start - ONE_MS


def _metadata_cursor(stream: Stream, instance: dg.DagsterInstance) -> datetime | None:
    event = instance.get_latest_materialization_event(stream_key(stream))
    materialization = event.asset_materialization if event is not None else None
    if materialization is None:
        return None
    value = materialization.metadata.get(f"max_{stream.cursor}")
    return _parse_time(value.value if value is not None else None)


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
    found = _parse_time(attributes.get(stream.cursor))
    if found is None:
        raise OutreachAPIError(
            f"{stream.name}: the probe's record has no readable {stream.cursor!r}",
            stream=stream.name,
            url_path=page.url_path,
        )
    return found if found > after else None  # a server that ignored the filter: no news


def change_run_request(
    stream: Stream,
    partitions_def: dg.TimeWindowPartitionsDefinition,
    changed_at: datetime,
    now: datetime,
) -> dg.RunRequest | None:
    """One run for ``stream``: the partitions from ``changed_at``'s through the open one.

    A range is one run and one API sweep (the assets' single-run backfill policy). The run
    key names the stream, the range and the change, so the daemon never launches the same
    change twice but does launch a later one.
    """
    last = open_partition_key(partitions_def, now)
    if last is None:
        return None
    first = open_partition_key(partitions_def, min(max(changed_at, partitions_def.start), now))
    if first is None:
        return None
    run_key = f"{CHANGE_SENSOR}:{stream.name}:{first}..{last}:{format_cursor_time(changed_at)}"
    tags = {TRIGGER_TAG: "change_sensor", STREAM_TAG: stream.name}
    if first == last:
        return dg.RunRequest(
            run_key=run_key, asset_selection=[stream_key(stream)], partition_key=first, tags=tags
        )
    return dg.RunRequest(
        run_key=run_key,
        asset_selection=[stream_key(stream)],
        tags={**tags, RANGE_START_TAG: first, RANGE_END_TAG: last},
    )


def probe_settings(settings: ClientSettings) -> ClientSettings:
    """The resource's settings with the short waits a sensor tick can afford."""
    return replace(
        settings,
        max_rate_limit_wait_s=min(settings.max_rate_limit_wait_s, PROBE_MAX_RATE_LIMIT_WAIT_S),
        request_timeout_s=min(settings.request_timeout_s, PROBE_REQUEST_TIMEOUT_S),
        max_retries=min(settings.max_retries, PROBE_MAX_RETRIES),
    )


@dataclass
class ChangeTick:
    """What one sensor tick found and asked for, for its log line and its result."""

    requests: int = 0
    changed: dict[str, datetime] = field(default_factory=dict)
    run_requests: list[dg.RunRequest] = field(default_factory=list)
    requested: list[str] = field(default_factory=list)  # "<stream> <first>[..<last>]"
    not_landed: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    not_probed: list[str] = field(default_factory=list)

    def summary(self, streams: int) -> str:
        parts = [f"{CHANGE_SENSOR}: {self.requests} API request(s) for {streams} streams"]
        if self.changed:
            parts.append(f"changed: {', '.join(sorted(self.changed))}")
            parts.append(f"requested: {', '.join(sorted(self.requested))}")
        else:
            parts.append("no changes")
        for label, names in (
            ("nothing landed yet (backfill first)", self.not_landed),
            ("probe failed", self.failed),
            ("not probed this tick", self.not_probed),
        ):
            if names:
                parts.append(f"{label}: {', '.join(names)}")
        return "; ".join(parts)


def detect_changes(
    context: dg.SensorEvaluationContext,
    *,
    streams: Sequence[Stream],
    partitions_def: dg.TimeWindowPartitionsDefinition,
    settings: ClientSettings,
    store: ParquetStore,
    now: datetime,
) -> dg.SensorResult:
    """Probe each stream once and request runs for the ones that changed.

    The cursor moves to ``now`` for a stream with a requested run: that run sweeps through
    the open period when it starts, after this tick, so only changes after the tick are
    news to the next one. Request and cursor go out in one result, so a tick that fails
    requests nothing and moves nothing.
    """
    seen = parse_sensor_cursor(context.cursor, context.log)
    tick = ChangeTick()
    deadline = time.monotonic() + PROBE_BUDGET_S
    with OutreachClient(probe_settings(settings), context.log) as client:
        for index, stream in enumerate(streams):
            probed = time.monotonic() <= deadline and _check_stream(
                context,
                client,
                stream,
                seen,
                tick,
                partitions_def=partitions_def,
                store=store,
                now=now,
            )
            if not probed:
                tick.not_probed = [s.name for s in streams[index:]]
                break
        tick.requests = client.stats.requests
    message = tick.summary(len(streams))
    context.log.info(message)
    if not tick.run_requests:
        return dg.SensorResult(skip_reason=message, cursor=dump_sensor_cursor(seen))
    return dg.SensorResult(run_requests=tick.run_requests, cursor=dump_sensor_cursor(seen))


def _check_stream(
    context: dg.SensorEvaluationContext,
    client: OutreachClient,
    stream: Stream,
    seen: dict[str, datetime],
    tick: ChangeTick,
    *,
    partitions_def: dg.TimeWindowPartitionsDefinition,
    store: ParquetStore,
    now: datetime,
) -> bool:
    """Probe one stream and note what it needs; False when the quota says stop this tick.

    A stream whose probe fails for another reason (a missing scope, say) is logged and
    skipped, so one bad stream does not blind the sensor to the others.
    """
    baseline = seen.get(stream.name) or landed_cursor(
        stream, store, context.instance, partitions_def
    )
    if baseline is None:
        tick.not_landed.append(stream.name)
        return True
    seen[stream.name] = baseline
    try:
        changed_at = probe(client, stream, baseline)
    except OutreachRateLimitError as exc:
        context.log.warning(f"{CHANGE_SENSOR}: quota exhausted, pausing until the next tick: {exc}")
        return False
    except OutreachAPIError as exc:
        context.log.warning(f"{CHANGE_SENSOR}: {stream.name}: {exc}")
        tick.failed.append(stream.name)
        return True
    if changed_at is not None:
        _request(tick, stream, partitions_def, changed_at, now)
        seen[stream.name] = max(changed_at, now)
    return True


def _request(
    tick: ChangeTick,
    stream: Stream,
    partitions_def: dg.TimeWindowPartitionsDefinition,
    changed_at: datetime,
    now: datetime,
) -> None:
    request = change_run_request(stream, partitions_def, changed_at, now)
    if request is None:
        return
    tick.changed[stream.name] = changed_at
    tick.run_requests.append(request)
    key_range = request.partition_key_range
    span = request.partition_key if key_range is None else f"{key_range.start}..{key_range.end}"
    tick.requested.append(f"{stream.name} {span}")


def build_change_sensor(
    partitions_def: dg.TimeWindowPartitionsDefinition, interval_s: int
) -> dg.SensorDefinition:
    """The change sensor over every incremental stream; off by default."""
    streams = _incremental_streams()

    @dg.sensor(
        name=CHANGE_SENSOR,
        target=_selection(streams),
        minimum_interval_seconds=interval_s,
        default_status=dg.DefaultSensorStatus.STOPPED,
        description=f"One request per incremental stream ({len(streams)}) every "
        f"{interval_s} s ({ENV_SENSOR_INTERVAL_S}): runs only for streams with records newer "
        "than what has landed, from the partition of the oldest such record through the "
        "open one.",
    )
    def _changes(
        context: dg.SensorEvaluationContext,
        outreach: OutreachResource,
        io_manager: dg.ResourceParam[OutreachParquetIOManager],
    ) -> dg.SensorResult:
        return detect_changes(
            context,
            streams=streams,
            partitions_def=partitions_def,
            settings=outreach.to_settings(),
            store=io_manager.get_store(),
            now=datetime.now(UTC),
        )

    return _changes


def current_state_automation_sensor() -> dg.AutomationConditionSensorDefinition:
    """Evaluates the current-state tables' condition; on by default (no API calls)."""
    return dg.AutomationConditionSensorDefinition(
        CURRENT_STATE_SENSOR,
        target=CURRENT_STATE,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Rebuild a stream's current-state table from its files after any of its "
        "partitions lands (reads files only; no Outreach requests).",
    )


def build_automation(
    partitions_def: dg.TimeWindowPartitionsDefinition,
    environ: Mapping[str, str] | None = None,
) -> tuple[list[dg.ScheduleDefinition], list[dg.SensorDefinition]]:
    """The project's schedules and sensors, configured from ``environ``."""
    settings = automation_settings_from_env(environ)
    schedules = [
        build_close_out_schedule(partitions_def, settings.close_lag),
        build_refresh_schedule(partitions_def, settings.refresh_cron),
    ]
    sensors = [
        build_change_sensor(partitions_def, settings.sensor_interval_s),
        current_state_automation_sensor(),
    ]
    return schedules, sensors
