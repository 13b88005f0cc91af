"""Pages fetched ahead of a slow consumer: overlap, bounds, errors and thread clean-up.

The generic helper is tested with plain generators where only its own behaviour matters;
everything about scans goes over real HTTP to the sandbox.
"""

import re
import signal
import threading
import time
import traceback
from collections.abc import Callable, Generator, Iterator
from datetime import UTC, datetime

import pytest

from outreach_assets.catalog import get_stream
from outreach_assets.client import Page, http
from outreach_assets.client.prefetch import Prefetcher, prefetch
from outreach_assets.client.slices import fetch_pages
from outreach_assets.errors import APIError
from outreach_assets_tests.support.clients import ListLogger, ResponseLog, make_client, wait_until

CALLS = get_stream("calls")
START = datetime(2023, 1, 1, tzinfo=UTC)
END = datetime(2024, 1, 1, tzinfo=UTC)


def _fetching_threads(prefix: str = "outreach-fetch-") -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith(prefix)]


class _Arrivals(ResponseLog):
    """Also notes when and in which thread each API response arrived."""

    def __init__(self) -> None:
        super().__init__()
        self.at: list[tuple[float, str]] = []

    def hook(self, resp, *args, **kwargs) -> None:
        super().hook(resp, *args, **kwargs)
        if "/oauth/" not in resp.url:
            self.at.append((time.monotonic(), threading.current_thread().name))


def _slow_consume(pages: Iterator[Page], seconds: float) -> tuple[list[int], list[float]]:
    """Ids in order, and when the consumer finished with each page."""
    ids: list[int] = []
    done: list[float] = []
    for page in pages:
        ids += [int(r["id"]) for r in page.records]
        time.sleep(seconds)  # conversion and writing
        done.append(time.monotonic())
    return ids, done


# --- over HTTP ----------------------------------------------------------------------------


@pytest.mark.parametrize("depth", [0, 1])
def test_next_page_arrives_while_the_consumer_is_busy_with_the_current_one(
    sandbox_factory, tmp_path, depth
):
    sb = sandbox_factory(sizes={"calls": 50}, latency_ms=30)
    arrivals = _Arrivals()
    client = make_client(  # one slice: a sliceable scan waits for page 1's consumer first
        sb,
        tmp_path,
        session=arrivals.session(),
        page_size=10,
        prefetch_pages=depth,
        max_concurrent_slices=1,
    )
    ids, done = _slow_consume(fetch_pages(client, CALLS, START, END), 0.1)
    assert sorted(ids) == sorted(sb.truth("calls"))
    assert len(arrivals.at) == len(done) == 5
    for page in range(1, 5):
        arrived, thread = arrivals.at[page]
        if depth:  # fetched in the background while the consumer was on the page before
            assert arrived < done[page - 1]
            assert thread.startswith("outreach-fetch-calls")
        else:  # asked for only once the consumer was done with the page before
            assert arrived > done[page - 1]
            assert thread == threading.current_thread().name
    assert _fetching_threads() == []


def test_prefetched_pages_come_in_the_scans_order(sandbox_factory, tmp_path):
    sb = sandbox_factory(sizes={"calls": 95})
    inline = make_client(sb, tmp_path, page_size=10, prefetch_pages=0)
    ahead = make_client(sb, tmp_path, page_size=10, prefetch_pages=3)
    expected = [[r["id"] for r in p.records] for p in fetch_pages(inline, CALLS, START, END)]
    got = [[r["id"] for r in p.records] for p in fetch_pages(ahead, CALLS, START, END)]
    assert got == expected
    assert len(got) == 10


def test_error_in_the_fetching_thread_reaches_the_consumer_after_the_pages_before_it(
    sandbox_factory, tmp_path
):
    sb = sandbox_factory(sizes={"calls": 40})
    responses = ResponseLog()
    client = make_client(
        sb, tmp_path, session=responses.session(), page_size=10, max_concurrent_slices=1
    )
    pages = fetch_pages(client, CALLS, START, END)
    got = [next(pages)]
    wait_until(lambda: len(responses.api()) >= 2)  # page 2 is in, page 3 not yet asked for
    sb.fail_next(1, 400)
    with pytest.raises(APIError) as err:
        got.extend(pages)
    assert [p.number for p in got] == [1, 2]
    assert err.value.status == 400
    raised_in = {frame.name for frame in traceback.extract_tb(err.value.__traceback__)}
    assert {"_fetch", "_produce"} <= raised_in  # the client's own frames, in the thread
    assert _fetching_threads() == []


