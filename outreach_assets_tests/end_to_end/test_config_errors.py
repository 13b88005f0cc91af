"""A new user's configuration mistakes, met through ``dagster asset materialize``.

Each bad input must be said in the first line of the command's output, naming the variable
and the fix, before a single request reaches Outreach (the sandbox counts API and token
requests); the command must fail. The commands run as a user runs them: the ``dagster``
command line from the repository root, with only the OUTREACH_* variables set here.

Dagster prints one warning of its own before any project code runs (``asset materialize``
is superseded by ``dg launch``); the project cannot come before it, so the first line
checked is the first one after Python's warning lines.
"""

import os
import re
import subprocess
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import pytest

from outreach_assets.sandbox import SandboxServer
from outreach_assets_tests.support.clients import ROOT

CLI_TIMEOUT_S = 300
DAYS = 3  # partitions from the start date to today, today included
# Python's warning format: "<file>:<line>: <Category>: <message>", then the source line.
_WARNING = re.compile(r"^\S+:\d+: \w*Warning: ")


@dataclass(frozen=True)
class Done:
    """A finished command: its exit code and its output (stdout and stderr interleaved)."""

    returncode: int
    output: str

    @property
    def first_line(self) -> str:
        """The first non-empty line after Python's warnings (see the module docstring)."""
        lines = [line for line in self.output.splitlines() if line.strip()]
        while lines and _WARNING.match(lines[0]):
            lines.pop(0)
            while lines and lines[0].startswith((" ", "\t")):  # the warning's source line
                lines.pop(0)
        return lines[0] if lines else ""


def _first_day() -> str:
    return (datetime.now(UTC).date() - timedelta(days=DAYS - 1)).isoformat()


def _today() -> str:
    return datetime.now(UTC).date().isoformat()


@pytest.fixture
def sandbox_env(
    sandbox_factory: Callable[..., SandboxServer], tmp_path: Path
) -> tuple[SandboxServer, dict[str, str]]:
    """A sandbox, and a user's shell environment pointing the project at it (working)."""
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    sb = sandbox_factory(records=10, start=f"{_first_day()}T00:00:00Z", end=now)
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    clean = {k: v for k, v in os.environ.items() if not k.startswith("OUTREACH_")}
    env = {
        **clean,
        **sb.environment(),
        "OUTREACH_START_DATE": _first_day(),
        "OUTREACH_DATA_DIR": str(tmp_path / "data"),
        "OUTREACH_TOKEN_STORE": str(tmp_path / "tokens" / "outreach_tokens.json"),
        "DAGSTER_HOME": str(home),
    }
    sb.reset_stats()
    return sb, env


def _materialize(env: Mapping[str, str], partition: str | None = None) -> Done:
    """``dagster asset materialize`` of one stream's partition, from the repository root."""
    args = ["asset", "materialize", "-m", "outreach_assets", "--select", "outreach/calls"]
    return _dagster(env, *args, "--partition", partition or _today())


def _dagster(env: Mapping[str, str], *args: str) -> Done:
    """A ``dagster`` command from the repository root."""
    done = subprocess.run(
        [sys.executable, "-m", "dagster", *args],
        cwd=ROOT,
        env=dict(env),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,  # interleaved, as a terminal shows them
        text=True,
        timeout=CLI_TIMEOUT_S,
        check=False,
    )
    return Done(done.returncode, done.stdout)


def _assert_refused(sb: SandboxServer, done: Done, *words: str) -> None:
    """The command failed, said ``words`` in its first line, and asked Outreach nothing."""
    assert done.returncode != 0, done.output[-3000:]
    assert done.first_line.startswith("outreach_assets: "), done.output[:3000]
    for word in words:
        assert word in done.first_line, done.first_line
    assert (sb.stats.api_requests, sb.stats.token_requests) == (0, 0)


def test_a_good_environment_reaches_the_sandbox(
    sandbox_env: tuple[SandboxServer, dict[str, str]],
) -> None:
    """The control: the environment the other tests spoil does sync, so their zero request
    counts mean the validation stopped the run, not that the sandbox was never in reach."""
    sb, env = sandbox_env
    done = _materialize(env)
    assert done.returncode == 0, done.output[-3000:]
    assert sb.stats.api_requests > 0
    assert sb.stats.token_requests > 0


