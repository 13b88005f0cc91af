"""Page bodies -> Arrow record batches without a Python object per value (the fast path).

``json.loads`` + :func:`records.to_record_batch` builds about 235 Python objects per wide
prospect and then reads them all back; inside a Dagster process the cyclic GC rescans the
big heap while they are allocated, so that path costs twice what it costs alone. Here
``pyarrow.json.read_json`` parses the whole body (one line, one block, one thread: the page
is one JSON object) against an explicit schema taken from the catalog, and everything after
that is vectorized Arrow compute.

The result must be exactly what ``to_record_batch`` makes of the same page (same schema,
values, ``_extra`` text and :class:`ConversionStats`), because pages that take the fast
path and pages that do not land in the same tables. So the decoder refuses (returns
``None``, and the client falls back to ``json.loads`` + ``to_record_batch`` for that page)
whenever it cannot guarantee that:

* ``read_json`` raises: malformed JSON, a value whose JSON type does not match the schema
  (it never coerces: ``"5"`` is no integer, ``3.0`` is no integer, ``5`` is no string),
  string or float ids, a relationship ``data`` that is an array, duplicate keys.
* A value ``read_json`` accepts but records.py reads differently: a relationship ``data``
  object without an id, a ``-0`` in a number column (``json.loads`` makes it ``0``), a
  timestamp or date the vectorized cast rejects (records.py then parses value by value).
* Unknown attributes or JSON columns that ``read_json`` inferred lossily: a number that
  may have been an integer or a float, a text it read as a timestamp (re-read as text,
  see below), or objects whose keys differ between rows when the body spells one of
  those keys with ``null`` somewhere (``read_json`` reads a missing key and ``null``
  alike; without such a ``null`` in the body, every one was a missing key).
* Anything that is not one object holding a ``data`` array of objects of this stream's
  type with integer ids, and bodies that are not valid UTF-8 (``read_json`` does not check).

Unknown attributes (the sandbox's ``sandboxNote``) and attributes named like a to-one
relationship column (prospects' ``updaterId``) are handled here, vectorized: each becomes a
column of ``"key":value`` JSON fragments, joined per row in key order into ``_extra``.
Unknown attributes that ``read_json`` types as timestamps are declared as strings and the
page is read again; the decoder remembers them for the pages after.

Timestamps and dates are read as strings and cast by the same Arrow cast records.py uses,
which is also much cheaper than letting ``read_json`` parse them.
"""

import functools
import json
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from io import BytesIO
from typing import Any, Final

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pj

from outreach_assets.catalog import FieldType, Stream
from outreach_assets.client.page import DecodedPage
from outreach_assets.client.pagination import next_link
from outreach_assets.convert.layout import EXTRA_COLUMN, ConversionStats, arrow_schema
from outreach_assets.convert.page import ConvertedPage
from outreach_assets.convert.reference import to_record_batch

_UTC_US: Final = pa.timestamp("us", tz="UTC")
# How read_json reads each catalog type. Timestamps and dates come as text and are cast
# afterwards, as records.py does (read_json refuses date32 from text, and its own
# timestamp parsing costs about a third of the whole read).
_READ_TYPES: Final[Mapping[FieldType, pa.DataType]] = {
    FieldType.STRING: pa.string(),
    FieldType.INTEGER: pa.int64(),
    FieldType.NUMBER: pa.float64(),
    FieldType.BOOLEAN: pa.bool_(),
    FieldType.TIMESTAMP: pa.string(),
    FieldType.DATE: pa.string(),
    FieldType.STRING_LIST: pa.list_(pa.string()),
    FieldType.INT_LIST_LIST: pa.list_(pa.list_(pa.int64())),
}
_CASTS: Final[Mapping[FieldType, pa.DataType]] = {
    FieldType.TIMESTAMP: _UTC_US,
    FieldType.DATE: pa.date32(),
}
# Text json.dumps writes between quotes unchanged (ensure_ascii): printable ASCII and DEL,
# except the quote and the backslash.
_PLAIN_TEXT: Final = r"^[ !#-\[\]-\x7f]*$"
_SIMPLE_NAME: Final = re.compile(r"[A-Za-z0-9_-]+")
_LOSSLESS_LEAVES: Final = frozenset({pa.string(), pa.int64(), pa.bool_(), pa.null()})
# A to-one relationship object; links and meta members are inferred and never read.
_TO_ONE: Final = pa.struct(
    [pa.field("data", pa.struct([pa.field("type", pa.string()), pa.field("id", pa.int64())]))]
)


