"""``outreach-assets demo --ui``: the demo's sync, then the Dagster UI on the still running
sandbox, driven over GraphQL as a browser would, and a Ctrl-C that leaves nothing behind.

The UI is only worth opening if what it offers works: so one partition is launched through
the webserver, the run queue, the daemon and a run worker against the demo's sandbox, and
its file must hold exactly the sandbox's records of that day.
"""

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import requests
import yaml

from outreach_assets.cli import main
from outreach_assets.cli.demo import CODE_LOCATION, example_instance_yaml, ui_command
from outreach_assets_tests.support.clients import ROOT
from outreach_assets_tests.support.dagster_dev import instance_config, python_problems
from outreach_assets_tests.support.webserver import (
    WORKSPACE_QUERY,
    Webserver,
    assert_asset_graph,
    free_port,
    launch_partition,
    wait_for_run,
    wait_until_loaded,
    wait_until_no_run_is_active,
)

DAYS = 2
RECORDS = 20
STREAM = "prospects"
START_TIMEOUT_S = 150.0  # the demo's sync, then dagster dev's three cold Python processes
STOP_TIMEOUT_S = 60.0  # dagster dev's own shutdown, then SIGTERM/SIGKILL of leftovers
# dagster dev's warning when its working directory's dagster.yaml is not DAGSTER_HOME's.
IGNORED_YAML = re.compile(r"will not be used to configure Dagster|is ignored", re.I)


def _workspace_location() -> str:
    (entry,) = yaml.safe_load((ROOT / "workspace.yaml").read_text())["load_from"]
    name: str = entry["python_module"]["location_name"]
    return name


def _demo_command() -> list[str]:
    script = Path(sys.executable).with_name("outreach-assets")
    if script.exists():
        return [str(script)]
    return [
        sys.executable,
        "-c",
        "import sys; from outreach_assets.cli import main; sys.exit(main())",
    ]


def _processes_mentioning(text: str) -> list[str]:
    """Live processes (zombies aside) whose command line or environment names ``text``: the
    demo, dagster dev and everything they started carry the test's DAGSTER_HOME."""
    found = []
    needle = text.encode()
    for entry in Path("/proc").glob("[0-9]*"):
        if entry.name == str(os.getpid()):
            continue
        try:
            state = (entry / "stat").read_text().rpartition(")")[2].split()[0]
            cmdline = (entry / "cmdline").read_bytes()
            environ = (entry / "environ").read_bytes()
        except OSError:
            continue  # exited while we looked, or not ours to read
        if state != "Z" and (needle in cmdline or needle in environ):
            words = cmdline.replace(b"\0", b" ").decode(errors="replace")
            found.append(f"{entry.name} {words}")
    return found


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[tuple["subprocess.Popen[bytes]", Path, int]]:
    """The demo with --ui in its own process group; killed, group and all, if the test fails."""
    port = free_port()
    log = tmp_path / "demo.log"
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("OUTREACH_")}
    command = [
        *_demo_command(),
        "demo",
        "--ui",
        "--port",
        str(port),
        "--days",
        str(DAYS),
        "--records",
        str(RECORDS),
        "--data-dir",
        str(tmp_path / "data"),
        "--dagster-home",
        str(tmp_path / "home"),
    ]
    with log.open("wb") as out:
        proc = subprocess.Popen(
            command,
            cwd=tmp_path,
            env={**inherited, "PYTHONUNBUFFERED": "1"},
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        yield proc, log, port
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=STOP_TIMEOUT_S)
        for line in _processes_mentioning(str(tmp_path)):
            os.kill(int(line.split()[0]), signal.SIGKILL)


def _wait_for_line(proc: "subprocess.Popen[bytes]", log: Path, pattern: str) -> re.Match[str]:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        match = re.search(pattern, log.read_text(errors="replace"))
        if match:
            return match
        assert proc.poll() is None, f"the demo exited with {proc.returncode}:\n{log.read_text()}"
        time.sleep(0.5)
    pytest.fail(f"no {pattern!r} in the demo's output after {START_TIMEOUT_S:.0f} s")


