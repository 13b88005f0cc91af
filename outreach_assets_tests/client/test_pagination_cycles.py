"""Pagination that goes round in a circle fails the scan within a few requests, and only it:
links that alternate, fresh cursors that serve the same records, over real HTTP against the
sandbox's switches, for plain scans, id sweeps and sliced scans; records changed during a
scan (seen twice, with their new cursor) are no circle. The guard's order rule, which no
sandbox switch reaches first, is also checked on pages built here."""

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import pytest

from outreach_assets.catalog import get_stream
from outreach_assets.client import Page
from outreach_assets.client.census import take_census
from outreach_assets.client.pagination import RECENT_PAGES, CycleGuard
from outreach_assets.client.slices import PROBE_PAGES, fetch_pages, page_keys
from outreach_assets.convert import ArrowPageDecoder
from outreach_assets.errors import FatalError, PaginationCycleError, RetriableError
from outreach_assets.timestamps import parse_timestamp, to_ms
from outreach_assets_tests.support.clients import SNAPSHOT, ListLogger, make_client

CALLS = get_stream("calls")
PROSPECTS = get_stream("prospects")
START = datetime(2023, 1, 1, tzinfo=UTC)
END = datetime(2024, 1, 1, tzinfo=UTC)
BASE = "http://127.0.0.1:1/api/v2"
SWITCHES = {
    "alternate_next_links": "leads back to page 2",
    "stuck_cursors": "brings nothing new",
}


def _assert_names_the_scan(exc: PaginationCycleError, stream: str, path: str, sb: Any) -> None:
    text = str(exc)
    assert f"stream {stream!r}" in text and f"GET /api/v2/{path}" in text
    assert "at page 3" in text
    assert exc.stream == stream and exc.url_path == f"/api/v2/{path}"
    assert isinstance(exc, FatalError) and not isinstance(exc, RetriableError)
    cfg = sb.config
    for secret in (cfg.client_secret, cfg.refresh_token, "page[after]", "page%5Bafter%5D"):
        assert secret not in text  # no secret, and no cursor (it means nothing to people)


@pytest.mark.parametrize("switch", list(SWITCHES))
@pytest.mark.parametrize("decoder", ["none", "arrow"])
def test_a_circle_fails_an_incremental_scan_at_page_3(sandbox_factory, tmp_path, switch, decoder):
    sb = sandbox_factory(sizes={"calls": 300})
    sb.configure(**{switch: True})
    client = make_client(sb, tmp_path, page_size=10)
    sb.reset_stats()
    arrow = ArrowPageDecoder(CALLS, START) if decoder == "arrow" else None
    handed: list[Page[Any]] = []
    with pytest.raises(PaginationCycleError, match=SWITCHES[switch]) as caught:
        handed.extend(client.iter_pages(CALLS, START, END, decoder=arrow))
    assert sb.stats.api_requests == 3  # not 30 pages, not for ever
    assert len(handed) == 2  # the page that closes the circle is not handed over
    _assert_names_the_scan(caught.value, "calls", CALLS.path, sb)


@pytest.mark.parametrize("switch", list(SWITCHES))
def test_a_circle_fails_a_full_snapshot_scan_at_page_3(sandbox_factory, tmp_path, switch):
    sb = sandbox_factory(sizes={SNAPSHOT.name: 200})
    sb.configure(**{switch: True})
    client = make_client(sb, tmp_path, page_size=10)
    sb.reset_stats()
    with pytest.raises(PaginationCycleError, match=SWITCHES[switch]) as caught:
        list(client.iter_pages(SNAPSHOT))
    assert sb.stats.api_requests == 3
    _assert_names_the_scan(caught.value, SNAPSHOT.name, SNAPSHOT.path, sb)


