"""The automation's three knobs, read from the environment and checked once.

Kept apart from :mod:`outreach_assets.automation` so the schedule and sensor modules can name
the variables in their descriptions and errors without importing the module that builds them.
"""

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

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
