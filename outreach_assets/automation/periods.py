"""Which partition a moment means: the open one, the newest closed one, the close-out cron.

The schedules and the change sensor both work from these, so they always agree on which
partition a tick refers to.
"""

from collections.abc import Sequence
from datetime import datetime, timedelta

import dagster as dg

from outreach_assets.catalog import STREAMS, Stream


def incremental_streams(streams: Sequence[Stream] = STREAMS) -> list[Stream]:
    """The streams a cursor lets us ask about: the refresh and the change sensor cover these."""
    return [s for s in streams if s.is_incremental and s.cursor]


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
