"""The ``demo`` command: the real sync job against a private sandbox, then what landed.

A newcomer's first run: it needs no Outreach account, and everything but the server is the
production path, so a demo that passes says the project works end to end on this machine.
"""

import argparse
import os
import shlex
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from outreach_assets.catalog import STREAMS
from outreach_assets.cli.support import sandbox_config
from outreach_assets.config import env
from outreach_assets.timestamps import utc_now_text

if TYPE_CHECKING:
    from outreach_assets.sandbox import SandboxServer

DEMO_INSTANCE_YAML = """\
telemetry:
  enabled: false
event_log_storage:
  module: outreach_assets.instance
  class: BatchedSqliteEventLogStorage
"""


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
    cfg = sandbox_config(
        seed=args.seed,
        records=args.records,
        start=f"{first.isoformat()}T00:00:00Z",
        end=utc_now_text(),
    )
    home.mkdir(parents=True, exist_ok=True)
    instance_yaml = home / "dagster.yaml"
    if not instance_yaml.exists():
        # A local demo instance: SQLite storage in this folder, the event log storing a
        # backfill's events in bulk (outreach_assets.instance), no usage telemetry.
        instance_yaml.write_text(DEMO_INSTANCE_YAML)
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
    print(
        f"run {result.run_id[:8]} {'succeeded' if result.success else 'FAILED'} in "
        f"{elapsed:.1f} s with {requests} API requests. Browse the run and the assets:"
    )
    print(ui_command(home, data_dir, first.isoformat()))
    return 0 if result.success and not failures else 1


def ui_command(home: Path, data_dir: Path, start_date: str) -> str:
    """The shell command that opens the Dagster UI on the demo's instance and files.

    The partitions start where the demo's did, so the UI shows the demo's days (not a
    partition per day since the default start date) and finds the files it wrote; the
    module form loads the project from any directory. The sandbox is gone by then, so the
    UI browses; new runs need real OUTREACH_* credentials.
    """
    variables = {
        "DAGSTER_HOME": str(home),
        env("data_dir"): str(data_dir),
        env("start_date"): start_date,
    }
    dagster = Path(sys.executable).with_name("dagster")
    program = [str(dagster)] if dagster.exists() else [sys.executable, "-m", "dagster"]
    assignments = " ".join(f"{name}={shlex.quote(value)}" for name, value in variables.items())
    return f"{assignments} {shlex.join([*program, 'dev', '-m', 'outreach_assets.definitions'])}"


def _report(sb: "SandboxServer", data_dir: Path, checks: Sequence[Any]) -> int:
    """Print one line per stream: ground truth, rows landed, partitions, current state, checks."""
    import pyarrow.dataset as pads

    failed_checks = {e.asset_key.path[-1] for e in checks if not e.passed}
    width = max(len(s.name) for s in STREAMS)

    def row(name: str, *cells: object) -> None:
        sandbox, landed, partitions, current, result = cells
        print(f"{name:<{width}} {sandbox:>8} {landed:>8} {partitions:>10} {current:>8}  {result}")

    row("stream", "sandbox", "landed", "partitions", "current", "result")
    failures = 0
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
        row(stream.name, truth, landed, partitions, current, result)
    return failures
