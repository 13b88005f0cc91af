"""Rate-limit headers, quota pacing and 429 handling, against the sandbox over HTTP."""

import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from email.utils import format_datetime

import pytest

from outreach_assets.client import parse_rate_limit_headers
from outreach_assets.client.quota import parse_retry_after
from outreach_assets.errors import OutreachError, RateLimitError, ScanCancelled
from outreach_assets_tests.support.clients import (
    INCREMENTAL,
    SNAPSHOT,
    ListLogger,
    ResponseLog,
    make_client,
    scan_ids,
    wait_until,
)

NOW = 1_700_000_000.0


# --- header parsing ----------------------------------------------------------------------


def test_two_value_remaining_uses_the_first_value() -> None:
    info = parse_rate_limit_headers(
        {"X-RateLimit-Limit": "10000", "X-RateLimit-Remaining": "9999, 19988"}, NOW
    )
    assert (info.limit, info.remaining, info.used) == (10000, 9999, 1)


@pytest.mark.parametrize(
    ("reset", "expected"),
    [(str(int(NOW) + 120), NOW + 120), ("120", NOW + 120), ("90.5", NOW + 90.5)],
)
def test_reset_is_epoch_or_seconds_until(reset: str, expected: float) -> None:
    assert parse_rate_limit_headers({"X-RateLimit-Reset": reset}, NOW).reset_at == expected


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"X-RateLimit-Limit": "lots", "X-RateLimit-Remaining": "", "X-RateLimit-Reset": "soon"},
        {"X-RateLimit-Limit": "nan", "X-RateLimit-Remaining": "-5", "X-RateLimit-Reset": "inf"},
        {"X-RateLimit-Limit": ", 5", "X-RateLimit-Remaining": "1e999"},
    ],
)
def test_garbage_headers_mean_no_information(headers: dict[str, str]) -> None:
    info = parse_rate_limit_headers(headers, NOW)
    assert (info.limit, info.remaining, info.reset_at, info.used) == (None, None, None, None)


def test_retry_after_forms() -> None:
    http_date = format_datetime(datetime.fromtimestamp(NOW + 30, UTC), usegmt=True)
    assert parse_retry_after("12", NOW) == 12
    assert parse_retry_after(http_date, NOW) == pytest.approx(30)
    assert parse_retry_after("2023-11-14T22:14:20Z", NOW) == pytest.approx(60)  # ISO time
    assert parse_retry_after(str(NOW + 7), NOW) == pytest.approx(7)
    assert parse_retry_after("whenever", NOW) is None
    assert parse_retry_after(None, NOW) is None


# --- pacing against the sandbox ------------------------------------------------------------


def _used(seen) -> int:
    info = parse_rate_limit_headers(seen.headers, time.time())
    assert info.used is not None, seen.headers
    return info.used


def test_quota_limit_is_kept_within_each_window_by_concurrent_scans(sandbox_factory, tmp_path):
    sizes = {INCREMENTAL.name: 80, SNAPSHOT.name: 70}
    sb = sandbox_factory(sizes=sizes, rate_limit=20, rate_window_s=2.0)
    wire, logger = ResponseLog(), ListLogger()
    client = make_client(sb, tmp_path, logger, session=wire.session(), quota_limit=0.5)
    with ThreadPoolExecutor(2) as pool:  # one client, two streams at once
        scans = [pool.submit(scan_ids, client, s, None, None, 10) for s in (INCREMENTAL, SNAPSHOT)]
        found = [sorted(scan.result()) for scan in scans]
    assert found == [sorted(sb.truth(INCREMENTAL.name)), sorted(sb.truth(SNAPSHOT.name))]
    api = wire.api()
    assert len(api) == 15
    assert max(_used(seen) for seen in api) == 10  # the sandbox never counted more than 10
    assert sb.stats.rate_limited == 0
    waits = logger.matching("quota_limit=0.5 of 20/window reached (")
    assert waits and "until reset at" in waits[0]
    assert client.stats.rate_limit_waits >= 1 and client.stats.waited_s > 0


def test_two_value_remaining_and_seconds_reset_headers(sandbox_factory, tmp_path):
    sb = sandbox_factory(
        sizes={INCREMENTAL.name: 60},
        rate_limit=4,
        rate_window_s=1.0,
        remaining_two_values=True,
        reset_header="seconds",
    )
    wire, logger = ResponseLog(), ListLogger()
    client = make_client(sb, tmp_path, logger, session=wire.session())
    ids = scan_ids(client, INCREMENTAL, page_size=10)
    assert sorted(ids) == sorted(sb.truth(INCREMENTAL.name))
    assert all("," in seen.headers["X-RateLimit-Remaining"] for seen in wire.api())
    assert sb.stats.rate_limited == 0  # paced by the headers, never refused
    assert logger.matching("quota_limit=1 of 4/window reached (4 used")