def test_closing_early_stops_the_thread_and_fetches_no_more_than_depth_ahead(
    sandbox_factory, tmp_path
):
    sb = sandbox_factory(sizes={"calls": 100}, latency_ms=20)
    client = make_client(sb, tmp_path, page_size=10, prefetch_pages=2, max_concurrent_slices=1)
    pages = fetch_pages(client, CALLS, START, END)
    next(pages)
    time.sleep(0.3)  # time for ten pages, if nothing held the thread back
    assert sb.stats.api_requests == 3  # the page taken and the two ahead of it
    assert len(_fetching_threads()) == 1
    pages.close()
    assert _fetching_threads() == []
    assert sb.stats.api_requests == 3


def test_an_exception_in_the_consumer_stops_the_thread(sandbox_factory, tmp_path):
    sb = sandbox_factory(sizes={"calls": 100}, latency_ms=20)
    client = make_client(sb, tmp_path, page_size=10)

    def consume() -> None:
        for number, _ in enumerate(fetch_pages(client, CALLS, START, END), start=1):
            if number == 3:
                assert len(_fetching_threads()) == 1
                raise RuntimeError("conversion failed")

    with pytest.raises(RuntimeError, match="conversion failed"):
        consume()
    assert _fetching_threads() == []
    assert sb.stats.api_requests in {3, 4}  # the three pages taken, at most one ahead


def test_ctrl_c_while_waiting_for_a_page_stops_the_thread(sandbox_factory, tmp_path):
    if threading.current_thread() is not threading.main_thread():
        pytest.skip("SIGINT is delivered to the main thread only")
    sb = sandbox_factory(sizes={"calls": 40}, latency_ms=400)
    client = make_client(sb, tmp_path, page_size=10, max_concurrent_slices=1)
    main = threading.main_thread().ident
    assert main is not None
    interrupt = threading.Timer(0.15, signal.pthread_kill, (main, signal.SIGINT))
    got: list[Page] = []
    with pytest.raises(KeyboardInterrupt):
        interrupt.start()
        got.extend(fetch_pages(client, CALLS, START, END))  # page 1 takes 400 ms
    interrupt.join()
    assert got == []
    assert _fetching_threads() == []


# --- a stopped scan does not wait out its quota, 429 or backoff wait -----------------------

WINDOW_S = 600.0  # a wait no test could sit out: only cancelling ends it in time


def _close_within(pages: Generator[Page, None, None], limit_s: float = 5.0) -> float:
    """Close ``pages`` from a helper thread and return how long it took; fail after
    ``limit_s`` instead of hanging while a fetching thread sleeps out its wait."""
    errors: list[BaseException] = []

    def close() -> None:
        try:
            pages.close()
        except BaseException as exc:
            errors.append(exc)

    started = time.monotonic()
    closer = threading.Thread(target=close, name="test-closer", daemon=True)
    closer.start()
    closer.join(timeout=limit_s)
    assert not closer.is_alive(), f"closing still blocked after {limit_s} s"
    assert errors == []
    return time.monotonic() - started


def _slices(logger: ListLogger) -> int:
    """How many slices the scan's plan said (its one log line)."""
    (line,) = [m for m in logger.matching("calls: ") if " slice" in m]
    found = re.match(r"calls: (\d+) slices? \(", line)
    assert found, line
    return int(found.group(1))


# records, rate limit (= pages before the wait), max_concurrent_slices
QUOTA_CASES = {
    "one-scan": (50, 2, 1),  # prefetched: page 3 waits
    "probe": (50, 2, 4),  # sliceable, still probing: the probe's next page waits
    "slices": (1000, 3, 4),  # sliced after the 3 probed pages: every slice waits
}


