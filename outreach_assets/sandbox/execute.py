"""Running a `ListQuery`: one page of record indices, the next cursor and the count.

Execution walks the cheapest ordered source (the packed cursor index, the id range, or a
sorted scan) and stops after one page plus one record, which is how it knows whether there
is a next page without counting; the count, when asked for, is computed separately.
Deleted records are not in the cursor index, and the other two sources skip them, so a
deleted record is in no page and no count.
"""

from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import islice
from typing import Any

from outreach_assets.sandbox.data import StreamData
from outreach_assets.sandbox.isotime import MAX_ID, pack_key
from outreach_assets.sandbox.query import Condition, ListQuery, encode_cursor


@dataclass(frozen=True)
class PageResult:
    indices: list[int]
    next_cursor: str | None
    count: int | None


def execute(query: ListQuery, data: StreamData) -> PageResult:
    """Run the query; the caller holds ``data.lock``."""
    if query.sort == data.cursor and query.sort != "id":
        ordered, total = _by_cursor_index(query, data)
    elif query.sort == "id":
        ordered, total = _by_id(query, data)
    else:
        ordered, total = _by_scan(query, data)
    page = list(islice(ordered, query.size + 1))
    has_more = len(page) > query.size
    del page[query.size :]
    next_cursor = encode_cursor(query, data, page[-1]) if has_more else None
    return PageResult(page, next_cursor, total() if query.count else None)


def _predicate(conditions: Iterable[Condition], data: StreamData) -> Callable[[int], bool]:
    checks: list[Callable[[int], bool]] = []
    for cond in conditions:
        get = _relationship_getter(cond.name, data) if cond.relationship else data.getter(cond.name)
        checks.append(_check(cond, get))
    return lambda i: all(check(i) for check in checks)


def _relationship_getter(name: str, data: StreamData) -> Callable[[int], Any]:
    rel = data.relationship(name)
    assert rel is not None  # parse_list_query only accepts known relationships
    return lambda i: rel.target_id(i + 1)


def _check(cond: Condition, get: Callable[[int], Any]) -> Callable[[int], bool]:
    values, lo, hi = cond.values, cond.lo, cond.hi
    if values is not None:
        return lambda i: get(i) in values

    def in_range(i: int) -> bool:
        value = get(i)
        if value is None:
            return False
        return (lo is None or value >= lo) and (hi is None or value <= hi)

    return in_range


def _filtered(
    indices: Iterable[int], conditions: list[Condition], data: StreamData
) -> Iterator[int]:
    if not conditions:
        return iter(indices)
    keep = _predicate(conditions, data)
    return (i for i in indices if keep(i))


def _split_range_conditions(
    conditions: Iterable[Condition], name: str
) -> tuple[Any, Any, list[Condition]]:
    """Fold the range filters on ``name`` into bounds; return the other conditions."""
    lo: Any = None
    hi: Any = None
    rest: list[Condition] = []
    for cond in conditions:
        if cond.name != name or cond.relationship or cond.values is not None:
            rest.append(cond)
            continue
        if cond.lo is not None:
            lo = cond.lo if lo is None else max(lo, cond.lo)
        if cond.hi is not None:
            hi = cond.hi if hi is None else min(hi, cond.hi)
    return lo, hi, rest


def _index_span(keys: Sequence[int], lo_ms: int | None, hi_ms: int | None) -> tuple[int, int]:
    """Positions of the packed cursor index whose cursor lies in [lo_ms, hi_ms]."""
    start = 0 if lo_ms is None else bisect_left(keys, pack_key(lo_ms, 0))
    stop = len(keys) if hi_ms is None else bisect_right(keys, pack_key(hi_ms, MAX_ID))
    return start, max(start, stop)


def _page_positions(
    ordered: Sequence[Any], start: int, stop: int, after: Any, descending: bool
) -> range:
    """Positions in ``ordered[start:stop]`` past the keyset cursor ``after``, in page order."""
    first, last = start, stop
    if after is not None and descending:
        last = bisect_left(ordered, after, start, stop)
    elif after is not None:
        first = bisect_right(ordered, after, start, stop)
    return range(last - 1, first - 1, -1) if descending else range(first, last)


def _by_cursor_index(query: ListQuery, data: StreamData) -> tuple[Iterator[int], Callable[[], int]]:
    """Bisect the packed (cursor, id) index: no scan, whatever the stream's size."""
    keys = data.keys
    lo_ms, hi_ms, rest = _split_range_conditions(query.conditions, query.sort)
    start, stop = _index_span(keys, lo_ms, hi_ms)
    after = None if query.after is None else pack_key(query.after[0], query.after[1])
    positions = _page_positions(keys, start, stop, after, query.descending)
    ordered = _filtered(((keys[p] & MAX_ID) - 1 for p in positions), rest, data)

    def total() -> int:
        if not rest:
            return stop - start
        every = ((keys[p] & MAX_ID) - 1 for p in range(start, stop))
        return sum(1 for _ in _filtered(every, rest, data))

    return ordered, total


def _by_id(query: ListQuery, data: StreamData) -> tuple[Iterator[int], Callable[[], int]]:
    """Id order; a cursor-window filter narrows the candidates through the index first.

    Keyset pages on the id, which no change moves and no new record takes: a record that
    exists throughout a walk is returned once, whatever is touched or deleted meanwhile.
    """
    lo, hi, rest = _split_range_conditions(query.conditions, "id")
    first_index = max(1, lo or 1) - 1
    end_index = max(first_index, data.size if hi is None else min(hi, data.size))
    candidates: Sequence[int] = range(first_index, end_index)
    if data.cursor is not None:
        lo_ms, hi_ms, others = _split_range_conditions(rest, data.cursor)
        if lo_ms is not None or hi_ms is not None:
            start, stop = _index_span(data.keys, lo_ms, hi_ms)
            window = ((data.keys[p] & MAX_ID) - 1 for p in range(start, stop))
            candidates = sorted(i for i in window if first_index <= i < end_index)
            rest = others
    after = None if query.after is None else query.after[1] - 1
    positions = _page_positions(candidates, 0, len(candidates), after, query.descending)
    live = data.gone.live

    def total() -> int:
        if not rest and isinstance(candidates, range):  # the common case, without a scan
            return len(candidates) - data.gone.count_in(candidates.start, candidates.stop)
        return sum(1 for _ in _filtered(live(candidates), rest, data))

    return _filtered(live(candidates[p] for p in positions), rest, data), total


def _by_scan(query: ListQuery, data: StreamData) -> tuple[Iterator[int], Callable[[], int]]:
    """Sorts on non-indexed attributes scan and sort every match (fine at test sizes)."""
    get = data.getter(query.sort)
    matches = list(_filtered(data.gone.live(range(data.size)), list(query.conditions), data))
    keyed = sorted((_sort_key(get(i)), i + 1) for i in matches)
    after = None if query.after is None else (_sort_key(query.after[0]), query.after[1])
    positions = _page_positions(keyed, 0, len(keyed), after, query.descending)
    return (keyed[p][1] - 1 for p in positions), lambda: len(matches)


def _sort_key(value: Any) -> tuple[bool, Any]:
    """Nulls first, and never compared with values of another type."""
    return (value is not None, value if value is not None else 0)
