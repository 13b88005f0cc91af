"""One stream scan with its latency hidden: pages fetched ahead, long scans split in time.

With 50 ms per request, a scan spends most of its time waiting. Fetching the next page
while the current one is converted hides up to one page's conversion time; beyond that,
disjoint time slices of the range, each its own scan sharing the client (and so its quota
limiter), are fetched at once.

Slices are not free: each one ends on a partial page, so ``k`` slices cost up to ``k - 1``
requests more than the minimum (ceil(records / page size)); we allow 2%. The
scan therefore starts on the whole range and lets its first pages decide: the API sorts by
the cursor, so pages 1..n cover ``[start, last cursor on page n]`` and the share of the
range that took estimates the number of pages (a range that begins before the data
under-estimates it, which only means fewer slices). ``count=true`` would say it exactly,
but Outreach documents counting as expensive and its count as an estimate
(https://developers.outreach.io/api/making-requests/#pagination). One extra slice is allowed
per ``PAGES_PER_EXTRA_SLICE`` estimated pages, up to ``max_concurrent_slices``.

Slices cost memory too (each holds a page in flight; a wide prospects page decodes to tens
of MB) and buy nothing where converting, not fetching, is the bottleneck: with big pages
and no latency they only add GIL contention. So the first ``PROBE_PAGES - 1`` pages are
handed over one at a time, each while only the next one is fetched, and the consumer's
time on them is measured (the faster one counts: the first conversion of a process pays
for imports and caches). Only as many slices as make fetching keep pace (fetch time over
consume time, rounded up) are started, from the page in hand when that is known.

Boundaries: the API's bounds are inclusive, at millisecond precision. The probed pages
stay as they are; the rest of the range starts at the last probed cursor (records sharing
it may continue on the next page: ties are ordered by id) and is cut into slices
``[b_i, b_(i+1) - 1 ms]``, the last one ending at ``end`` like the unsliced scan. The first
slice returns the tied records already probed, usually one; they are dropped by id, so
every record comes once.

Pages reach the consumer in the order they arrive: the probed pages first, then the
slices' pages interleaved, each slice's in its own order. Callers that route rows by their
cursor (the sweep) and dedupe on id (the store) need no more than that.
"""

import math
import threading
import time
from collections.abc import Generator, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from itertools import islice
from typing import Any

from outreach_assets.catalog import Stream
from outreach_assets.client.http import OutreachClient
from outreach_assets.client.page import Page, PageDecoder, page_keys
from outreach_assets.client.prefetch import Prefetcher, prefetch
from outreach_assets.timestamps import ONE_MS, format_cursor_time, from_ms, to_ms

# Each extra slice costs at most one partial page: one per 50 pages keeps us within 2%.
PAGES_PER_EXTRA_SLICE = 50
# Pages fetched before deciding: the consumer is timed on all but the last (in hand).
PROBE_PAGES = 3


@dataclass(frozen=True)
class Probed:
    """What planning needs of a page already handed over; not its records, which would
    keep a page (tens of MB for wide streams) alive for the whole scan."""

    cursors: tuple[int | None, ...]  # ms, None where unreadable
    ids: tuple[Any, ...]
    page_size: int  # the page[size] it was asked with
    elapsed_s: float  # its fetch time, decoding included
    decode_s: float = 0.0  # the part of it spent decoding (CPU, not the network)

    @classmethod
    def of(cls, page: Page[Any], cursor: str) -> "Probed":
        ids, cursors = page_keys(page, cursor)
        return cls(tuple(cursors), tuple(ids), page.page_size, page.elapsed_s, page.decode_s)

    @property
    def short(self) -> bool:
        return len(self.cursors) < self.page_size


@dataclass(frozen=True)
class SlicePlan:
    """How the rest of a scan after the probed pages is fetched, and why (for the run log)."""

    bounds: tuple[tuple[datetime, datetime], ...]  # inclusive, disjoint, in order; () = go on
    reason: str
    tie_ms: int | None = None  # the last probed cursor, where the first slice starts
    tie_ids: frozenset[Any] = frozenset()  # probed records at that cursor


