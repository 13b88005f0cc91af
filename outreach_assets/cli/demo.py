"""The ``demo`` command: the real sync job against a private sandbox, then what landed.

A newcomer's first run: it needs no Outreach account, and everything but the server is the
production path, so a demo that passes says the project works end to end on this machine.
"""

import argparse
import contextlib
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from importlib import resources
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

from outreach_assets.catalog import STREAMS
from outreach_assets.cli.support import CommandError, sandbox_config
from outreach_assets.config import env
from outreach_assets.timestamps import utc_now_text

if TYPE_CHECKING:
    import dagster as dg

    from outreach_assets.sandbox import SandboxServer

# `dagster dev -m outreach_assets` names its code location after the module, which is
# workspace.yaml's (and [tool.dagster]'s) location name; `-m outreach_assets.definitions`
# would name it "outreach_assets.definitions", and run history, schedules and sensor state
# recorded under one name are not found under the other.
CODE_LOCATION = "outreach_assets"
# Every setting the code location reads starts with this (OUTREACH_DATA_DIR, ...).
SETTINGS_PREFIX = env("data_dir").removesuffix("data_dir".upper())
# What the demo adds to the example instance settings: a demo sends no usage telemetry.
TELEMETRY_OFF = "\ntelemetry:\n  enabled: false\n"
# The first line of an instance config the demo wrote, so a later demo may rewrite it (and an
# older demo's may be replaced) while a file the user wrote is left alone.
WRITTEN_BY_DEMO = "# Written by `outreach-assets demo`:"
_OLD_DEMO_INSTANCE_YAML = """\
telemetry:
  enabled: false
event_log_storage:
  module: outreach_assets.instance
  class: BatchedSqliteEventLogStorage
"""
UI_START_TIMEOUT_S = 180.0  # a cold start imports Dagster three times (webserver, daemon, code)
UI_STOP_TIMEOUT_S = 30.0  # dagster dev's own shutdown waits up to 10 s for each child
LEFTOVER_TIMEOUT_S = 10.0  # run workers interrupted by SIGTERM mark their runs failed first


def example_instance_yaml() -> str:
    """The project's example instance settings (pools, run queue, run retries, event log).

    Shipped in the package, so an installed project reads the same file the repo root's
    ``dagster.yaml`` is (a test keeps the two identical).
    """
    return resources.files("outreach_assets").joinpath("dagster.yaml").read_text()


def demo_instance_yaml() -> str:
    """The example instance settings with telemetry off, comments and all."""
    example = example_instance_yaml()
    if re.search(r"^telemetry\s*:", example, flags=re.M):
        raise RuntimeError("the example dagster.yaml sets telemetry; the demo cannot add it")
    return (
        f"{WRITTEN_BY_DEMO} the example dagster.yaml plus telemetry off.\n{example}{TELEMETRY_OFF}"
    )


def write_instance_yaml(home: Path) -> None:
    """``home/dagster.yaml``, unless the user wrote their own there.

    The file is rewritten when the demo wrote it (an older version's included), so a demo
    home keeps up with the example; a hand-written one is the user's choice.
    """
    path = home / "dagster.yaml"
    if path.exists():
        current = path.read_text()
        if current != _OLD_DEMO_INSTANCE_YAML and not current.startswith(WRITTEN_BY_DEMO):
            print(f"Using your instance settings in {path} (the demo writes its own if absent)")
            return
    path.write_text(demo_instance_yaml())


