"""The project on a Postgres-backed Dagster instance (dagster-postgres), against a real server.

A deployment on several machines shares its run history, sensor cursors, pool slots and run
queue through the instance's database, so the core cases run here on PostgreSQL: a range
backfill from the command line; the daemon evaluating the change sensor (its cursor kept in
the database), queueing the runs it asks for and launching each in its own worker process
while the ``outreach_api`` pool lets one step at a time read the API; and the close-out
schedule's tick, whose partition lands and is recorded in the database.
"""

import itertools
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import pyarrow.parquet as pq
import pytest
import yaml

from outreach_assets.automation.change_sensor import CHANGE_SENSOR, parse_sensor_cursor
from outreach_assets.automation.schedules import CLOSE_OUT_SCHEDULE
from outreach_assets.definitions import build_defs
from outreach_assets.sandbox import SandboxServer
from outreach_assets_tests.support.clients import ROOT
from outreach_assets_tests.support.postgres import PostgresServer

DAYS = 3
STREAMS = ("calls", "prospects")
CLI_TIMEOUT_S = 300
DAEMON_TIMEOUT_S = 240  # the sensor's first tick, two queued runs one after the other


def _days() -> list[str]:
    today = datetime.now(UTC).date()
    return [(today - timedelta(days=DAYS - 1 - n)).isoformat() for n in range(DAYS)]


def _by_day(truth: Mapping[int, str]) -> dict[str, set[int]]:
    days: dict[str, set[int]] = {}
    for record_id, cursor in truth.items():
        days.setdefault(cursor[:10], set()).add(record_id)
    return days


@dataclass
class Deployment:
    """A sandbox, a Postgres instance in ``home`` and a user's environment for both."""

    sb: SandboxServer
    home: Path
    env: dict[str, str]

    @property
    def data(self) -> Path:
        return Path(self.env["OUTREACH_DATA_DIR"])

    def instance(self) -> dg.DagsterInstance:
        return dg.DagsterInstance.from_config(str(self.home))

    def dagster(self, *args: str) -> str:
        """A ``dagster`` command from the repository root; its output."""
        done = subprocess.run(
            [sys.executable, "-m", "dagster", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=CLI_TIMEOUT_S,
            check=False,
        )
        output = done.stdout + done.stderr
        assert done.returncode == 0, output[-4000:]
        return output

    def backfill(self, streams: Sequence[str], keys: list[str]) -> None:
        """The README's range backfill of ``streams`` from the command line: one run."""
        self.dagster(
            "asset", "materialize", "-m", "outreach_assets",
            "--select", ",".join(f"outreach/{s}" for s in streams),
            "--partition-range", f"{keys[0]}...{keys[-1]}",
        )  # fmt: skip

    def problems(
        self, stream: str, keys: list[str], truth: Mapping[int, str] | None = None
    ) -> list[str]:
        """How the stream's partition files differ from ``truth`` (default: the sandbox's)."""
        by_day = _by_day(self.sb.truth(stream) if truth is None else truth)
        found = []
        for key in keys:
            path = self.data / stream / f"{key}.parquet"
            ids = sorted(pq.read_table(path).column("id").to_pylist())
            if ids != sorted(by_day.get(key, ())):
                found.append(f"{stream} {key}: {len(ids)} ids, {len(by_day.get(key, ()))} held")
        return found


def _instance_yaml(url: str, *, pool_limit: int, max_runs: int) -> str:
    """The project's example instance settings with Postgres storage in place of SQLite."""
    config = yaml.safe_load((ROOT / "dagster.yaml").read_text())
    config.pop("event_log_storage")  # the project's batched storage is SQLite's
    # SQLAlchemy 2.1 maps a bare postgresql:// to psycopg 3; dagster-postgres brings psycopg2.
    driver_url = url.replace("postgresql://", "postgresql+psycopg2://", 1)
    config["storage"] = {"postgres": {"postgres_url": driver_url}}
    config["concurrency"]["pools"]["default_limit"] = pool_limit
    config["concurrency"]["runs"]["max_concurrent_runs"] = max_runs
    config["telemetry"] = {"enabled": False}
    return yaml.safe_dump(config)


@pytest.fixture
def deployment(
    sandbox_factory: Callable[..., SandboxServer],
    postgres_server: PostgresServer,
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> Deployment:
    first = _days()[0]
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    sb = sandbox_factory(start=f"{first}T00:00:00Z", end=now, records=30)
    url = postgres_server.create_database(f"dagster_{request.node.name[:40]}".lower())
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text(_instance_yaml(url, pool_limit=1, max_runs=2))
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("OUTREACH_", "DAGSTER_"))}
    env = {
        **clean,
        **sb.environment(),
        "OUTREACH_START_DATE": first,
        "OUTREACH_STREAMS": ",".join(STREAMS),
        "OUTREACH_DATA_DIR": str(tmp_path / "data"),
        "OUTREACH_TOKEN_STORE": str(tmp_path / "tokens" / "outreach_tokens.json"),
        "OUTREACH_SENSOR_INTERVAL_S": "30",
        "DAGSTER_HOME": str(home),
    }
    return Deployment(sb, home, env)


