"""The project's schedules and sensors, assembled from the deployment's settings.

Three triggers request runs of the partitioned stream assets; the current-state tables
follow on their own (``automation.current_state``, which makes no API calls).

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

* ``outreach_reconcile`` (on by default, weekly on ``OUTREACH_RECONCILE_CRON``): sweep every
  stream's ids, record what Outreach deleted, re-sync what changed unseen, rebuild the
  current states. One request per 1,000 records a week.

Nothing that is on by default can spend the quota faster than the data grows: the close-out
reads each period once, and the weekly sweep costs one request per 1,000 records. The
refresh and the sensor trade requests for freshness, so the user turns them on (README,
"Automation").
"""

from datetime import timedelta

import dagster as dg

from outreach_assets.assets import OutreachTranslator
from outreach_assets.automation.change_sensor import build_change_sensor
from outreach_assets.automation.current_state import current_state_automation_sensor
from outreach_assets.automation.schedules import (
    build_close_out_schedule,
    build_reconcile_schedule,
    build_refresh_schedule,
)
from outreach_assets.config import DeploymentSettings


def build_automation(
    partitions_def: dg.TimeWindowPartitionsDefinition,
    settings: DeploymentSettings | None = None,
    translator: OutreachTranslator | None = None,
) -> tuple[list[dg.ScheduleDefinition], list[dg.SensorDefinition]]:
    """The project's schedules and sensors."""
    settings = settings or DeploymentSettings()
    translator = translator or OutreachTranslator()
    streams = settings.selected_streams()
    lag = timedelta(minutes=round(settings.close_lag_hours * 60))
    schedules = [
        build_close_out_schedule(partitions_def, lag, translator, streams),
        build_refresh_schedule(partitions_def, settings.refresh_cron, translator, streams),
        build_reconcile_schedule(settings.reconcile_cron, translator, streams),
    ]
    sensors = [
        build_change_sensor(partitions_def, settings.sensor_interval_s, translator, streams),
        current_state_automation_sensor(translator, streams),
    ]
    return schedules, sensors
