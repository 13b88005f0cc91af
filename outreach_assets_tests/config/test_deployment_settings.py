"""The deployment's settings: read once from the environment, each checked by its rule."""

import dataclasses
from datetime import UTC, datetime

import pytest

from outreach_assets.config import (
    ConfigError,
    DeploymentSettings,
    configuration_table,
    deployment_settings_from_env,
    env,
    validate,
)
from outreach_assets.config.declare import declared

# One bad value per setting, as its variable's text, with a fragment the message must hold.
BAD_VALUES: list[tuple[str, str, str | None]] = [
    ("start_date", "yesterday", "is not a date"),
    ("partition_cadence", "hourly", "one of daily, weekly, monthly"),
    ("keep_columns", "prospects.firstName", "not a column dropped by default"),
    ("close_lag_hours", "168", "from 0 to below 168"),
    ("sensor_interval_s", "29", "at least 30"),
    ("step_processes", "0", "an integer from 1 to 64"),
    ("streams", "prospects,prospect", "'prospect' is not a stream; the streams are account_notes"),
    ("exclude_streams", "calls, call", "'call' is not a stream"),
    ("reconcile_cron", "", None),
    ("max_delete_share", "1.5", "greater than 0 and at most 1"),
    ("refresh_cron", "  ", None),  # blank is unset: the default, not an error
    ("data_dir", "", None),
]


def test_every_setting_has_a_bad_value_case() -> None:
    assert {name for name, _, _ in BAD_VALUES} == set(declared(DeploymentSettings))


@pytest.mark.parametrize(("name", "text", "fragment"), BAD_VALUES)
def test_a_bad_variable_names_itself(name: str, text: str, fragment: str | None) -> None:
    if fragment is None:
        settings = deployment_settings_from_env({env(name): text})
        assert getattr(settings, name) == getattr(DeploymentSettings(), name)
        return
    with pytest.raises(ConfigError, match=fragment) as err:
        deployment_settings_from_env({env(name): text})
    assert env(name) in str(err.value)


def test_defaults_and_parsed_values() -> None:
    assert deployment_settings_from_env({}) == DeploymentSettings()
    settings = deployment_settings_from_env(
        {
            "OUTREACH_START_DATE": "2024-02-01T00:00:00Z",
            "OUTREACH_PARTITION_CADENCE": "Weekly",
            "OUTREACH_KEEP_COLUMNS": " prospects.contactHistogram ,",
            "OUTREACH_CLOSE_LAG_HOURS": "2.5",
        }
    )
    assert settings.start_date == datetime(2024, 2, 1, tzinfo=UTC)
    assert settings.partition_cadence == "weekly"
    assert settings.kept_columns("prospects") == {"contactHistogram"}
    assert settings.kept_columns("accounts") == frozenset()
    assert settings.close_lag_hours == 2.5


def test_a_literal_is_checked_by_the_same_rule() -> None:
    with pytest.raises(ConfigError, match="close_lag_hours must be a number of hours"):
        validate(dataclasses.replace(DeploymentSettings(), close_lag_hours=-1))


def test_the_configuration_table_lists_every_setting_once() -> None:
    table = configuration_table()
    for item in declared(DeploymentSettings).values():
        assert table.count(f"| `{item.env}` |") == 1


def test_stream_selection_includes_then_excludes() -> None:
    chosen = deployment_settings_from_env(
        {"OUTREACH_STREAMS": "prospects, calls,users", "OUTREACH_EXCLUDE_STREAMS": "users"}
    ).selected_streams()
    assert [s.name for s in chosen] == ["calls", "prospects"]
    everything = deployment_settings_from_env({}).selected_streams()
    assert len(everything) == 47
    without = deployment_settings_from_env({"OUTREACH_EXCLUDE_STREAMS": "audit_logs"})
    assert "audit_logs" not in {s.name for s in without.selected_streams()}
    nothing = deployment_settings_from_env(
        {"OUTREACH_STREAMS": "calls", "OUTREACH_EXCLUDE_STREAMS": "calls"}
    )
    with pytest.raises(ConfigError, match="OUTREACH_STREAMS and OUTREACH_EXCLUDE_STREAMS leave"):
        nothing.selected_streams()
