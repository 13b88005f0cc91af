"""The real UI: ``dagster dev`` headless, its GraphQL API, one launched run, a clean stop.

In-process definition tests cannot see what only the webserver does: load the code location
in a separate code server with the user's environment, render the asset graph, and launch a
run through the run queue, the daemon and a run worker. This test does all of that over HTTP
against a sandbox, the way someone opening the UI would.
"""

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
import requests

from outreach_assets.assets import (
    CHECK_CURSOR_IN_WINDOW,
    CHECK_IDS_UNIQUE,
    CHECK_SCHEMA,
    OutreachTranslator,
)
from outreach_assets.catalog import STREAMS
from outreach_assets.sandbox import SandboxServer
from outreach_assets_tests.support.clients import ROOT
from outreach_assets_tests.support.dagster_dev import (
    PACKAGE_DIR,
    dagster_environment,
    live_group_members,
    python_problems,
    site_packages,
)

KEYS = OutreachTranslator()

LOCATION = "outreach_assets"  # workspace.yaml's location_name
DAYS = 3  # sandbox cursors spread over the last few days
LOAD_TIMEOUT_S = 120.0
RUN_TIMEOUT_S = 90.0
STOP_TIMEOUT_S = 30.0
REAP_TIMEOUT_S = 30.0  # the code server outlives `dagster dev` by a second or so
POLL_S = 0.5

WORKSPACE_QUERY = """{ workspaceOrError { __typename
  ... on Workspace { locationEntries { name loadStatus
    locationOrLoadError { __typename
      ... on PythonError { message errorChain { error { message } } } } } }
  ... on PythonError { message } } }"""

ASSETS_QUERY = """{ assetNodes { assetKey { path } groupName isPartitioned kinds description
  dependencyKeys { path } partitionDefinition { description } hasAssetChecks
  assetChecksOrError { __typename ... on AssetChecks { checks { name blocking description } } }
  metadataEntries { label ... on TableSchemaMetadataEntry {
    schema { columns { name description } } } } } }"""

LAUNCH_MUTATION = """mutation Launch($params: ExecutionParams!) {
  launchRun(executionParams: $params) { __typename
    ... on LaunchRunSuccess { run { runId } }
    ... on PythonError { message }
    ... on InvalidSubsetError { message }
    ... on PipelineNotFoundError { message }
    ... on RunConfigValidationInvalid { errors { message } } } }"""

RUN_QUERY = """query Run($runId: ID!) { runOrError(runId: $runId) { __typename
  ... on Run { status tags { key value } } ... on PythonError { message } } }"""

RUN_ERRORS_QUERY = """query Logs($runId: ID!) { logsForRun(runId: $runId) { __typename
  ... on EventConnection { events { __typename
    ... on ExecutionStepFailureEvent { stepKey error { message } }
    ... on RunFailureEvent { message }
    ... on EngineEvent { message error { message } } } } } }"""

PARTITION_STATS_QUERY = """query Stats($path: [String!]!) {
  assetNodeOrError(assetKey: {path: $path}) { __typename
    ... on AssetNode { partitionStats { numMaterialized } } } }"""


@dataclass
class Webserver:
    """A running ``dagster dev`` and what it was started with."""

    proc: "subprocess.Popen[bytes]"
    url: str
    log: Path
    sandbox: SandboxServer
    data_dir: Path
    first_day: str

    def graphql(self, query: str, **variables: Any) -> dict[str, Any]:
        resp = requests.post(self.url, json={"query": query, "variables": variables}, timeout=30)
        resp.raise_for_status()
        body = resp.json()
        assert not body.get("errors"), f"GraphQL errors: {body['errors']}"
        data: dict[str, Any] = body["data"]
        return data

    def log_tail(self, lines: int = 60) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture
