"""Schedules, the change sensor and the current-state automation; the sensor and the automation
tests talk to the sandbox over real HTTP."""

import json
import shutil
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import pyarrow.parquet as pq
import pytest

from outreach_assets.assets import (
    CURRENT_STATE_CONDITION,
    OutreachTranslator,
    build_current_asset,
    build_stream_asset,
)
from outreach_assets.assets.partitions import build_partitions_def
from outreach_assets.assets.sweep import SweepStats, sweep
from outreach_assets.automation.change_sensor import (
    CHANGE_SENSOR,
    RANGE_END_TAG,
    RANGE_START_TAG,
    STREAM_TAG,
    build_change_sensor,
)
from outreach_assets.automation.current_state import (
    CURRENT_STATE_SENSOR,
    current_state_automation_sensor,
)
from outreach_assets.automation.periods import close_out_cron, closed_partition_key
from outreach_assets.automation.schedules import CLOSE_OUT_SCHEDULE, REFRESH_SCHEDULE
from outreach_assets.catalog import STREAMS, Stream, get_stream
from outreach_assets.config import deployment_settings_from_env, env
from outreach_assets.convert import arrow_schema
from outreach_assets.definitions import build_defs
from outreach_assets.errors import ConfigError
from outreach_assets.resources.io_manager import OutreachIOManager
from outreach_assets.sandbox import SandboxServer
from outreach_assets.storage import ParquetStore, PartitionWindow
from outreach_assets_tests.support.clients import ROOT, sandbox_resource

KEYS = OutreachTranslator()

INCREMENTAL = [s for s in STREAMS if s.is_incremental]
DAILY = build_partitions_def(datetime(2024, 1, 1, tzinfo=UTC))


@pytest.fixture(scope="module")
def defs() -> dg.Definitions:
    return build_defs({"OUTREACH_START_DATE": "2024-01-01"})


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def _tick(defs: dg.Definitions, name: str, when: str) -> list[dg.RunRequest]:
    context = dg.build_schedule_context(
        scheduled_execution_time=_at(when), repository_def=defs.get_repository_def()
    )
    return list(defs.resolve_schedule_def(name).evaluate_tick(context).run_requests or [])


# --- schedules ----------------------------------------------------------------------------


def test_close_out_syncs_yesterday_for_every_stream_once_the_lag_has_passed(defs):
    schedule = defs.resolve_schedule_def(CLOSE_OUT_SCHEDULE)
    assert schedule.cron_schedule == "0 6 * * *"
    assert schedule.execution_timezone == "UTC"
    (request,) = _tick(defs, CLOSE_OUT_SCHEDULE, "2024-03-05T06:00:00")
    assert request.partition_key == "2024-03-04"
    assert request.tags["dagster/partition"] == "2024-03-04"
    # Every stream, and the custom field definitions (one request per period).
    custom_fields = KEYS.get_custom_fields_spec().key
    assert set(request.asset_selection or []) == {KEYS.asset_key(s) for s in STREAMS} | {
        custom_fields
    }
    # before the lag has passed, yesterday is not closed yet: the day before is the newest
    (early,) = _tick(defs, CLOSE_OUT_SCHEDULE, "2024-03-05T05:59:00")
    assert early.partition_key == "2024-03-03"
    assert _tick(defs, CLOSE_OUT_SCHEDULE, "2024-01-01T06:00:00") == []  # nothing has ended


@pytest.mark.parametrize(
    ("cadence", "lag_hours", "cron", "tick", "closed"),
    [
        ("daily", 6, "0 6 * * *", "2024-03-05T06:00:00", "2024-03-04"),
        ("daily", 30, "0 6 * * *", "2024-03-05T06:00:00", "2024-03-03"),
        ("daily", 0.5, "30 0 * * *", "2024-03-05T00:30:00", "2024-03-04"),
        ("weekly", 6, "0 6 * * 0", "2024-03-10T06:00:00", "2024-03-03"),  # weeks start Sunday
        ("weekly", 30, "0 6 * * 1", "2024-03-11T06:00:00", "2024-03-03"),
        ("monthly", 6, "0 6 1 * *", "2024-03-01T06:00:00", "2024-02-01"),
        ("monthly", 30, "0 6 2 * *", "2024-03-02T06:00:00", "2024-02-01"),
    ],
)
def test_close_out_tick_is_the_period_end_plus_the_lag(cadence, lag_hours, cron, tick, closed):
    partitions = build_partitions_def(datetime(2024, 1, 1, tzinfo=UTC), cadence)
    lag = timedelta(hours=lag_hours)
    assert close_out_cron(partitions, lag) == cron
    assert closed_partition_key(partitions, _at(tick), lag) == closed
    # the tick is exactly when the closed period's end plus the lag has passed
    end = partitions.time_window_for_partition_key(closed).end
    assert end + lag == _at(tick)
    assert closed_partition_key(partitions, _at(tick) - timedelta(minutes=1), lag) != closed


