"""The one time-window partitions definition every Outreach asset shares.

A partition of an incremental stream holds the records whose cursor falls in its window;
a partition of a full-snapshot stream holds the table as fetched for that period. The
still-open current period is included (``end_offset=1``) so schedules can refresh today
while it is happening.
"""

from collections.abc import Mapping
from datetime import datetime

import dagster as dg

from outreach_assets.config import (
    ConfigError,
    DeploymentSettings,
    deployment_settings_from_env,
    env,
)
from outreach_assets.config.deployment import CADENCES


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
    raise ConfigError(f"{env('partition_cadence')}={cadence!r} is not one of {', '.join(CADENCES)}")


def partitions_def_for(settings: DeploymentSettings) -> dg.TimeWindowPartitionsDefinition:
    """The partitions of a deployment, from its start date and cadence."""
    return build_partitions_def(settings.start_date, settings.partition_cadence)


def partitions_def_from_env(environ: Mapping[str, str]) -> dg.TimeWindowPartitionsDefinition:
    """Shorthand for tests and scripts: the partitions the environment describes."""
    return partitions_def_for(deployment_settings_from_env(environ))


def partition_key_problem(
    partitions_def: dg.TimeWindowPartitionsDefinition, key: str, cadence: str = "daily"
) -> str | None:
    """Why ``key`` is not a partition of ``partitions_def`` (of ``cadence``), in one line
    naming the setting that decides the range; ``None`` when it is one.

    Dagster refuses such a key itself, before any of the project's code runs, with a message
    that names neither ``OUTREACH_START_DATE`` nor the valid range; this is the sentence the
    code location prints ahead of it (``definitions``).
    """
    if partitions_def.has_partition_key(key):
        return None
    start_env, cadence_env = env("start_date"), env("partition_cadence")
    start = partitions_def.start.strftime("%Y-%m-%d")
    first, last = partitions_def.get_first_partition_key(), partitions_def.get_last_partition_key()
    shown = f"the {cadence} partitions are {first} to {last}, from {start_env}={start}"
    try:
        when = partitions_def.start_time_for_partition_key(key)
    except ValueError:  # not of the cadence's form (Dagster's has_partition_key does the same)
        return f"partition {key!r} is not a date like {first}: {shown}"
    if when < partitions_def.start:
        return (
            f"partition {key} lies before {start_env}={start}: {shown}; to sync it, set "
            f"{start_env}={key} or earlier"
        )
    if last is not None and key > last:
        return f"partition {key} lies after the last one, {last} (the open period): {shown}"
    return f"partition {key} does not start a {cadence} period: {shown} ({cadence_env}={cadence})"
