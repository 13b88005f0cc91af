"""The two schedules: the close-out of each ended period and the open-period refresh.

Both request runs of the partitioned stream assets; which partition a tick means is worked
out here from the partitions definition, so the schedules and the change sensor agree on it.
"""

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import dagster as dg

from outreach_assets.assets import stream_key
from outreach_assets.automation_settings import (
    ENV_CLOSE_LAG_HOURS,
    ENV_REFRESH_CRON,
    AutomationConfigError,
)
from outreach_assets.catalog import STREAMS, Stream
from outreach_assets.client import format_cursor_time

CLOSE_OUT_SCHEDULE = "outreach_close_out"
REFRESH_SCHEDULE = "outreach_open_period_refresh"
TRIGGER_TAG = "outreach/trigger"


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


def incremental_streams() -> list[Stream]:
    """The streams a cursor lets us ask about: the refresh and the change sensor cover these."""
    return [s for s in STREAMS if s.is_incremental and s.cursor]


def stream_selection(streams: Sequence[Stream]) -> dg.AssetSelection:
    """A trigger's target: the stream assets it may request runs of."""
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
        target=stream_selection(STREAMS),
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
    streams = incremental_streams()
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
            target=stream_selection(streams),
            execution_timezone=partitions_def.timezone,
            default_status=dg.DefaultScheduleStatus.STOPPED,
            description=f"Sync the open period of the {len(streams)} incremental streams "
            f"({ENV_REFRESH_CRON}={cron!r}).",
        )
    except dg.DagsterInvalidDefinitionError:
        raise AutomationConfigError(
            f"{ENV_REFRESH_CRON}={cron!r} is not a cron schedule; e.g. '0 * * * *' (hourly)"
        ) from None