def webserver(sandbox_factory, tmp_path: Path) -> Iterator[Webserver]:
    """``dagster dev`` in its own process group, killed at teardown if the test did not stop it.

    The working directory is a temporary folder, not the project: ``dagster dev`` loads a
    ``.env`` from its working directory over the process environment, and a developer's
    ``.env`` must not point this test at a real Outreach account.
    """
    now = datetime.now(UTC)
    first = (now - timedelta(days=DAYS)).date()
    sb = sandbox_factory(
        start=f"{first.isoformat()}T00:00:00Z", end=now.strftime("%Y-%m-%dT%H:%M:%SZ")
    )
    env = dagster_environment(sb, tmp_path, first.isoformat())
    port = _free_port()
    log = tmp_path / "dagster_dev.log"
    workspace = str(ROOT / "workspace.yaml")
    command = [sys.executable, "-m", "dagster", "dev", "-w", workspace]
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [*command, "-h", "127.0.0.1", "-p", str(port)],
            cwd=tmp_path,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # SIGTERM to the group reaches webserver, daemon, code server
        )
    server = Webserver(
        proc, f"http://127.0.0.1:{port}/graphql", log, sb, tmp_path / "data", first.isoformat()
    )
    try:
        yield server
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=STOP_TIMEOUT_S)


def _wait_until_loaded(server: Webserver) -> None:
    deadline = time.monotonic() + LOAD_TIMEOUT_S
    while time.monotonic() < deadline:
        assert server.proc.poll() is None, f"dagster dev exited:\n{server.log_tail()}"
        try:
            data = server.graphql(WORKSPACE_QUERY)
        except requests.ConnectionError:
            time.sleep(POLL_S)
            continue
        entries = data["workspaceOrError"].get("locationEntries") or []
        for entry in entries:
            error = entry["locationOrLoadError"] or {}
            if error.get("__typename") == "PythonError":
                causes = [link["error"]["message"] for link in error["errorChain"]]
                pytest.fail(f"{entry['name']} failed to load: {error['message']} {causes}")
        if entries and all(e["loadStatus"] == "LOADED" for e in entries):
            assert [e["name"] for e in entries] == [LOCATION]
            return
        time.sleep(POLL_S)
    pytest.fail(f"the code location did not load in {LOAD_TIMEOUT_S:.0f} s:\n{server.log_tail()}")


def _assert_asset_graph(server: Webserver) -> None:
    nodes = {tuple(n["assetKey"]["path"]): n for n in server.graphql(ASSETS_QUERY)["assetNodes"]}
    streams = {(KEYS.key_prefix, s.name) for s in STREAMS}
    currents = {(KEYS.key_prefix, f"{s.name}_current") for s in STREAMS}
    custom_fields = (KEYS.key_prefix, "custom_fields")
    deletions = {(KEYS.key_prefix, f"{s.name}_deletions") for s in STREAMS}
    assert len(STREAMS) == 47
    assert set(nodes) == streams | currents | deletions | {custom_fields}
    for key, node in nodes.items():
        assert node["groupName"] == KEYS.group_name, key
        assert node["description"].strip(), key
        columns = _columns(node)
        assert columns, key
        assert all(c["description"] for c in columns), key
    for key in streams:
        node = nodes[key]
        assert node["isPartitioned"], key
        assert "Daily" in node["partitionDefinition"]["description"], key
        assert {"outreach", "parquet"} <= set(node["kinds"]), key
        assert node["hasAssetChecks"], key
        checks = {c["name"]: c["blocking"] for c in node["assetChecksOrError"]["checks"]}
        assert checks == {CHECK_IDS_UNIQUE: True, CHECK_CURSOR_IN_WINDOW: True, CHECK_SCHEMA: True}
        assert all(c["description"] for c in node["assetChecksOrError"]["checks"]), key
    for key in currents:
        node = nodes[key]
        assert not node["isPartitioned"], key
        assert "parquet" in node["kinds"], key
        stream = key[1].removesuffix("_current")
        assert sorted(d["path"] for d in node["dependencyKeys"]) == [
            [KEYS.key_prefix, stream],
            [KEYS.key_prefix, f"{stream}_deletions"],
        ], key