@pytest.mark.parametrize("case", list(QUOTA_CASES))
def test_closing_during_a_quota_wait_ends_the_wait_and_every_thread_at_once(
    sandbox_factory, tmp_path, case
):
    records, rate_limit, max_slices = QUOTA_CASES[case]
    sb = sandbox_factory(
        sizes={"calls": records}, rate_limit=rate_limit, rate_window_s=WINDOW_S, latency_ms=20
    )
    logger = ListLogger()
    client = make_client(sb, tmp_path, logger, page_size=10, max_concurrent_slices=max_slices)
    pages = fetch_pages(client, CALLS, START, END)
    taken = rate_limit  # the window's whole quota: the next request waits ~WINDOW_S
    for _ in range(taken):
        next(pages)
    waiting = _slices(logger) if case == "slices" else 1  # (the probe logs no plan yet)
    assert waiting > 1 or case != "slices"
    wait_until(lambda: len(logger.matching(f"quota_limit=1 of {rate_limit}/window")) == waiting)
    assert len(_fetching_threads()) == waiting

    assert _close_within(pages) < 2.0
    assert _fetching_threads() == []
    assert sb.stats.api_requests == taken  # nothing sent after the stop
    stopped = [r for r in logger.records if "scan stopped during a quota wait" in r[1]]
    assert len(stopped) == waiting and {level for level, _ in stopped} == {"info"}
    assert not [r for r in logger.records if r[0] == "error"]
    assert client.stats.rate_limit_waits == waiting
    assert client.stats.waited_s < 2.0 * waiting  # what was waited, not the window


def _backoff_at_its_ceiling(attempt: int, base_s: float, cap_s: float) -> float:
    return min(cap_s, base_s * 2 ** (attempt - 1))


# what the waiting thread logs before its wait, and how it says it stopped
BACKOFF_CASES = {
    503: ("calls: GET /api/v2/calls failed (HTTP 503", "during a retry backoff"),
    429: ("calls: HTTP 429 rateLimitExceeded", "during the wait after an HTTP 429"),
}


@pytest.mark.parametrize("status", list(BACKOFF_CASES))
def test_closing_during_a_retry_backoff_or_a_429_wait_ends_it_at_once(
    sandbox_factory, tmp_path, monkeypatch, status
):
    waiting, stopped = BACKOFF_CASES[status]
    # Full jitter could draw a backoff short enough to hide a join that waits it out.
    monkeypatch.setattr(http, "backoff_delay", _backoff_at_its_ceiling)
    sb = sandbox_factory(sizes={"calls": 50}, rate_window_s=WINDOW_S)  # 429: Retry-After ~600
    logger, responses = ListLogger(), ResponseLog()
    client = make_client(
        sb,
        tmp_path,
        logger,
        session=responses.session(),
        page_size=10,
        max_concurrent_slices=1,
        retry_backoff_s=WINDOW_S,
        max_backoff_s=WINDOW_S,
    )
    pages = fetch_pages(client, CALLS, START, END)
    next(pages)
    wait_until(lambda: len(responses.api()) == 2)  # page 2 is in, page 3 not asked for
    sb.fail_next(1, status)
    next(pages)  # page 3 is asked for, refused, and waited for
    wait_until(lambda: bool(logger.matching(waiting)))

    assert _close_within(pages) < 2.0
    assert _fetching_threads() == []
    assert [r.status for r in responses.api()] == [200, 200, status]
    (line,) = [r for r in logger.records if "scan stopped" in r[1]]
    assert line[0] == "info" and stopped in line[1]


# --- the helper on its own --------------------------------------------------------------


def test_the_producer_stays_at_most_depth_items_ahead():
    started: list[int] = []

    def source() -> Iterator[int]:
        for i in range(12):
            started.append(i)  # item i is being produced
            yield i

    ahead = []
    with Prefetcher([source()], 3, name="test-prefetch") as items:
        for taken, item in enumerate(items, start=1):
            assert item == taken - 1
            time.sleep(0.02)  # room for the producer to run as far as it may
            ahead.append(len(started) - taken)
    assert max(ahead) == 3
    assert _fetching_threads("test-prefetch") == []


class _Boom(Exception):
    pass


def test_a_producer_exception_is_raised_where_it_happened_with_its_traceback():
    def source() -> Iterator[int]:
        yield 1
        yield 2
        raise _Boom("source broke")

    got: list[int] = []
    with pytest.raises(_Boom, match="source broke") as err:
        got.extend(prefetch(source(), 1, name="test-prefetch"))
    assert got == [1, 2]
    assert "source" in {f.name for f in traceback.extract_tb(err.value.__traceback__)}
    assert _fetching_threads("test-prefetch") == []


