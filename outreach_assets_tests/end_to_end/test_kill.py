"""A write that dies half-way leaves the previous good file of its partition untouched.

Two ways to die: the process is SIGKILLed while a partition's rows are streaming into its
hidden temporary file (nothing can clean up, so the temp file stays until a later write
finds it stale), and an API error mid-sweep inside a Dagster run (the store cleans up).
"""

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import dagster as dg
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from outreach_assets.assets import OutreachTranslator, stream
from outreach_assets.assets.lifeline import RUN_HOST_TAG, reap_dead_runs, this_host
from outreach_assets.catalog import get_stream
from outreach_assets.definitions import build_defs
from outreach_assets.sandbox import SandboxServer
from outreach_assets.storage import INPROGRESS_SUFFIX, ParquetStore
from outreach_assets_tests.support.clients import ROOT
from outreach_assets_tests.support.dagster_dev import dagster_environment, live_group_members
from outreach_assets_tests.support.files import SCHEMA, at, pbatch, purpose, window

KEYS = OutreachTranslator()

NAME = "call_purposes"  # the stream of support.files' pages (incremental on updatedAt)
KEY = window(2).key
WRITING = "writing"  # what the slow writer prints once rows are in its temp file
# The killed process: a second write of KEY, stalled after a few row groups.
KILLED_WRITER = (
    "import sys; from outreach_assets_tests.end_to_end.test_kill import slow_write; "
    "slow_write(sys.argv[1])"
)


# ##### HELPERS


def rows(first_id: int, count: int) -> pa.RecordBatch:
    return pbatch(*(purpose(i, at(2)) for i in range(first_id, first_id + count)))


def write(base: str, batches: Iterator[pa.RecordBatch], row_group_rows: int = 50_000) -> None:
    ParquetStore(base).write_partitions(
        NAME,
        SCHEMA,
        "updatedAt",
        [window(2)],
        ((KEY, b) for b in batches),
        row_group_rows=row_group_rows,
    )


def slow_write(base: str) -> None:
    """Stream three row groups into KEY's temp file, announce it, then stall until killed."""

    def batches() -> Iterator[pa.RecordBatch]:
        for n in range(3):
            yield rows(100 + 10 * n, 10)
        print(WRITING, flush=True)
        time.sleep(120)  # the test kills this process as soon as it reads the line
        yield rows(200, 10)

    write(base, batches(), row_group_rows=10)


def temp_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.name.endswith(INPROGRESS_SUFFIX))


def ids_of(folder: Path) -> list[int]:
    return sorted(pq.read_table(folder).column("id").to_pylist())


