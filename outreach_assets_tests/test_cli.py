"""The ``outreach-assets`` command: demo, sandbox and auth, run as a user would."""

import os
import stat
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import dagster as dg
import pyarrow.parquet as pq
import pytest
import requests

from outreach_assets.catalog import all_scopes
from outreach_assets.cli import main
from outreach_assets.sandbox import SandboxServer

ROOT = Path(__file__).resolve().parents[1]


def test_demo_runs_the_sync_job_into_parquet_and_a_local_instance(
    tmp_path: Path, monkeypatch, capsys
) -> None:
    monkeypatch.chdir(tmp_path)
    for name in ("DAGSTER_HOME", "OUTREACH_DATA_DIR", "OUTREACH_START_DATE"):
        monkeypatch.delenv(name, raising=False)
    rc = main(["demo", "--days", "2", "--records", "20"])
    out = capsys.readouterr().out
    assert rc == 0, out
    assert "MISMATCH" not in out
    assert "succeeded" in out
    prospects = pq.read_table(tmp_path / "data" / "outreach" / "prospects")
    assert prospects.num_rows == 20
    assert len(list((tmp_path / "data" / "outreach" / "prospects").glob("*.parquet"))) == 2
    with dg.DagsterInstance.from_config(str(tmp_path / ".dagster_home")) as instance:
        (run,) = instance.get_runs()
        assert run.job_name == "outreach_sync_job"
        assert run.status == dg.DagsterRunStatus.SUCCESS


def test_demo_rejects_a_non_positive_day_count(tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match="--days"):
        main(["demo", "--days", "0"])


def test_auth_url_requests_every_catalog_scope(monkeypatch, capsys) -> None:
    monkeypatch.setenv("OUTREACH_CLIENT_ID", "my-app")
    monkeypatch.setenv("OUTREACH_REDIRECT_URI", "https://example.com/cb")
    assert main(["auth", "url"]) == 0
    query = parse_qs(urlsplit(capsys.readouterr().out.strip()).query)
    assert query["client_id"] == ["my-app"]
    assert query["response_type"] == ["code"]
    assert sorted(query["scope"][0].split(" ")) == all_scopes()


def test_auth_exchange_saves_the_refresh_token_without_printing_it(
    sandbox: SandboxServer, tmp_path: Path, monkeypatch, capsys
) -> None:
    for name, value in sandbox.environment().items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("OUTREACH_REFRESH_TOKEN")
    env_file = tmp_path / ".env"
    env_file.write_text("OTHER=1\nOUTREACH_REFRESH_TOKEN=old\n")
    rc = main(["auth", "exchange", "--code", sandbox.config.auth_code, "--env-file", str(env_file)])
    assert rc == 0
    token = sandbox.current_refresh_token
    assert env_file.read_text() == f"OTHER=1\nOUTREACH_REFRESH_TOKEN={token}\n"
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
    captured = capsys.readouterr()
    assert token not in captured.out + captured.err


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
