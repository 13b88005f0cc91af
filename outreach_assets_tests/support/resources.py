"""JSON:API resources as Outreach sends them, the conversion cases both converters share,
and the comparisons the converters' tests make.

The shape is Outreach's list response
(https://developers.outreach.io/api/making-requests/): a ``data`` array of JSON:API
resource objects (https://jsonapi.org/format/#document-resource-objects) with
``attributes``, ``relationships`` (to-one with ``data``, to-many, links-only) and
``links``, and a top-level ``links.next`` for the next page.
"""

import json
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pyarrow as pa

from outreach_assets.catalog import FieldType, Replication, Stream, fields, get_stream, rels
from outreach_assets.client.pagination import next_link
from outreach_assets.convert import (
    EXTRA_COLUMN,
    ArrowPageDecoder,
    ConversionStats,
    ConvertedPage,
    arrow_schema,
    to_record_batch,
)

API = "https://api.outreach.io/api/v2"
EXTRACTED_AT = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)
NEXT = f"{API}/prospects?page%5Bafter%5D=abc"
HISTOGRAM = frozenset({"contactHistogram"})
OUTREACH_TS = "2024-02-16T19:30:18.000Z"
TS = datetime(2024, 2, 16, 19, 30, 18, tzinfo=UTC)


def widgets(**changes: Any) -> Stream:
    """A made-up stream (``name``, an ``owner``) with ``changes``, for rules that a catalog
    entry could trigger but no real one does."""
    base = Stream(
        name="widgets",
        path="widgets",
        json_type="widget",
        replication=Replication.FULL_SNAPSHOT,
        cursor=None,
        fields=fields(s="name"),
        relationships=rels("owner:user"),
    )
    return replace(base, **changes)


def related_link(stream: Stream, name: str, rid: Any) -> dict[str, Any]:
    """A relationship's ``links`` member, as Outreach sends it."""
    return {"related": f"{API}/{name}?filter%5B{stream.json_type}%5D%5Bid%5D={rid}"}


def to_many_ids(stream: Stream, rid: Any) -> dict[str, list[int]]:
    """The ids :func:`resource` gives each to-many relationship of ``stream``: 0 to 3 of
    them, in an order that is not sorted, and different for every (resource, relationship),
    so that a list landing in the wrong row or column shows."""
    base = rid if type(rid) is int else 0
    return {
        r.name: [base * 1000 + k * 10 + (7 - j) for j in range((base + k) % 4)]
        for k, r in enumerate(stream.to_many)
    }


def to_many_object(stream: Stream, name: str, ids: list[int], rid: Any) -> dict[str, Any]:
    """A to-many relationship with its ids inline, links and meta, as Outreach sends it."""
    target = next(r.target for r in stream.to_many if r.name == name)
    return {
        "data": [{"type": target, "id": i} for i in ids],
        "links": related_link(stream, name, rid),
        "meta": {"count": len(ids)},
    }