def cmd_demo(args: argparse.Namespace) -> int:
    """Run the real job, end to end, against a private sandbox; then show what landed.

    The sandbox and the project share nothing but HTTP on 127.0.0.1 and the OUTREACH_*
    variables a user would set, so this is the production path: definitions, resources,
    OAuth and token store, quota, one sweep per stream, Parquet files, checks, current state.
    """
    import dagster as dg

    from outreach_assets.assets import SYNC_JOB
    from outreach_assets.definitions import build_defs
    from outreach_assets.sandbox import SandboxServer

    today = datetime.now(UTC).date()
    first = today - timedelta(days=args.days - 1)
    data_dir = Path(args.data_dir).resolve()
    home = Path(args.dagster_home).resolve()
    ui = bool(getattr(args, "ui", False))
    if ui:
        if args.port == 0:
            raise CommandError("--ui needs a port to serve the UI on, not 0")
        _check_port_is_free(args.host, args.port)  # before the sync, not after it
    cfg = sandbox_config(
        seed=args.seed,
        records=args.records,
        start=f"{first.isoformat()}T00:00:00Z",
        end=utc_now_text(),
    )
    home.mkdir(parents=True, exist_ok=True)
    # A local demo instance: SQLite storage in this folder, the example's pools, run queue,
    # run retries and bulk event log (outreach_assets.instance), no usage telemetry.
    write_instance_yaml(home)
    with SandboxServer(cfg) as sb:
        environ = {
            **sb.environment(),
            env("start_date"): first.isoformat(),
            env("data_dir"): str(data_dir),
            env("token_store_path"): str(home / "outreach_tokens.json"),
            "DAGSTER_HOME": str(home),
        }
        os.environ.update(environ)
        job = build_defs(environ).resolve_job_def(SYNC_JOB)
        print(f"Sandbox at {sb.base_url}; syncing {first}..{today} into {data_dir}/")
        started = time.monotonic()
        with dg.DagsterInstance.get() as instance:
            result = job.execute_in_process(
                instance=instance,
                tags={
                    "dagster/asset_partition_range_start": first.isoformat(),
                    "dagster/asset_partition_range_end": today.isoformat(),
                },
                raise_on_error=False,
                # INFO keeps the progress lines (pages, records, rate, quota waits) readable.
                run_config={"loggers": {"console": {"config": {"log_level": "INFO"}}}},
            )
        elapsed = time.monotonic() - started
        failures = _report(sb, data_dir, result.get_asset_check_evaluations())
        requests = sb.stats.api_requests
        synced = result.success and not failures
        print(
            f"run {result.run_id[:8]} {'succeeded' if result.success else 'FAILED'} in "
            f"{elapsed:.1f} s with {requests} API requests.",
            end=" " if not ui else "\n",
        )
        if ui and _interrupted(result):
            print("Interrupted during the sync: not starting the Dagster UI.")
            return 1
        if ui:
            # The sandbox stays up while the UI runs, so its runs reach the same server.
            served = serve_ui(sb, environ, home, host=args.host, port=args.port, first=first)
            return 0 if synced and served else 1
    print("Browse the run and the assets:")
    print(ui_command(home, data_dir, first.isoformat()))
    return 0 if synced else 1


def ui_command(home: Path, data_dir: Path, start_date: str) -> str:
    """The shell command that opens the Dagster UI on the demo's instance and files.

    The partitions start where the demo's did, so the UI shows the demo's days (not a
    partition per day since the default start date) and finds the files it wrote; the
    module form loads the project from any directory, under workspace.yaml's location name
    (CODE_LOCATION). The sandbox is gone by then, so the UI browses; new runs need real
    OUTREACH_* credentials, or ``outreach-assets demo --ui``.
    """
    variables = {
        "DAGSTER_HOME": str(home),
        env("data_dir"): str(data_dir),
        env("start_date"): start_date,
    }
    assignments = " ".join(f"{name}={shlex.quote(value)}" for name, value in variables.items())
    return f"{assignments} {shlex.join([*_dagster_program(), 'dev', '-m', CODE_LOCATION])}"


def _dagster_program() -> list[str]:
    """This environment's ``dagster`` command: the script beside the interpreter if any."""
    dagster = Path(sys.executable).with_name("dagster")
    return [str(dagster)] if dagster.exists() else [sys.executable, "-m", "dagster"]


# --- demo --ui ------------------------------------------------------------------------------


def _interrupted(result: "dg.ExecuteInProcessResult") -> bool:
    """Whether Ctrl-C (or SIGTERM) cut the run short: Dagster catches the signal during
    ``execute_in_process`` and reports a failed run, so the error is all that tells."""
    import dagster as dg

    if result.success:
        return False
    try:
        data = result.get_run_failure_event().event_specific_data
    except dg.DagsterError:  # no run failure event
        return False
    error = getattr(data, "error", None)
    while error is not None:
        if error.cls_name == "DagsterExecutionInterruptedError":
            return True
        error = error.cause
    return False


