"""Concurrent time slices of one scan: every record once, few extra requests, and only
where the first pages predict enough pages and a consumer that outpaces the API (real HTTP
against the sandbox, except for the planner on its own)."""

import math
import re
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from outreach_assets.assets.sweep import SweepStats, sweep
from outreach_assets.catalog import get_stream
from outreach_assets.client import Page
from outreach_assets.client.slices import (
    PAGES_PER_EXTRA_SLICE,
    PROBE_PAGES,
    Probed,
    SlicePlan,
    _bounded,
    fetch_pages,
    page_keys,
    plan_slices,
)
from outreach_assets.convert import ArrowPageDecoder
from outreach_assets.storage import PartitionWindow
from outreach_assets.timestamps import format_cursor_time
from outreach_assets_tests.support.clients import ListLogger, ResponseLog, make_client

CALLS = get_stream("calls")
START = datetime(2023, 1, 1, tzinfo=UTC)
END = datetime(2024, 1, 1, tzinfo=UTC)
ONE_MS = timedelta(milliseconds=1)


def _slices_logged(logger: ListLogger, stream: str = "calls") -> int:
    lines = [m for m in logger.matching(f"{stream}: ") if " slice" in m]
    assert len(lines) == 1, lines
    found = re.match(rf"{stream}: (\d+) slices? \(", lines[0])
    assert found, lines[0]
    return int(found.group(1))


def _ids(pages: list[Page]) -> Counter[int]:
    return Counter(int(i) for page in pages for i in page_keys(page, "updatedAt")[0])


def _decoder(kind: str) -> ArrowPageDecoder | None:
    return ArrowPageDecoder(CALLS, START) if kind == "arrow" else None


def test_a_long_scan_is_sliced_and_returns_every_record_once(sandbox_factory, tmp_path):
    sb = sandbox_factory(sizes={"calls": 2000})
    logger, responses = ListLogger(), ResponseLog()
    client = make_client(sb, tmp_path, logger, session=responses.session(), page_size=10)
    sb.reset_stats()
    pages = list(fetch_pages(client, CALLS, START, END))
    slices = _slices_logged(logger)
    assert slices == 4  # about 200 pages predicted: 5 allowed, capped at the default 4
    counts = _ids(pages)
    assert set(counts) == set(sb.truth("calls"))
    assert set(counts.values()) == {1}
    assert sb.stats.api_requests == len(pages) <= math.ceil(2000 / 10) + slices - 1
    sliced = responses.api()[PROBE_PAGES:]  # the first pages come from the whole range
    lower_bounds = {re.findall(r"gte%5D=([^&]+)", s.url)[0] for s in sliced}
    assert len(lower_bounds) == slices


@pytest.mark.parametrize("decoder", ["none", "arrow"])
def test_records_sharing_the_last_probed_cursor_are_neither_lost_nor_repeated(
    sandbox_factory, tmp_path, decoder
):
    sb = sandbox_factory(records=0, latency_ms=20)  # waiting dominates: worth slicing
    # Three bursts, each sharing one millisecond; the 3 probed pages of 10 end 5 records
    # into the second burst, whose other 10 records come in the first slice.
    for count in (25, 15, 12):
        sb.add("calls", count)
        time.sleep(0.005)
    truth = sb.truth("calls")
    first = datetime.fromisoformat(min(truth.values()))
    logger = ListLogger()
    client = make_client(sb, tmp_path, logger, page_size=10)
    scan = fetch_pages(
        client, CALLS, first - ONE_MS, first + timedelta(days=1), decoder=_decoder(decoder)
    )
    pages = list(scan)
    assert _slices_logged(logger) == 4
    assert page_keys(pages[0], "updatedAt")[0] == list(range(1, 11))  # ties by id
    counts = _ids(pages)
    assert set(counts) == set(truth)
    assert set(counts.values()) == {1}