def resource(
    stream: Stream,
    rid: Any,
    attributes: dict[str, Any] | None = None,
    relationships: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A resource as Outreach sends it: every to-many relationship of the catalog with its
    ids (:func:`to_many_ids`) and every links-only one, unless ``relationships`` says
    otherwise."""
    rel: dict[str, Any] = {
        name: to_many_object(stream, name, ids, rid)
        for name, ids in to_many_ids(stream, rid).items()
    }
    rel |= {name: {"links": related_link(stream, name, rid)} for name in stream.links_only}
    rel.update(relationships or {})
    return {
        "type": stream.json_type,
        "id": rid,
        "attributes": attributes or {},
        "relationships": rel,
        "links": {"self": f"{API}/{stream.path}/{rid}"},
    }


def to_many_columns(stream: Stream, rid: Any) -> dict[str, list[int]]:
    """The to-many columns the converters make of :func:`resource`'s default relationships."""
    ids = to_many_ids(stream, rid)
    return {r.column: ids[r.name] for r in stream.to_many}


TYPE_CASES = [
    # (stream, field, input, expected python value)
    ("prospects", "firstName", "Sally", "Sally"),
    ("prospects", "firstName", "", ""),
    ("prospects", "clickCount", 7, 7),
    ("prospects", "clickCount", 3.0, 3),  # an integral float is the same integer
    ("prospects", "clickCount", -(2**63), -(2**63)),
    ("prospects", "score", 12.5, 12.5),
    ("prospects", "score", 3, 3.0),  # integers are numbers
    ("prospects", "optedOut", True, True),
    ("prospects", "optedOut", False, False),
    ("prospects", "updatedAt", OUTREACH_TS, TS),
    ("prospects", "dateOfBirth", "1990-05-17", date(1990, 5, 17)),
    ("prospects", "dateOfBirth", "1990-05-17T00:00:00.000Z", date(1990, 5, 17)),
    ("prospects", "tags", ["vip", "q3"], ["vip", "q3"]),
    ("prospects", "tags", [], []),
    ("prospects", "emails", ["a@example.com", None], ["a@example.com", None]),
    ("events", "requestRegion", "us-west", "us-west"),  # Mage typed it boolean: True
    (
        "events",
        "payload",
        {"b": 1, "a": [{"y": 2, "x": "é"}]},
        '{"a":[{"x":"\\u00e9","y":2}],"b":1}',
    ),
    ("events", "payload", "plain", '"plain"'),
    ("users", "duties", [{"name": "Rep", "id": 1}], '[{"id":1,"name":"Rep"}]'),
    ("sequence_steps", "date", "2024-03-01", datetime(2024, 3, 1, tzinfo=UTC)),
]
RELATIONSHIP_SHAPES = [
    ({"owner": {"data": {"type": "user", "id": 5}}}, 5),
    ({"owner": {"data": {"type": "user", "id": "5"}}}, 5),  # JSON:API spells ids as strings
    ({"owner": {"data": None}}, None),
    ({"owner": {"links": {"related": f"{API}/users/5"}}}, None),
    ({"owner": {"meta": {"count": 0}}}, None),  # singer-io crashed on this
    ({"owner": {}}, None),
    ({"owner": None}, None),
    ({}, None),
]
CLASH_STREAMS = [
    ("prospects", "updater", "updaterId"),
    ("events", "mailing", "mailingId"),
    ("mailboxes", "user", "userId"),
]
CONTACTS = [{"id": 1, "email": "s@x.io"}]  # Airbyte's prospects.emailContacts shape
WRONG_TYPED = [
    # (stream, field, wrong value)
    ("prospects", "firstName", 5),  # not "5"
    ("prospects", "firstName", True),  # not "True"
    ("prospects", "firstName", {"given": "Sally"}),
    ("prospects", "firstName", ["Sally"]),
    ("prospects", "clickCount", 3.7),  # not 3
    ("prospects", "clickCount", "5"),
    ("prospects", "clickCount", True),  # not 1
    ("prospects", "clickCount", [1]),
    ("prospects", "clickCount", 2**63),
    ("prospects", "score", "1.5"),
    ("prospects", "score", True),  # not 1.0
    ("prospects", "optedOut", "True"),
    ("prospects", "optedOut", "yes"),
    ("prospects", "optedOut", 1),
    ("content_categories", "allowSequences", "False"),
    ("prospects", "updatedAt", "yesterday"),
    ("prospects", "updatedAt", 1708111818),
    ("prospects", "updatedAt", "2024-02-30T00:00:00Z"),
    ("prospects", "dateOfBirth", "1990-5-17"),
    ("prospects", "dateOfBirth", "1990-05-17T10:00:00Z"),  # has a time part to lose
    ("prospects", "dateOfBirth", "1990-05-17T00:00:00+02:00"),  # not midnight UTC
    ("prospects", "dateOfBirth", 19900517),
    ("prospects", "tags", "vip"),  # not ["v", "i", "p"]
    ("prospects", "tags", [1, 2]),
    ("prospects", "tags", {"a": 1}),
    ("prospects", "contactHistogram", [[3.7, 1]]),
    ("prospects", "contactHistogram", [[True, 1]]),
    ("prospects", "contactHistogram", [1, 2]),
    ("prospects", "contactHistogram", "[[1, 2]]"),
]


def distinct_cells(stream: Stream, row: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """Attributes where every (row, field) cell differs, and the column values they give."""
    attributes, expected = {}, {}
    for index, f in enumerate(stream.fields):
        n = row * 1000 + index
        moment = datetime(2024, 1, 1, tzinfo=UTC) + timedelta(minutes=n)
        value, want = {
            FieldType.STRING: (f"{f.name}-{row}", f"{f.name}-{row}"),
            FieldType.INTEGER: (n, n),
            FieldType.NUMBER: (n + 0.5, n + 0.5),
            FieldType.BOOLEAN: ((row + index) % 2 == 0, (row + index) % 2 == 0),
            FieldType.TIMESTAMP: (moment.strftime("%Y-%m-%dT%H:%M:%S.000Z"), moment),
            FieldType.DATE: ((date(2000, 1, 1) + timedelta(days=n)).isoformat(),
                             date(2000, 1, 1) + timedelta(days=n)),
            FieldType.STRING_LIST: ([f.name, str(row)], [f.name, str(row)]),
            FieldType.INT_LIST_LIST: ([[row, index]], [[row, index]]),
            FieldType.JSON: ({"row": row, "f": f.name}, f'{{"f":"{f.name}","row":{row}}}'),
        }[f.type]  # fmt: skip
        attributes[f.name], expected[f.name] = value, want
    return attributes, expected


def distinct_page(stream: Stream, rows: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    resources, expected = [], []
    for row in range(rows):
        attributes, want = distinct_cells(stream, row)
        if row % 2:  # key order must not matter
            attributes = dict(reversed(attributes.items()))
        relationships = {
            r.name: {"data": {"type": r.target, "id": row * 100 + i}}
            for i, r in enumerate(stream.relationships)
        }
        want |= {r.column: row * 100 + i for i, r in enumerate(stream.relationships)}
        want |= to_many_columns(stream, row + 1)
        resources.append(resource(stream, row + 1, attributes, relationships))
        expected.append(want)
    return resources, expected


SAMPLES: dict[FieldType, tuple[Any, Any]] = {
    FieldType.STRING: ("text", "text"),
    FieldType.INTEGER: (42, 42),
    FieldType.NUMBER: (0.25, 0.25),
    FieldType.BOOLEAN: (True, True),
    FieldType.TIMESTAMP: (
        "2024-02-16T19:30:18.000Z",
        datetime(2024, 2, 16, 19, 30, 18, tzinfo=UTC),
    ),
    FieldType.DATE: ("2024-02-16", date(2024, 2, 16)),
    FieldType.STRING_LIST: (["a", "b"], ["a", "b"]),
    FieldType.INT_LIST_LIST: ([[1, 2], [3, 4]], [[1, 2], [3, 4]]),
    FieldType.JSON: ({"k": [1, {"b": 2, "a": 1}]}, '{"k":[1,{"a":1,"b":2}]}'),
}


def sample_attributes(stream: Stream) -> dict[str, Any]:
    return {f.name: SAMPLES[f.type][0] for f in stream.fields}


def sample_relationships(stream: Stream) -> dict[str, Any]:
    return {
        r.name: {"data": {"type": r.target, "id": 100 + i}}
        for i, r in enumerate(stream.relationships)
    }


def wrong_value_for(kind: FieldType) -> Any:
    """A value no column of ``kind`` accepts."""
    return "wrong" if kind is not FieldType.STRING else 1


# --- the reference converter -----------------------------------------------------------------


def convert(
    stream_name: str,
    resources: list[dict[str, Any]],
    keep: frozenset[str] = frozenset(),
) -> tuple[pa.RecordBatch, ConversionStats]:
    """``to_record_batch`` at :data:`EXTRACTED_AT`, checked to keep the stream's schema."""
    batch, stats = to_record_batch(get_stream(stream_name), resources, EXTRACTED_AT, keep=keep)
    assert batch.schema.equals(arrow_schema(get_stream(stream_name), keep), check_metadata=True)
    return batch, stats


def extra_of(row: dict[str, Any]) -> dict[str, Any] | None:
    text = row[EXTRA_COLUMN]
    return None if text is None else json.loads(text)


# --- the fast decoder against the reference --------------------------------------------------


def body_of(resources: list[dict[str, Any]], links: Any = None, **top: Any) -> bytes:
    """A list response as Outreach sends it (``links`` is left out when None)."""
    payload: dict[str, Any] = {"data": resources, **top}
    if links is not None:
        payload["links"] = links
    return json.dumps(payload).encode()


def page_of(stream: Stream, attributes: list[dict[str, Any]]) -> bytes:
    return body_of([resource(stream, i + 1, a) for i, a in enumerate(attributes)])


def reference_page(
    stream: Stream,
    resources: list[dict[str, Any]],
    extracted_at: datetime = EXTRACTED_AT,
    keep: frozenset[str] = frozenset(),
) -> ConvertedPage:
    """What the reference converter makes of the resources, in the decoder's form."""
    return ConvertedPage(*to_record_batch(stream, resources, extracted_at, keep))


def same_as_reference(stream: Stream, body: bytes, keep: frozenset[str] = frozenset()) -> bool:
    """Whether the fast path took the page; when it did, its result must be the reference's."""
    decoder = ArrowPageDecoder(stream, EXTRACTED_AT, keep)
    fast = decoder.decode(body)
    payload = json.loads(body)
    reference = reference_page(stream, payload["data"], keep=keep)
    if fast is None:
        assert decoder.stats.refused == 1 and decoder.stats.last_refusal
        return False
    assert_same(fast.value, reference)
    assert fast.records == len(payload["data"])
    assert fast.next_link == next_link(payload)
    assert decoder.stats.decoded == 1
    return True


def assert_same(got: ConvertedPage, expected: ConvertedPage) -> None:
    assert got.batch.schema.equals(expected.batch.schema, check_metadata=True)
    assert got.batch.equals(expected.batch), _first_difference(got.batch, expected.batch)
    assert got.stats == expected.stats


def _first_difference(got: pa.RecordBatch, expected: pa.RecordBatch) -> str:
    for name in expected.schema.names:
        a, b = got.column(name).to_pylist(), expected.column(name).to_pylist()
        if a != b:
            row = next(i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y)
            return f"{name} row {row}: {a[row]!r} != {b[row]!r}"
    return "batches differ"