def test_refresh_syncs_the_open_partition_of_every_incremental_stream(defs):
    schedule = defs.resolve_schedule_def(REFRESH_SCHEDULE)
    assert schedule.cron_schedule == "0 * * * *"
    (one,) = _tick(defs, REFRESH_SCHEDULE, "2024-03-05T13:00:00")
    (two,) = _tick(defs, REFRESH_SCHEDULE, "2024-03-05T14:00:00")
    (midnight,) = _tick(defs, REFRESH_SCHEDULE, "2024-03-06T00:00:00")
    assert (one.partition_key, two.partition_key, midnight.partition_key) == (
        "2024-03-05",
        "2024-03-05",
        "2024-03-06",
    )
    assert one.run_key != two.run_key  # every tick refreshes, not only the first of the day
    assert set(one.asset_selection or []) == {KEYS.asset_key(s) for s in INCREMENTAL}
    assert len(INCREMENTAL) < len(STREAMS)  # full snapshots are left to the close-out
    assert _tick(defs, REFRESH_SCHEDULE, "2023-12-31T23:00:00") == []


def test_automation_settings_come_from_the_environment():
    settings = deployment_settings_from_env(
        {
            env("refresh_cron"): "*/30 * * * *",
            env("close_lag_hours"): "2.5",
            env("sensor_interval_s"): "60",
        }
    )
    assert settings.close_lag_hours == 2.5
    defs = build_defs(
        {
            "OUTREACH_START_DATE": "2024-01-01",
            env("refresh_cron"): "*/30 * * * *",
            env("close_lag_hours"): "2.5",
            env("sensor_interval_s"): "60",
        }
    )
    assert defs.resolve_schedule_def(REFRESH_SCHEDULE).cron_schedule == "*/30 * * * *"
    assert defs.resolve_schedule_def(CLOSE_OUT_SCHEDULE).cron_schedule == "30 2 * * *"
    assert defs.resolve_sensor_def(CHANGE_SENSOR).minimum_interval_seconds == 60
    for name, value in [
        (env("close_lag_hours"), "-1"),
        (env("close_lag_hours"), "nan"),
        (env("close_lag_hours"), "168"),
        (env("sensor_interval_s"), "5"),
        (env("sensor_interval_s"), "often"),
    ]:
        with pytest.raises(ConfigError, match=name):
            deployment_settings_from_env({name: value})
    with pytest.raises(ConfigError, match=env("refresh_cron")):
        build_defs({"OUTREACH_START_DATE": "2024-01-01", env("refresh_cron"): "hourly"})


def test_definitions_carry_the_automation_with_safe_defaults(defs):
    dg.Definitions.validate_loadable(defs)
    running, stopped = dg.DefaultScheduleStatus.RUNNING, dg.DefaultScheduleStatus.STOPPED
    assert defs.resolve_schedule_def(CLOSE_OUT_SCHEDULE).default_status == running
    assert defs.resolve_schedule_def(REFRESH_SCHEDULE).default_status == stopped
    change = defs.resolve_sensor_def(CHANGE_SENSOR)
    assert change.default_status == dg.DefaultSensorStatus.STOPPED
    assert change.minimum_interval_seconds == 300
    automation = defs.resolve_sensor_def(CURRENT_STATE_SENSOR)
    assert isinstance(automation, dg.AutomationConditionSensorDefinition)
    assert automation.default_status == dg.DefaultSensorStatus.RUNNING
    graph = defs.resolve_asset_graph()
    for stream in STREAMS:
        assert (
            graph.get(KEYS.current_asset_key(stream)).automation_condition
            == CURRENT_STATE_CONDITION
        )
        assert graph.get(KEYS.asset_key(stream)).automation_condition is None