def test_closing_runs_the_sources_cleanup_in_its_thread_and_joins_every_thread():
    closed_in: list[str] = []

    def source(tag: str) -> Iterator[str]:
        try:
            while True:
                time.sleep(0.01)  # an in-flight request the consumer cannot cut short
                yield tag
        finally:
            closed_in.append(threading.current_thread().name)

    items = prefetch(source("a"), 2, name="test-prefetch")
    assert next(items) == "a"
    items.close()
    assert closed_in == ["test-prefetch-1"]
    assert _fetching_threads("test-prefetch") == []


def test_closing_from_a_producer_thread_joins_the_others_but_not_itself():
    """What the cyclic GC does when it finalizes an abandoned consumer in a fetching thread."""
    raised: list[BaseException] = []
    closed = threading.Event()
    ahead: Prefetcher[str]

    def closing_source() -> Iterator[str]:
        try:
            ahead.close()
        except BaseException as exc:  # the producer would swallow it; keep it for the test
            raised.append(exc)
        closed.set()
        yield "never taken"

    def endless() -> Iterator[str]:
        while True:
            time.sleep(0.01)
            yield "other"

    ahead = Prefetcher([closing_source(), endless()], 1, name="test-self-close")
    with ahead:
        assert closed.wait(5)
    assert raised == []
    assert _fetching_threads("test-self-close") == []


def test_several_sources_share_one_buffer_each_in_its_own_order():
    def source(tag: str, n: int) -> Iterator[tuple[str, int]]:
        for i in range(n):
            time.sleep(0.001)
            yield tag, i

    with Prefetcher([source("a", 30), source("b", 5), source("c", 0)], 1, name="test-p") as it:
        got = list(it)
    assert [i for tag, i in got if tag == "a"] == list(range(30))
    assert [i for tag, i in got if tag == "b"] == list(range(5))
    assert len(got) == 35
    assert _fetching_threads("test-p") == []


def test_depth_below_one_is_refused_and_zero_means_inline():
    with pytest.raises(ValueError, match="at least 1"):
        Prefetcher([iter([1])], 0, name="test-prefetch")
    names: list[str] = []

    def source() -> Iterator[int]:
        names.append(threading.current_thread().name)
        yield 1

    assert list(prefetch(source(), 0)) == [1]
    assert names == [threading.current_thread().name]


def test_logs_say_prefetch_is_on_for_snapshots(sandbox_factory, tmp_path):
    sb = sandbox_factory(sizes={"duties": 30})
    logger = ListLogger()
    client = make_client(sb, tmp_path, logger, page_size=10)
    pages = list(fetch_pages(client, get_stream("duties")))
    assert sum(len(p.records) for p in pages) == 30
    assert logger.matching("duties: 1 slice (full snapshot: no cursor to slice on); prefetching")


def _waits_for_cancel(
    cancel: threading.Event, waiting: threading.Event, saw: list[bool]
) -> Iterator[int]:
    """A source whose second item waits like a quota wait that only ``cancel`` cuts short."""
    yield 1
    waiting.set()
    saw.append(cancel.wait(5.0))
    yield 2


def _via_prefetcher(source: Iterator[int], cancel: threading.Event) -> Generator[int, None, None]:
    with Prefetcher([source], 1, name="test-prefetch", cancel=cancel) as items:
        yield from items


def _via_helper(source: Iterator[int], cancel: threading.Event) -> Generator[int, None, None]:
    return prefetch(source, 1, name="test-prefetch", cancel=cancel)


@pytest.mark.parametrize("wrap", [_via_prefetcher, _via_helper], ids=["Prefetcher", "prefetch"])
def test_closing_sets_the_cancel_signal_before_joining(
    wrap: Callable[[Iterator[int], threading.Event], Generator[int, None, None]],
):
    cancel, waiting = threading.Event(), threading.Event()
    saw: list[bool] = []
    items = wrap(_waits_for_cancel(cancel, waiting, saw), cancel)
    assert next(items) == 1
    assert waiting.wait(2.0)  # the producer is in its wait for item 2
    started = time.monotonic()
    items.close()
    assert time.monotonic() - started < 1.0
    assert saw == [True]  # the wait ended because the signal was set, before the join
    assert _fetching_threads("test-prefetch") == []


def test_a_prefetcher_read_to_its_end_leaves_the_cancel_signal_clear():
    # fetch_pages' probe shares the signal with a scan that goes on after its Prefetcher.
    cancel = threading.Event()
    with Prefetcher([iter([1, 2])], 1, name="test-prefetch", cancel=cancel) as items:
        assert list(items) == [1, 2]
    assert not cancel.is_set()
