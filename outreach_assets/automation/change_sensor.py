"""The change sensor (off by default): runs only for the streams Outreach says changed.

It probes each incremental stream once per tick (``automation.change_probe``) and requests
runs only for the streams that changed; its cursor remembers, per stream, the newest cursor
landed or already requested.
"""

import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import dagster as dg

from outreach_assets.assets import OutreachTranslator
from outreach_assets.assets.bound import io_manager_of, outreach_keys, outreach_of
from outreach_assets.automation.change_probe import (
    PROBE_BUDGET_S,
    landed_cursor,
    probe,
    probe_settings,
)
from outreach_assets.automation.periods import incremental_streams, open_partition_key
from outreach_assets.automation.schedules import TRIGGER_TAG
from outreach_assets.catalog import STREAMS, Stream
from outreach_assets.client import LoggerLike, OutreachClient
from outreach_assets.config import ClientSettings, env
from outreach_assets.errors import APIError, RateLimitError
from outreach_assets.storage import Store
from outreach_assets.timestamps import aware, format_cursor_time

CHANGE_SENSOR = "outreach_change_sensor"
STREAM_TAG = "outreach/stream"
# Dagster's system tags for a run over a partition range (what a single-run backfill sets).
RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"


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
        return {str(name): aware(datetime.fromisoformat(value)) for name, value in raw.items()}
    except (ValueError, TypeError) as exc:
        if log is not None:
            log.warning(f"{CHANGE_SENSOR}: ignoring an unreadable cursor ({exc}); starting over")
        return {}


def dump_sensor_cursor(seen: Mapping[str, datetime]) -> str:
    return json.dumps({name: format_cursor_time(seen[name]) for name in sorted(seen)})


@dataclass(frozen=True)
class Watch:
    """What the sensor watches: the streams, their partitions and assets, their files."""

    streams: Sequence[Stream]
    partitions_def: dg.TimeWindowPartitionsDefinition
    translator: OutreachTranslator
    store: Store

    def run_request(
        self, stream: Stream, changed_at: datetime, now: datetime
    ) -> dg.RunRequest | None:
        """One run for ``stream``: the partitions from ``changed_at``'s through the open one.

        A range is one run and one API sweep (the assets' single-run backfill policy). The
        run key names the stream, the range and the change, so the daemon never launches the
        same change twice but does launch a later one.
        """
        partitions = self.partitions_def
        last = open_partition_key(partitions, now)
        first = open_partition_key(partitions, min(max(changed_at, partitions.start), now))
        if first is None or last is None:
            return None
        run_key = f"{CHANGE_SENSOR}:{stream.name}:{first}..{last}:{format_cursor_time(changed_at)}"
        tags = {TRIGGER_TAG: "change_sensor", STREAM_TAG: stream.name}
        selection = [self.translator.asset_key(stream)]
        if first == last:
            return dg.RunRequest(
                run_key=run_key, asset_selection=selection, partition_key=first, tags=tags
            )
        return dg.RunRequest(
            run_key=run_key,
            asset_selection=selection,
            tags={**tags, RANGE_START_TAG: first, RANGE_END_TAG: last},
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

    def request(self, stream: Stream, request: dg.RunRequest | None, changed_at: datetime) -> None:
        if request is None:
            return
        self.changed[stream.name] = changed_at
        self.run_requests.append(request)
        key_range = request.partition_key_range
        span = request.partition_key if key_range is None else f"{key_range.start}..{key_range.end}"
        self.requested.append(f"{stream.name} {span}")


def detect_changes(
    context: dg.SensorEvaluationContext,
    watch: Watch,
    settings: ClientSettings,
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
    streams = watch.streams
    with OutreachClient(probe_settings(settings), context.log) as client:
        for index, stream in enumerate(streams):
            probed = time.monotonic() <= deadline and _check_stream(
                context, client, watch, stream, seen=seen, tick=tick, now=now
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
    watch: Watch,
    stream: Stream,
    *,
    seen: dict[str, datetime],
    tick: ChangeTick,
    now: datetime,
) -> bool:
    """Probe one stream and note what it needs; False when the quota says stop this tick.

    A stream whose probe fails for another reason (a missing scope, say) is logged and
    skipped, so one bad stream does not blind the sensor to the others.
    """
    baseline = seen.get(stream.name) or landed_cursor(
        stream,
        watch.store,
        context.instance,
        watch.partitions_def,
        watch.translator.asset_key(stream),
    )
    if baseline is None:
        tick.not_landed.append(stream.name)
        return True
    seen[stream.name] = baseline
    try:
        changed_at = probe(client, stream, baseline)
    except RateLimitError as exc:
        context.log.warning(f"{CHANGE_SENSOR}: quota exhausted, pausing until the next tick: {exc}")
        return False
    except APIError as exc:
        context.log.warning(f"{CHANGE_SENSOR}: {stream.name}: {exc}")
        tick.failed.append(stream.name)
        return True
    if changed_at is not None:
        tick.request(stream, watch.run_request(stream, changed_at, now), changed_at)
        seen[stream.name] = max(changed_at, now)
    return True


def build_change_sensor(
    partitions_def: dg.TimeWindowPartitionsDefinition,
    interval_s: int,
    translator: OutreachTranslator | None = None,
    streams: Sequence[Stream] = STREAMS,
) -> dg.SensorDefinition:
    """The change sensor over every incremental stream; off by default."""
    streams = incremental_streams(streams)
    translator = translator or OutreachTranslator()

    @dg.sensor(
        name=translator.name(CHANGE_SENSOR),
        target=translator.selection(streams),
        minimum_interval_seconds=interval_s,
        default_status=dg.DefaultSensorStatus.STOPPED,
        description=translator.describe(
            f"One request per incremental stream ({len(streams)}) every "
            f"{interval_s} s ({env('sensor_interval_s')}): runs only for streams with records "
            "newer than what has landed, from the partition of the oldest such record through "
            "the open one."
        ),
        required_resource_keys=outreach_keys(translator),
    )
    def _changes(context: dg.SensorEvaluationContext) -> dg.SensorResult:
        store = io_manager_of(context, translator).get_store()
        watch = Watch(streams, partitions_def, translator, store)
        settings = outreach_of(context, translator).to_settings()
        return detect_changes(context, watch, settings, datetime.now(UTC))

    return _changes