class _Refused(Exception):
    """The fast path cannot promise records.py's result for this page; the reason is why."""


class _ReadAsText(Exception):
    """Unknown attributes read_json typed as timestamps: read the page again, as text."""

    def __init__(self, names: frozenset[str]) -> None:
        super().__init__(", ".join(sorted(names)))
        self.names = names


@dataclass(frozen=True)
class _Plan:
    """Everything about reading one stream's pages that does not depend on the data."""

    read_schema: pa.Schema
    schema: pa.Schema  # the output, records.arrow_schema
    columns: tuple[tuple[str, FieldType], ...]  # output attribute columns, in order
    relationships: tuple[tuple[str, str], ...]  # (relationship, <relationship>Id column)
    json_type: str
    handled: frozenset[str]  # attribute names that are not "unknown"
    declared: frozenset[str]  # attribute names in read_schema


@functools.lru_cache(maxsize=128)
def _plan(stream: Stream, keep: frozenset[str], as_text: frozenset[str]) -> _Plan:
    """Keyed on the whole (frozen) Stream, not its name: tests and callers build variants
    of catalog streams under the same name, and their pages need their own schemas."""
    schema = arrow_schema(stream, keep)  # also refuses a bad ``keep``
    columns = tuple(
        (f.name, FieldType(f.metadata[b"outreach.type"].decode()))
        for f in schema
        if f.metadata and b"outreach.type" in f.metadata and f.name != EXTRA_COLUMN
    )
    relationships = tuple((r.name, r.column) for r in stream.relationships)
    rel_columns = {column for _, column in relationships}
    # Every typed catalog attribute is declared, kept or not, so read_json never spends
    # inference on it; JSON attributes cannot be declared and are inferred.
    attributes: dict[str, pa.DataType] = {
        f.name: _READ_TYPES[f.type] for f in stream.fields if f.type is not FieldType.JSON
    }
    attributes.update(dict.fromkeys(rel_columns, pa.int64()))  # clashes compare ids
    attributes.update(dict.fromkeys(as_text, pa.string()))
    item = pa.struct(
        [
            pa.field("type", pa.string()),
            pa.field("id", pa.int64()),
            pa.field("attributes", pa.struct(list(attributes.items()))),
            pa.field("relationships", pa.struct([(r, _TO_ONE) for r, _ in relationships])),
        ]
    )
    read_schema = pa.schema(
        [pa.field("data", pa.list_(item)), pa.field("links", pa.struct([("next", pa.string())]))]
    )
    return _Plan(
        read_schema=read_schema,
        schema=schema,
        columns=columns,
        relationships=relationships,
        json_type=stream.json_type,
        handled=frozenset({f.name for f in stream.fields} | rel_columns),
        declared=frozenset(attributes),
    )


def page_read_schema(stream: Stream, keep: frozenset[str] = frozenset()) -> pa.Schema:
    """The schema ``read_json`` reads a whole page of ``stream`` into: other JSON readers
    are measured against the same target (``benchmarks/parse_ceiling.py``)."""
    return _plan(stream, frozenset(keep), frozenset()).read_schema


# --- the decoder ---------------------------------------------------------------------------


@dataclass
class DecoderStats:
    """How many pages took the fast path; refusals counted by kind, and the last one's
    reason in full, so a stream that keeps falling back says why."""

    decoded: int = 0
    refused: int = 0
    last_refusal: str = ""
    reasons: dict[str, int] = field(default_factory=dict)