def fetch_pages(
    client: OutreachClient,
    stream: Stream,
    start: datetime | None = None,
    end: datetime | None = None,
    *,
    decoder: PageDecoder[Any] | None = None,
) -> Generator[Page[Any], None, None]:
    """Every page of ``stream`` over ``[start, end]`` (inclusive, like ``iter_pages``).

    Prefetched ``prefetch_pages`` ahead and, where the first pages predict enough pages and
    a consumer faster than the API, fetched in concurrent slices; page order across slices
    is arrival order (see the module text). Closing the iterator early stops and joins
    every fetching thread at once, even one waiting out the quota window: every scan here
    shares one ``cancel`` event that closing sets (only a request in flight runs on, up to
    the request timeout).
    """
    settings = client.settings
    depth, name = settings.prefetch_pages, f"outreach-fetch-{stream.name}"
    cancel = threading.Event()
    scan: Iterator[Page[Any]] = client.iter_pages(
        stream, start, end, decoder=decoder, cancel=cancel
    )
    why_not = _why_not_sliced(client, stream, start, end)
    if why_not is not None or start is None or end is None:  # (None bounds give a reason)
        client.logger.info(f"{stream.name}: 1 slice ({why_not}); {_ahead(depth)}")
        yield from prefetch(scan, depth, name=name, cancel=cancel)
        return
    probed: list[Probed] = []
    consumed: list[float] = []
    try:
        page = yield from _probe(scan, stream, probed, consumed, name=name, cancel=cancel)
    except BaseException:  # closed (or thrown into) while the consumer had a probed page
        _close(scan)
        raise
    if page is None:
        client.logger.info(f"{stream.name}: 1 slice (the scan ended within {len(probed)} pages)")
        return
    plan = plan_slices(
        probed,
        stream,
        start,
        end,
        max_slices=settings.max_concurrent_slices,
        consumed_s=min(consumed, default=0.0),
    )
    sources = [scan]
    if plan.bounds:
        _close(scan)
        cursor = stream.cursor or ""
        sources = [
            _bounded(
                client.iter_pages(stream, lo, hi, decoder=decoder, cancel=cancel), cursor, to_ms(hi)
            )
            for lo, hi in plan.bounds
        ]
        sources[0] = _without_ties(sources[0], stream, plan)
    count = max(1, len(plan.bounds))
    client.logger.info(
        f"{stream.name}: {count} slice{'s' * (count > 1)} ({plan.reason}); "
        f"{_ahead(depth)}{' per slice' * (count > 1)}",
    )
    with Prefetcher(sources, depth, name=name, cancel=cancel) as ahead:
        yield page  # the slices are already fetching while it is converted
        del page  # the consumer is done with it
        yield from ahead


def _probe(
    scan: Iterator[Page[Any]],
    stream: Stream,
    probed: list[Probed],
    consumed: list[float],
    *,
    name: str,
    cancel: threading.Event,
) -> Generator[Page[Any], None, Page[Any] | None]:
    """Hand over the first pages, each while only the next is fetched; return the page in
    hand once ``PROBE_PAGES`` are fetched or one is short (None if the scan ended).

    Each page's Prefetcher is read to its end, so leaving it normally keeps ``cancel``
    clear for the rest of the scan; leaving it early (the consumer stopped) sets it.
    """
    page = next(scan, None)
    while page is not None:
        probed.append(Probed.of(page, stream.cursor or ""))
        if len(probed) == PROBE_PAGES or probed[-1].short:
            return page
        with Prefetcher([islice(scan, 1)], 1, name=name, cancel=cancel) as following:
            handed = time.monotonic()
            yield page
            consumed.append(time.monotonic() - handed)
            del page  # not kept alive while waiting for the next one
            fetched = list(following)  # the next page (if any) and the end
            page = fetched.pop() if fetched else None
    return None


def _why_not_sliced(
    client: OutreachClient, stream: Stream, start: datetime | None, end: datetime | None
) -> str | None:
    """Why the scan cannot be sliced whatever its first pages say, or None if it may be."""
    settings = client.settings
    if stream.cursor is None or not stream.is_incremental:
        return "full snapshot: no cursor to slice on"
    if start is None or end is None:
        return "open-ended range: no share of it to estimate from"
    if settings.prefetch_pages == 0:
        return "prefetch_pages=0: slices need fetching threads"
    if settings.max_concurrent_slices == 1:
        return "max_concurrent_slices=1"
    return None


