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