def test_demo_ui_runs_a_partition_on_the_sandbox_and_ctrl_c_stops_everything(
    demo: tuple["subprocess.Popen[bytes]", Path, int], tmp_path: Path
) -> None:
    proc, log, port = demo
    sandbox_url = _wait_for_line(proc, log, r"Sandbox at (http://\S+);")[1]
    _wait_for_line(proc, log, r"Dagster UI ready: open http://127\.0\.0\.1:\d+")
    # The demo's sandbox lives in the demo's process; the helpers only use the webserver.
    server = Webserver(proc, f"http://127.0.0.1:{port}", log, None, tmp_path / "data", "")
    wait_until_loaded(server)
    entries = server.graphql(WORKSPACE_QUERY)["workspaceOrError"]["locationEntries"]
    assert [e["name"] for e in entries] == [_workspace_location()] == [CODE_LOCATION]
    assert_asset_graph(server)

    # The demo's own run wrote every day already: remove one so only the UI's run can
    # bring it back.
    day = (datetime.now(UTC).date() - timedelta(days=DAYS - 1)).isoformat()
    file = tmp_path / "data" / STREAM / f"{day}.parquet"
    file.unlink()
    run = wait_for_run(server, launch_partition(server, STREAM, day))
    assert {"key": "dagster/partition", "value": day} in run["tags"]
    truth = requests.get(f"{sandbox_url}/_sandbox/truth/{STREAM}", timeout=10).json()
    expected = sorted(int(i) for i, cursor in truth.items() if cursor.startswith(day))
    assert expected, "the sandbox should have records on the first day"
    assert sorted(pq.read_table(file).column("id").to_pylist()) == expected
    wait_until_no_run_is_active(server)

    # The scan that must come up empty afterwards sees them now: the demo, dagster dev, its
    # webserver, daemon and code server.
    running = _processes_mentioning(str(tmp_path))
    assert len(running) >= 5, running
    os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in a terminal sends
    try:
        rc = proc.wait(timeout=STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        pytest.fail(f"the demo ignored SIGINT for {STOP_TIMEOUT_S:.0f} s")
    output = log.read_text(errors="replace")
    assert rc == 0, output[-4000:]
    deadline = time.monotonic() + 10
    while (left := _processes_mentioning(str(tmp_path))) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not left, f"processes left behind: {left}"
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{sandbox_url}/_sandbox/stats", timeout=5)
    assert not IGNORED_YAML.search(output), output
    assert python_problems(output) == []
    home_config = yaml.safe_load((tmp_path / "home" / "dagster.yaml").read_text())
    assert home_config == instance_config()  # the example plus telemetry off


def test_the_packaged_instance_config_is_the_repo_example() -> None:
    """One example, two places: the repo root's for ``dagster dev`` there, the package's for
    ``outreach-assets demo`` wherever the project is installed."""
    packaged = (ROOT / "outreach_assets" / "dagster.yaml").read_text()
    assert packaged == (ROOT / "dagster.yaml").read_text()
    assert example_instance_yaml() == packaged


def test_the_printed_ui_command_uses_workspace_yamls_location(tmp_path: Path) -> None:
    """``dagster dev -m M`` names its location M: M must be workspace.yaml's name."""
    command = ui_command(tmp_path / "home", tmp_path / "data", "2026-01-01")
    assert command.endswith(f" dev -m {_workspace_location()}")


def test_demo_ui_refuses_a_busy_port_before_syncing(tmp_path: Path, capsys) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        argv = ["demo", "--ui", "--port", str(port), "--dagster-home", str(tmp_path / "h")]
        with pytest.raises(SystemExit) as exit_:
            main(argv)
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert f"cannot serve the Dagster UI on 127.0.0.1:{port}" in err
    assert not (tmp_path / "h").exists()  # nothing done
