"""The ``outreach-assets`` command: demo, sandbox and auth, run as a user would."""

import argparse
import json
import os
import re
import shlex
import socket
import stat
import subprocess
import sys
from collections.abc import Iterator
from itertools import takewhile
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import dagster as dg
import pyarrow.parquet as pq
import pytest
import requests

from outreach_assets.assets import OutreachTranslator
from outreach_assets.catalog import all_scopes, get_stream
from outreach_assets.cli import build_parser, main
from outreach_assets.client import OutreachClient, StoredToken, default_store_path
from outreach_assets.client.token_store import fingerprint
from outreach_assets.config import ClientSettings, client_settings_from_env, env
from outreach_assets.config.declare import declared
from outreach_assets.definitions import build_defs
from outreach_assets.sandbox import SandboxServer
from outreach_assets_tests.support.clients import ROOT

KEYS = OutreachTranslator()

COMMANDS = [
    (),
    ("sandbox",),
    ("demo",),
    ("auth",),
    ("auth", "url"),
    ("auth", "exchange"),
    ("check",),
]
# Variables the commands read or the demo sets; tests start without any of them.
ENV_NAMES = [
    *(item.env for item in declared(ClientSettings).values()),
    env("start_date"),
    "OUTREACH_DATA_DIR",
    "OUTREACH_KEEP_COLUMNS",
    "OUTREACH_PARTITION_CADENCE",
    "OUTREACH_STREAMS",
    "OUTREACH_EXCLUDE_STREAMS",
    "DAGSTER_HOME",
]


@pytest.fixture(autouse=True)
def isolated(monkeypatch, tmp_path: Path) -> None:
    """Run in a temporary folder (commands write .env, data/ and .dagster_home/ there) with
    every variable the CLI reads unset; undo whatever a command sets in os.environ.

    ``monkeypatch.delenv`` of an unset name records nothing, so the demo's own
    ``os.environ.update`` would outlive the test; setting each name first makes the undo
    restore the developer's environment exactly.
    """
    monkeypatch.chdir(tmp_path)
    for name in ENV_NAMES:
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)


def _use_sandbox(monkeypatch, sb: SandboxServer) -> None:
    """The sandbox's app settings, without a refresh token: the user has none yet."""
    for name, value in sb.environment().items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("OUTREACH_REFRESH_TOKEN")


def _dotenv(path: Path) -> dict[str, str]:
    return dict(line.split("=", 1) for line in path.read_text().splitlines())


def _exchange(sb: SandboxServer, env_file: Path, *extra: str) -> int:
    return main(
        ["auth", "exchange", "--code", sb.config.auth_code, "--env-file", str(env_file), *extra]
    )


# --- demo ----------------------------------------------------------------------------------


def test_demo_runs_the_sync_job_into_parquet_and_a_local_instance(tmp_path: Path, capsys) -> None:
    rc = main(["demo", "--days", "2", "--records", "20"])
    out = capsys.readouterr().out
    assert rc == 0, out
    assert "MISMATCH" not in out
    assert "succeeded" in out
    lines = out.splitlines()
    header = next(line.split() for line in lines if line.startswith("stream "))
    assert header == ["stream", "sandbox", "landed", "partitions", "current", "result"]
    prospects_row = next(line.split() for line in lines if line.startswith("prospects "))
    assert prospects_row == ["prospects", "20", "20", "2", "20", "ok"]
    data = tmp_path / "data" / "outreach"
    assert pq.read_table(data / "prospects").num_rows == 20
    assert len(list((data / "prospects").glob("*.parquet"))) == 2
    with dg.DagsterInstance.from_config(str(tmp_path / ".dagster_home")) as instance:
        (run,) = instance.get_runs()
        assert run.job_name == "outreach_sync_job"
        assert run.status == dg.DagsterRunStatus.SUCCESS
    _assert_opens_the_ui_on(lines[-1], tmp_path / ".dagster_home", data)


