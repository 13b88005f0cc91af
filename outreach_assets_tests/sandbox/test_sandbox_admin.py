"""The harness around the API: stats, the `/_sandbox/` admin endpoints other processes use,
keep-alive and shutdown, and the foreground server the CLI runs."""

import re
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from outreach_assets.sandbox import SandboxConfig, SandboxServer
from outreach_assets_tests.support.wire import (
    INCREMENTAL,
    get,
    session_for,
    walk,
)

REPO = Path(__file__).resolve().parent.parent


def test_stats_and_admin_endpoints(sandbox):
    session = session_for(sandbox)
    walk(session, sandbox, INCREMENTAL, **{"page[size]": 15})
    stats = sandbox.stats
    assert (stats.api_requests, stats.token_mints, stats.records_served) == (3, 1, 40)
    assert (
        stats.requests_by_path[f"/api/v2/{INCREMENTAL.path}"] == 3 and stats.status_counts[200] == 4
    )
    admin = f"{sandbox.base_url}/_sandbox"
    assert requests.get(f"{admin}/stats", timeout=10).json()["records_served"] == 40
    truth = requests.get(f"{admin}/truth/{INCREMENTAL.name}", timeout=10).json()
    assert truth == {str(k): v for k, v in sandbox.truth(INCREMENTAL.name).items()}
    ids = requests.post(f"{admin}/add", json={"stream": INCREMENTAL.name, "count": 1}, timeout=10)
    assert ids.json() == {"ids": [41]}
    touched = requests.post(
        f"{admin}/touch", json={"stream": INCREMENTAL.name, "count": 2}, timeout=10
    )
    assert len(touched.json()["ids"]) == 2
    assert requests.post(f"{admin}/configure", json={"error_rate": {"503": 1.0}}, timeout=10).ok
    assert get(session, sandbox, INCREMENTAL).status_code == 503
    assert requests.post(f"{admin}/configure", json={"seed": 9}, timeout=10).status_code == 400
    assert requests.post(f"{admin}/expire_tokens", timeout=10).ok
    sandbox.configure(error_rate={})
    assert get(session, sandbox, INCREMENTAL).status_code == 401
    sandbox.reset_stats()
    assert sandbox.stats.api_requests == 0
    with pytest.raises(ValueError):
        sandbox.configure(records=5)


def test_keep_alive_and_context_manager_stop():
    with SandboxServer(SandboxConfig(records=5)) as sb:
        session = session_for(sb)
        answers = [get(session, sb, INCREMENTAL) for _ in range(3)]
        assert all(a.raw.version == 11 and a.headers.get("Connection") != "close" for a in answers)
        base = sb.base_url
    with pytest.raises(requests.ConnectionError):
        session.get(f"{base}/api/v2/{INCREMENTAL.path}", timeout=2)


def test_serve_forever_prints_the_url_and_environment():
    code = (
        "from outreach_assets.sandbox import SandboxConfig, serve_forever\n"
        "serve_forever(SandboxConfig(records=3))"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, cwd=REPO
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline().strip()
        match = re.fullmatch(r"Outreach sandbox listening on (http://127\.0\.0\.1:\d+)", first)
        assert match
        lines = [proc.stdout.readline() for _ in range(8)]
        exported = dict(re.findall(r"^export (OUTREACH_\w+)=(.*)$", "".join(lines), re.M))
        assert exported["OUTREACH_API_BASE_URL"] == f"{match.group(1)}/api/v2"
        assert set(exported) >= {
            "OUTREACH_TOKEN_URL",
            "OUTREACH_CLIENT_ID",
            "OUTREACH_CLIENT_SECRET",
            "OUTREACH_REDIRECT_URI",
            "OUTREACH_REFRESH_TOKEN",
        }
        assert requests.post(
            exported["OUTREACH_TOKEN_URL"],
            data={
                "grant_type": "refresh_token",
                "client_id": exported["OUTREACH_CLIENT_ID"],
                "client_secret": exported["OUTREACH_CLIENT_SECRET"],
                "refresh_token": exported["OUTREACH_REFRESH_TOKEN"],
            },
            timeout=10,
        ).ok
    finally:
        proc.send_signal(2)
        assert proc.wait(timeout=10) == 0