def test_a_sliced_sweep_routes_every_record_once(sandbox_factory, tmp_path):
    sb = sandbox_factory(sizes={"calls": 1000}, latency_ms=10)  # fetching is the bottleneck
    windows = [
        PartitionWindow(
            (START + timedelta(days=i)).date().isoformat(),
            START + timedelta(days=i),
            START + timedelta(days=i + 1),
        )
        for i in range(365)
    ]
    logger = ListLogger()
    client = make_client(sb, tmp_path, logger, page_size=10, max_concurrent_slices=2)
    stats = SweepStats()
    ids: Counter[int] = Counter()
    for _, batch in sweep(client, CALLS, windows, stats):
        ids.update(batch.column("id").to_pylist())
    slices = _slices_logged(logger)
    assert slices == 2
    assert set(ids) == set(sb.truth("calls"))
    assert set(ids.values()) == {1}
    assert client.stats.requests == stats.pages <= math.ceil(1000 / 10) + slices - 1


@pytest.mark.parametrize(
    ("scan", "settings", "reason"),
    [
        ((40, 100), {}, "page 1 held the last 40 records"),
        ((200, 10), {}, "about "),  # some 20 pages predicted: fewer than 50
        ((1000, 10), {"max_concurrent_slices": 1}, "max_concurrent_slices=1"),
        ((1000, 10), {"prefetch_pages": 0}, "prefetch_pages=0"),
    ],
)
def test_scans_that_would_not_gain_are_not_sliced(
    sandbox_factory, tmp_path, scan, settings, reason
):
    records, page_size = scan
    sb = sandbox_factory(sizes={"calls": records})
    logger = ListLogger()
    client = make_client(sb, tmp_path, logger, page_size=page_size, **settings)
    sb.reset_stats()
    pages = list(fetch_pages(client, CALLS, START, END))
    assert _slices_logged(logger) == 1
    assert reason in logger.matching("calls: 1 slice")[0]
    assert sum(_ids(pages).values()) == records
    assert sb.stats.api_requests == math.ceil(records / page_size)


def test_snapshot_streams_are_never_sliced(sandbox_factory, tmp_path):
    sb = sandbox_factory(sizes={"sequence_templates": 600})
    logger = ListLogger()
    client = make_client(sb, tmp_path, logger, page_size=10)
    sb.reset_stats()
    pages = list(fetch_pages(client, get_stream("sequence_templates")))
    assert _slices_logged(logger, "sequence_templates") == 1
    assert "full snapshot" in logger.text()
    assert set(_ids(pages).values()) == {1}
    assert sb.stats.api_requests == 60


# --- the planner on its own -------------------------------------------------------------


def _page(
    cursors: list[datetime], page_size: int, fetch_s: float = 0.05, decode_s: float = 0.0
) -> Page:
    records: list[dict[str, Any]] = [
        {"id": i + 1, "attributes": {"updatedAt": format_cursor_time(c)}}
        for i, c in enumerate(cursors)
    ]
    return Page(records, 1, "/api/v2/calls", page_size, fetch_s, decode_s=decode_s)


def _plan(page: Page, max_slices: int = 4, consumed_s: float = 0.001) -> SlicePlan:
    probed = [Probed.of(page, "updatedAt")]
    return plan_slices(probed, CALLS, START, END, max_slices=max_slices, consumed_s=consumed_s)


def _spread(first: datetime, last: datetime, n: int) -> list[datetime]:
    return [first + (last - first) * i / (n - 1) for i in range(n)]


@pytest.mark.parametrize(
    ("pages_predicted", "max_slices", "expected"),
    [(49, 8, 1), (50, 8, 2), (149, 8, 3), (1000, 8, 8), (1000, 4, 4)],
)
def test_one_extra_slice_per_50_predicted_pages_up_to_the_cap(
    pages_predicted, max_slices, expected
):
    span = (END - START) / pages_predicted  # page 1 covered this share of the range
    page = _page(_spread(START, START + span, 10), 10)
    plan = _plan(page, max_slices)
    assert len(plan.bounds) == (expected if expected > 1 else 0)
    assert f"about {pages_predicted} pages" in plan.reason
    assert PAGES_PER_EXTRA_SLICE == 50


def test_slices_are_disjoint_and_cover_the_rest_of_the_range_to_the_millisecond():
    last = START + timedelta(days=1, milliseconds=7)
    page = _page([*_spread(START, last - ONE_MS, 8), last, last], 10)
    plan = _plan(page)
    assert len(plan.bounds) == 4
    assert plan.bounds[0][0] == last  # records tied with page 1's last one come next
    for (_, hi), (lo, _) in zip(plan.bounds, plan.bounds[1:], strict=False):
        assert lo - hi == ONE_MS
    assert plan.bounds[-1][1] == END
    assert all(lo < hi for lo, hi in plan.bounds)
    assert plan.tie_ids == frozenset({9, 10})


