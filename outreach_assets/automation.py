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

Where each part lives: the three settings in :mod:`outreach_assets.automation_settings`, the
schedules in :mod:`outreach_assets.schedules`, the sensors in :mod:`outreach_assets.sensors`
(the change sensor's probe in :mod:`outreach_assets.change_probe`); this module assembles them.
"""

from collections.abc import Mapping

import dagster as dg

from outreach_assets.automation_settings import automation_settings_from_env
from outreach_assets.schedules import build_close_out_schedule, build_refresh_schedule
from outreach_assets.sensors import build_change_sensor, current_state_automation_sensor


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