def test_example_instance_config_loads(tmp_path):
    shutil.copy(ROOT / "dagster.yaml", tmp_path / "dagster.yaml")
    instance = dg.DagsterInstance.from_config(str(tmp_path))
    try:
        config = instance.get_concurrency_config()
        assert config.pool_config.default_pool_limit == 2
        queue = config.run_queue_config
        assert queue is not None
        assert queue.max_concurrent_runs == 4
        assert queue.tag_concurrency_limits == [{"key": "dagster/backfill", "limit": 1}]
        assert instance.run_retries_enabled
        assert instance.run_retries_max_retries == 1
    finally:
        instance.dispose()


# --- the change sensor, against the sandbox -----------------------------------------------


def _recent_partitions() -> tuple[dg.TimeWindowPartitionsDefinition, datetime]:
    """Daily partitions from two days before today: a few files per stream, not years."""
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    start = today - timedelta(days=2)
    return build_partitions_def(start), start


def _sandbox(factory, start: datetime, end: datetime) -> SandboxServer:
    iso = "%Y-%m-%dT%H:%M:%SZ"
    return factory(start=start.strftime(iso), end=end.strftime(iso))


def _resources(sb: SandboxServer, tmp_path: Path, data: str = "data") -> dict[str, object]:
    return {
        "outreach": sandbox_resource(sb, tmp_path),
        "io_manager": OutreachIOManager(base_dir=str(tmp_path / data)),
    }


def _land(
    sb: SandboxServer,
    tmp_path: Path,
    partitions: dg.TimeWindowPartitionsDefinition,
    streams: Sequence[Stream],
    keys: Sequence[str] | None = None,
) -> None:
    """Write partition files exactly as the stream asset does (one sweep, split per window),
    without a Dagster run per stream, which would make these tests slow."""
    store = ParquetStore(str(tmp_path / "data"))
    windows = [
        PartitionWindow(k, w.start, w.end)
        for k in (keys or partitions.get_partition_keys())
        for w in [partitions.time_window_for_partition_key(k)]
    ]
    with sandbox_resource(sb, tmp_path).get_client() as client:
        for stream in streams:
            batches = sweep(client, stream, windows, SweepStats())
            store.write_partitions(
                stream.name, arrow_schema(stream), stream.cursor, windows, batches
            )


class _Sensor:
    """The change sensor wired to one sandbox, data folder and instance."""

    def __init__(self, sb, tmp_path, partitions, instance, data: str = "data") -> None:
        self.sensor = build_change_sensor(partitions, 300)
        self.resources = _resources(sb, tmp_path, data)
        self.defs = dg.Definitions(
            assets=[build_stream_asset(s, partitions) for s in INCREMENTAL],
            sensors=[self.sensor],
            resources=self.resources,
        )
        self.instance = instance

    def tick(self, cursor: str | None):
        with dg.build_sensor_context(
            instance=self.instance, cursor=cursor, resources=self.resources, definitions=self.defs
        ) as context:
            return self.sensor.evaluate_tick(context)


def _by_stream(requests: Sequence[dg.RunRequest]) -> dict[str, dg.RunRequest]:
    return {r.tags[STREAM_TAG]: r for r in requests}