@pytest.mark.parametrize("switch", list(SWITCHES))
def test_a_circle_fails_an_id_sweep_at_page_3(sandbox_factory, tmp_path, switch):
    sb = sandbox_factory(sizes={"prospects": 3_500})  # pages of 1,000: page 3 points on
    sb.configure(**{switch: True})
    client = make_client(sb, tmp_path)
    sb.reset_stats()
    with pytest.raises(PaginationCycleError, match=SWITCHES[switch]) as caught:
        take_census(client, PROSPECTS)  # fatal, not the sweep's own retriable complaint
    assert sb.stats.api_requests == 3
    _assert_names_the_scan(caught.value, "prospects", PROSPECTS.path, sb)


def test_a_circle_in_the_slices_of_a_scan_fails_it(sandbox_factory, tmp_path):
    sb = sandbox_factory(sizes={"calls": 2000})
    logger = ListLogger()
    client = make_client(sb, tmp_path, logger, page_size=10)
    sb.reset_stats()
    pages = fetch_pages(client, CALLS, START, END)
    probed = [next(pages) for _ in range(PROBE_PAGES)]  # the slices start on the last one
    assert logger.matching("calls: 4 slices (")
    sb.configure(stuck_cursors=True)
    with pytest.raises(PaginationCycleError, match="brings nothing new") as caught:
        list(pages)
    # The probe's pages, then the first slice to reach a stuck cursor (on its page 2 or 3)
    # fails at the next page and stops the others, each within its first few pages.
    assert PROBE_PAGES + 3 <= sb.stats.api_requests <= PROBE_PAGES + 4 * 5
    assert caught.value.stream == "calls" and len(probed) == PROBE_PAGES


@pytest.mark.parametrize("decoder", ["none", "arrow"])
def test_records_changed_during_a_scan_come_again_without_tripping_it(
    sandbox_factory, tmp_path, decoder
):
    sb = sandbox_factory(sizes={"calls": 200})
    client = make_client(sb, tmp_path, page_size=10)
    arrow = ArrowPageDecoder(CALLS, START) if decoder == "arrow" else None
    newest: dict[int, int] = {}
    seen_before: list[int] = []  # per page: how many of its records came before
    for page in client.iter_pages(CALLS, decoder=arrow):  # open-ended: changes come again
        ids, cursors = page_keys(page, "updatedAt")
        seen_before.append(sum(int(i) in newest for i in ids))
        for i, c in zip(ids, cursors, strict=True):
            newest[int(i)] = max(newest.get(int(i), 0), c or 0)
        if page.number in (2, 6):  # every record so far changes, and some not yet seen
            sb.touch("calls", ids=sorted(newest)[: 10 * page.number])
            sb.touch("calls", ids=[150 + page.number])
    truth = {i: _ms(t) for i, t in sb.truth("calls").items()}
    assert newest == truth  # every record, each with its newest cursor
    assert seen_before.count(10) >= 4  # whole pages of records seen before, new cursors
    assert 0 < sum(seen_before) < len(newest)


def _ms(text: str) -> int:
    moment = parse_timestamp(text)
    assert moment is not None
    return to_ms(moment)


# --- the guard on pages built here ---------------------------------------------------------


def _page(number: int, keys: Sequence[tuple[int, int | None]]) -> Page[Any]:
    records = [
        {"type": "call", "id": i, "attributes": {"updatedAt": _iso(c) if c else None}}
        for i, c in keys
    ]
    return Page(records, number, "/api/v2/calls", 10, 0.0)


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat().replace("+00:00", "Z")


def _link(n: int) -> str:
    return f"{BASE}/calls?page%5Bsize%5D=3&page%5Bafter%5D=c{n}"


def _walk(guard: CycleGuard, pages: Sequence[Sequence[tuple[int, int | None]]]) -> None:
    """Follow ``pages``, each pointing on with a fresh link: the guard must let every one
    through and hand back its link (it raises on a page it takes for a cycle)."""
    url = f"{BASE}/calls?page%5Bsize%5D=3"
    for n, keys in enumerate(pages, start=1):
        nxt = guard.follow(_page(n, keys), _link(n), url, n)
        assert nxt == _link(n)
        url = nxt


