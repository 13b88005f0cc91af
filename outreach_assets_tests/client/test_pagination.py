"""Pagination: the first request, links.next, completeness, page-size changes, errors."""

import dataclasses
from datetime import UTC, datetime, timedelta, timezone
from urllib.parse import parse_qsl, urlsplit

import pytest

from outreach_assets.catalog import Stream
from outreach_assets.client.pagination import (
    first_page_url,
    next_link,
    page_size_of,
    with_page_size,
)
from outreach_assets.errors import APIError
from outreach_assets.timestamps import format_cursor_time
from outreach_assets_tests.support.clients import (
    INCREMENTAL,
    SNAPSHOT,
    ListLogger,
    ResponseLog,
    make_client,
    scan_ids,
)

BASE = "https://api.outreach.io/api/v2"


# --- URL helpers -------------------------------------------------------------------------


def test_first_page_of_incremental_stream_filters_and_sorts_on_the_cursor() -> None:
    start = datetime(2024, 3, 1, tzinfo=UTC)
    end = datetime(2024, 3, 2, 1, 2, 3, 456789, tzinfo=UTC)
    url = first_page_url(BASE, INCREMENTAL, 1000, start, end)
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == f"{BASE}/{INCREMENTAL.path}"
    cursor = INCREMENTAL.cursor
    assert dict(parse_qsl(parts.query)) == {
        "count": "false",
        "page[size]": "1000",
        "sort": cursor,
        "newFilterSyntax": "true",
        f"filter[{cursor}][gte]": "2024-03-01T00:00:00.000Z",
        f"filter[{cursor}][lte]": "2024-03-02T01:02:03.456Z",
    }


def test_first_page_without_end_has_no_upper_bound() -> None:
    url = first_page_url(BASE + "/", INCREMENTAL, 10, datetime(2024, 1, 1, tzinfo=UTC))
    query = dict(parse_qsl(urlsplit(url).query))
    assert f"filter[{INCREMENTAL.cursor}][lte]" not in query
    assert urlsplit(url).path == f"/api/v2/{INCREMENTAL.path}"


def test_full_snapshot_streams_send_no_filter_or_sort() -> None:
    start = datetime(2024, 1, 1, tzinfo=UTC)
    url = first_page_url(BASE, SNAPSHOT, 500, start, start + timedelta(days=1))
    assert dict(parse_qsl(urlsplit(url).query)) == {"count": "false", "page[size]": "500"}


def test_cursor_times_are_utc_milliseconds_and_naive_times_are_refused() -> None:
    plus_two = datetime(2024, 1, 1, 4, 0, 0, 999999, tzinfo=timezone(timedelta(hours=2)))
    assert format_cursor_time(plus_two) == "2024-01-01T02:00:00.999Z"
    with pytest.raises(ValueError, match="no time zone"):
        format_cursor_time(datetime(2024, 1, 1))


def test_with_page_size_changes_only_page_size() -> None:
    url = (
        f"{BASE}/prospects?count=false&page%5Bsize%5D=1000&page%5Bafter%5D=eyJ%3D%3D&sort=updatedAt"
    )
    smaller = with_page_size(url, 500)
    assert smaller == url.replace("page%5Bsize%5D=1000", "page%5Bsize%5D=500")
    assert page_size_of(smaller) == 500
    assert page_size_of(with_page_size(f"{BASE}/prospects?x=1", 20)) == 20


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        ({"data": []}, None),
        ({"data": [], "links": None}, None),
        ({"data": [], "links": {"first": "x"}}, None),
        ({"data": [], "links": {"next": None}}, None),
        ({"data": [], "links": {"next": ""}}, None),
        (
            {"data": [], "links": {"next": f"{BASE}/p?page%5Bafter%5D=a"}},
            f"{BASE}/p?page%5Bafter%5D=a",
        ),
    ],
)
def test_next_link_stops_when_links_or_next_is_missing(payload, expected) -> None:
    assert next_link(payload) == expected


# --- against the sandbox -------------------------------------------------------------------


def _in_window(sb, stream: Stream, start: datetime, end: datetime) -> list[int]:
    """Ground truth: ids whose cursor lies in [start, end]."""
    ids = []
    for record_id, cursor in sb.truth(stream.name).items():
        moment = datetime.fromisoformat(cursor.replace("Z", "+00:00"))
        if start <= moment <= end:
            ids.append(record_id)
    return sorted(ids)


def test_incremental_window_returns_every_record_exactly_once(sandbox_factory, tmp_path):
    sb = sandbox_factory(sizes={INCREMENTAL.name: 300})
    client = make_client(sb, tmp_path)
    start, end = datetime(2023, 3, 1, tzinfo=UTC), datetime(2023, 9, 1, tzinfo=UTC)
    ids = scan_ids(client, INCREMENTAL, start, end, page_size=25)
    expected = _in_window(sb, INCREMENTAL, start, end)
    assert 50 < len(expected) < 300  # the window spans several pages and cuts the stream
    assert len(ids) == len(set(ids))
    assert sorted(ids) == expected


