"""List-endpoint query semantics: filters, sort, page size and keyset cursors.

Parsing turns Outreach's query parameters into a `ListQuery` in the stream's comparable
domain (timestamps as ms); execution walks the cheapest ordered source (the packed cursor
index, the id range, or a sorted scan) and stops after one page plus one record, which is
how it knows whether there is a next page.
"""

import base64
import binascii
import dataclasses
import json
import re
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import islice
from typing import Any

from outreach_assets.catalog import FieldType
from outreach_assets.sandbox.data import StreamData
from outreach_assets.sandbox.isotime import MAX_ID, format_ms, pack_key, parse_ms

DEFAULT_PAGE_SIZE = 50
_FILTER_KEY = re.compile(r"^filter\[([^\[\]]+)\](?:\[([^\[\]]*)\])?$")
_SCALAR_TYPES = {
    FieldType.STRING,
    FieldType.INTEGER,
    FieldType.NUMBER,
    FieldType.BOOLEAN,
    FieldType.TIMESTAMP,
    FieldType.DATE,
}
_KNOWN_PARAMS = {"sort", "count", "newFilterSyntax", "page[size]", "page[after]"}


class QueryError(Exception):
    """A 400 answer: carries the JSON:API error id and a detail safe to show."""

    def __init__(self, error_id: str, detail: str) -> None:
        super().__init__(detail)
        self.error_id = error_id
        self.detail = detail


@dataclass(frozen=True)
class Condition:
    """One filter, inclusive at both ends; ``values`` set means membership instead."""

    name: str
    relationship: bool = False
    lo: Any = None
    hi: Any = None
    values: frozenset[Any] | None = None


@dataclass(frozen=True)
class ListQuery:
    conditions: tuple[Condition, ...]
    sort: str  # attribute name or "id"
    descending: bool
    size: int
    after: tuple[Any, int] | None  # (comparable sort value, id) of the previous page's end
    count: bool

    @property
    def sort_param(self) -> str:
        return f"-{self.sort}" if self.descending else self.sort


@dataclass(frozen=True)
class PageResult:
    indices: list[int]
    next_cursor: str | None
    count: int | None


# --- parsing ---------------------------------------------------------------------------


def parse_list_query(params: dict[str, str], data: StreamData, page_size_max: int) -> ListQuery:
    new_syntax = _parse_bool(params, "newFilterSyntax", default=False)
    conditions = tuple(
        _parse_filter(match, value, data, new_syntax)
        for key, value in params.items()
        if (match := _match_filter(key)) is not None
    )
    _reject_unknown(params)
    sort, descending = _parse_sort(params.get("sort", "id"), data)
    size = _parse_size(params.get("page[size]"), page_size_max)
    query = ListQuery(
        conditions=conditions,
        sort=sort,
        descending=descending,
        size=size,
        after=None,
        count=_parse_bool(params, "count", default=True),
    )
    after = params.get("page[after]")
    if after is None:
        return query
    return dataclasses.replace(query, after=decode_cursor(after, query, data))


def _match_filter(key: str) -> re.Match[str] | None:
    if not key.startswith("filter["):
        return None
    match = _FILTER_KEY.match(key)
    if match is None:
        raise QueryError("filterParameter.invalidSyntax", f"Cannot parse filter '{key}'.")
    return match


def _reject_unknown(params: dict[str, str]) -> None:
    """Unknown `page[...]` parameters (offset paging) are refused, other extras ignored."""
    for key in params:
        if key.startswith("page[") and key not in _KNOWN_PARAMS:
            raise QueryError("pageParameter.unsupported", f"Unsupported parameter '{key}'.")


def _parse_bool(params: dict[str, str], key: str, *, default: bool) -> bool:
    raw = params.get(key)
    if raw is None:
        return default
    if raw not in ("true", "false"):
        raise QueryError("parameter.invalidBoolean", f"'{key}' must be 'true' or 'false'.")
    return raw == "true"


def _parse_size(raw: str | None, page_size_max: int) -> int:
    if raw is None:
        return min(DEFAULT_PAGE_SIZE, page_size_max)
    try:
        size = int(raw)
    except ValueError:
        size = 0
    if not 1 <= size <= page_size_max:
        raise QueryError(
            "pageParameter.invalidSize",
            f"page[size] must be an integer between 1 and {page_size_max}.",
        )
    return size


def _parse_sort(raw: str, data: StreamData) -> tuple[str, bool]:
    descending = raw.startswith("-")
    name = raw[1:] if descending else raw
    if name != "id" and not _orderable(name, data):
        raise QueryError("sortParameter.invalidAttribute", f"Cannot sort by '{name}'.")
    return name, descending


def _orderable(name: str, data: StreamData) -> bool:
    """Scalar attributes can be filtered and sorted; timestamps only on cursor streams.

    Full-snapshot streams (sequenceTemplates, duties) have no filterable timestamp in
    Outreach, which is why they are full snapshots; the sandbox refuses the same.
    """
    kind = data.field_types.get(name)
    if kind is None or kind not in _SCALAR_TYPES:
        return False
    return kind is not FieldType.TIMESTAMP or data.cursor is not None


