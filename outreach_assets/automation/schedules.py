"""The schedules: the close-out of each ended period, the open-period refresh, the weekly
id sweep that finds deletions.

Both request runs of the partitioned stream assets; which partition a tick means comes from
``automation.periods``, so the schedules and the change sensor agree on it.
"""

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import dagster as dg

from outreach_assets.assets import OutreachTranslator
from outreach_assets.automation.periods import (
    close_out_cron,
    closed_partition_key,
    incremental_streams,
    open_partition_key,
)
from outreach_assets.catalog import STREAMS, Stream
from outreach_assets.config import ConfigError, env
from outreach_assets.timestamps import format_cursor_time

CLOSE_OUT_SCHEDULE = "outreach_close_out"
REFRESH_SCHEDULE = "outreach_open_period_refresh"
RECONCILE_SCHEDULE = "outreach_reconcile"
TRIGGER_TAG = "outreach/trigger"


def _tick_time(context: dg.ScheduleEvaluationContext) -> datetime:
    moment = context.scheduled_execution_time
    return datetime.now(UTC) if moment is None else moment.astimezone(UTC)


def build_close_out_schedule(
    partitions_def: dg.TimeWindowPartitionsDefinition,
    lag: timedelta,
    translator: OutreachTranslator,
    streams: Sequence[Stream] = STREAMS,
) -> dg.ScheduleDefinition:
    """Every stream, the period that ended ``lag`` ago: one run per period, on by default."""
    # The custom field definitions come along: one request per period keeps labels current.
    keys = [*(translator.asset_key(s) for s in streams), translator.get_custom_fields_spec().key]
    hours = lag.total_seconds() / 3600
    name = translator.name(CLOSE_OUT_SCHEDULE)

    @dg.schedule(
        cron_schedule=close_out_cron(partitions_def, lag),
        name=name,
        target=dg.AssetSelection.assets(*keys),
        execution_timezone=partitions_def.timezone,
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description=translator.describe(
            f"Sync the period that ended {hours:g} h ago for every stream "
            f"({env('close_lag_hours')}); one run per period."
        ),
    )
    def _close_out(context: dg.ScheduleEvaluationContext) -> dg.RunRequest | dg.SkipReason:
        key = closed_partition_key(partitions_def, _tick_time(context), lag)
        if key is None:
            return dg.SkipReason(f"no partition has ended {hours:g} h before this tick yet")
        return dg.RunRequest(
            run_key=f"{name}:{key}",
            partition_key=key,
            asset_selection=keys,
            tags={TRIGGER_TAG: "close_out"},
        )

    return _close_out


def build_refresh_schedule(
    partitions_def: dg.TimeWindowPartitionsDefinition,
    cron: str,
    translator: OutreachTranslator,
    streams: Sequence[Stream] = STREAMS,
) -> dg.ScheduleDefinition:
    """Every incremental stream, the period the tick falls in; off by default."""
    streams = incremental_streams(streams)
    keys = [translator.asset_key(s) for s in streams]
    name = translator.name(REFRESH_SCHEDULE)

    def refresh(context: dg.ScheduleEvaluationContext) -> dg.RunRequest | dg.SkipReason:
        moment = _tick_time(context)
        key = open_partition_key(partitions_def, moment)
        if key is None:
            return dg.SkipReason(f"{moment.isoformat()} is before the first partition")
        return dg.RunRequest(
            run_key=f"{name}:{key}:{format_cursor_time(moment)}",
            partition_key=key,
            asset_selection=keys,
            tags={TRIGGER_TAG: "refresh"},
        )

    try:
        return dg.ScheduleDefinition(
            name=name,
            cron_schedule=cron,
            execution_fn=refresh,
            target=translator.selection(streams),
            execution_timezone=partitions_def.timezone,
            default_status=dg.DefaultScheduleStatus.STOPPED,
            description=translator.describe(
                f"Sync the open period of the {len(streams)} incremental streams "
                f"({env('refresh_cron')}={cron!r})."
            ),
        )
    except dg.DagsterInvalidDefinitionError:
        raise ConfigError(
            f"{env('refresh_cron')}={cron!r} is not a cron schedule; e.g. '0 * * * *' (hourly)"
        ) from None


def build_reconcile_schedule(
    cron: str, translator: OutreachTranslator, streams: Sequence[Stream] = STREAMS
) -> dg.ScheduleDefinition:
    """The weekly id sweep of every stream, on by default.

    On because it is cheap next to what it protects: one request per 1,000 records a week
    (a million prospects: 1,000 of the 1.68 million requests a week's quota allows), and
    without it every record Outreach deleted stays in the current-state tables.
    """
    selection = translator.deletions_selection(streams) | translator.current_selection(streams)
    try:
        return dg.ScheduleDefinition(
            name=translator.name(RECONCILE_SCHEDULE),
            cron_schedule=cron,
            target=selection,
            execution_timezone="UTC",
            default_status=dg.DefaultScheduleStatus.RUNNING,
            tags={TRIGGER_TAG: "reconcile"},
            description=translator.describe(
                f"Sweep the ids of the {len(streams)} streams, record deletions and "
                f"rebuild the current states ({env('reconcile_cron')}={cron!r})."
            ),
        )
    except dg.DagsterInvalidDefinitionError:
        raise ConfigError(
            f"{env('reconcile_cron')}={cron!r} is not a cron schedule; e.g. '0 3 * * 0' "
            "(Sundays, 03:00 UTC)"
        ) from None