def _assert_opens_the_ui_on(command: str, home: Path, data: Path) -> None:
    """The demo's last line: a command whose instance, files and partitions are the demo's."""
    words = shlex.split(command)
    assignments = list(takewhile(lambda w: re.match(r"[A-Z_]+=", w), words))
    env = dict(w.split("=", 1) for w in assignments)
    program = words[len(assignments) :]
    assert env["DAGSTER_HOME"] == str(home)
    assert env["OUTREACH_DATA_DIR"] == str(data)
    assert program[-3:] == ["dev", "-m", "outreach_assets"]  # workspace.yaml's location name
    assert Path(program[0]).exists()
    landed = sorted(p.stem for p in (data / "prospects").iterdir())
    partitions_def = (
        build_defs(env).resolve_assets_def(KEYS.asset_key(get_stream("prospects"))).partitions_def
    )
    assert partitions_def is not None
    assert partitions_def.get_partition_keys()[: len(landed)] == landed


# --- help and errors -----------------------------------------------------------------------


def _command_paths(
    parser: argparse.ArgumentParser, prefix: tuple[str, ...] = ()
) -> Iterator[tuple[str, ...]]:
    yield prefix
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _command_paths(sub, (*prefix, name))


def test_the_help_tests_cover_every_command() -> None:
    assert sorted(_command_paths(build_parser())) == sorted(COMMANDS)


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "top")
def test_every_command_has_help(command: tuple[str, ...], capsys) -> None:
    with pytest.raises(SystemExit) as exit_:
        main([*command, "--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: outreach-assets {' '.join(command)}".rstrip())
    description = out.split("\n\n")[1]
    assert len(description.split()) >= 8, out  # says what the command does, in words


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["nope"], "argument COMMAND: invalid choice: 'nope'"),
        (["sandbox", "--size", "prospects=lots"], "argument --size: expected STREAM=N"),
        (["sandbox", "--size", "prospect=5"], "argument --size: unknown stream 'prospect'"),
        (["sandbox", "--port", "70000"], "argument --port: expected a port from 0 to 65535"),
        (["demo", "--days", "0"], "argument --days: expected a whole number of at least 1"),
        (["auth"], "the following arguments are required: SUBCOMMAND"),
        (["auth", "exchange"], "the following arguments are required: --code"),
    ],
)
def test_bad_arguments_get_usage_and_one_error_line(argv: list[str], message: str, capsys) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2
    *usage, error = capsys.readouterr().err.splitlines()
    assert usage[0].startswith("usage: outreach-assets")
    assert all(line.startswith(" ") for line in usage[1:])  # the usage, wrapped
    assert error.startswith("outreach-assets") and message in error