def _check_port_is_free(host: str, port: int) -> None:
    """Fail before a minute of syncing rather than after it, with the port in the message."""
    with socket.socket() as s:
        try:
            s.bind((host, port))
        except OSError as exc:
            raise CommandError(
                f"cannot serve the Dagster UI on {host}:{port}: {exc.strerror or exc}; "
                "pick another with --port"
            ) from exc


def ui_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """The UI's environment: this process's minus any OUTREACH_* from the user's shell, plus
    the demo's (sandbox credentials, start date, data folder, token store, DAGSTER_HOME), so
    the UI's runs read the sandbox exactly as the demo's run did."""
    inherited = {k: v for k, v in os.environ.items() if not k.startswith(SETTINGS_PREFIX)}
    return {**inherited, **environ}


def serve_ui(
    sb: "SandboxServer",
    environ: Mapping[str, str],
    home: Path,
    *,
    host: str,
    port: int,
    first: date,
) -> bool:
    """``dagster dev`` on the demo's instance until Ctrl-C (or SIGTERM); True if it stopped
    because it was asked to.

    It runs in its own session, so a Ctrl-C in the terminal reaches this process only, which
    then stops dagster dev, then whatever of its process group outlived it (run workers), and
    only then the sandbox: nothing is left behind and no run loses its server mid-request.
    Its working directory is DAGSTER_HOME: the only dagster.yaml there is the instance's (a
    repo root's would be "not used" and warned about), and no ``.env`` of the user's (which
    dagster dev loads from its working directory) can point the UI at a real account.
    """
    url = f"http://{host}:{port}"
    command = [*_dagster_program(), "dev", "-m", CODE_LOCATION, "-h", host, "-p", str(port)]
    previous = {sig: signal.signal(sig, _interrupt) for sig in (signal.SIGINT, signal.SIGTERM)}
    proc: subprocess.Popen[bytes] | None = None
    try:
        print(f"Starting the Dagster UI ({CODE_LOCATION} on {url}); the sandbox stays up.")
        sys.stdout.flush()
        proc = subprocess.Popen(
            command, cwd=home, env=ui_environment(environ), start_new_session=True
        )
        if _wait_until_serving(proc, url):
            print(ui_instructions(url, sb.base_url, first), flush=True)
        rc = proc.wait()
        print(f"dagster dev exited with {rc}; stopping the sandbox", flush=True)
        return False
    except KeyboardInterrupt:
        print("\nStopping the Dagster UI, then the sandbox...", flush=True)
        return True
    finally:
        # A second Ctrl-C must not cut the clean-up short; it is bounded by timeouts.
        for sig in previous:
            signal.signal(sig, signal.SIG_IGN)
        if proc is not None:
            stop_process_group(proc)
            print("Dagster UI stopped.", flush=True)
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _interrupt(signum: int, frame: FrameType | None) -> None:
    """SIGTERM stops the UI the way Ctrl-C does."""
    raise KeyboardInterrupt


def _wait_until_serving(proc: "subprocess.Popen[bytes]", url: str) -> bool:
    """Until the webserver answers (True), or dagster dev exits or takes too long (False)."""
    deadline = time.monotonic() + UI_START_TIMEOUT_S
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            with urllib.request.urlopen(f"{url}/server_info", timeout=2):
                return True
        except (urllib.error.URLError, OSError):
            time.sleep(0.5)
    return False


def ui_instructions(url: str, sandbox_url: str, first: date) -> str:
    """What to click: a partition, a backfill, the sensor (and how to give it a change to
    see: the sandbox's records change only when asked) and the schedules."""
    touch = shlex.quote('{"stream": "prospects", "count": 5}')
    return "\n".join(
        [
            f"Dagster UI ready: open {url} (sandbox at {sandbox_url}; Ctrl-C stops both)",
            f"  Assets → outreach/prospects → Materialize → one day from {first}: one run",
            "  Assets → select streams → Materialize → a range of days: Overview → Backfills",
            "  Automation → outreach_change_sensor → On; then change records for it to find:",
            f"    curl -X POST {sandbox_url}/_sandbox/touch -d {touch}",
            "  Automation → outreach_close_out, outreach_open_period_refresh → On (or Test)",
        ]
    )