def kill_mid_write(base: str) -> None:
    """Start a second write of KEY in a subprocess and SIGKILL it while it is writing."""
    proc = subprocess.Popen(
        [sys.executable, "-c", KILLED_WRITER, base],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == WRITING
        (temp,) = temp_files(Path(base) / NAME)
        assert temp.name.startswith(f".{KEY}.parquet.")
        assert temp.stat().st_size > 0  # row groups were on disk when the process died
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL


# ##### A PROCESS KILLED MID-WRITE


def test_a_killed_write_keeps_the_old_file_and_the_next_write_removes_its_temp_file(
    tmp_path: Path,
) -> None:
    """The temporary file's name says which process on this host made it: once that
    process is gone, the next write of the stream removes it, whatever its age."""
    base = str(tmp_path / "data")
    folder = tmp_path / "data" / NAME
    write(base, iter([rows(1, 5)]))
    target = folder / f"{KEY}.parquet"
    good = target.read_bytes()

    kill_mid_write(base)

    assert target.read_bytes() == good
    assert len(temp_files(folder)) == 1  # the killed writer's
    assert ids_of(folder) == [1, 2, 3, 4, 5]  # pyarrow's dataset skips the hidden file
    assert sorted(pd.read_parquet(folder)["id"]) == [1, 2, 3, 4, 5]
    assert ParquetStore(base).existing_keys(NAME) == [KEY]

    write(base, iter([rows(6, 3)]))  # its writer is dead: no need to wait STALE_AFTER
    assert ids_of(folder) == [6, 7, 8]
    assert sorted(p.name for p in folder.iterdir()) == [f"{KEY}.parquet"]


# ##### AN API ERROR MID-SWEEP IN A DAGSTER RUN


CALLS = get_stream("calls")
DAY = "2024-01-02"
PAGE_SIZE = 10  # the day spans several pages, so a page can fail mid-sweep
STEP = "outreach__calls"  # the calls stream asset's step in the sync job
IN_PROCESS: dict[str, Any] = {"execution": {"config": {}}}  # the job's own executor
# With step retries on, a retried attempt would hide what one failing attempt leaves behind.
NO_STEP_RETRIES: dict[str, Any] = {"execution": {"config": {"retries": {"disabled": {}}}}}


def sync_job() -> dg.JobDefinition:
    """The project's sync job, built from the environment as the code location builds it.

    Module level so that ``dg.reconstructable`` can rebuild it: unlike ``dg.materialize``,
    ``dg.execute_job`` honours the executor's retry config.
    """
    return build_defs().resolve_job_def("outreach_sync_job")


def run_calls(instance: dg.DagsterInstance, run_config: Mapping[str, Any]) -> dg.JobExecutionResult:
    """One run of the sync job over the calls stream and its current state, for DAY."""
    with dg.execute_job(
        dg.reconstructable(sync_job),
        instance=instance,
        tags={"dagster/partition": DAY},
        run_config=run_config,
        asset_selection=[KEYS.asset_key(CALLS), KEYS.current_asset_key(CALLS)],
    ) as result:
        return result


def fail_after_first_page(sb: SandboxServer, folder: Path, seen: list[str]) -> threading.Thread:
    """Make the request after the first served page fail with a 400, and note the temp file.

    The sandbox counts served records before it answers, and sleeps ``latency_ms`` before
    it decides the next request's fault: the fault queued as soon as records were served
    lands on the second page, with the whole latency as the watcher's margin.
    """

    def watch() -> None:
        deadline = time.monotonic() + 30
        while sb.stats.records_served == 0 and time.monotonic() < deadline:
            time.sleep(0.002)
        sb.fail_next(1, status=400)
        while not seen and time.monotonic() < deadline:
            seen.extend(p.name for p in temp_files(folder))
            time.sleep(0.002)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


def calls_sandbox(
    sandbox_factory: Callable[..., SandboxServer],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    **settings: str,
) -> tuple[SandboxServer, Path]:
    """A sandbox whose DAY of calls spans several pages, and the environment the sync job
    reads (plus ``settings``); returns the sandbox and the data folder."""
    sb = sandbox_factory(
        sizes={"calls": 90}, start="2024-01-01T00:00:00Z", end="2024-01-04T00:00:00Z"
    )
    assert sum(c[:10] == DAY for c in sb.truth("calls").values()) > PAGE_SIZE
    data = tmp_path / "data"
    env = {
        **sb.environment(),
        "OUTREACH_START_DATE": "2024-01-01",
        "OUTREACH_DATA_DIR": str(data),
        "OUTREACH_TOKEN_STORE": str(tmp_path / "tokens.json"),
        "OUTREACH_PAGE_SIZE": str(PAGE_SIZE),
        **settings,
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return sb, data


def test_an_api_error_mid_sweep_fails_the_run_and_keeps_the_previous_files(
    sandbox_factory: Callable[..., SandboxServer], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sb, data = calls_sandbox(sandbox_factory, tmp_path, monkeypatch)
    partition_file = data / "calls" / f"{DAY}.parquet"
    current_file = data / "calls_current" / "calls_current.parquet"
    with dg.DagsterInstance.ephemeral() as instance:
        assert run_calls(instance, IN_PROCESS).success
        # Rows carry their extraction time, so any commit of a new run changes the bytes.
        good = partition_file.read_bytes(), current_file.read_bytes()
        sb.configure(latency_ms=300)
        sb.reset_stats()
        seen: list[str] = []
        watcher = fail_after_first_page(sb, data / "calls", seen)

        result = run_calls(instance, NO_STEP_RETRIES)
        watcher.join(timeout=30)

    assert not watcher.is_alive()
    assert not result.success
    assert sb.stats.status_counts.get(400) == 1
    assert seen and seen[0].startswith(f".{DAY}.parquet.")  # it failed mid-write
    assert (partition_file.read_bytes(), current_file.read_bytes()) == good
    assert os.listdir(data / "calls") == [f"{DAY}.parquet"]  # no temp file remains
    assert os.listdir(data / "calls_current") == ["calls_current.parquet"]
    assert not result.get_asset_materialization_events()
    (failure,) = result.get_step_failure_events()
    error = failure.step_failure_data.error
    assert error is not None
    # A 400 will fail again: Dagster must not be asked to retry the step (RETRY_POLICY
    # would rerun it after about 60, 180 and 420 s before the run finally failed).
    cause = error.cause.message if error.cause else ""
    assert "RetryRequested" not in error.message, f"{error.message.strip()} <- {cause.strip()}"


def test_an_outage_beyond_the_clients_retries_makes_dagster_retry_the_step(
    sandbox_factory: Callable[..., SandboxServer], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 503 the client may not retry (max_retries=0) fails the attempt, not the run: the
    asset asks Dagster for a retry (RetryRequested, as RETRY_POLICY schedules it), and the
    second attempt lands the whole partition."""
    sb, data = calls_sandbox(sandbox_factory, tmp_path, monkeypatch, OUTREACH_MAX_RETRIES="0")
    monkeypatch.setattr(stream, "RETRY_POLICY", dg.RetryPolicy(max_retries=1, delay=0.1))
    sb.fail_next(1, status=503)
    with dg.DagsterInstance.ephemeral() as instance:
        result = run_calls(instance, IN_PROCESS)
        kinds = [e.event_type for e in result.all_events if e.step_key == STEP]
    assert result.success
    assert sb.stats.status_counts.get(503) == 1
    assert kinds.count(dg.DagsterEventType.STEP_UP_FOR_RETRY) == 1
    assert kinds.count(dg.DagsterEventType.STEP_RESTARTED) == 1
    landed = pq.read_table(data / "calls" / f"{DAY}.parquet").column("id").to_pylist()
    assert sorted(landed) == sorted(i for i, c in sb.truth("calls").items() if c[:10] == DAY)


# ##### THE LAUNCHING COMMAND KILLED WITH SIGKILL MID-SWEEP


KILL_PAGES, KILL_LATENCY_MS = 30, 300  # a sweep of about 9 s: long enough to kill it mid-way
WORKERS_GONE_S = 5.0  # from the kill until no step worker is left
MATERIALIZE_CALLS = [
    *("-m", "dagster", "asset", "materialize", "-m", "outreach_assets"),
    *("--select", "outreach/calls", "--partition", DAY),
]


def slow_calls_env(
    sandbox_factory: Callable[..., SandboxServer], tmp_path: Path, **settings: str
) -> tuple[SandboxServer, dict[str, str]]:
    """A sandbox whose DAY of calls takes many slow pages, and a user's shell for it."""
    sb = sandbox_factory(
        records=0,
        sizes={"calls": KILL_PAGES * PAGE_SIZE},
        start=f"{DAY}T00:00:00Z",
        end=f"{DAY}T23:59:59Z",
        latency_ms=KILL_LATENCY_MS,
    )
    env = {
        **dagster_environment(sb, tmp_path, "2024-01-01"),
        "OUTREACH_PAGE_SIZE": str(PAGE_SIZE),
        **settings,
    }
    return sb, env


def kill_launcher_mid_sweep(sb: SandboxServer, env: dict[str, str]) -> int:
    """Start ``dagster asset materialize`` in its own group, SIGKILL the command alone once
    its step has read a few pages; return the group's id (the command's pid)."""
    proc = subprocess.Popen(
        [sys.executable, *MATERIALIZE_CALLS],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 180
    while sb.stats.api_requests < 3:
        assert proc.poll() is None, "the command ended before it was killed"
        assert time.monotonic() < deadline, "no request in 180 s"
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    return proc.pid


def the_run(home: str) -> dg.DagsterRun:
    with dg.DagsterInstance.from_config(home) as instance:
        (run,) = instance.get_runs(limit=1, filters=dg.RunsFilter(job_name="__ASSET_JOB"))
        return run


def test_killing_the_command_stops_its_step_workers_and_the_run_is_reported_failed(
    sandbox_factory: Callable[..., SandboxServer], tmp_path: Path
) -> None:
    """Multiprocess executor: the step worker notices its parent's death at once and dies,
    so no request follows and nothing is committed; the dead run is reported failed by the
    next step of this host (here called directly, as ``guard_step`` does)."""
    sb, env = slow_calls_env(sandbox_factory, tmp_path, OUTREACH_STEP_PROCESSES="2")
    pgid = kill_launcher_mid_sweep(sb, env)
    killed_at = time.monotonic()
    while live_group_members(pgid) and time.monotonic() - killed_at < 30:
        time.sleep(0.1)
    gone_after = time.monotonic() - killed_at
    left = live_group_members(pgid)
    if left:
        os.killpg(pgid, signal.SIGKILL)
    requests = sb.stats.api_requests
    time.sleep(2 * KILL_LATENCY_MS / 1000)
    print(f"step workers gone {gone_after:.1f} s after the kill; {requests} requests in all")
    assert not left, f"step workers outlived the command: {left}"
    assert gone_after < WORKERS_GONE_S
    assert sb.stats.api_requests == requests  # nobody is reading any more
    assert requests < KILL_PAGES  # the sweep was cut short
    assert not (tmp_path / "data" / "calls" / f"{DAY}.parquet").exists()

    home = env["DAGSTER_HOME"]
    run = the_run(home)
    assert run.status == dg.DagsterRunStatus.STARTED  # Dagster alone never ends it
    assert run.tags[RUN_HOST_TAG] == this_host()
    with dg.DagsterInstance.from_config(home) as instance:
        assert reap_dead_runs(instance, "the test") == [run.run_id]
        assert reap_dead_runs(instance, "the test") == []
        (failure,) = instance.all_logs(run.run_id, of_type=dg.DagsterEventType.RUN_FAILURE)
    assert the_run(home).status == dg.DagsterRunStatus.FAILURE
    message = failure.dagster_event.message if failure.dagster_event else ""
    assert "is gone without ending the run" in (message or ""), failure


def test_the_next_run_reports_a_killed_in_process_run_failed(
    sandbox_factory: Callable[..., SandboxServer], tmp_path: Path
) -> None:
    """In-process executor: the kill takes the step with it, and the run stays STARTED
    until the next run on this host finds its process gone."""
    sb, env = slow_calls_env(sandbox_factory, tmp_path)
    kill_launcher_mid_sweep(sb, env)
    home = env["DAGSTER_HOME"]
    killed = the_run(home)
    assert killed.status == dg.DagsterRunStatus.STARTED

    sb.configure(latency_ms=0)
    subprocess.run(
        [sys.executable, *MATERIALIZE_CALLS], cwd=ROOT, env=env, check=True, capture_output=True
    )

    with dg.DagsterInstance.from_config(home) as instance:
        after = instance.get_run_by_id(killed.run_id)
        (failure,) = instance.all_logs(killed.run_id, of_type=dg.DagsterEventType.RUN_FAILURE)
        statuses = sorted(r.status.value for r in instance.get_runs())
    assert after is not None
    assert after.status == dg.DagsterRunStatus.FAILURE
    message = failure.dagster_event.message if failure.dagster_event else ""
    assert "is gone without ending the run" in (message or ""), failure
    assert "Found by run " in (message or "")
    assert statuses == ["FAILURE", "SUCCESS"]