@pytest.mark.parametrize(
    ("argv", "env", "message"),
    [
        (
            ["auth", "exchange", "--code", "abc"],
            {},
            "missing environment variable(s): OUTREACH_CLIENT_ID, OUTREACH_CLIENT_SECRET, "
            "OUTREACH_REDIRECT_URI",
        ),
        (
            ["auth", "exchange", "--code", "abc"],
            {
                "OUTREACH_CLIENT_ID": "app",
                "OUTREACH_CLIENT_SECRET": "s3cret-value",
                "OUTREACH_REDIRECT_URI": "https://example.com/cb",
                "OUTREACH_PAGE_SIZE": "lots",
            },
            "page_size must be an integer from 1 to 1000 (got 'lots' from OUTREACH_PAGE_SIZE)",
        ),
        (["auth", "url"], {}, "set OUTREACH_CLIENT_ID and OUTREACH_REDIRECT_URI first"),
        (
            ["sandbox", "--start", "2024-02-01T00:00:00Z", "--end", "2024-01-01T00:00:00Z"],
            {},
            "invalid sandbox settings: start must be before end",
        ),
    ],
)
def test_settings_errors_are_one_line_without_a_traceback(
    argv: list[str], env: dict[str, str], message: str, monkeypatch, capsys
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2
    captured = capsys.readouterr()
    assert captured.err.startswith(f"outreach-assets: error: {message}")
    assert captured.err.count("\n") == 1
    assert "s3cret-value" not in captured.err


def test_sandbox_on_a_busy_port_is_one_line(capsys) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(SystemExit) as exit_:
            main(["sandbox", "--records", "1", "--port", str(port)])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith(f"outreach-assets: error: cannot serve on 127.0.0.1:{port}: ")
    assert err.count("\n") == 1


# --- auth ----------------------------------------------------------------------------------


def test_auth_url_requests_every_catalog_scope(monkeypatch, capsys) -> None:
    monkeypatch.setenv("OUTREACH_CLIENT_ID", "my-app")
    monkeypatch.setenv("OUTREACH_REDIRECT_URI", "https://example.com/cb")
    assert main(["auth", "url"]) == 0
    query = parse_qs(urlsplit(capsys.readouterr().out.strip()).query)
    assert query["client_id"] == ["my-app"]
    assert query["response_type"] == ["code"]
    assert sorted(query["scope"][0].split(" ")) == all_scopes()


def test_auth_url_asks_only_for_the_selected_streams_scopes(monkeypatch, capsys) -> None:
    monkeypatch.setenv("OUTREACH_CLIENT_ID", "my-app")
    monkeypatch.setenv("OUTREACH_REDIRECT_URI", "https://example.com/cb")
    monkeypatch.setenv("OUTREACH_STREAMS", "prospects,audit_logs,calls")
    monkeypatch.setenv("OUTREACH_EXCLUDE_STREAMS", "audit_logs")
    assert main(["auth", "url"]) == 0
    query = parse_qs(urlsplit(capsys.readouterr().out.strip()).query)
    assert query["scope"] == ["calls.read prospects.read"]


def test_auth_url_names_a_misspelt_stream_in_one_line(monkeypatch, capsys) -> None:
    monkeypatch.setenv("OUTREACH_CLIENT_ID", "my-app")
    monkeypatch.setenv("OUTREACH_REDIRECT_URI", "https://example.com/cb")
    monkeypatch.setenv("OUTREACH_EXCLUDE_STREAMS", "prospect")
    with pytest.raises(SystemExit) as exited:
        main(["auth", "url"])
    assert exited.value.code == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("outreach-assets: error: OUTREACH_EXCLUDE_STREAMS: 'prospect' is not")


def test_auth_exchange_saves_the_refresh_token_without_printing_it(
    sandbox: SandboxServer, tmp_path: Path, monkeypatch, capsys
) -> None:
    _use_sandbox(monkeypatch, sandbox)
    store_path = tmp_path / "store" / "tokens.json"
    monkeypatch.setenv("OUTREACH_TOKEN_STORE", str(store_path))
    env_file = tmp_path / ".env"
    env_file.write_text("OTHER=1\nOUTREACH_REFRESH_TOKEN=old\n")
    assert _exchange(sandbox, env_file) == 0
    token = sandbox.current_refresh_token
    assert env_file.read_text() == f"OTHER=1\nOUTREACH_REFRESH_TOKEN={token}\n"
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
    stored = StoredToken.from_json(json.loads(store_path.read_text()))
    assert stored is not None
    assert (stored.refresh_token, stored.source_fingerprint) == (token, fingerprint(token))
    assert stat.S_IMODE(store_path.stat().st_mode) == 0o600
    captured = capsys.readouterr()
    for secret in (token, stored.access_token, sandbox.config.client_secret):
        assert secret not in captured.out + captured.err
    lines = captured.out.splitlines()
    assert f"OUTREACH_CLIENT_ID={sandbox.config.client_id}" in lines
    assert f"OUTREACH_REDIRECT_URI={sandbox.config.redirect_uri}" in lines
    assert f"OUTREACH_TOKEN_URL={sandbox.token_url}" in lines
    assert f"OUTREACH_TOKEN_STORE={store_path}" in lines
    assert "OUTREACH_CLIENT_SECRET=<your client secret>" in lines
    assert any(line.startswith("OUTREACH_REFRESH_TOKEN=<") for line in lines)


def test_auth_exchange_leaves_tokens_the_first_run_uses_without_minting(
    sandbox_factory, tmp_path: Path, monkeypatch, capsys
) -> None:
    sb = sandbox_factory(rotate_refresh_tokens=True)  # the code yields a brand-new token
    configured = sb.current_refresh_token
    _use_sandbox(monkeypatch, sb)
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))  # the default store lives here
    env_file = tmp_path / ".env"
    assert _exchange(sb, env_file) == 0
    captured = capsys.readouterr()
    refresh = _dotenv(env_file)["OUTREACH_REFRESH_TOKEN"]
    assert refresh == sb.current_refresh_token != configured
    mints = sb.stats.token_mints
    settings = client_settings_from_env({**os.environ, "OUTREACH_REFRESH_TOKEN": refresh})
    with OutreachClient(settings) as client:
        page = next(client.iter_pages(get_stream("prospects"), page_size=5))
        assert page.records
        assert client.stats.token_refreshes == 0
        store = Path(client.token_store_location)
    assert sb.stats.token_mints == mints
    assert store == default_store_path(sb.token_url, sb.config.client_id)
    assert store.is_relative_to(tmp_path / "home")
    stored = StoredToken.from_json(json.loads(store.read_text()))
    assert stored is not None
    for secret in (refresh, stored.access_token):
        assert secret not in captured.out + captured.err


