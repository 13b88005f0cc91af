"""The per-user request budget: X-RateLimit-* header forms, 429s that spend nothing and
the per-window history, after https://developers.outreach.io/api/rate-limiting/."""

import re
import time

import pytest
import requests

from outreach_assets_tests.support.wire import (
    INCREMENTAL,
    error_id,
    get,
    session_for,
)


def test_rate_limit_headers_count_down_in_a_fixed_window(sandbox_factory):
    sb = sandbox_factory(rate_limit=5, rate_window_s=30)
    session = session_for(sb)
    started = time.time()
    seen = [get(session, sb, INCREMENTAL).headers for _ in range(3)]
    assert [h["X-RateLimit-Remaining"] for h in seen] == ["4", "3", "2"]
    assert all(h["X-RateLimit-Limit"] == "5" for h in seen)
    reset = int(seen[0]["X-RateLimit-Reset"])
    assert (
        started + 29 <= reset <= started + 32 and len({h["X-RateLimit-Reset"] for h in seen}) == 1
    )
    assert sb.stats.token_requests == 1  # /oauth/token does not spend the API budget


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        ({"remaining_two_values": True}, {"X-RateLimit-Remaining": "9, 19"}),
        ({"reset_header": "seconds"}, {"X-RateLimit-Reset": "30"}),
        ({"reset_header": "none"}, {"X-RateLimit-Reset": None}),
        ({"rate_headers": False}, {"X-RateLimit-Limit": None, "X-RateLimit-Remaining": None}),
    ],
)
def test_rate_limit_header_forms(sandbox_factory, config, expected):
    sb = sandbox_factory(rate_limit=10, rate_window_s=30, **config)
    headers = get(session_for(sb), sb, INCREMENTAL).headers
    for name, value in expected.items():
        assert headers.get(name) == value


def test_budget_exhaustion_answers_429_without_spending(sandbox_factory):
    sb = sandbox_factory(rate_limit=2, rate_window_s=0.6)
    session = session_for(sb)
    assert [get(session, sb, INCREMENTAL).status_code for _ in range(2)] == [200, 200]
    for _ in range(2):
        refused = get(session, sb, INCREMENTAL)
        assert refused.status_code == 429 and error_id(refused) == "rateLimitExceeded"
        detail = refused.json()["errors"][0]["detail"]
        assert re.fullmatch(
            r"You have exceeded your permitted rate limit of 2; please try again at "
            r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.",
            detail,
        )
        assert (
            refused.headers["Retry-After"] == "1"
            and refused.headers["X-RateLimit-Remaining"] == "0"
        )
    time.sleep(0.65)
    fresh = get(session, sb, INCREMENTAL)
    assert fresh.status_code == 200 and fresh.headers["X-RateLimit-Remaining"] == "1"
    assert sb.stats.rate_limited == 2


def test_rate_windows_history_counts_what_each_window_spent(sandbox_factory):
    sb = sandbox_factory(rate_limit=3, rate_window_s=0.4)
    session = session_for(sb)
    statuses = [get(session, sb, INCREMENTAL).status_code for _ in range(4)]  # 3 + one 429
    time.sleep(0.45)
    get(session, sb, INCREMENTAL)
    windows = sb.rate_windows()
    assert statuses == [200, 200, 200, 429]
    assert [(w.used, w.limit) for w in windows] == [(3, 3), (1, 3)]
    assert windows[0].end == pytest.approx(windows[0].start + 0.4)
    assert windows[1].start >= windows[0].end
    over_http = requests.get(f"{sb.base_url}/_sandbox/rate_windows", timeout=5).json()
    assert [w["used"] for w in over_http["windows"]] == [3, 1]


def test_429_without_retry_after_when_disabled(sandbox_factory):
    sb = sandbox_factory(rate_limit=1, retry_after_on_429=False)
    session = session_for(sb)
    get(session, sb, INCREMENTAL)
    refused = get(session, sb, INCREMENTAL)
    assert refused.status_code == 429 and "Retry-After" not in refused.headers
