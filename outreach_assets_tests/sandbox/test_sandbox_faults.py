"""Injected faults: latency, probabilistic errors, drops and truncations, one-shot
triggers called as methods, and forced token expiry; seeded ones replay identically."""

import http.client
import time
from urllib.parse import urlsplit

import pytest
import requests

from outreach_assets.sandbox import SandboxServer
from outreach_assets_tests.support.wire import (
    INCREMENTAL,
    error_id,
    get,
    session_for,
)


def test_latency_and_probabilistic_errors(sandbox_factory):
    sb = sandbox_factory(latency_ms=120)
    session = session_for(sb)
    started = time.perf_counter()
    assert get(session, sb, INCREMENTAL).status_code == 200
    assert time.perf_counter() - started >= 0.12
    sb.configure(latency_ms=0, error_rate={503: 1.0})
    answer = get(session, sb, INCREMENTAL)
    assert answer.status_code == 503 and "X-RateLimit-Remaining" in answer.headers
    sb.configure(error_rate={500: 1.0})
    assert get(session, sb, INCREMENTAL).status_code == 500


def test_one_shot_failures_drops_and_truncations(sandbox):
    session = session_for(sandbox)
    sandbox.fail_next(2, status=502)
    assert [get(session, sandbox, INCREMENTAL).status_code for _ in range(3)] == [502, 502, 200]
    sandbox.fail_next(1, status=401)
    assert get(session, sandbox, INCREMENTAL).status_code == 401
    sandbox.drop_next(1)
    with pytest.raises(requests.ConnectionError):
        get(session, sandbox, INCREMENTAL)
    sandbox.truncate_next(1)
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        get(session, sandbox, INCREMENTAL)
    assert get(session, sandbox, INCREMENTAL).status_code == 200
    stats = sandbox.stats
    assert (stats.dropped, stats.truncated, stats.status_counts[502]) == (1, 1, 2)


def test_drop_and_truncate_rates(sandbox_factory):
    sb = sandbox_factory(drop_rate=1.0)
    session = session_for(sb)
    with pytest.raises(requests.ConnectionError):
        get(session, sb, INCREMENTAL)
    sb.configure(drop_rate=0.0, truncate_rate=1.0)
    url = urlsplit(f"{sb.api_base_url}/{INCREMENTAL.path}")
    conn = http.client.HTTPConnection(url.netloc, timeout=10)
    conn.request("GET", url.path, headers={"Authorization": session.headers["Authorization"]})
    answer = conn.getresponse()
    with pytest.raises(http.client.IncompleteRead) as cut:
        answer.read()  # the full Content-Length was announced, part of the body sent
    assert 0 < len(cut.value.partial) < int(answer.getheader("Content-Length", "0"))
    conn.close()


def test_seeded_faults_replay_identically(sandbox_factory):
    def statuses(sb: SandboxServer) -> list[int]:
        session = session_for(sb)
        return [get(session, sb, INCREMENTAL).status_code for _ in range(25)]

    first = statuses(sandbox_factory(seed=7, error_rate={500: 0.3, 503: 0.2}))
    second = statuses(sandbox_factory(seed=7, error_rate={500: 0.3, 503: 0.2}))
    assert first == second and {200, 500, 503} <= set(first)


def test_forced_access_token_expiry(sandbox):
    session = session_for(sandbox)
    sandbox.expire_access_tokens()
    answer = get(session, sandbox, INCREMENTAL)
    assert answer.status_code == 401 and error_id(answer) == "expiredAccessToken"
    session = session_for(sandbox)
    sandbox.expire_after_requests(2)
    assert [get(session, sandbox, INCREMENTAL).status_code for _ in range(3)] == [200, 200, 401]
    assert get(session_for(sandbox), sandbox, INCREMENTAL).status_code == 200