def plan_slices(
    probed: Sequence[Probed],
    stream: Stream,
    start: datetime,
    end: datetime,
    *,
    max_slices: int,
    consumed_s: float,
) -> SlicePlan:
    """Decide from the first pages of ``[start, end]`` whether and how to slice the rest.

    ``consumed_s`` is the consumer's time on one page (0 if unknown): slices pay only
    while fetching a page takes longer than consuming one.
    """
    n, last_page = len(probed), probed[-1]
    if last_page.short:
        return SlicePlan((), f"page {n} held the last {len(last_page.cursors)} records")
    cursors = [c for page in probed for c in page.cursors]
    known = [c for c in cursors if c is not None]
    if len(known) < len(cursors) or known != sorted(known):
        return SlicePlan((), f"the first pages are not sorted by {stream.cursor}: no estimate")
    start_ms, end_ms, last = to_ms(start), to_ms(end), known[-1]
    done, left = last - start_ms, end_ms - last
    if done <= 0 or left <= 0:
        return SlicePlan((), f"page {n} ends at the range's edge ({_text(last)})")
    estimated = n * (done + left) / done
    by_pages = 1 + int(estimated // PAGES_PER_EXTRA_SLICE)
    # Slices hide waiting on the network, not CPU: k slices keep pace once k pages' worth
    # of waiting fits in the CPU time of one page (its decoding plus the consumer's part).
    wait_s = min(page.elapsed_s - page.decode_s for page in probed)
    fetch_s = min(page.elapsed_s for page in probed)
    cpu_s = consumed_s + min(page.decode_s for page in probed)
    by_pace = math.ceil(wait_s / cpu_s) if cpu_s > 0 else max_slices
    count = min(max_slices, by_pages, by_pace, left)
    because = (
        f"page {n} reached {_text(last)}: about {estimated:.0f} pages estimated, 1 extra "
        f"slice per {PAGES_PER_EXTRA_SLICE}; a page took {fetch_s * 1000:.0f} ms to fetch, "
        f"{wait_s * 1000:.0f} ms of it waiting on the API, and {cpu_s * 1000:.0f} ms of CPU "
        f"to decode and consume; max_concurrent_slices={max_slices}"
    )
    if count <= 1:
        return SlicePlan((), because)
    cuts = [last + left * i // count for i in range(count + 1)]
    bounds = [(from_ms(cuts[i]), from_ms(cuts[i + 1]) - ONE_MS) for i in range(count)]
    bounds[-1] = (bounds[-1][0], end)  # exactly the unsliced scan's upper bound
    ids = [i for page in probed for i in page.ids]
    ties = frozenset(i for i, c in zip(ids, cursors, strict=True) if c == last)
    return SlicePlan(tuple(bounds), because, last, ties)


def _without_ties(
    pages: Iterator[Page[Any]], stream: Stream, plan: SlicePlan
) -> Iterator[Page[Any]]:
    """The first slice's pages without the tied records the probe already returned."""
    cursor = stream.cursor or ""
    try:
        for page in pages:
            ids, cursors = page_keys(page, cursor)
            keep = [
                i not in plan.tie_ids or c != plan.tie_ms for i, c in zip(ids, cursors, strict=True)
            ]
            yield page if all(keep) else keep_rows(page, keep)
    finally:
        _close(pages)


def _bounded(pages: Iterator[Page[Any]], cursor: str, last_ms: int) -> Iterator[Page[Any]]:
    """A slice's pages up to its upper bound, even if the API ignores the bound.

    Outreach has been seen ignoring ``[lte]``: a slice would then read on
    into the next slices' records, duplicating them and their requests. The first page that
    passes the bound is trimmed to it and ends the slice.
    """
    try:
        for page in pages:
            _, cursors = page_keys(page, cursor)
            keep = [c is None or c <= last_ms for c in cursors]
            if all(keep):
                yield page
                continue
            yield keep_rows(page, keep)
            return
    finally:
        _close(pages)


def keep_rows(page: Page[Any], keep: Sequence[bool]) -> Page[Any]:
    """The page with only the rows where ``keep`` is true."""
    if page.decoded is None:
        return replace(page, records=[r for r, k in zip(page.records, keep, strict=True) if k])
    kept = page.decoded.keep(keep)
    return replace(page, decoded=kept, decoded_records=kept.rows)


def _text(ms: int) -> str:
    return format_cursor_time(from_ms(ms))


def _ahead(depth: int) -> str:
    if depth == 0:
        return "no prefetch"
    return f"prefetching {depth} page{'s' * (depth > 1)} ahead"


def _close(pages: Iterator[Page[Any]]) -> None:
    if isinstance(pages, Generator):
        pages.close()
