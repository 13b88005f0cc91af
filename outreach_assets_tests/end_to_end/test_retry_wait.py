"""A stop during the wait before a step's retry ends the run within seconds, retrying nothing.

The sandbox answers every request with a 503 and the client may not retry (max_retries 0),
so the stream step's first attempt fails with a retriable error at once and waits for its
retry (``RETRY_POLICY``: 0 to 120 s for the first, 120 to 240 s for the second). The test
stops the run during that wait: Ctrl-C or SIGTERM to a real ``dagster`` command, with the
in-process executor and with the multiprocess one, and Terminate over GraphQL for a run
that ``dagster dev`` launched. When the step asked Dagster to wait
(``RetryRequested(seconds_to_wait=...)``), the executor slept the delay out wherever the
stop came and then launched the retry: each of these took the whole delay.
"""

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg
import pytest

from outreach_assets.sandbox import SandboxServer
from outreach_assets_tests.end_to_end.test_interrupt import (
    DAY,
    ENDED,
    FIRST_DAY,
    MATERIALIZE,
    STEP,
    STREAM,
    SYNC_JOB,
    ctrl_c,
    kill,
)
from outreach_assets_tests.support.clients import ROOT
from outreach_assets_tests.support.dagster_dev import dagster_environment, live_group_members
from outreach_assets_tests.support.webserver import (
    kill_group,
    launch_partition,
    start_dagster_dev,
    wait_until_loaded,
)

STOP_TARGET_S = 10.0  # from the stop to the command's exit, or to the run's end in the UI
REAP_TIMEOUT_S = 20.0
WAIT_TIMEOUT_S = 300.0  # startup on a loaded machine, plus a first delay too short to use
# The asset's warning before it waits; a shorter wait than MIN_WAIT_S may end before the
# stop arrives, so the test waits for the next one (the second retry waits 120 s or more).
WAITING = re.compile(r"Retry (\d) of 3 in ([\d.]+) s \(a stop during this wait")
MIN_WAIT_S = 20.0
OUTAGE: dict[int, float] = {503: 1.0}
EVENT = dg.DagsterEventType

TERMINATE_MUTATION = """mutation Terminate($runId: String!) {
  terminateRun(runId: $runId) { __typename ... on PythonError { message } } }"""
RUN_STATUS_QUERY = """query Run($runId: ID!) { runOrError(runId: $runId) {
  ... on Run { status } } }"""


@dataclass
class Waits:
    """Lines of a log as they come; ``long_wait`` is set by a retry wait worth stopping."""

    lines: list[str] = field(default_factory=list)
    long_wait: threading.Event = field(default_factory=threading.Event)

    def feed(self, line: str) -> None:
        self.lines.append(line)
        match = WAITING.search(line)
        if match and float(match[2]) >= MIN_WAIT_S:
            self.long_wait.set()

    def tail(self, count: int = 60) -> str:
        return "".join(self.lines[-count:])


def outage_sandbox(sandbox_factory: Callable[..., SandboxServer]) -> SandboxServer:
    return sandbox_factory(
        records=0,
        sizes={STREAM: 30},
        start=f"{DAY}T00:00:00Z",
        end=f"{DAY}T23:59:59Z",
        error_rate=OUTAGE,
    )


def outage_env(sb: SandboxServer, tmp_path: Path, **settings: str) -> dict[str, str]:
    return {**dagster_environment(sb, tmp_path, FIRST_DAY), "OUTREACH_MAX_RETRIES": "0", **settings}


def step_events(entries: Sequence[dg.EventLogEntry]) -> list[EVENT]:
    return [e.dagster_event_type for e in entries if e.step_key == STEP and e.dagster_event_type]


def shown(entries: Sequence[dg.EventLogEntry]) -> str:
    return "\n".join(f"{e.dagster_event_type or 'LOG'} {e.user_message}"[:300] for e in entries)


RETRY_EVENTS = (EVENT.STEP_UP_FOR_RETRY, EVENT.STEP_RESTARTED)


def retries_so_far(home: str) -> int:
    """Retry events of the one run so far (a first delay too short to stop in has some)."""
    with dg.DagsterInstance.from_config(home) as instance:
        (run,) = instance.get_runs()
        return sum(k in RETRY_EVENTS for k in step_events(instance.all_logs(run.run_id)))


def assert_stopped_without_retry(
    run: dg.DagsterRun, entries: Sequence[dg.EventLogEntry], retries_at_stop: int
) -> None:
    assert run.status in ENDED, shown(entries)
    kinds = step_events(entries)
    assert sum(k in RETRY_EVENTS for k in kinds) == retries_at_stop, shown(entries)
    assert EVENT.STEP_FAILURE in kinds, shown(entries)