def _parse_filter(
    match: re.Match[str], value: str, data: StreamData, new_syntax: bool
) -> Condition:
    name, operator = match.group(1), match.group(2)
    if operator == "id" and data.relationship(name) is not None:
        return Condition(name, relationship=True, values=frozenset(_ints(value, name)))
    if name != "id" and not _orderable(name, data):
        raise QueryError("filterParameter.invalidAttribute", f"Cannot filter by '{name}'.")
    convert = _converter(name, data)
    if operator is None:
        return _plain_condition(name, value, convert, new_syntax)
    if not new_syntax:
        raise QueryError(
            "filterParameter.invalidSyntax",
            f"filter[{name}][{operator}] needs newFilterSyntax=true.",
        )
    if operator == "gte":
        return Condition(name, lo=convert(value, True))
    if operator == "lte":
        return Condition(name, hi=convert(value, False))
    if operator == "":
        return Condition(name, values=frozenset([convert(value, False)]))
    raise QueryError("filterParameter.invalidOperator", f"Unknown filter operator '{operator}'.")


def _plain_condition(
    name: str, value: str, convert: Callable[[str, bool], Any], new_syntax: bool
) -> Condition:
    """`A..B` ranges (`inf`/`neginf` open) and `a,b` lists exist only in classic syntax."""
    if ".." in value and not new_syntax:
        low, _, high = value.partition("..")
        lo = None if low == "neginf" else convert(low, True)
        hi = None if high == "inf" else convert(high, False)
        return Condition(name, lo=lo, hi=hi)
    items = value.split(",") if not new_syntax else [value]
    return Condition(name, values=frozenset(convert(item, False) for item in items))


def _converter(name: str, data: StreamData) -> Callable[[str, bool], Any]:
    """Filter text -> comparable value of the field; the bool says "lower bound"."""
    kind = FieldType.INTEGER if name == "id" else data.field_types[name]
    if kind is FieldType.TIMESTAMP:
        return _timestamp
    if kind is FieldType.INTEGER:
        return lambda text, lower: _int(text, name)
    if kind is FieldType.NUMBER:
        return lambda text, lower: _number(text, name)
    if kind is FieldType.BOOLEAN:
        return lambda text, lower: text == "true"
    return lambda text, lower: text


def _timestamp(text: str, lower: bool) -> int:
    try:
        return parse_ms(text, round_up=lower)
    except ValueError:
        raise QueryError(
            "filterParameter.invalidDatetimeFormat", f"'{text}' is not an ISO-8601 date-time."
        ) from None


def _ints(text: str, name: str) -> list[int]:
    return [_int(part, name) for part in text.split(",")]


def _int(text: str, name: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise QueryError("filterParameter.invalidValue", f"'{name}' needs integers.") from None


def _number(text: str, name: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise QueryError("filterParameter.invalidValue", f"'{name}' needs a number.") from None


# --- cursors ---------------------------------------------------------------------------


def encode_cursor(query: ListQuery, data: StreamData, last_index: int) -> str:
    """Like Outreach's: base64 JSON of the sort property, last sort value and last id."""
    value = data.getter(query.sort)(last_index)
    if data.field_types.get(query.sort) is FieldType.TIMESTAMP:
        value = format_ms(value)
    payload = {"sp": query.sort_param, "sv": [value], "id": last_index + 1, "v": 1}
    raw = json.dumps(payload, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(text: str, query: ListQuery, data: StreamData) -> tuple[Any, int]:
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        payload = json.loads(raw)
        value, last_id = payload["sv"][0], int(payload["id"])
        sort_param = payload["sp"]
    except (binascii.Error, ValueError, KeyError, IndexError, TypeError):
        raise QueryError(
            "pageParameter.invalidCursor", "page[after] is not a valid cursor."
        ) from None
    if sort_param != query.sort_param:
        raise QueryError(
            "pageParameter.invalidCursor", "page[after] belongs to a different sort order."
        )
    if data.field_types.get(query.sort) is FieldType.TIMESTAMP:
        value = _timestamp(str(value), False)
    return value, last_id


# --- execution -------------------------------------------------------------------------


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
    """Id order; a cursor-window filter narrows the candidates through the index first."""
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

    def total() -> int:
        return sum(1 for _ in _filtered(candidates, rest, data))

    return _filtered((candidates[p] for p in positions), rest, data), total


def _by_scan(query: ListQuery, data: StreamData) -> tuple[Iterator[int], Callable[[], int]]:
    """Sorts on non-indexed attributes scan and sort every match (fine at test sizes)."""
    get = data.getter(query.sort)
    matches = list(_filtered(range(data.size), list(query.conditions), data))
    keyed = sorted((_sort_key(get(i)), i + 1) for i in matches)
    after = None if query.after is None else (_sort_key(query.after[0]), query.after[1])
    positions = _page_positions(keyed, 0, len(keyed), after, query.descending)
    return (keyed[p][1] - 1 for p in positions), lambda: len(matches)


def _sort_key(value: Any) -> tuple[bool, Any]:
    """Nulls first, and never compared with values of another type."""
    return (value is not None, value if value is not None else 0)