class ArrowPageDecoder:
    """One stream's pages -> ``(batch, stats)``, for ``OutreachClient.iter_pages(decoder=)``.

    Thread-safe: slices of one scan may share it. It learns which unknown attributes hold
    timestamp-like text, so only the first page showing one is read twice.
    """

    def __init__(
        self, stream: Stream, extracted_at: datetime, keep: frozenset[str] = frozenset()
    ) -> None:
        if extracted_at.tzinfo is None or extracted_at.utcoffset() is None:
            raise ValueError("extracted_at must be timezone-aware")
        self.stream = stream
        self.keep = frozenset(keep)
        self.extracted_at = extracted_at
        _plan(stream, self.keep, frozenset())  # a bad ``keep`` fails here, not on page 1
        self._as_text: frozenset[str] = frozenset()
        self._lock = threading.Lock()
        self._stats = DecoderStats()

    @property
    def stats(self) -> DecoderStats:
        with self._lock:
            return DecoderStats(
                self._stats.decoded,
                self._stats.refused,
                self._stats.last_refusal,
                dict(self._stats.reasons),
            )

    def decode(self, body: bytes) -> DecodedPage[ConvertedPage] | None:
        """The page as ``to_record_batch`` would make it, or ``None`` (refused)."""
        as_text = self._as_text
        try:
            try:
                page = _decode_page(self.stream, body, self.extracted_at, self.keep, as_text)
            except _ReadAsText as more:
                as_text = as_text | more.names
                page = _decode_page(self.stream, body, self.extracted_at, self.keep, as_text)
        except _ReadAsText as again:
            self._refuse(f"inferred: {again} read as timestamps even when declared")
            return None
        except _Refused as refusal:
            self._refuse(str(refusal))
            return None
        except pa.ArrowException as exc:  # a check this module lacks: refuse, never guess
            self._refuse(f"arrow: {type(exc).__name__}: {str(exc)[:200]}")
            return None
        with self._lock:
            self._stats.decoded += 1
            self._as_text |= as_text
        return page

    def convert(self, records: list[dict[str, Any]]) -> ConvertedPage:
        return ConvertedPage(*to_record_batch(self.stream, records, self.extracted_at, self.keep))

    def _refuse(self, reason: str) -> None:
        kind = reason.split(":", 1)[0]
        with self._lock:
            self._stats.refused += 1
            self._stats.last_refusal = reason
            self._stats.reasons[kind] = self._stats.reasons.get(kind, 0) + 1


def _decode_page(
    stream: Stream,
    body: bytes,
    extracted_at: datetime,
    keep: frozenset[str] = frozenset(),
    as_text: frozenset[str] = frozenset(),
) -> DecodedPage[ConvertedPage]:
    """One JSON:API list body -> what ``to_record_batch`` makes of its ``data``.

    Raises ``_Refused`` (or ``_ReadAsText``) instead of ever returning something else.
    """
    plan = _plan(stream, frozenset(keep), as_text)
    _check_utf8(body)
    table = _read(body, plan.read_schema)
    items = _items(table, plan.json_type)
    attributes = _children(items.field("attributes"))
    relationships = _children(items.field("relationships"))
    _check_inferred(attributes, plan)
    stats = ConversionStats(rows=len(items))
    extra: list[tuple[str, pa.Array]] = []
    arrays = [items.field("id")]
    arrays += [_column(name, kind, attributes, len(items), body) for name, kind in plan.columns]
    for rel, column in plan.relationships:
        ids = _relationship_ids(rel, relationships[rel])
        clash = _clash(attributes[column], ids, stats)
        if clash is not None:
            extra.append((column, clash))
        arrays.append(ids)
    extra += _unknown(attributes, plan, stats, body)
    arrays.append(_extra_column(extra, len(items)))
    stamp = pa.scalar(extracted_at.astimezone(UTC), type=_UTC_US)
    arrays.append(pa.repeat(stamp, len(items)))
    batch = pa.RecordBatch.from_arrays(arrays, schema=plan.schema)
    return DecodedPage(ConvertedPage(batch, stats), len(items), _next_link(table))


# --- reading ---------------------------------------------------------------------------------


def _check_utf8(body: bytes) -> None:
    """read_json copies invalid UTF-8 into string arrays; json.loads would refuse the body.

    Pure ASCII is valid UTF-8, and checking for it takes under 1 ms per 7 MB page (JSON
    encoders that escape non-ASCII, like the sandbox's, send nothing else). Otherwise
    Arrow's validating cast of the body as one value takes about 20 ms on this VM;
    ``body.decode()`` takes as long and builds a string besides.
    """
    if body.isascii():
        return
    offsets = pa.array([0, len(body)], pa.int64()).buffers()[1]
    whole = pa.Array.from_buffers(pa.large_binary(), 1, [None, offsets, pa.py_buffer(body)])
    try:
        whole.cast(pa.large_string())
    except pa.ArrowInvalid:
        raise _Refused("body: not UTF-8") from None


def _read(body: bytes, schema: pa.Schema) -> pa.Table:
    """The body as one row; refused unless it is exactly one JSON object."""
    options = pj.ReadOptions(block_size=len(body) + 1, use_threads=False)
    parse = pj.ParseOptions(explicit_schema=schema, unexpected_field_behavior="infer")
    try:
        table = pj.read_json(BytesIO(body), read_options=options, parse_options=parse)
    except pa.ArrowException as exc:
        raise _Refused(f"read_json: {str(exc)[:200]}") from None
    if table.num_rows != 1 or table.column("data").num_chunks != 1:
        raise _Refused(f"body: {table.num_rows} JSON values instead of one object")
    return table