def test_an_unsorted_or_unreadable_page_one_predicts_nothing():
    cursors = _spread(START, START + timedelta(days=1), 10)
    shuffled = _page([cursors[1], cursors[0], *cursors[2:]], 10)
    assert _plan(shuffled).bounds == ()
    broken = _page(cursors, 10)
    broken.records[3]["attributes"]["updatedAt"] = "yesterday"
    assert _plan(broken).bounds == ()


@pytest.mark.parametrize(
    ("fetch_s", "consumed_s", "expected"),
    [(0.1, 0.04, 3), (0.1, 0.05, 2), (0.01, 0.02, 1), (0.5, 0.0, 4)],
)
def test_only_as_many_slices_as_make_fetching_keep_pace_with_the_consumer(
    fetch_s, consumed_s, expected
):
    page = _page(_spread(START, START + timedelta(hours=1), 10), 10, fetch_s)  # ~8760 pages
    plan = _plan(page, 4, consumed_s)
    assert max(1, len(plan.bounds)) == expected
    assert f"a page took {fetch_s * 1000:.0f} ms to fetch" in plan.reason


@pytest.mark.parametrize(("decode_s", "expected"), [(0.0, 4), (0.01, 2), (0.04, 1), (0.05, 1)])
def test_time_spent_decoding_is_not_latency_to_hide(decode_s, expected):
    # 50 ms per page of which decode_s is CPU: slices only overlap the rest, the waiting.
    page = _page(_spread(START, START + timedelta(hours=1), 10), 10, 0.05, decode_s)
    plan = _plan(page, 4, consumed_s=0.01)
    assert max(1, len(plan.bounds)) == expected


def test_a_consumer_slower_than_the_api_gets_no_slices(sandbox_factory, tmp_path):
    sb = sandbox_factory(sizes={"calls": 1000})
    logger = ListLogger()
    client = make_client(sb, tmp_path, logger, page_size=10)
    got = 0
    for got, _ in enumerate(fetch_pages(client, CALLS, START, END), start=1):
        if got < PROBE_PAGES:
            time.sleep(0.1)  # converting takes far longer than fetching at no latency
    assert _slices_logged(logger) == 1
    assert "to decode and consume" in logger.matching("calls: 1 slice")[0]
    assert got == 100


def test_the_estimate_counts_every_probed_page():
    # Three full pages covered the first 1% of the range: about 300 pages in all.
    cursors = _spread(START, START + (END - START) / 100, 30)
    probed = [Probed.of(_page(cursors[i : i + 10], 10), "updatedAt") for i in (0, 10, 20)]
    plan = plan_slices(probed, CALLS, START, END, max_slices=8, consumed_s=0.001)
    assert "about 300 pages" in plan.reason
    assert len(plan.bounds) == 7  # 1 + 300 // 50
    assert format_cursor_time(plan.bounds[0][0]) == format_cursor_time(cursors[-1])


@pytest.mark.parametrize("decoder", ["none", "arrow"])
def test_a_slice_stops_at_its_upper_bound_even_if_the_api_ignores_it(
    sandbox_factory, tmp_path, decoder
):
    """The API has been seen ignoring ``[lte]``: a slice must not read into the next."""
    sb = sandbox_factory(sizes={"calls": 100})
    client = make_client(sb, tmp_path, page_size=10)
    truth = sorted(sb.truth("calls").items(), key=lambda item: (item[1], item[0]))
    bound = datetime.fromisoformat(truth[34][1])  # the 35th record's cursor
    bound_ms = (bound - datetime(1970, 1, 1, tzinfo=UTC)) // ONE_MS
    unbounded = client.iter_pages(CALLS, START, END, decoder=_decoder(decoder))  # no [lte]
    sb.reset_stats()
    pages = list(_bounded(unbounded, "updatedAt", bound_ms))
    expected = {rid for rid, text in truth if datetime.fromisoformat(text) <= bound}
    assert set(_ids(pages)) == expected and sum(_ids(pages).values()) == len(expected)
    assert sb.stats.api_requests == 4  # stopped on the page that passed the bound