def test_quota_without_a_reset_time_waits_then_probes(sandbox_factory, tmp_path):
    sb = sandbox_factory(
        sizes={INCREMENTAL.name: 60}, rate_limit=4, rate_window_s=1.0, reset_header="none"
    )
    logger = ListLogger()
    client = make_client(sb, tmp_path, logger)  # rate_limit_backoff_s=1
    ids = scan_ids(client, INCREMENTAL, page_size=10)
    assert sorted(ids) == sorted(sb.truth(INCREMENTAL.name))
    assert sb.stats.rate_limited == 0
    (wait,) = logger.matching("quota_limit=1 of 4/window reached (4 used")
    assert "no reset time given, waiting 1.0 s" in wait


@pytest.mark.parametrize(
    ("config", "source"),
    [
        ({}, "(Retry-After)"),
        ({"retry_after_on_429": False}, "(X-RateLimit-Reset)"),
        ({"retry_after_on_429": False, "reset_header": "none"}, "(rate_limit_backoff_s)"),
        ({"retry_after_on_429": False, "rate_headers": False}, "(rate_limit_backoff_s)"),
    ],
)
def test_429_waits_then_retries_without_using_the_retry_budget(
    sandbox_factory, tmp_path, config, source
):
    sb = sandbox_factory(sizes={INCREMENTAL.name: 20}, rate_window_s=1.0, **config)
    logger = ListLogger()
    client = make_client(sb, tmp_path, logger, max_retries=0)  # a 429 must not need a retry
    sb.fail_next(1, status=429)
    started = time.monotonic()
    ids = scan_ids(client, INCREMENTAL, page_size=10)
    assert sorted(ids) == sorted(sb.truth(INCREMENTAL.name))
    (wait,) = logger.matching("HTTP 429 rateLimitExceeded")
    assert source in wait
    assert client.stats.rate_limit_waits == 1 and client.stats.retries == 0
    assert time.monotonic() - started >= 1.0  # at least 1 s per 429: never a tight loop


def test_429_beyond_the_wait_budget_is_a_clear_error(sandbox_factory, tmp_path):
    sb = sandbox_factory(sizes={INCREMENTAL.name: 5}, rate_window_s=1.0)
    client = make_client(sb, tmp_path, max_rate_limit_wait_s=0.5)
    sb.fail_next(1, status=429)
    with pytest.raises(RateLimitError) as err:
        scan_ids(client, INCREMENTAL)
    message = str(err.value)
    assert f"stream {INCREMENTAL.name!r}" in message
    assert f"/api/v2/{INCREMENTAL.path}" in message
    assert "max_rate_limit_wait_s=0.5" in message
    assert err.value.status == 429


# --- cancelling a scan ------------------------------------------------------------------------


def test_cancel_ends_a_quota_wait_in_a_fetching_thread_at_once(sandbox_factory, tmp_path):
    sb = sandbox_factory(sizes={INCREMENTAL.name: 30}, rate_limit=1, rate_window_s=600.0)
    logger, cancel = ListLogger(), threading.Event()
    client = make_client(sb, tmp_path, logger)
    pages = client.iter_pages(INCREMENTAL, page_size=10, cancel=cancel)
    next(pages)  # the window's only request: page 2 must wait ~600 s for the next window
    raised: list[BaseException] = []

    def fetch_page_2() -> None:  # as a prefetching thread would
        try:
            next(pages)
        except BaseException as exc:
            raised.append(exc)

    fetcher = threading.Thread(target=fetch_page_2, daemon=True)
    fetcher.start()
    wait_until(lambda: bool(logger.matching("quota_limit=1 of 1/window reached (1 used")))
    cancel.set()
    fetcher.join(timeout=5.0)  # without cancelling: ~600 s

    assert not fetcher.is_alive()
    (error,) = raised
    assert isinstance(error, ScanCancelled) and not isinstance(error, OutreachError)  # no retry
    assert "during a quota wait" in str(error)
    (line,) = [r for r in logger.records if "scan stopped" in r[1]]
    assert line[0] == "info"
    waited = r"\(0\.\d s of 60\d\.\d s waited\)"
    stopped = rf"{INCREMENTAL.name}: scan stopped during a quota wait {waited} after page 1"
    assert re.fullmatch(stopped, line[1]), line[1]
    assert sb.stats.api_requests == 1
    assert client.stats.rate_limit_waits == 1
    assert 0 < client.stats.waited_s < 5.0  # the time actually waited, not the 600 s planned


def test_a_cancelled_scan_sends_no_request(sandbox_factory, tmp_path):
    sb = sandbox_factory(sizes={INCREMENTAL.name: 5})
    cancel = threading.Event()
    cancel.set()
    client = make_client(sb, tmp_path)
    with pytest.raises(ScanCancelled, match=f"stream {INCREMENTAL.name!r}: scan cancelled before"):
        next(client.iter_pages(INCREMENTAL, cancel=cancel))
    assert sb.stats.api_requests == 0