def _items(table: pa.Table, json_type: str) -> pa.StructArray:
    """The resource objects, checked the way to_record_batch checks them before it starts."""
    data = table.column("data").chunk(0)
    if data.null_count:
        raise _Refused("body: no data array")  # the client's own check retries such a body
    items = data.flatten()
    if items.null_count:
        raise _Refused("data: a resource is not an object")
    if pc.any(pc.not_equal(items.field("type"), json_type)).as_py():
        raise _Refused(f"data: a resource is not of type {json_type!r}")
    if items.field("id").null_count:
        raise _Refused("data: a resource without an id")
    return items


def _children(struct: pa.StructArray) -> dict[str, pa.Array]:
    """A struct's fields by name, null wherever the struct itself is null."""
    return {f.name: child for f, child in zip(struct.type, struct.flatten(), strict=True)}


def _next_link(table: pa.Table) -> str | None:
    """``links.next`` as the client reads it; only that member is converted (the rest of
    ``links`` was inferred, and is no business of ours)."""
    links = table.column("links").chunk(0)
    if links.null_count:
        return None
    return next_link({"links": {"next": _children(links)["next"][0].as_py()}})


# --- columns ---------------------------------------------------------------------------------


def _column(
    name: str, kind: FieldType, attributes: dict[str, pa.Array], rows: int, body: bytes
) -> pa.Array:
    values = attributes.get(name)
    if values is None:  # a JSON attribute no resource of the page carries
        return pa.nulls(rows, pa.string())
    if kind is FieldType.JSON:
        return _json_texts(values, name, body)
    target = _CASTS.get(kind)
    if target is not None:
        try:
            return pc.cast(values, target)
        except pa.ArrowException:
            raise _Refused(f"cast: {name} has a value records.py parses one by one") from None
    if kind is FieldType.NUMBER:
        _check_no_negative_zero(name, values)
    return values


def _check_no_negative_zero(name: str, values: pa.Array) -> None:
    """``-0`` is the integer 0 to json.loads but -0.0 to read_json; refuse either way."""
    zeros = pc.equal(values, 0.0)
    if pc.any(zeros).as_py() and np.signbit(pc.filter(values, zeros).to_numpy()).any():
        raise _Refused(f"number: {name} holds a negative zero")


def _relationship_ids(name: str, relationship: pa.StructArray) -> pa.Array:
    """The ``<name>Id`` column; null for a missing object, ``data: null``, links/meta only."""
    data = _children(relationship)["data"]
    ids = _children(data)["id"]
    if pc.any(pc.and_(data.is_valid(), ids.is_null())).as_py():
        raise _Refused(f"relationships: {name} has data without an id")
    return ids


def _clash(values: pa.Array, ids: pa.Array, stats: ConversionStats) -> pa.Array | None:
    """The attribute named like a relationship column, where it says something else."""
    if values.null_count == len(values):
        return None
    differs = pc.fill_null(pc.not_equal(values, ids), True)
    kept = pc.and_(values.is_valid(), differs)
    count = pc.sum(kept).as_py() or 0
    if not count:
        return None
    stats.clashes += count
    return pc.cast(pc.if_else(kept, values, pa.scalar(None, pa.int64())), pa.string())


def _check_inferred(attributes: dict[str, pa.Array], plan: _Plan) -> None:
    """Unknown or JSON attributes read_json typed as timestamps lost their text: have the
    page read again with them declared as strings."""
    dated = frozenset(
        name
        for name, values in attributes.items()
        if name not in plan.declared and pa.types.is_timestamp(values.type)
    )
    if dated:
        raise _ReadAsText(dated)


def _unknown(
    attributes: dict[str, pa.Array], plan: _Plan, stats: ConversionStats, body: bytes
) -> list[tuple[str, pa.Array]]:
    """``_extra`` fragments of the attributes the catalog does not know, counted per name
    as records.py counts them: rows with a value (``null`` and a missing key are alike)."""
    out = []
    for name in sorted(set(attributes) - plan.handled):
        values = attributes[name]
        valued = len(values) - values.null_count
        stats.unknown_attributes[name] = valued
        if valued:
            out.append((name, _json_texts(values, name, body)))
    return out


# --- JSON text ---------------------------------------------------------------------------


