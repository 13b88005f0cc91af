"""Deletions over real HTTP: after records are deleted, changed and added on the server, one
``outreach_reconcile_job`` run leaves every current state holding exactly the server's ids,
each at its newest cursor; under faults it finishes exactly or deletes nothing."""

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import pyarrow.parquet as pq
import pytest

from outreach_assets.assets import RECONCILE_JOB, SYNC_JOB
from outreach_assets.catalog import Stream, get_stream
from outreach_assets.definitions import build_defs
from outreach_assets.sandbox import SandboxServer
from outreach_assets_tests.support.clients import ROOT

DAYS = 4
# Incremental on updatedAt, on createdAt, a lookup table, and a full snapshot.
STREAMS = [get_stream(n) for n in ("prospects", "calls", "account_notes", "roles", "duties")]
NAMES = ",".join(s.name for s in STREAMS)


def _days() -> list[str]:
    today = datetime.now(UTC).date()
    return [(today - timedelta(days=DAYS - 1 - n)).isoformat() for n in range(DAYS)]


@pytest.fixture
def landed(
    sandbox_factory: Callable[..., SandboxServer],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[tuple[SandboxServer, dg.Definitions, dg.DagsterInstance, Path]]:
    """A sandbox, the project's definitions for a few streams, and every partition landed."""
    first = _days()[0]
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    sb = sandbox_factory(start=f"{first}T00:00:00Z", end=now, records=80)
    data = tmp_path / "data"
    env = {
        **sb.environment(),
        "OUTREACH_START_DATE": first,
        "OUTREACH_DATA_DIR": str(data),
        "OUTREACH_TOKEN_STORE": str(tmp_path / "tokens.json"),
        "OUTREACH_STREAMS": NAMES,
        "OUTREACH_MAX_RETRIES": "12",
        "OUTREACH_RETRY_BACKOFF_S": "0.01",
        "OUTREACH_MAX_BACKOFF_S": "0.05",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    defs = build_defs(env)
    with dg.DagsterInstance.ephemeral() as instance:
        tags = {
            "dagster/asset_partition_range_start": first,
            "dagster/asset_partition_range_end": _days()[-1],
        }
        sync = defs.resolve_job_def(SYNC_JOB).execute_in_process(instance=instance, tags=tags)
        assert sync.success
        yield sb, defs, instance, data


def _current(data: Path, stream: Stream) -> dict[int, str]:
    name = f"{stream.name}_current"
    table = pq.read_table(data / name / f"{name}.parquet")
    ids = table["id"].to_pylist()
    if stream.cursor is None:
        return dict.fromkeys(ids, "")
    cursors = [
        c.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z" for c in table[stream.cursor].to_pylist()
    ]
    return dict(zip(ids, cursors, strict=True))


def _truth(sb: SandboxServer, stream: Stream) -> dict[int, str]:
    truth = sb.truth(stream.name)
    return truth if stream.cursor else dict.fromkeys(truth, "")


def _tombstones(data: Path, stream: Stream) -> set[int]:
    name = f"{stream.name}_deletions"
    path = data / name / f"{name}.parquet"
    return set(pq.read_table(path)["id"].to_pylist()) if path.exists() else set()


def _reconcile(defs: dg.Definitions, instance: dg.DagsterInstance) -> dg.ExecuteInProcessResult:
    job = defs.resolve_job_def(RECONCILE_JOB)
    return job.execute_in_process(instance=instance, raise_on_error=False)


def _change_the_server(sb: SandboxServer) -> dict[str, list[int]]:
    """Delete, touch and add records in every stream; the ids deleted, per stream."""
    deleted = {}
    for stream in STREAMS:
        deleted[stream.name] = sb.delete(stream.name, count=2)
        if stream.cursor == "updatedAt":
            sb.touch(stream.name, count=3)
        sb.add(stream.name, count=2)
    return deleted


def test_one_reconcile_run_makes_every_current_state_equal_the_server(
    landed: tuple[SandboxServer, dg.Definitions, dg.DagsterInstance, Path],
) -> None:
    sb, defs, instance, data = landed
    before = {s.name: _current(data, s) for s in STREAMS}
    assert all(before[s.name] == _truth(sb, s) for s in STREAMS)
    deleted = _change_the_server(sb)
    requests = sb.stats.api_requests

    result = _reconcile(defs, instance)

    assert result.success
    for stream in STREAMS:
        assert _current(data, stream) == _truth(sb, stream), stream.name
        assert _tombstones(data, stream) == set(deleted[stream.name]), stream.name
    spent = sb.stats.api_requests - requests
    assert spent < 40  # a page per sweep, a scan per partition out of date, a token or two
    # Idempotent: a second run finds nothing to delete and changes nothing.
    assert _reconcile(defs, instance).success
    for stream in STREAMS:
        assert _current(data, stream) == _truth(sb, stream), stream.name


def test_a_sweep_that_would_delete_too_much_deletes_nothing(
    landed: tuple[SandboxServer, dg.Definitions, dg.DagsterInstance, Path],
) -> None:
    sb, defs, instance, data = landed
    roles = get_stream("roles")
    held = _current(data, roles)
    sb.delete("roles", ids=sorted(held)[: len(held) // 2 + 1])

    result = _reconcile(defs, instance)

    assert not result.success
    failures = [e for e in result.all_events if e.is_step_failure]
    assert [e.step_key for e in failures] == ["outreach__roles_deletions"]
    message = str(failures[0].step_failure_data.error)
    assert "OUTREACH_MAX_DELETE_SHARE" in message and "nothing was deleted" in message
    assert _tombstones(data, roles) == set()
    assert _current(data, roles) == held


def test_a_sweep_that_fails_deletes_nothing_and_faults_it_survives_change_nothing(
    landed: tuple[SandboxServer, dg.Definitions, dg.DagsterInstance, Path],
) -> None:
    sb, defs, instance, data = landed
    deleted = _change_the_server(sb)
    held = {s.name: _current(data, s) for s in STREAMS}
    # Every sweep's first request is refused (one each: a refusal is not retried).
    sb.fail_next(len(STREAMS), status=400)

    failed = _reconcile(defs, instance)

    assert not failed.success
    failures = {e.step_key for e in failed.all_events if e.is_step_failure}
    assert failures == {f"outreach__{s.name}_deletions" for s in STREAMS}
    for stream in STREAMS:
        assert _tombstones(data, stream) == set(), stream.name
        assert _current(data, stream) == held[stream.name], stream.name
    sb.configure(error_rate={500: 0.05, 503: 0.05}, drop_rate=0.03, truncate_rate=0.03)

    survived = _reconcile(defs, instance)

    assert survived.success
    for stream in STREAMS:
        assert _current(data, stream) == _truth(sb, stream), stream.name
        assert _tombstones(data, stream) == set(deleted[stream.name]), stream.name


def test_the_reconcile_job_runs_from_the_command_line(
    landed: tuple[SandboxServer, dg.Definitions, dg.DagsterInstance, Path],
    tmp_path: Path,
) -> None:
    """``dagster job execute -m outreach_assets -j outreach_reconcile_job``, as a user runs it."""
    sb, _, _, data = landed
    deleted = sb.delete("prospects", count=3)
    home = tmp_path / "dagster_home"
    home.mkdir()
    env = {**os.environ, "DAGSTER_HOME": str(home)}  # the fixture set the OUTREACH_* ones
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "dagster",
            "job",
            "execute",
            "-m",
            "outreach_assets",
            "-j",
            RECONCILE_JOB,
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
    prospects = get_stream("prospects")
    assert _tombstones(data, prospects) == set(deleted)
    assert _current(data, prospects) == _truth(sb, prospects)
