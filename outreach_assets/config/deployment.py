"""The settings that shape a deployment's Dagster definitions, each declared once.

They are read when the code location loads, because they decide what the definitions are:
where partitions start and how long they are, where files go, which columns exist and
when the automation runs. The credentials, by contrast, stay ``dg.EnvVar`` references
resolved at launch (``config.client``).
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

from outreach_assets.catalog import STREAMS, STREAMS_BY_NAME, Stream
from outreach_assets.config import rules
from outreach_assets.config.declare import Rule, declared, from_environment, setting, validate
from outreach_assets.errors import ConfigError
from outreach_assets.timestamps import parse_timestamp

CADENCES: Final = ("daily", "weekly", "monthly")
# Below a week, so the close-out tick of a weekly or monthly period stays inside the period
# that follows (a monthly tick on day 1 + lag must be a day every month has).
MAX_CLOSE_LAG_HOURS: Final = 7 * 24
MIN_SENSOR_INTERVAL_S: Final = 30
MAX_STEP_PROCESSES: Final = 64
START_DATE_ENV: Final = "OUTREACH_START_DATE"
KEEP_COLUMNS_ENV: Final = "OUTREACH_KEEP_COLUMNS"
DROPPABLE_COLUMNS: Final = frozenset(f"{s.name}.{c}" for s in STREAMS for c in s.dropped_by_default)


def parse_start_date(value: str) -> datetime:
    """Accept ``2023-01-01T00:00:00Z`` (Mage's form) and a plain ``2023-01-01``.

    Partitions start at a period boundary, so a time of day other than midnight UTC is
    refused rather than silently truncated.
    """
    parsed = parse_timestamp(value.strip())
    if parsed is None:
        raise ConfigError(
            f"{START_DATE_ENV}={value!r} is not a date; use 2023-01-01 or 2023-01-01T00:00:00Z"
        )
    if parsed.time() != datetime.min.time():
        raise ConfigError(
            f"{START_DATE_ENV}={value!r} must be midnight UTC (partitions start on a day "
            "boundary); use a plain date such as 2023-01-01"
        )
    if parsed > datetime.now(UTC):
        raise ConfigError(f"{START_DATE_ENV}={value!r} lies in the future")
    return parsed


def _is_start(value: object) -> bool:
    return (
        isinstance(value, datetime)
        and value.utcoffset() is not None
        and value.astimezone(UTC).time() == datetime.min.time()
        and value <= datetime.now(UTC)
    )


def parse_keep_columns(text: str) -> frozenset[str]:
    """``prospects.contactHistogram,...``: only columns dropped by default can be kept, so a
    typo fails loudly instead of silently changing a schema."""
    items = frozenset(filter(None, (part.strip() for part in text.split(","))))
    for item in sorted(items - DROPPABLE_COLUMNS):
        raise ConfigError(
            f"{KEEP_COLUMNS_ENV}: {item!r} is not a column dropped by default; "
            f"choose from {', '.join(sorted(DROPPABLE_COLUMNS))}"
        )
    return items


def parse_stream_names(text: str) -> frozenset[str]:
    """``prospects, calls``: asset names of catalog streams; a typo fails loudly, naming the
    valid names, instead of silently syncing less."""
    names = frozenset(filter(None, (part.strip() for part in text.split(","))))
    for name in sorted(names - set(STREAMS_BY_NAME)):
        raise ConfigError(
            f"{name!r} is not a stream; the streams are {', '.join(sorted(STREAMS_BY_NAME))}"
        )
    return names


_STREAM_NAMES = Rule(
    lambda v: isinstance(v, frozenset) and v <= set(STREAMS_BY_NAME),
    "a comma-separated list of stream names (see the README's stream table)",
)


def _share(text: str) -> float:
    return float(text.strip())


def _hours(text: str) -> float:
    return float(text.strip())


def _integer(text: str) -> int:
    return int(text.strip())


@dataclass(frozen=True, kw_only=True)
class DeploymentSettings:
    """Partitions, files, columns and automation of one deployment."""

    start_date: datetime = setting(
        env=START_DATE_ENV,
        default=datetime(2023, 1, 1, tzinfo=UTC),
        parse=parse_start_date,
        rule=Rule(_is_start, "a past date at midnight UTC, like 2023-01-01"),
        shown_default="`2023-01-01`",
        help="First partition, `2023-01-01` or `2023-01-01T00:00:00Z`; set your own.",
    )
    partition_cadence: str = setting(
        env="OUTREACH_PARTITION_CADENCE",
        default="daily",
        parse=lambda text: text.strip().lower(),
        rule=rules.one_of(CADENCES),
        help="`daily`, `weekly` or `monthly`; choose before the first materialization.",
    )
    data_dir: str = setting(
        env="OUTREACH_DATA_DIR",
        default="data/outreach",
        rule=rules.TEXT,
        help="Where the Parquet files go: a folder or an fsspec URL (`s3://bucket/prefix`).",
    )
    keep_columns: frozenset[str] = setting(
        env=KEEP_COLUMNS_ENV,
        default=frozenset(),
        parse=parse_keep_columns,
        rule=Rule(
            lambda v: isinstance(v, frozenset) and v <= DROPPABLE_COLUMNS,
            f"a set of columns dropped by default ({', '.join(sorted(DROPPABLE_COLUMNS))})",
        ),
        shown_default="none",
        help="Columns dropped by default to keep, comma-separated, e.g. "
        "`prospects.contactHistogram`.",
    )
    streams: frozenset[str] = setting(
        env="OUTREACH_STREAMS",
        default=frozenset(),
        parse=parse_stream_names,
        rule=_STREAM_NAMES,
        shown_default="all",
        help="The streams to define, sync, schedule, probe and authorize, comma-separated "
        "asset names (`prospects,calls`).",
    )
    exclude_streams: frozenset[str] = setting(
        env="OUTREACH_EXCLUDE_STREAMS",
        default=frozenset(),
        parse=parse_stream_names,
        rule=_STREAM_NAMES,
        shown_default="none",
        help="Streams to leave out of those, e.g. the ones whose scope your OAuth app was "
        "not granted (`audit_logs,kaia_recordings`).",
    )
    refresh_cron: str = setting(
        env="OUTREACH_REFRESH_CRON",
        default="0 * * * *",
        parse=str.strip,
        rule=rules.TEXT,
        help="Cron of the open-period refresh, UTC.",
    )
    reconcile_cron: str = setting(
        env="OUTREACH_RECONCILE_CRON",
        default="0 3 * * 0",
        parse=str.strip,
        rule=rules.TEXT,
        help="Cron of the weekly id sweep that finds records Outreach deleted, UTC.",
    )
    max_delete_share: float = setting(
        env="OUTREACH_MAX_DELETE_SHARE",
        default=0.2,
        parse=_share,
        rule=rules.number_in(
            0, 1, "a number greater than 0 and at most 1 (a share of a stream)", above_low=True
        ),
        help="Largest share of a stream one id sweep may record as deleted; a sweep that "
        "finds more stops and deletes nothing. Raise it for a run to confirm a mass deletion.",
    )
    close_lag_hours: float = setting(
        env="OUTREACH_CLOSE_LAG_HOURS",
        default=6.0,
        parse=_hours,
        rule=rules.number_below(
            0,
            MAX_CLOSE_LAG_HOURS,
            f"a number of hours from 0 to below {MAX_CLOSE_LAG_HOURS}",
        ),
        help="Hours after a period ends before the close-out syncs it.",
    )
    sensor_interval_s: int = setting(
        env="OUTREACH_SENSOR_INTERVAL_S",
        default=300,
        parse=_integer,
        rule=rules.int_at_least(MIN_SENSOR_INTERVAL_S, " of seconds"),
        help="Minimum seconds between change-sensor ticks.",
    )
    step_processes: int = setting(
        env="OUTREACH_STEP_PROCESSES",
        default=1,
        parse=_integer,
        rule=rules.int_in(1, MAX_STEP_PROCESSES),
        help="Steps of a run executed at once, each in a process of its own; 1 runs them "
        'one by one in the run\'s process (see "Running beyond one machine").',
    )

    def selected_streams(self) -> tuple[Stream, ...]:
        """The catalog streams this deployment syncs, in catalog order."""
        chosen = tuple(
            s
            for s in STREAMS
            if (not self.streams or s.name in self.streams) and s.name not in self.exclude_streams
        )
        if not chosen:
            items = declared(DeploymentSettings)
            raise ConfigError(
                f"{items['streams'].env} and {items['exclude_streams'].env} leave no stream to "
                f"sync; the streams are {', '.join(s.name for s in STREAMS)}"
            )
        return chosen

    def kept_columns(self, stream: str) -> frozenset[str]:
        """The dropped-by-default columns of ``stream`` this deployment keeps."""
        prefix = f"{stream}."
        return frozenset(c[len(prefix) :] for c in self.keep_columns if c.startswith(prefix))


def deployment_settings_from_env(environ: Mapping[str, str]) -> DeploymentSettings:
    """This deployment's settings; unset or empty variables mean the defaults."""
    return validate(DeploymentSettings(**from_environment(DeploymentSettings, environ)))