def test_a_range_backfill_lands_and_is_recorded_in_postgres(deployment: Deployment) -> None:
    keys = _days()
    deployment.backfill(STREAMS, keys)
    for stream in STREAMS:
        assert not deployment.problems(stream, keys)
    with deployment.instance() as instance:
        assert type(instance.event_log_storage).__name__ == "PostgresEventLogStorage"
        (run,) = instance.get_runs()
        assert run.status == dg.DagsterRunStatus.SUCCESS
        for stream in STREAMS:
            key = dg.AssetKey(["outreach", stream])
            assert instance.get_materialized_partitions(key) == set(keys)


@pytest.fixture
def daemon(deployment: Deployment, tmp_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    """``dagster-daemon run`` on the workspace, in its own process group, stopped after."""
    log = (tmp_path / "daemon.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "dagster._daemon", "run", "-w", str(ROOT / "workspace.yaml")],
        cwd=ROOT,
        env=deployment.env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        log.close()


def _sensor_runs(instance: dg.DagsterInstance) -> list[dg.DagsterRun]:
    runs = instance.get_runs(filters=dg.RunsFilter(tags={"dagster/sensor_name": CHANGE_SENSOR}))
    return sorted(runs, key=lambda run: run.run_id)


def _wait_for_sensor_runs(deployment: Deployment, tmp_path: Path) -> list[dg.DagsterRun]:
    deadline = time.monotonic() + DAEMON_TIMEOUT_S
    finished = {dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE}
    while time.monotonic() < deadline:
        with deployment.instance() as instance:
            runs = _sensor_runs(instance)
        if len(runs) == len(STREAMS) and all(run.status in finished for run in runs):
            return runs
        time.sleep(2)
    log = (tmp_path / "daemon.log").read_text(errors="replace")
    pytest.fail(f"the sensor's runs did not finish in {DAEMON_TIMEOUT_S} s: {log[-4000:]}")


def _step_spans(instance: dg.DagsterInstance, run_id: str) -> list[tuple[float, float]]:
    """(start, end) of each step of the run that read the API, from the stored events."""
    started: dict[str, float] = {}
    spans = []
    for entry in instance.all_logs(run_id):
        event = entry.dagster_event
        if event is None or event.step_key is None:
            continue
        if event.event_type == dg.DagsterEventType.STEP_START:
            started[event.step_key] = entry.timestamp
        elif event.event_type == dg.DagsterEventType.STEP_SUCCESS:
            spans.append((started[event.step_key], entry.timestamp))
    return spans


def test_the_daemon_queues_the_change_sensors_runs_in_postgres_one_api_step_at_a_time(
    deployment: Deployment, daemon: subprocess.Popen[bytes], tmp_path: Path
) -> None:
    keys = _days()
    deployment.backfill(STREAMS, keys)
    landed = {stream: deployment.sb.truth(stream) for stream in STREAMS}
    for stream in STREAMS:
        deployment.sb.touch(stream, count=2)  # moved to today: older files keep their version
        deployment.sb.add(stream, count=3)
    workspace = str(ROOT / "workspace.yaml")
    deployment.dagster("sensor", "start", CHANGE_SENSOR, "-w", workspace)

    runs = _wait_for_sensor_runs(deployment, tmp_path)

    assert all(run.status == dg.DagsterRunStatus.SUCCESS for run in runs)
    for stream in STREAMS:
        assert not deployment.problems(stream, keys[:-1], landed[stream])
        assert not deployment.problems(stream, keys[-1:])  # today's: every change
    with deployment.instance() as instance:
        # The run queue: each run was enqueued, then taken off the queue by the daemon and
        # launched in a worker process of its own.
        workers = set()
        for run in runs:
            entries = [e for e in instance.all_logs(run.run_id) if e.dagster_event]
            types = [e.dagster_event_type for e in entries]
            assert types.index(dg.DagsterEventType.RUN_ENQUEUED) < types.index(
                dg.DagsterEventType.RUN_STARTING
            )
            (start,) = [e for e in entries if e.dagster_event_type == dg.DagsterEventType.RUN_START]
            assert start.dagster_event is not None
            workers.add(start.dagster_event.pid)
        assert len(workers) == len(runs) and daemon.pid not in workers
        # The pool (limit 1, counted in the database): two runs may run at once, their API
        # steps may not.
        spans = sorted(span for run in runs for span in _step_spans(instance, run.run_id))
        assert len(spans) == len(STREAMS)
        assert all(end <= later for (_, end), (later, _) in itertools.pairwise(spans))
        # The sensor's cursor lives in the database: each stream moved past its change.
        (sensor,) = [
            s
            for s in instance.all_instigator_state()
            if s.name == CHANGE_SENSOR and s.status.value == "RUNNING"
        ]
        ticks = instance.get_ticks(sensor.instigator_origin_id, sensor.selector_id)
        cursors = [parse_sensor_cursor(t.cursor) for t in ticks if t.cursor]
        assert cursors and set(cursors[0]) == set(STREAMS)
        newest = {s: max(deployment.sb.truth(s).values()) for s in STREAMS}
        for stream in STREAMS:
            assert cursors[0][stream].strftime("%Y-%m-%dT%H:%M:%S") >= newest[stream][:19]


def test_the_close_out_tick_lands_yesterday_and_postgres_records_it(
    deployment: Deployment, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in deployment.env.items():  # the run resolves its credentials here
        monkeypatch.setenv(name, value)
    defs = build_defs(deployment.env)
    yesterday = _days()[-2]
    tick_time = datetime.fromisoformat(f"{_days()[-1]}T12:00:00+00:00")
    with deployment.instance() as instance:
        context = dg.build_schedule_context(
            instance=instance,
            scheduled_execution_time=tick_time,
            repository_def=defs.get_repository_def(),
        )
        schedule = defs.resolve_schedule_def(CLOSE_OUT_SCHEDULE)
        (request,) = schedule.evaluate_tick(context).run_requests or []
        assert request.partition_key == yesterday
        # What the daemon launches for the request: the code location's asset job over
        # the request's selection and partition.
        job = defs.resolve_implicit_global_asset_job_def()
        result = job.execute_in_process(
            instance=instance,
            partition_key=request.partition_key,
            asset_selection=list(request.asset_selection or []),
            tags=request.tags,
        )
        assert result.success
        for stream in STREAMS:
            key = dg.AssetKey(["outreach", stream])
            assert yesterday in instance.get_materialized_partitions(key)
    for stream in STREAMS:
        assert not deployment.problems(stream, [yesterday])


WORKER_STREAMS = ("calls", "prospects", "accounts")
WORKERS = 3
QUOTA = 0.5
RATE_LIMIT = 20


def test_three_step_processes_share_one_token_the_pool_and_the_quota(
    sandbox_factory: Callable[..., SandboxServer],
    postgres_server: PostgresServer,
    tmp_path: Path,
) -> None:
    """A worker deployment: three streams' steps in three processes at once
    (``OUTREACH_STEP_PROCESSES=3``) on the Postgres instance, sharing the database token
    store (rotating refresh tokens), the pool and one user's quota: every file as the
    sandbox holds it, one access token minted, and no rate window past ``quota_limit``."""
    first = _days()[0]
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    sb = sandbox_factory(
        start=f"{first}T00:00:00Z",
        end=now,
        sizes=dict.fromkeys(WORKER_STREAMS, 150),
        rate_limit=RATE_LIMIT,
        rate_window_s=2.0,
        rotate_refresh_tokens=True,
    )
    home = tmp_path / "dagster_home"
    home.mkdir()
    instance_url = postgres_server.create_database()
    yaml_text = _instance_yaml(instance_url, pool_limit=WORKERS, max_runs=1)
    (home / "dagster.yaml").write_text(yaml_text)
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("OUTREACH_", "DAGSTER_"))}
    env = {
        **clean,
        **sb.environment(),
        "OUTREACH_START_DATE": first,
        "OUTREACH_STREAMS": ",".join(WORKER_STREAMS),
        "OUTREACH_DATA_DIR": str(tmp_path / "data"),
        "OUTREACH_TOKEN_STORE": postgres_server.create_database(),
        "OUTREACH_STEP_PROCESSES": str(WORKERS),
        "OUTREACH_PAGE_SIZE": "15",
        "OUTREACH_QUOTA_LIMIT": str(QUOTA),
        "DAGSTER_HOME": str(home),
    }
    deployment = Deployment(sb, home, env)
    keys = _days()
    sb.reset_stats()

    deployment.backfill(WORKER_STREAMS, keys)

    for stream in WORKER_STREAMS:
        assert not deployment.problems(stream, keys)
    stats = sb.stats
    assert stats.token_mints == 1 and stats.status_counts.get(400, 0) == 0
    windows = sb.rate_windows()
    assert max(w.used for w in windows) <= QUOTA * RATE_LIMIT, [w.used for w in windows]
    assert stats.rate_limited == 0
    with deployment.instance() as instance:
        (run,) = instance.get_runs()
        entries = [e for e in instance.all_logs(run.run_id) if e.dagster_event]
        starts = [e for e in entries if e.dagster_event_type == dg.DagsterEventType.STEP_START]
        pids = {e.dagster_event.pid for e in starts if e.dagster_event is not None}
        spans = sorted(_step_spans(instance, run.run_id))
    assert len(starts) == len(WORKER_STREAMS) and len(pids) == len(WORKER_STREAMS)
    assert any(later < end for (_, end), (later, _) in itertools.pairwise(spans))  # at once