def _columns(node: dict[str, Any]) -> list[dict[str, Any]]:
    """The column schema the UI shows for an asset node."""
    entries = [e for e in node["metadataEntries"] if e["label"] == "dagster/column_schema"]
    return entries[0]["schema"]["columns"] if entries else []


def _launch_partition(server: Webserver, stream: str, partition: str) -> str:
    params = {
        "selector": {
            "repositoryLocationName": LOCATION,
            "repositoryName": "__repository__",
            "jobName": "outreach_sync_job",
            "assetSelection": [{"path": [KEYS.key_prefix, stream]}],
        },
        "executionMetadata": {"tags": [{"key": "dagster/partition", "value": partition}]},
    }
    launched = server.graphql(LAUNCH_MUTATION, params=params)["launchRun"]
    assert launched["__typename"] == "LaunchRunSuccess", launched
    run_id: str = launched["run"]["runId"]
    return run_id


def _wait_for_run(server: Webserver, run_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + RUN_TIMEOUT_S
    while time.monotonic() < deadline:
        run: dict[str, Any] = server.graphql(RUN_QUERY, runId=run_id)["runOrError"]
        assert run["__typename"] == "Run", run
        if run["status"] == "SUCCESS":
            return run
        if run["status"] in ("FAILURE", "CANCELED"):
            events = server.graphql(RUN_ERRORS_QUERY, runId=run_id)["logsForRun"]["events"]
            errors = [e for e in events if e.get("error") or e["__typename"] == "RunFailureEvent"]
            pytest.fail(f"run {run_id} ended {run['status']}: {errors}\n{server.log_tail()}")
        time.sleep(POLL_S)
    pytest.fail(f"run {run_id} did not finish in {RUN_TIMEOUT_S:.0f} s:\n{server.log_tail()}")


MATERIALIZED_QUERY = """query Materialized($path: [String!]!) {
  assetNodeOrError(assetKey: {path: $path}) { __typename
    ... on AssetNode { assetMaterializations(limit: 1) { runId } } } }"""

ACTIVE_RUNS_QUERY = """
query { runsOrError(filter: {statuses: [QUEUED, NOT_STARTED, STARTING, STARTED]}) {
  __typename ... on Runs { results { runId } } } }
"""


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


def _wait_until_no_run_is_active(server: Webserver) -> None:
    """Runs the automation sensor starts (current-state rebuilds) end before the server does,
    so stopping tests shutdown, not an interrupted run worker."""
    deadline = time.monotonic() + RUN_TIMEOUT_S
    while time.monotonic() < deadline:
        runs = server.graphql(ACTIVE_RUNS_QUERY)["runsOrError"]
        assert runs["__typename"] == "Runs", runs
        if not runs["results"]:
            return
        time.sleep(POLL_S)
    pytest.fail(f"runs still active after {RUN_TIMEOUT_S:.0f} s:\n{server.log_tail()}")


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
    _wait_until_loaded(webserver)
    _assert_asset_graph(webserver)

    day = webserver.first_day
    run_id = _launch_partition(webserver, "prospects", day)
    run = _wait_for_run(webserver, run_id)
    assert {"key": "dagster/partition", "value": day} in run["tags"]
    file = webserver.data_dir / "prospects" / f"{day}.parquet"
    landed = sorted(pq.read_table(file).column("id").to_pylist())
    truth = webserver.sandbox.truth("prospects")
    assert landed == sorted(i for i, cursor in truth.items() if cursor.startswith(day))
    assert landed, "the sandbox should have prospects on the first day"
    stats = webserver.graphql(PARTITION_STATS_QUERY, path=[KEYS.key_prefix, "prospects"])
    assert stats["assetNodeOrError"]["partitionStats"]["numMaterialized"] == 1
    _wait_until_materialized(webserver, [KEYS.key_prefix, "prospects_current"])
    _wait_until_no_run_is_active(webserver)
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