def test_whole_incremental_stream_and_empty_window(sandbox_factory, tmp_path):
    sb = sandbox_factory(sizes={INCREMENTAL.name: 120})
    client = make_client(sb, tmp_path)
    ids = scan_ids(client, INCREMENTAL, page_size=50)
    assert len(ids) == len(set(ids)) and sorted(ids) == sorted(sb.truth(INCREMENTAL.name))
    before = sb.stats.api_requests
    future = datetime(2030, 1, 1, tzinfo=UTC)
    pages = list(client.iter_pages(INCREMENTAL, future, future + timedelta(days=1)))
    assert [len(p.records) for p in pages] == [0]  # no `links` at all ends the scan
    assert sb.stats.api_requests == before + 1


def test_full_snapshot_returns_every_record_exactly_once(sandbox_factory, tmp_path):
    sb = sandbox_factory(sizes={SNAPSHOT.name: 95})
    client = make_client(sb, tmp_path)
    start = datetime(2023, 6, 1, tzinfo=UTC)  # ignored: snapshots have no cursor
    pages = list(client.iter_pages(SNAPSHOT, start, start + timedelta(days=1), page_size=10))
    ids = [int(r["id"]) for p in pages for r in p.records]
    assert len(ids) == len(set(ids)) and sorted(ids) == sorted(sb.truth(SNAPSHOT.name))
    assert [p.number for p in pages] == list(range(1, 11))
    assert {p.url_path for p in pages} == {f"/api/v2/{SNAPSHOT.path}"}
    assert {p.page_size for p in pages} == {10}
    assert client.stats.pages == 10 and client.stats.records == 95


def test_requests_carry_json_api_headers_and_the_stream_page_cap(sandbox_factory, tmp_path):
    sb = sandbox_factory(sizes={INCREMENTAL.name: 20})
    wire = ResponseLog()
    capped = dataclasses.replace(INCREMENTAL, max_page_size=7)
    client = make_client(sb, tmp_path, session=wire.session(), user_agent="tests/1.0")
    pages = list(client.iter_pages(capped, page_size=500))
    assert [len(p.records) for p in pages] == [7, 7, 6]
    for seen in wire.api():
        assert seen.request_headers["Accept"] == "application/vnd.api+json"
        assert seen.request_headers["Content-Type"] == "application/vnd.api+json"
        assert seen.request_headers["User-Agent"] == "tests/1.0"
        assert page_size_of(seen.url) == 7


def test_a_page_too_big_for_the_gateway_halves_the_size_and_regrowth_backs_off(
    sandbox_factory, tmp_path
):
    sb = sandbox_factory(sizes={INCREMENTAL.name: 400})
    wire = ResponseLog()
    logger = ListLogger()
    client = make_client(sb, tmp_path, logger, session=wire.session())
    pages = client.iter_pages(INCREMENTAL, page_size=100)
    first = next(pages)
    big_body = wire.api()[-1].size
    sb.configure(max_body_bytes=big_body // 3)  # 100 and 50 records too big, 25 fine
    rest = list(pages)
    ids = [int(r["id"]) for p in [first, *rest] for r in p.records]
    assert len(ids) == len(set(ids)) and sorted(ids) == sorted(sb.truth(INCREMENTAL.name))
    assert [p.page_size for p in rest] == [25] * 12
    # Two 502s at 100 and two at 50 for page 2; after 4 pages at 25 a try at 50 fails
    # twice again, and the next try would wait for 8 pages, more than are left.
    assert client.stats.page_size_reductions == 3
    assert sb.stats.status_counts.get(502) == 6
    changes = [m.split(": page size ")[1] for m in logger.matching(": page size ")]
    assert [c.split(" (")[0] for c in changes] == ["100 -> 50", "50 -> 25", "25 -> 50", "50 -> 25"]
    retried = [s.url for s in wire.api() if s.status == 502][-1]
    assert "page%5Bafter%5D" in retried  # the links.next URL kept its cursor


def test_page_size_never_shrinks_below_the_floor(sandbox_factory, tmp_path):
    sb = sandbox_factory(sizes={INCREMENTAL.name: 100}, max_body_bytes=10)
    client = make_client(sb, tmp_path, min_page_size=25, max_retries=6)
    with pytest.raises(APIError, match="failed after 7 attempts"):
        scan_ids(client, INCREMENTAL, page_size=100)
    assert client.stats.page_size_reductions == 2  # 100 -> 50 -> 25, then no lower


def test_progress_is_logged_every_20_pages_and_at_the_end(sandbox_factory, tmp_path):
    sb = sandbox_factory(sizes={INCREMENTAL.name: 41})
    logger = ListLogger()
    client = make_client(sb, tmp_path, logger)
    scan_ids(client, INCREMENTAL, page_size=1)
    progress = logger.matching(f"{INCREMENTAL.name}: ")
    progress = [m for m in progress if "records/s" in m]
    assert [m.split(" pages")[0].split()[-1] for m in progress] == ["20", "40", "41"]
    assert progress[-1].startswith(f"{INCREMENTAL.name}: done, 41 pages, 41 records in ")
    assert "41 requests, 0 rate-limit waits" in progress[-1]
