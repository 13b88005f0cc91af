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

from outreach_assets import assets
from outreach_assets.assets import OutreachTranslator
from outreach_assets.catalog import get_stream
from outreach_assets.definitions import build_defs
from outreach_assets.sandbox import SandboxServer
from outreach_assets.storage import INPROGRESS_SUFFIX, STALE_AFTER, ParquetStore
from outreach_assets_tests.support.clients import ROOT
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


def test_a_killed_write_keeps_the_old_file_and_its_temp_file_is_removed_once_stale(
    tmp_path: Path,
) -> None:
    base = str(tmp_path / "data")
    folder = tmp_path / "data" / NAME
    write(base, iter([rows(1, 5)]))
    target = folder / f"{KEY}.parquet"
    good = target.read_bytes()

    kill_mid_write(base)

    assert target.read_bytes() == good
    (leftover,) = temp_files(folder)
    assert ids_of(folder) == [1, 2, 3, 4, 5]  # pyarrow's dataset skips the hidden file
    assert sorted(pd.read_parquet(folder)["id"]) == [1, 2, 3, 4, 5]
    assert ParquetStore(base).existing_keys(NAME) == [KEY]

    write(base, iter([rows(6, 3)]))  # a fresh temp file may be a live writer's: it stays
    assert ids_of(folder) == [6, 7, 8]
    assert temp_files(folder) == [leftover]

    long_ago = time.time() - STALE_AFTER.total_seconds() - 60
    os.utime(leftover, (long_ago, long_ago))
    write(base, iter([rows(9, 2)]))
    assert ids_of(folder) == [9, 10]
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
    monkeypatch.setattr(assets, "RETRY_POLICY", dg.RetryPolicy(max_retries=1, delay=0.1))
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
