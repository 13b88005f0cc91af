"""The real UI: ``dagster dev`` headless, its GraphQL API, one launched run, a clean stop.

In-process definition tests cannot see what only the webserver does: load the code location
in a separate code server with the user's environment, render the asset graph, and launch a
run through the run queue, the daemon and a run worker. This test does all of that over HTTP
against a sandbox, the way someone opening the UI would.
"""

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from outreach_assets_tests.support.dagster_dev import (
    PACKAGE_DIR,
    dagster_environment,
    live_group_members,
    python_problems,
    site_packages,
)
from outreach_assets_tests.support.webserver import (
    KEYS,
    POLL_S,
    RUN_TIMEOUT_S,
    STOP_TIMEOUT_S,
    Webserver,
    assert_asset_graph,
    kill_group,
    launch_partition,
    start_dagster_dev,
    wait_for_run,
    wait_until_loaded,
    wait_until_no_run_is_active,
)

DAYS = 3  # sandbox cursors spread over the last few days
REAP_TIMEOUT_S = 30.0  # the code server outlives `dagster dev` by a second or so

PARTITION_STATS_QUERY = """query Stats($path: [String!]!) {
  assetNodeOrError(assetKey: {path: $path}) { __typename
    ... on AssetNode { partitionStats { numMaterialized } } } }"""


@pytest.fixture
def webserver(sandbox_factory, tmp_path: Path) -> Iterator[Webserver]:
    """``dagster dev`` on a sandbox, killed at teardown if the test did not stop it."""
    now = datetime.now(UTC)
    first = (now - timedelta(days=DAYS)).date()
    sb = sandbox_factory(
        start=f"{first.isoformat()}T00:00:00Z", end=now.strftime("%Y-%m-%dT%H:%M:%SZ")
    )
    env = dagster_environment(sb, tmp_path, first.isoformat())
    server = start_dagster_dev(sb, tmp_path, env, first.isoformat())
    try:
        yield server
    finally:
        kill_group(server.proc)


MATERIALIZED_QUERY = """query Materialized($path: [String!]!) {
  assetNodeOrError(assetKey: {path: $path}) { __typename
    ... on AssetNode { assetMaterializations(limit: 1) { runId } } } }"""


def _wait_until_materialized(server: Webserver, path: list[str]) -> None:
    """The automation sensor rebuilds a stream's current state after the stream lands; wait
    for that run, or it may start between the idle check and the stop (seen in CI: its run
    worker and step outlived ``dagster dev``)."""
    deadline = time.monotonic() + RUN_TIMEOUT_S
    while time.monotonic() < deadline:
        node = server.graphql(MATERIALIZED_QUERY, path=path)["assetNodeOrError"]
        assert node["__typename"] == "AssetNode", node
        if node["assetMaterializations"]:
            return
        time.sleep(POLL_S)
    pytest.fail(f"{'/'.join(path)} not rebuilt after {RUN_TIMEOUT_S:.0f} s:\n{server.log_tail()}")


def _stop(server: Webserver) -> None:
    os.killpg(server.proc.pid, signal.SIGTERM)
    try:
        rc = server.proc.wait(timeout=STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        pytest.fail(f"dagster dev ignored SIGTERM for {STOP_TIMEOUT_S:.0f} s")
    assert rc == 0, f"dagster dev exited with {rc}:\n{server.log_tail()}"
    deadline = time.monotonic() + REAP_TIMEOUT_S
    while (left := live_group_members(server.proc.pid)) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not left, f"processes left behind after dagster dev stopped: {left}"


def test_dagster_dev_serves_the_assets_runs_a_partition_and_stops_cleanly(
    webserver: Webserver,
) -> None:
    wait_until_loaded(webserver)
    assert_asset_graph(webserver)

    day = webserver.first_day
    run_id = launch_partition(webserver, "prospects", day)
    run = wait_for_run(webserver, run_id)
    assert {"key": "dagster/partition", "value": day} in run["tags"]
    file = webserver.data_dir / "prospects" / f"{day}.parquet"
    landed = sorted(pq.read_table(file).column("id").to_pylist())
    assert webserver.sandbox is not None
    truth = webserver.sandbox.truth("prospects")
    assert landed == sorted(i for i, cursor in truth.items() if cursor.startswith(day))
    assert landed, "the sandbox should have prospects on the first day"
    stats = webserver.graphql(PARTITION_STATS_QUERY, path=[KEYS.key_prefix, "prospects"])
    assert stats["assetNodeOrError"]["partitionStats"]["numMaterialized"] == 1
    _wait_until_materialized(webserver, [KEYS.key_prefix, "prospects_current"])
    wait_until_no_run_is_active(webserver)
    assert python_problems(webserver.log.read_text(errors="replace")) == []

    _stop(webserver)


def test_log_scan_flags_project_warnings_and_tracebacks_only(tmp_path: Path) -> None:
    site = site_packages()
    dagster_cli = f"{site}/click/core.py:911: SupersessionWarning: Function `dev_command` is "
    ours = f"{PACKAGE_DIR}/assets/factory.py:12: UserWarning: careful"
    naming_us = f"{site}/dagster/x.py:3: DeprecationWarning: asset outreach/prospects uses"
    log = "\n".join(
        [dagster_cli, "INFO - Serving", ours, naming_us, "Traceback (most recent call last):"]
    )
    assert python_problems(log) == [ours, naming_us, "Traceback (most recent call last):"]


def test_log_scan_ignores_dependencies_under_a_checkout_named_outreach(tmp_path: Path) -> None:
    """A clone in ``.../outreach_assets/`` has its virtualenv, and so every installed
    package's warnings, under a path that says "outreach"; those are not the project's."""
    checkout = tmp_path / "work" / "outreach_assets"
    site = checkout / ".venv" / "lib" / "python3.11" / "site-packages"
    theirs = f"{site}/click/core.py:911: SupersessionWarning: Function `dev_command` is "
    ours = f"{checkout}/outreach_assets/cli/demo.py:7: UserWarning: careful"
    log = "\n".join([theirs, ours])
    assert python_problems(log, package_dir=checkout / "outreach_assets") == [ours]