def stop_during_retry_wait(
    command: list[str], send: Callable[[int], None], env: dict[str, str], sb: SandboxServer
) -> tuple[float, int, int]:
    """Run ``command`` until its step waits for a retry long enough, ``send`` the signal;
    return the seconds to exit, the API requests the sandbox saw after the signal and the
    run's retry events before it."""
    waits = Waits()
    proc = subprocess.Popen(
        [sys.executable, "-m", "dagster", *command],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            waits.feed(line)

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + WAIT_TIMEOUT_S
        while not waits.long_wait.wait(0.5):
            assert proc.poll() is None, f"exited before a retry wait:\n{waits.tail()}"
            assert time.monotonic() < deadline, f"no retry wait:\n{waits.tail()}"
        retries = retries_so_far(env["DAGSTER_HOME"])
        before = sb.stats.api_requests
        send(proc.pid)
        started = time.monotonic()
        try:
            proc.wait(timeout=REAP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            pytest.fail(f"still running {REAP_TIMEOUT_S:.0f} s after the stop:\n{waits.tail()}")
        took = time.monotonic() - started
        deadline = time.monotonic() + REAP_TIMEOUT_S
        while (left := live_group_members(proc.pid)) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not left, f"processes left behind:\n{left}\n{waits.tail()}"
        return took, sb.stats.api_requests - before, retries
    finally:
        if proc.poll() is None or live_group_members(proc.pid):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=REAP_TIMEOUT_S)
        reader.join(timeout=REAP_TIMEOUT_S)


MULTIPROCESS = {"OUTREACH_STEP_PROCESSES": "2"}


@pytest.mark.parametrize(
    ("command", "send", "settings"),
    [
        pytest.param(MATERIALIZE, ctrl_c, {}, id="in-process-ctrl-c"),
        pytest.param(SYNC_JOB, kill, {}, id="in-process-sync-job-sigterm"),
        pytest.param(MATERIALIZE, ctrl_c, MULTIPROCESS, id="multiprocess-ctrl-c"),
        pytest.param(MATERIALIZE, kill, MULTIPROCESS, id="multiprocess-sigterm"),
    ],
)
def test_a_stop_during_the_retry_wait_ends_the_run_at_once_without_the_retry(
    sandbox_factory: Callable[..., SandboxServer],
    tmp_path: Path,
    command: list[str],
    send: Callable[[int], None],
    settings: dict[str, str],
) -> None:
    sb = outage_sandbox(sandbox_factory)
    env = outage_env(sb, tmp_path, **settings)

    took, requests_after, retries = stop_during_retry_wait(command, send, env, sb)

    print(f"stop to exit: {took:.1f} s; requests after the stop: {requests_after}")
    assert took < STOP_TARGET_S
    assert requests_after == 0
    with dg.DagsterInstance.from_config(env["DAGSTER_HOME"]) as instance:
        (run,) = instance.get_runs()
        assert_stopped_without_retry(run, instance.all_logs(run.run_id), retries)


def test_terminate_in_the_ui_during_the_retry_wait_ends_the_run_at_once_without_the_retry(
    sandbox_factory: Callable[..., SandboxServer], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sb = outage_sandbox(sandbox_factory)
    env = outage_env(sb, tmp_path)
    monkeypatch.setenv("DAGSTER_HOME", env["DAGSTER_HOME"])
    server = start_dagster_dev(sb, tmp_path, env, FIRST_DAY)
    try:
        wait_until_loaded(server)
        run_id = launch_partition(server, STREAM, DAY)
        waits = Waits()
        deadline = time.monotonic() + WAIT_TIMEOUT_S
        while not waits.long_wait.is_set():
            assert time.monotonic() < deadline, f"no retry wait:\n{server.log_tail()}"
            time.sleep(0.5)
            with dg.DagsterInstance.get() as instance:
                waits.lines.clear()
                for entry in instance.all_logs(run_id):
                    waits.feed(entry.user_message)
        retries = retries_so_far(env["DAGSTER_HOME"])
        before = sb.stats.api_requests
        done = server.graphql(TERMINATE_MUTATION, runId=run_id)["terminateRun"]
        assert done["__typename"] == "TerminateRunSuccess", done
        started = time.monotonic()
        status = ""
        while time.monotonic() - started < REAP_TIMEOUT_S:
            status = server.graphql(RUN_STATUS_QUERY, runId=run_id)["runOrError"]["status"]
            if status in ("FAILURE", "CANCELED"):
                break
            time.sleep(0.2)
        took = time.monotonic() - started
        time.sleep(1.0)  # a retry launched at the end would have sent a request by now
        requests_after = sb.stats.api_requests - before
    finally:
        kill_group(server.proc, signal.SIGINT)

    print(f"terminate to run end: {took:.1f} s; requests after: {requests_after}")
    assert status in ("FAILURE", "CANCELED"), server.log_tail()
    assert took < STOP_TARGET_S
    assert requests_after == 0
    with dg.DagsterInstance.get() as instance:
        run = instance.get_run_by_id(run_id)
        assert run is not None
        assert_stopped_without_retry(run, instance.all_logs(run_id), retries)