def test_change_sensor_requests_runs_only_for_streams_that_changed(
    sandbox_factory, tmp_path, capsys
):
    partitions, start = _recent_partitions()
    sb = _sandbox(sandbox_factory, start, datetime.now(UTC) - timedelta(seconds=1))
    _land(sb, tmp_path, partitions, INCREMENTAL, keys=partitions.get_partition_keys()[-1:])
    sensor = _Sensor(sb, tmp_path, partitions, dg.DagsterInstance.ephemeral())
    capsys.readouterr()

    sb.reset_stats()
    quiet = sensor.tick(None)
    assert list(quiet.run_requests or []) == []
    assert sb.stats.api_requests == len(INCREMENTAL) == 40  # one probe per stream
    assert sb.stats.token_mints == 0  # the shared token store's access token is reused
    assert f"{len(INCREMENTAL)} API request(s)" in (quiet.skip_message or "")
    # the tick's log (the sensor's log in the UI; stderr here)
    assert f"{CHANGE_SENSOR}: {len(INCREMENTAL)} API request(s)" in capsys.readouterr().err

    touched = sb.touch("prospects", 3)
    added = sb.add("calls", 2)
    sb.reset_stats()
    changed = sensor.tick(quiet.cursor)
    assert sb.stats.api_requests == len(INCREMENTAL)
    requests = _by_stream(changed.run_requests or [])
    assert set(requests) == {"prospects", "calls"}
    for name, ids in (("prospects", touched), ("calls", added)):
        cursor = sb.truth(name)[ids[0]]
        request = requests[name]
        assert request.partition_key == cursor[:10]  # the partition the change landed in
        assert request.asset_selection == [KEYS.asset_key(get_stream(name))]
        assert name in (request.run_key or "")
        assert cursor[:10] in (request.run_key or "")
        assert cursor in (request.run_key or "")
    log = capsys.readouterr().err
    assert f"{CHANGE_SENSOR}: {len(INCREMENTAL)} API request(s)" in log
    assert "changed: calls, prospects" in log
    assert f"prospects {requests['prospects'].partition_key}" in log.split("requested: ")[1]

    again = sensor.tick(changed.cursor)
    assert list(again.run_requests or []) == []

    later = sb.touch("prospects", 1)
    newer = _by_stream(sensor.tick(again.cursor).run_requests or [])
    assert set(newer) == {"prospects"}
    assert newer["prospects"].run_key != requests["prospects"].run_key
    assert sb.truth("prospects")[later[0]] in (newer["prospects"].run_key or "")


def test_change_sensor_requests_one_run_over_the_range_since_the_landed_files(
    sandbox_factory, tmp_path
):
    partitions, start = _recent_partitions()
    sb = _sandbox(sandbox_factory, start, datetime.now(UTC) - timedelta(seconds=1))
    calls = get_stream("calls")
    first_key = partitions.get_first_partition_key()
    assert first_key is not None
    _land(sb, tmp_path, partitions, [calls], keys=[first_key])
    instance = dg.DagsterInstance.ephemeral()
    sensor = _Sensor(sb, tmp_path, partitions, instance)

    result = sensor.tick(None)
    (request,) = result.run_requests or []
    truth = sb.truth("calls")
    landed = max(c for c in truth.values() if c[:10] == first_key)
    oldest_new = min(c for c in truth.values() if c > landed)
    keys = partitions.get_partition_keys()
    assert request.partition_key_range == dg.PartitionKeyRange(oldest_new[:10], keys[-1])
    assert request.partition_key_range.start != request.partition_key_range.end

    # the request launches as is: one run, one file per partition of the range
    run = dg.materialize(
        [build_stream_asset(calls, partitions)],
        resources=_resources(sb, tmp_path),
        instance=instance,
        partition_key=request.partition_key,
        tags=request.tags,
    )
    assert run.success
    written = sorted(
        m.partition or "" for m in run.asset_materializations_for_node("outreach__calls")
    )
    assert written == keys[keys.index(oldest_new[:10]) :]
    assert list(sensor.tick(result.cursor).run_requests or []) == []


def test_change_sensor_without_files_starts_from_the_materialization_metadata(
    sandbox_factory, tmp_path
):
    partitions, start = _recent_partitions()
    sb = _sandbox(sandbox_factory, start, datetime.now(UTC) - timedelta(seconds=1))
    calls = get_stream("calls")
    instance = dg.DagsterInstance.ephemeral()
    keys = partitions.get_partition_keys()
    landed = dg.materialize(
        [build_stream_asset(calls, partitions)],
        resources=_resources(sb, tmp_path),
        instance=instance,
        tags={RANGE_START_TAG: keys[0], RANGE_END_TAG: keys[-1]},
    )
    assert landed.success
    sensor = _Sensor(sb, tmp_path, partitions, instance, data="elsewhere")  # no files there
    sb.reset_stats()
    result = sensor.tick(None)
    assert list(result.run_requests or []) == []
    assert sb.stats.api_requests == 1  # only calls has landed; the others are not probed
    assert "nothing landed yet" in (result.skip_message or "")
    sb.add("calls", 1)
    (request,) = sensor.tick(result.cursor).run_requests or []
    assert request.tags[STREAM_TAG] == "calls"


