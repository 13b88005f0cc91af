"""Terminating a real ``dagster`` run that waits for the quota stops it at once.

The unit tests close the page generator by hand; here the whole chain runs as a user runs
it: the ``dagster`` command line, Dagster's signal handling, the run process (every job of
the code location, the CLI's asset job included, executes its steps in process), the
probe's fetching thread, the client's quota wait. The sandbox allows 4 requests in a
10-minute window and the client may use half: two pages come, and the third waits about
600 s for the window to reset. That third page is the probe's last (``slices.PROBE_PAGES``),
which is fetched in a background thread while the second is consumed, so the wait the
signal must end runs in a thread that no signal reaches: only the scan's cancel event does.
Before that event, closing the scan joined a thread sleeping out the window.
"""

import json
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

from outreach_assets.config import client_settings_from_env
from outreach_assets.sandbox import SandboxServer
from outreach_assets_tests.support.clients import ROOT
from outreach_assets_tests.support.dagster_dev import dagster_environment, live_group_members

STREAM = "calls"
STEP = f"outreach__{STREAM}"  # the step (op) of outreach/calls in any job
FIRST_DAY, DAY = "2024-01-01", "2024-01-02"  # OUTREACH_START_DATE, the partition synced
RATE_LIMIT, WINDOW_S = 4, 600.0
QUOTA_LIMIT = 0.5  # of RATE_LIMIT: two requests, then a wait for the window's reset
PAGE_SIZE, RECORDS = 10, 50  # five pages: the scan is nowhere near done when it waits
# Startup (imports, code location, resource init) on a loaded 2-core machine, then the wait.
WAIT_LOGGED_TIMEOUT_S = 180.0
EXIT_TIMEOUT_S = 20.0  # generous for a loaded machine; what it interrupts lasts ~WINDOW_S
REAP_TIMEOUT_S = 20.0  # a step process still waiting would outlive the command
WAIT_LOGGED = "until reset at"  # QuotaLimiter's reason for a wait on a known window
STOPPED = re.compile(
    rf"{STREAM}: scan stopped during a quota wait \([\d.]+ s of [\d.]+ s waited\) after page 2"
)
ENDED = (dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED)
MATERIALIZED = dg.DagsterEventType.ASSET_MATERIALIZATION


class StillRunning(AssertionError):
    """The command outlived the signal: a wait nothing ended, or a step retried after it."""


# ##### HELPERS


@dataclass
class Output:
    """A command's merged stdout and stderr, read as it comes (the pipe must never fill up)."""

    lines: list[str] = field(default_factory=list)
    wait_logged: threading.Event = field(default_factory=threading.Event)

    def read(self, proc: "subprocess.Popen[str]") -> threading.Thread:
        def pump() -> None:
            assert proc.stdout is not None
            for line in proc.stdout:
                self.lines.append(line)
                if WAIT_LOGGED in line:
                    self.wait_logged.set()

        thread = threading.Thread(target=pump, daemon=True)
        thread.start()
        return thread

    def tail(self, count: int = 60) -> str:
        return "".join(self.lines[-count:])


def _quota_env(sb: SandboxServer, tmp_path: Path) -> dict[str, str]:
    """A user's shell pointed at the sandbox (no OUTREACH_* of the developer's own, the
    example ``dagster.yaml`` in a fresh DAGSTER_HOME), with a share of the quota so small
    that the scan must wait for the window after two pages."""
    env = {
        **dagster_environment(sb, tmp_path, FIRST_DAY),
        "OUTREACH_PAGE_SIZE": str(PAGE_SIZE),
        "OUTREACH_QUOTA_LIMIT": str(QUOTA_LIMIT),
        "OUTREACH_MAX_RATE_LIMIT_WAIT_S": str(2 * WINDOW_S),
    }
    settings = client_settings_from_env(env)
    # Waiting longer than allowed raises instead of waiting; prefetch 0 would wait in the
    # main thread, where any signal ends a wait: neither is the case under test.
    assert settings.max_rate_limit_wait_s > WINDOW_S
    assert settings.prefetch_pages == 1  # the default: OUTREACH_PREFETCH_PAGES is unset
    return env


def _run_log() -> tuple[dg.DagsterRun, Sequence[dg.EventLogEntry]]:
    """The one run the command started and its run log, from the instance at DAGSTER_HOME:
    the UI's log, and the only one left once Ctrl-C stopped Dagster's mirroring of it to the
    terminal (its ``tee`` processes are in the foreground group too)."""
    with dg.DagsterInstance.get() as instance:
        (run,) = instance.get_runs()
        return run, instance.all_logs(run.run_id)


def _shown(entries: Sequence[dg.EventLogEntry], count: int = 30) -> str:
    rows = [f"{e.dagster_event_type or 'LOG'} {e.user_message}" for e in entries[-count:]]
    return "\n".join(row[:300] for row in rows)