@pytest.mark.parametrize(
    ("variable", "value", "words"),
    [
        ("OUTREACH_START_DATE", "garbage", ("OUTREACH_START_DATE='garbage'", "use 2023-01-01")),
        ("OUTREACH_PAGE_SIZE", "5000", ("OUTREACH_PAGE_SIZE", "from 1 to 1000", "5000")),
        ("OUTREACH_QUOTA_LIMIT", "2", ("OUTREACH_QUOTA_LIMIT", "at most 1", "2.0")),
    ],
)
def test_a_bad_setting_is_the_first_line_and_stops_the_load(
    sandbox_env: tuple[SandboxServer, dict[str, str]],
    variable: str,
    value: str,
    words: tuple[str, ...],
) -> None:
    sb, env = sandbox_env
    done = _materialize({**env, variable: value})
    _assert_refused(sb, done, "error", *words)


def test_an_unset_client_id_is_the_first_line(
    sandbox_env: tuple[SandboxServer, dict[str, str]],
) -> None:
    sb, env = sandbox_env
    env.pop("OUTREACH_CLIENT_ID")
    done = _materialize(env)
    _assert_refused(sb, done, "OUTREACH_CLIENT_ID is not set", "export it")


def test_a_partition_before_the_start_date_names_the_setting_and_the_range(
    sandbox_env: tuple[SandboxServer, dict[str, str]],
) -> None:
    sb, env = sandbox_env
    done = _materialize(env, partition="1999-01-01")
    _assert_refused(
        sb,
        done,
        "1999-01-01",
        f"OUTREACH_START_DATE={_first_day()}",
        f"{_first_day()} to {_today()}",
        "set OUTREACH_START_DATE=1999-01-01 or earlier",
    )


def test_a_partition_tag_before_the_start_date_names_the_setting(
    sandbox_env: tuple[SandboxServer, dict[str, str]],
) -> None:
    """``dagster job execute`` names its partitions in run tags, a range's first one here."""
    sb, env = sandbox_env
    tags = '{"dagster/asset_partition_range_start": "1999-01-01", '
    tags += f'"dagster/asset_partition_range_end": "{_today()}"}}'
    done = _dagster(env, "job", "execute", "-m", "outreach_assets", "-j", "outreach_sync_job",
                    "--tags", tags)  # fmt: skip
    _assert_refused(sb, done, "1999-01-01", f"OUTREACH_START_DATE={_first_day()}", "or earlier")


@pytest.mark.parametrize("where", ["under a file", "under /proc"])
def test_a_data_folder_that_cannot_be_written_fails_the_run_before_any_request(
    sandbox_env: tuple[SandboxServer, dict[str, str]], tmp_path: Path, where: str
) -> None:
    sb, env = sandbox_env
    if where == "under a file":
        blocker = tmp_path / "a_file"
        blocker.write_text("not a folder")
        data_dir = str(blocker / "data")
    else:
        if not Path("/proc/self").is_dir():
            pytest.skip("no /proc on this system")
        data_dir = "/proc/outreach_assets_data"
    done = _materialize({**env, "OUTREACH_DATA_DIR": data_dir})
    _assert_refused(sb, done, f"OUTREACH_DATA_DIR={data_dir}", "folder")
    # The run itself failed at its start with that one line as the failure's message: what
    # the UI shows for the run.
    with dg.DagsterInstance.from_config(env["DAGSTER_HOME"]) as instance:
        (run,) = instance.get_runs()
        assert run.status == dg.DagsterRunStatus.FAILURE
        records = instance.get_records_for_run(
            run.run_id, of_type=dg.DagsterEventType.STEP_FAILURE
        ).records
        (failure,) = [r.event_log_entry.dagster_event for r in records]
    assert failure is not None and failure.step_failure_data is not None
    user = failure.step_failure_data.user_failure_data
    assert user is not None and user.description is not None
    assert user.description.startswith(f"OUTREACH_DATA_DIR={data_dir} ")
    assert "\n" not in user.description
