"""What a list request asks for: filters, sort, page size, keyset cursors and fields.

Parsing turns Outreach's query parameters (https://developers.outreach.io/api/making-requests/)
into a `ListQuery` in the stream's comparable domain (timestamps as ms), refusing what
Outreach refuses with its JSON:API error ids; `execute.py` then finds the page. Cursors live
here because a cursor is a query parameter: encoded from a page's last record, decoded back
into the keyset position the next request starts after.
"""

import base64
import binascii
import dataclasses
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from outreach_assets.catalog import FieldType
from outreach_assets.jsontext import compact, loads_or_none
from outreach_assets.sandbox.config import SandboxConfig
from outreach_assets.sandbox.data import StreamData
from outreach_assets.sandbox.isotime import format_ms, parse_ms

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


def requested_fields(params: dict[str, str], json_type: str) -> frozenset[str] | None:
    """The sparse fieldset for resources of ``json_type``, or None for every field.

    JSON:API's `fields[<type>]=a,b` (https://jsonapi.org/format/#fetching-sparse-fieldsets)
    names attributes and relationships alike; an empty value selects none of them. A
    `fields[...]` for another type restricts only resources of that type, and the sandbox
    includes no others. Names the type does not have are ignored rather than refused:
    JSON:API leaves that to the server, and ignoring them is the lenient reading.
    """
    value = params.get(f"fields[{json_type}]")
    if value is None:
        return None
    return frozenset(value.split(",")) - {""}


# --- cursors ---------------------------------------------------------------------------


def encode_cursor(query: ListQuery, data: StreamData, last_index: int) -> str:
    """Like Outreach's: base64 JSON of the sort property, last sort value and last id."""
    value = data.getter(query.sort)(last_index)
    if data.field_types.get(query.sort) is FieldType.TIMESTAMP:
        value = format_ms(value)
    return _encode({"sp": query.sort_param, "sv": [value], "id": last_index + 1, "v": 1})


def _encode(payload: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(compact(payload).encode()).decode().rstrip("=")


def _payload(text: str) -> dict[str, Any] | None:
    """A cursor's JSON object, or None if the text is not one of ours."""
    try:
        payload = loads_or_none(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
    except (binascii.Error, ValueError):
        return None
    return payload if isinstance(payload, dict) else None


def broken_cursor(next_cursor: str | None, after: str | None, cfg: SandboxConfig) -> str | None:
    """The next page's cursor as a broken server sends it (`alternate_next_links`,
    `stuck_cursors`), else ``next_cursor``; the first page's is always right.

    The circle lives in the cursors, so the server keeps no state per scan: a stuck cursor
    is the request's own with a counter raised, and an alternating one carries the
    cursor it was reached with, which the page it leads to sends back as its next.
    """
    request = None if after is None or next_cursor is None else _payload(after)
    if request is None or next_cursor is None or after is None:
        return next_cursor
    if cfg.stuck_cursors:
        return _encode({**request, "n": int(request.get("n", 0)) + 1})
    if cfg.alternate_next_links:
        back = request.get("back")
        if isinstance(back, str):
            return back
        return _encode({**(_payload(next_cursor) or {}), "back": after})
    return next_cursor


def decode_cursor(text: str, query: ListQuery, data: StreamData) -> tuple[Any, int]:
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        payload = loads_or_none(raw)  # not JSON: None, refused below like any bad shape
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