def test_change_sensor_stops_at_an_exhausted_quota_and_skips_a_failing_stream(
    sandbox_factory, tmp_path
):
    partitions, start = _recent_partitions()
    sb = _sandbox(sandbox_factory, start, datetime.now(UTC) - timedelta(seconds=1))
    _land(sb, tmp_path, partitions, INCREMENTAL, keys=partitions.get_partition_keys()[-1:])
    sensor = _Sensor(sb, tmp_path, partitions, dg.DagsterInstance.ephemeral())
    granted = [s.scope for s in STREAMS if s.name != "accounts"]  # the first stream probed
    sb.configure(scopes=granted, rate_limit=sb.stats.api_requests + 5)
    sb.expire_access_tokens()  # the next token carries the narrower scopes
    sb.reset_stats()
    began = time.monotonic()
    result = sensor.tick(None)
    assert time.monotonic() - began < 5  # no waiting for the quota window inside a tick
    assert list(result.run_requests or []) == []
    assert sb.stats.api_requests <= 6  # accounts (403), four probes, at most one 429
    message = result.skip_message or ""
    assert "probe failed: accounts" in message
    assert "not probed this tick: " in message
    not_probed = message.split("not probed this tick: ")[1].split(", ")
    assert not_probed == [s.name for s in INCREMENTAL[-len(not_probed) :]]
    # the streams probed before the quota ran out keep their place in the cursor
    probed = {s.name for s in INCREMENTAL} - set(not_probed)
    assert probed <= set(json.loads(result.cursor or "{}"))
    # once the window has room again, the next tick probes the rest
    sb.configure(rate_limit=10_000, rate_window_s=0.001)  # the hour is over, for the sandbox
    (ledger,) = tmp_path.rglob("*.quota.json")  # and for the quota ledger every client reads
    ledger.unlink()
    sb.reset_stats()
    later = sensor.tick(result.cursor)
    assert "not probed" not in (later.skip_message or "")
    assert sb.stats.api_requests == len(INCREMENTAL)


def test_an_empty_newest_file_means_everything_in_its_window_is_new(sandbox_factory, tmp_path):
    partitions, start = _recent_partitions()
    today = partitions.get_partition_keys()[-1]
    yesterday_end = partitions.time_window_for_partition_key(today).start - timedelta(hours=1)
    sb = _sandbox(sandbox_factory, start, yesterday_end)  # nothing in today's window yet
    calls = get_stream("calls")
    _land(sb, tmp_path, partitions, [calls])
    assert pq.read_metadata(tmp_path / "data" / "calls" / f"{today}.parquet").num_rows == 0
    sensor = _Sensor(sb, tmp_path, partitions, dg.DagsterInstance.ephemeral())
    quiet = sensor.tick(None)
    assert list(quiet.run_requests or []) == []
    sb.add("calls", 1)
    (request,) = sensor.tick(quiet.cursor).run_requests or []
    assert request.partition_key == today


# --- current state follows its stream -----------------------------------------------------


def test_current_state_is_requested_after_its_stream_lands_and_not_again(sandbox_factory, tmp_path):
    partitions, start = _recent_partitions()
    sb = _sandbox(sandbox_factory, start, datetime.now(UTC) - timedelta(seconds=1))
    calls = get_stream("calls")
    stream_asset, current_asset = build_stream_asset(calls, partitions), build_current_asset(calls)
    defs = dg.Definitions(
        assets=[stream_asset, current_asset],
        sensors=[current_state_automation_sensor(streams=[calls])],
        resources=_resources(sb, tmp_path),
    )
    instance = dg.DagsterInstance.ephemeral()
    before = dg.evaluate_automation_conditions(defs=defs, instance=instance)
    assert before.total_requested == 0

    today = partitions.get_partition_keys()[-1]
    assert dg.materialize(
        [stream_asset], resources=_resources(sb, tmp_path), instance=instance, partition_key=today
    ).success
    after = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=before.cursor)
    assert after.total_requested == 1
    assert after.get_requested_partitions(KEYS.current_asset_key(calls)) == {None}

    settled = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=after.cursor)
    assert settled.total_requested == 0

    # a run that rebuilds the current state itself leaves nothing to do
    assert dg.materialize(
        [stream_asset, current_asset],
        resources=_resources(sb, tmp_path),
        instance=instance,
        partition_key=today,
    ).success
    same_run = dg.evaluate_automation_conditions(
        defs=defs, instance=instance, cursor=settled.cursor
    )
    assert same_run.total_requested == 0