def stop_process_group(proc: "subprocess.Popen[bytes]") -> None:
    """Stop ``dagster dev`` as Ctrl-C would, then what is left of its process group.

    SIGINT is dagster dev's own shutdown: it tells the webserver and the daemon to stop and
    closes its code server. A run worker may outlive it: SIGTERM lets it mark its run
    interrupted, and SIGKILL ends anything that ignored both.
    """
    pgid = proc.pid  # its own session: the group is named after it
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=UI_STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            _signal_group(pgid, signal.SIGKILL)
            proc.wait()
    # Its code server closes a moment after it, so give the group a moment before SIGTERM.
    if _wait_for_group_to_end(pgid, 5.0):
        return
    _signal_group(pgid, signal.SIGTERM)
    if not _wait_for_group_to_end(pgid, LEFTOVER_TIMEOUT_S):
        _signal_group(pgid, signal.SIGKILL)
        _wait_for_group_to_end(pgid, LEFTOVER_TIMEOUT_S)


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):  # already gone
        os.killpg(pgid, sig)


def _wait_for_group_to_end(pgid: int, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while group_is_alive(pgid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def group_is_alive(pgid: int) -> bool:
    """Whether a process of the group still runs; zombies, which only their parent (or init)
    can reap, do not count. /proc where there is one, else the kill(0) probe."""
    proc_dir = Path("/proc")
    if not (proc_dir / "self" / "stat").exists():
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return False
        return True
    for stat in proc_dir.glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:
            continue  # exited while we looked
        if int(fields[2]) == pgid and fields[0] != "Z":
            return True
    return False


def _report(sb: "SandboxServer", data_dir: Path, checks: Sequence[Any]) -> int:
    """Print one line per stream: ground truth, rows landed, partitions, current state, checks.

    A full-snapshot stream (no cursor to sync by) lands the whole table in every partition
    of the range, so its ``landed`` is the table's size times the partitions; its cell is
    starred and a footnote says so, lest 4200 of 300 records read as a bug.
    """
    import pyarrow.dataset as pads

    failed_checks = {e.asset_key.path[-1] for e in checks if not e.passed}
    width = max(len(s.name) for s in STREAMS)

    def row(name: str, *cells: object) -> None:
        sandbox, landed, partitions, current, result = cells
        print(f"{name:<{width}} {sandbox:>8} {landed:>8} {partitions:>10} {current:>8}  {result}")

    row("stream", "sandbox", "landed", "partitions", "current", "result")
    failures = 0
    example = ""
    for stream in STREAMS:
        truth = len(sb.truth(stream.name))
        folder = data_dir / stream.name
        landed = pads.dataset(folder).count_rows() if folder.exists() else 0
        partitions = len(list(folder.glob("*.parquet"))) if folder.exists() else 0  # one file each
        current_dir = data_dir / f"{stream.name}_current"
        current = pads.dataset(current_dir).count_rows() if current_dir.exists() else 0
        ok = current == truth and stream.name not in failed_checks
        ok = ok and (landed == truth if stream.is_incremental else landed == truth * partitions)
        failures += not ok
        result = "ok" if ok else "MISMATCH"
        if stream.is_incremental:
            row(stream.name, truth, landed, partitions, current, result)
        else:
            example = example or f"{stream.name}: {truth} x {partitions} = {truth * partitions}"
            row(stream.name, truth, f"{landed}*", partitions, current, result)
    print(
        "landed: rows in all partitions. An incremental stream lands each record once, in "
        "the partition of its cursor day;\n* a full snapshot lands the whole table in every "
        f"partition, so landed = sandbox x partitions ({example}). current: the latest "
        "version of each record."
    )
    return failures