def test_auth_exchange_prints_the_token_only_when_asked(
    sandbox: SandboxServer, tmp_path: Path, monkeypatch, capsys
) -> None:
    _use_sandbox(monkeypatch, sandbox)
    monkeypatch.setenv("OUTREACH_TOKEN_STORE", str(tmp_path / "tokens.json"))
    assert _exchange(sandbox, tmp_path / ".env", "--print-token") == 0
    lines = capsys.readouterr().out.splitlines()
    assert f"OUTREACH_REFRESH_TOKEN={sandbox.current_refresh_token}" in lines


def test_auth_exchange_refuses_a_rejected_code_in_one_line(
    sandbox: SandboxServer, tmp_path: Path, monkeypatch, capsys
) -> None:
    _use_sandbox(monkeypatch, sandbox)
    monkeypatch.setenv("OUTREACH_TOKEN_STORE", str(tmp_path / "tokens.json"))
    with pytest.raises(SystemExit) as exit_:
        main(["auth", "exchange", "--code", "expired-code", "--env-file", str(tmp_path / ".env")])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("outreach-assets: error: Outreach rejected the authorization code")
    assert err.count("\n") == 1
    assert sandbox.config.client_secret not in err
    assert not (tmp_path / ".env").exists()
    assert not (tmp_path / "tokens.json").exists()


def test_auth_exchange_checks_the_env_file_before_spending_the_code(
    sandbox: SandboxServer, tmp_path: Path, monkeypatch, capsys
) -> None:
    _use_sandbox(monkeypatch, sandbox)
    with pytest.raises(SystemExit) as exit_:
        _exchange(sandbox, tmp_path / "missing-folder" / ".env")
    assert exit_.value.code == 2
    assert "cannot write --env-file" in capsys.readouterr().err
    assert sandbox.stats.token_requests == 0


# --- sandbox -------------------------------------------------------------------------------


def test_sandbox_command_serves_until_stopped() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "outreach_assets.cli", "sandbox", "--records", "5"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        assert first.startswith("Outreach sandbox listening on http://127.0.0.1:")
        base = first.rsplit(" ", 1)[1].strip()
        truth = requests.get(f"{base}/_sandbox/truth/prospects", timeout=10).json()
        assert len(truth) == 5
    finally:
        proc.terminate()
        proc.wait(timeout=20)
