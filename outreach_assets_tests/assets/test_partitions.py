"""OUTREACH_START_DATE and the shared partitions definition."""

from datetime import UTC, datetime

import pytest

from outreach_assets.assets.partitions import build_partitions_def, partitions_def_from_env
from outreach_assets.config.deployment import parse_start_date
from outreach_assets.errors import ConfigError


@pytest.mark.parametrize(
    "value", ["2023-01-01", "2023-01-01T00:00:00Z", "2023-01-01T00:00:00+00:00", " 2023-01-01 "]
)
def test_start_date_accepts_the_seed_form_and_a_plain_date(value):
    assert parse_start_date(value) == datetime(2023, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("yesterday", "is not a date"),
        ("2023-01-01T05:00:00Z", "must be midnight UTC"),
        ("2999-01-01", "in the future"),
    ],
)
def test_bad_start_dates_name_the_variable(value, message):
    with pytest.raises(ConfigError, match=message) as err:
        parse_start_date(value)
    assert "OUTREACH_START_DATE" in str(err.value)


def test_daily_partitions_start_at_the_start_date_and_include_the_open_day():
    pdef = partitions_def_from_env({"OUTREACH_START_DATE": "2024-02-27T00:00:00Z"})
    now = datetime(2024, 3, 1, 10, 30, tzinfo=UTC)
    keys = pdef.get_partition_keys(current_time=now)
    assert keys == ["2024-02-27", "2024-02-28", "2024-02-29", "2024-03-01"]
    window = pdef.time_window_for_partition_key("2024-02-29")
    assert (window.start, window.end) == (
        datetime(2024, 2, 29, tzinfo=UTC),
        datetime(2024, 3, 1, tzinfo=UTC),
    )


def test_cadence_can_be_weekly_or_monthly_and_nothing_else():
    start = datetime(2024, 1, 1, tzinfo=UTC)
    monthly = build_partitions_def(start, "monthly")
    assert monthly.get_partition_keys(current_time=datetime(2024, 3, 5, tzinfo=UTC)) == [
        "2024-01-01",
        "2024-02-01",
        "2024-03-01",
    ]
    with pytest.raises(ConfigError, match="OUTREACH_PARTITION_CADENCE"):
        build_partitions_def(start, "hourly")
