"""The one time-window partitions definition every Outreach asset shares.

A partition of an incremental stream holds the records whose cursor falls in its window;
a partition of a full-snapshot stream holds the table as fetched for that period. The
still-open current period is included (``end_offset=1``) so schedules can refresh today
while it is happening.
"""

import os
from collections.abc import Mapping
from datetime import UTC, datetime

import dagster as dg

from outreach_assets.client.settings import ENV_START_DATE

ENV_PARTITION_CADENCE = "OUTREACH_PARTITION_CADENCE"
DEFAULT_START_DATE = "2023-01-01"  # the seed's sample start_date; set your own
CADENCES = ("daily", "weekly", "monthly")


class PartitionConfigError(ValueError):
    """A start date or cadence that cannot define partitions; the message says which."""


def parse_start_date(value: str) -> datetime:
    """Accept the seed's ``2023-01-01T00:00:00Z`` form and a plain ``2023-01-01``.

    Partitions start at a period boundary, so a time of day other than midnight UTC is
    refused rather than silently truncated.
    """
    text = value.strip()
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise PartitionConfigError(
            f"{ENV_START_DATE}={value!r} is not a date; use 2023-01-01 or 2023-01-01T00:00:00Z"
        ) from None
    parsed = parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    if parsed.time() != datetime.min.time():
        raise PartitionConfigError(
            f"{ENV_START_DATE}={value!r} must be midnight UTC (partitions start on a day "
            "boundary); use a plain date such as 2023-01-01"
        )
    if parsed > datetime.now(UTC):
        raise PartitionConfigError(f"{ENV_START_DATE}={value!r} lies in the future")
    return parsed


def build_partitions_def(
    start: datetime, cadence: str = "daily"
) -> dg.TimeWindowPartitionsDefinition:
    """Daily (default), weekly or monthly windows in UTC, including the open period."""
    start_date = start.strftime("%Y-%m-%d")
    if cadence == "daily":
        return dg.DailyPartitionsDefinition(start_date=start_date, end_offset=1)
    if cadence == "weekly":
        return dg.WeeklyPartitionsDefinition(start_date=start_date, end_offset=1)
    if cadence == "monthly":
        return dg.MonthlyPartitionsDefinition(start_date=start_date, end_offset=1)
    raise PartitionConfigError(
        f"{ENV_PARTITION_CADENCE}={cadence!r} is not one of {', '.join(CADENCES)}"
    )


def partitions_def_from_env(
    environ: Mapping[str, str] | None = None,
) -> dg.TimeWindowPartitionsDefinition:
    """The partitions of this deployment, from OUTREACH_START_DATE and the cadence."""
    env = os.environ if environ is None else environ
    start = parse_start_date(env.get(ENV_START_DATE) or DEFAULT_START_DATE)
    return build_partitions_def(start, (env.get(ENV_PARTITION_CADENCE) or "daily").lower())
