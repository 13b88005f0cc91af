"""A running ``dagster dev`` as the UI tests drive it: start it, wait for its code location,
launch a partition and follow the run over GraphQL.

Shared by the GraphQL test of the UI, the browser test and the demo's ``--ui`` test, which
meet the same webserver through different doors.
"""

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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

KEYS = OutreachTranslator()
LOCATION = "outreach_assets"  # workspace.yaml's location_name
LOAD_TIMEOUT_S = 120.0
RUN_TIMEOUT_S = 90.0
STOP_TIMEOUT_S = 30.0
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

ACTIVE_RUNS_QUERY = """
query { runsOrError(filter: {statuses: [QUEUED, NOT_STARTED, STARTING, STARTED]}) {
  __typename ... on Runs { results { runId } } } }
"""


@dataclass
class Webserver:
    """A running ``dagster dev`` (or a process that runs one) and what it was started with.

    ``sandbox`` is None when the sandbox lives in that process (the demo's)."""

    proc: "subprocess.Popen[bytes]"
    base_url: str
    log: Path
    sandbox: SandboxServer | None
    data_dir: Path
    first_day: str

    def graphql(self, query: str, **variables: Any) -> dict[str, Any]:
        resp = requests.post(
            f"{self.base_url}/graphql", json={"query": query, "variables": variables}, timeout=60
        )
        resp.raise_for_status()
        body = resp.json()
        assert not body.get("errors"), f"GraphQL errors: {body['errors']}"
        data: dict[str, Any] = body["data"]
        return data

    def log_tail(self, lines: int = 60) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def start_dagster_dev(
    sb: SandboxServer, tmp_path: Path, env: dict[str, str], first_day: str
) -> Webserver:
    """``dagster dev -w workspace.yaml`` in its own process group, logging to tmp_path.

    The working directory is a temporary folder, not the project: ``dagster dev`` loads a
    ``.env`` from its working directory over the process environment, and a developer's
    ``.env`` must not point a test at a real Outreach account.
    """
    port = free_port()
    log = tmp_path / "dagster_dev.log"
    command = [sys.executable, "-m", "dagster", "dev", "-w", str(ROOT / "workspace.yaml")]
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [*command, "-h", "127.0.0.1", "-p", str(port)],
            cwd=tmp_path,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # a signal to the group reaches webserver, daemon, code server
        )
    return Webserver(proc, f"http://127.0.0.1:{port}", log, sb, tmp_path / "data", first_day)


def kill_group(proc: "subprocess.Popen[bytes]", sig: int = signal.SIGKILL) -> None:
    """Teardown: ``sig`` to the process group if it still runs, SIGKILL if that is ignored."""
    if proc.poll() is not None:
        return
    os.killpg(proc.pid, sig)
    try:
        proc.wait(timeout=STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=STOP_TIMEOUT_S)


def wait_until_loaded(server: Webserver, timeout_s: float = LOAD_TIMEOUT_S) -> None:
    """Until the one code location, workspace.yaml's, has loaded; its load error fails."""
    deadline = time.monotonic() + timeout_s
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
    pytest.fail(f"the code location did not load in {timeout_s:.0f} s:\n{server.log_tail()}")


def launch_partition(server: Webserver, stream: str, partition: str) -> str:
    """One partition of ``stream`` through ``outreach_sync_job`` and the run queue."""
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


def wait_for_run(
    server: Webserver, run_id: str, timeout_s: float = RUN_TIMEOUT_S
) -> dict[str, Any]:
    """Until the run succeeds (its record returned); a failed or canceled run fails the test
    with its errors."""
    deadline = time.monotonic() + timeout_s
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
    pytest.fail(f"run {run_id} did not finish in {timeout_s:.0f} s:\n{server.log_tail()}")


def wait_until_no_run_is_active(server: Webserver, timeout_s: float = RUN_TIMEOUT_S) -> None:
    """Runs the automation sensor starts (current-state rebuilds) end before the server does,
    so stopping tests shutdown, not an interrupted run worker."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        runs = server.graphql(ACTIVE_RUNS_QUERY)["runsOrError"]
        assert runs["__typename"] == "Runs", runs
        if not runs["results"]:
            return
        time.sleep(POLL_S)
    pytest.fail(f"runs still active after {timeout_s:.0f} s:\n{server.log_tail()}")


def columns(node: dict[str, Any]) -> list[dict[str, Any]]:
    """The column schema the UI shows for an asset node."""
    entries = [e for e in node["metadataEntries"] if e["label"] == "dagster/column_schema"]
    return entries[0]["schema"]["columns"] if entries else []


def assert_asset_graph(server: Webserver) -> None:
    """Every stream's assets, with groups, descriptions, columns, partitions, kinds, checks
    and the current states' lineage, as the UI has them."""
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
        described = columns(node)
        assert described, key
        assert all(c["description"] for c in described), key
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