def test_a_page_behind_the_furthest_key_fails_even_past_the_recent_pages() -> None:
    guard = CycleGuard(CALLS, BASE)
    forward = [[(3 * p + k, 1_000 * (3 * p + k)) for k in range(1, 4)] for p in range(8)]
    _walk(guard, forward)
    # Records of page 2 again, shifted by one: no earlier page's copy, and beyond the
    # pages whose records are remembered; only the order says it went back.
    assert RECENT_PAGES < 6
    back = [(5, 5_000), (6, 6_000), (7, 7_000)]
    with pytest.raises(PaginationCycleError, match=r"goes back: its last record \(updatedAt"):
        guard.follow(_page(9, back), _link(9), _link(8), 9)


def test_ties_by_id_and_changed_records_are_progress() -> None:
    guard = CycleGuard(CALLS, BASE)
    pages = [
        [(1, 1_000), (2, 1_000), (3, 1_000)],
        [(4, 1_000), (5, 1_000), (6, 2_000)],  # the same millisecond, later ids
        [(1, 9_000), (2, 9_000), (3, 9_000)],  # page 1's records, changed since
        [(4, 9_000), (7, 9_500), (8, 9_600)],
    ]
    _walk(guard, pages)


def test_a_page_out_of_order_turns_the_order_rule_off_not_the_scan() -> None:
    guard = CycleGuard(CALLS, BASE)
    pages = [
        [(1, 5_000), (2, 6_000), (3, 7_000)],
        [(9, 9_000), (4, 1_000), (5, 2_000)],  # unsorted: no order to trust
        [(6, 3_000), (7, 3_500), (8, 4_000)],  # behind page 1, yet new records
    ]
    _walk(guard, pages)


def test_a_repeated_page_or_link_fails_and_the_last_page_is_never_judged() -> None:
    guard = CycleGuard(SNAPSHOT, BASE)  # no order: the records and links decide
    one, two = [(1, None), (2, None)], [(3, None), (4, None)]
    _walk(guard, [one, two])
    # The last page (no links.next) ends the scan whatever it holds.
    assert guard.follow(_page(3, one), None, _link(2), 3) is None
    guard = CycleGuard(SNAPSHOT, BASE)
    _walk(guard, [one])
    with pytest.raises(PaginationCycleError, match="leads back to page 1"):
        guard.follow(_page(2, two), f"{BASE}/calls?page%5Bsize%5D=3", _link(1), 2)
    guard = CycleGuard(SNAPSHOT, BASE)
    with pytest.raises(PaginationCycleError, match="leads back to page 1"):
        guard.follow(_page(1, one), f"{BASE}/calls?page%5Bsize%5D=9", f"{BASE}/calls", 1)


def test_a_copy_of_an_old_page_fails_and_empty_pages_may_not_point_on_for_ever() -> None:
    guard = CycleGuard(SNAPSHOT, BASE)
    pages = [[(3 * p + k, None) for k in range(3)] for p in range(RECENT_PAGES + 2)]
    _walk(guard, pages)
    with pytest.raises(PaginationCycleError, match="were all on page 1"):
        guard.follow(_page(99, pages[0]), _link(99), _link(98), 99)
    guard = CycleGuard(SNAPSHOT, BASE)
    _walk(guard, [[(1, None)], [], [], []])
    with pytest.raises(PaginationCycleError, match="4 empty pages in a row point on"):
        guard.follow(_page(5, []), _link(5), _link(4), 5)


def test_a_few_records_seen_before_do_not_make_a_page_old() -> None:
    guard = CycleGuard(SNAPSHOT, BASE)
    pages = [[(1, None), (2, None), (3, None)], [(3, None), (2, None), (4, None)]]
    _walk(guard, pages)  # page 2 repeats 2 and 3, yet brings 4
    with pytest.raises(PaginationCycleError):  # one that brings nothing new does not pass
        guard.follow(_page(3, [(1, None), (4, None)]), _link(3), _link(2), 3)