def _json_texts(values: pa.Array, name: str, body: bytes) -> pa.Array:
    """Each value as records.py's compact, key-sorted ``json.dumps`` writes it; null stays
    null. Plain text, integers and booleans are vectorized; the rest goes value by value,
    once checked that read_json kept everything the JSON said."""
    kind = values.type
    if kind == pa.null():
        return pa.nulls(len(values), pa.string())
    if kind in (pa.int64(), pa.bool_()):
        return pc.cast(values, pa.string())
    try:
        values.validate(full=True)  # read_json's inference has built broken arrays
    except pa.ArrowException:
        raise _Refused(f"inferred: {name} was read into an invalid array") from None
    if kind == pa.string() and pc.all(pc.match_substring_regex(values, _PLAIN_TEXT)).as_py():
        return pc.binary_join_element_wise('"', values, '"', "")
    optional: set[str] = set()
    _check_lossless(values, name, optional)
    if spelled := sorted(key for key in optional if _may_hold_null(body, key)):
        raise _Refused(f"inferred: {name} has objects where {spelled[0]!r} is null or missing")
    # A null object member is a missing key here (and there is none without optional keys).
    texts = [None if v is None else _dumps(_without_nulls(v)) for v in values.to_pylist()]
    return pa.array(texts, pa.string())


def _check_lossless(values: pa.Array, name: str, optional: set[str]) -> None:
    """Refuse inferred values whose JSON text cannot be recovered exactly.

    Objects whose keys differ between rows (an event's ``payload`` differs by event type)
    are read as one struct, null where a key was missing; those keys are collected in
    ``optional`` for the caller, who can tell a missing key from a ``null`` only by the
    body's text.
    """
    kind = values.type
    if pa.types.is_struct(kind):
        for f, child in zip(kind, values.flatten(), strict=True):
            if child.null_count != values.null_count:  # missing, or null, in some objects
                optional.add(f.name)
            _check_lossless(child, name, optional)
    elif pa.types.is_list(kind):
        _check_lossless(values.flatten(), name, optional)
    elif pa.types.is_float64(kind):
        if pc.any(pc.equal(pc.floor(values), values)).as_py():  # 2 or 2.0? read_json forgot
            raise _Refused(f"inferred: {name} has whole numbers read as floats")
    elif kind not in _LOSSLESS_LEAVES:
        raise _Refused(f"inferred: {name} was read as {kind}")


def _may_hold_null(body: bytes, key: str) -> bool:
    """Whether some object in the body may give ``key`` an explicit ``null``.

    read_json makes ``"key": null`` and a missing key the same null. Without the key spelled
    out followed by ``null`` (or spelled with escapes, or a name a regex cannot pin down)
    anywhere in the body, every such null was a missing key.
    """
    if not _SIMPLE_NAME.fullmatch(key):
        return True
    spelled = re.compile(b'"' + re.escape(key.encode()) + rb'"\s*:\s*null')
    escaped = re.compile(
        rb"\\u00(" + b"|".join(f"{ord(c):02x}".encode() for c in set(key)) + b")",
        re.IGNORECASE,
    )
    return bool(spelled.search(body) or escaped.search(body))


def _without_nulls(value: Any) -> Any:
    """``value`` with the null members of its objects dropped (they were missing keys)."""
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nulls(v) for v in value]
    return value


def _extra_column(entries: list[tuple[str, pa.Array]], rows: int) -> pa.Array:
    """One compact JSON object per row from ``(key, JSON text or null)`` columns.

    Fragments are prefixed with a comma and concatenated with nulls as empty text, then the
    first comma is cut: ``binary_join_element_wise``'s ``skip`` mode drops rows whose
    fragments are all null (pyarrow 26), so it is not used.
    """
    if not entries:
        return pa.nulls(rows, pa.string())
    fragments = [
        pc.binary_join_element_wise("," + json.dumps(key) + ":", texts, "")
        for key, texts in sorted(entries, key=lambda entry: entry[0])
    ]
    joined = pc.binary_join_element_wise(
        *fragments, "", null_handling="replace", null_replacement=""
    )
    inner = pc.utf8_slice_codeunits(joined, 1)
    objects = pc.binary_join_element_wise("{", inner, "}", "")
    return pc.if_else(pc.equal(joined, ""), pa.scalar(None, pa.string()), objects)


def _dumps(value: Any) -> str:
    """records.py's JSON text: compact, keys sorted, ASCII only."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"))