def _until_wait_logged(proc: "subprocess.Popen[str]", output: Output) -> None:
    """Return once the client logged its quota wait; fail with the output if the command
    ends first or takes longer than ``WAIT_LOGGED_TIMEOUT_S``."""
    deadline = time.monotonic() + WAIT_LOGGED_TIMEOUT_S
    while not output.wait_logged.wait(0.5):
        if proc.poll() is not None:
            pytest.fail(f"exited ({proc.returncode}) before any quota wait:\n{output.tail()}")
        if time.monotonic() > deadline:
            pytest.fail(f"no quota wait in {WAIT_LOGGED_TIMEOUT_S:.0f} s:\n{output.tail()}")


def _until_exit(proc: "subprocess.Popen[str]", output: Output, timeout_s: float) -> float:
    """Seconds the process took to exit; fails with its output and run log if it outlives
    ``timeout_s``."""
    started = time.monotonic()
    try:
        proc.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        raise StillRunning(
            f"still running {timeout_s:.0f} s after the signal; output:\n{output.tail()}\n"
            f"run log:\n{_shown(_run_log()[1])}"
        ) from None
    return time.monotonic() - started


def _interrupt(command: list[str], send: Callable[[int], None], env: dict[str, str]) -> float:
    """Run ``command`` until the client logs its quota wait, ``send`` it the signal, and
    return how long it took to exit. Whatever happens, nothing of it survives: it runs in
    its own process group, killed in the end."""
    output = Output()
    proc = subprocess.Popen(
        [sys.executable, "-m", "dagster", *command],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # a group, as a terminal's foreground job is
    )
    reader = output.read(proc)
    try:
        _until_wait_logged(proc, output)
        send(proc.pid)
        took = _until_exit(proc, output, EXIT_TIMEOUT_S)
        deadline = time.monotonic() + REAP_TIMEOUT_S
        while (left := live_group_members(proc.pid)) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not left, f"processes left behind:\n{left}\n{output.tail()}"
    finally:
        if proc.poll() is None or live_group_members(proc.pid):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=REAP_TIMEOUT_S)
        reader.join(timeout=REAP_TIMEOUT_S)
    return took


def ctrl_c(pid: int) -> None:
    """What a terminal does on Ctrl-C: SIGINT to every process of the foreground group."""
    os.killpg(pid, signal.SIGINT)


def kill(pid: int) -> None:
    """What ``kill PID``, systemd or Kubernetes do: SIGTERM to the command alone."""
    os.kill(pid, signal.SIGTERM)


# README's commands for one partition; the sync job restricted to the stream's step.
MATERIALIZE = [
    *("asset", "materialize", "-m", "outreach_assets"),
    *("--select", f"outreach/{STREAM}", "--partition", DAY),
]
SYNC_JOB = [
    *("job", "execute", "-m", "outreach_assets", "-j", "outreach_sync_job"),
    *("-o", STEP, "--tags", json.dumps({"dagster/partition": DAY})),
]
# ##### A RUN WAITING FOR THE QUOTA, TERMINATED


@pytest.mark.parametrize(
    ("command", "send"),
    [
        pytest.param(MATERIALIZE, ctrl_c, id="asset-materialize-ctrl-c"),
        pytest.param(MATERIALIZE, kill, id="asset-materialize-sigterm"),
        # Steps run in process: a retry_policy on the stream assets would turn the
        # interrupt into a retry that waits for the quota again (dagster#15026).
        pytest.param(SYNC_JOB, ctrl_c, id="sync-job-ctrl-c"),
        pytest.param(SYNC_JOB, kill, id="sync-job-sigterm"),
    ],
)
def test_terminating_a_run_waiting_for_quota_stops_it_at_once(
    sandbox_factory: Callable[..., SandboxServer],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    command: list[str],
    send: Callable[[int], None],
) -> None:
    sb = sandbox_factory(
        records=0,
        sizes={STREAM: RECORDS},
        start=f"{DAY}T00:00:00Z",
        end=f"{DAY}T23:59:59Z",
        rate_limit=RATE_LIMIT,
        rate_window_s=WINDOW_S,
    )
    env = _quota_env(sb, tmp_path)
    monkeypatch.setenv("DAGSTER_HOME", env["DAGSTER_HOME"])  # the command's instance

    took = _interrupt(command, send, env)

    assert took < EXIT_TIMEOUT_S
    assert sb.stats.api_requests == 2  # the allowed share, and nothing after the signal
    run, entries = _run_log()
    assert run.status in ENDED, _shown(entries)
    assert any(STOPPED.search(e.user_message) for e in entries), _shown(entries)
    assert not [e for e in entries if e.dagster_event_type == MATERIALIZED]
    # Nothing committed, nothing half-written left behind.
    folder = Path(env["OUTREACH_DATA_DIR"]) / STREAM
    assert not folder.exists() or not os.listdir(folder)
