"""The ``outreach-assets`` command: demo, sandbox and auth, run as a user would."""

import json
import os
import stat
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from outreach_assets.catalog import all_scopes
from outreach_assets.cli import main
from outreach_assets.sandbox import SandboxServer

ROOT = Path(__file__).resolve().parents[1]


def test_demo_syncs_streams_and_matches_ground_truth(tmp_path: Path, capsys) -> None:
    rc = main(
        ["demo", "--data-dir", str(tmp_path), "--records", "30", "--streams", "prospects,duties"]
    )
    out = capsys.readouterr().out
    assert rc == 0, out
    assert "MISMATCH" not in out
    lines = (tmp_path / "prospects.jsonl").read_text().splitlines()
    assert len(lines) == 30
    assert {json.loads(line)["type"] for line in lines} == {"prospect"}
    assert not list(tmp_path.glob(".*.tmp"))  # files are renamed into place whole


def test_demo_rejects_unknown_streams(tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match="nope"):
        main(["demo", "--data-dir", str(tmp_path), "--streams", "nope"])


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
