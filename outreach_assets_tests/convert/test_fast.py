"""arrow_pages: a page read straight from its bytes is exactly what json.loads +
to_record_batch make of it, or it is refused and the client falls back to those."""

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pyarrow as pa
import pytest
import requests

from outreach_assets.catalog import STREAMS, Stream, get_stream
from outreach_assets.client.page import DecodedPage
from outreach_assets.client.pagination import next_link
from outreach_assets.convert import (
    EXTRA_COLUMN,
    ArrowPageDecoder,
    ConversionStats,
    ConvertedPage,
    to_record_batch,
)
from outreach_assets.sandbox import SandboxConfig, SandboxServer
from outreach_assets_tests.support.clients import INCREMENTAL, make_client
from outreach_assets_tests.support.resources import (
    CLASH_STREAMS,
    HISTOGRAM,
    RELATIONSHIP_SHAPES,
    TYPE_CASES,
    WRONG_TYPED,
    distinct_page,
    resource,
    sample_attributes,
    sample_relationships,
)

EXTRACTED_AT = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)
PROSPECTS = get_stream("prospects")
NEXT = "https://api.outreach.io/api/v2/prospects?page%5Bafter%5D=abc"


def body_of(resources: list[dict[str, Any]], links: Any = None, **top: Any) -> bytes:
    """A list response as Outreach sends it (``links`` is left out when None)."""
    payload: dict[str, Any] = {"data": resources, **top}
    if links is not None:
        payload["links"] = links
    return json.dumps(payload).encode()


def same_as_reference(stream: Stream, body: bytes, keep: frozenset[str] = frozenset()) -> bool:
    """Whether the fast path took the page; when it did, its result must be the reference's."""
    decoder = ArrowPageDecoder(stream, EXTRACTED_AT, keep)
    fast = decoder.decode(body)
    payload = json.loads(body)
    reference = to_record_batch(stream, payload["data"], EXTRACTED_AT, keep)
    if fast is None:
        assert decoder.stats.refused == 1 and decoder.stats.last_refusal
        return False
    assert_same(fast.value, reference)
    assert fast.records == len(payload["data"])
    assert fast.next_link == next_link(payload)
    assert decoder.stats.decoded == 1
    return True


def assert_same(got: ConvertedPage, expected: ConvertedPage) -> None:
    batch, stats = got
    assert batch.schema.equals(expected[0].schema, check_metadata=True)
    assert batch.equals(expected[0]), _first_difference(batch, expected[0])
    assert stats == expected[1]


def _first_difference(got: pa.RecordBatch, expected: pa.RecordBatch) -> str:
    for name in expected.schema.names:
        a, b = got.column(name).to_pylist(), expected.column(name).to_pylist()
        if a != b:
            row = next(i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y)
            return f"{name} row {row}: {a[row]!r} != {b[row]!r}"
    return "batches differ"


def page_of(stream: Stream, attributes: list[dict[str, Any]]) -> bytes:
    return body_of([resource(stream, i + 1, a) for i, a in enumerate(attributes)])


# --- real sandbox pages over HTTP --------------------------------------------------------


class RecordingDecoder(ArrowPageDecoder):
    """Keeps every body it is handed, to compare with the reference path afterwards."""

    def __init__(self, stream: Stream, keep: frozenset[str] = frozenset()) -> None:
        super().__init__(stream, EXTRACTED_AT, keep)
        self.bodies: list[bytes] = []

    def decode(self, body: bytes) -> DecodedPage[ConvertedPage] | None:
        self.bodies.append(body)
        return super().decode(body)


@pytest.fixture(scope="module")
def sandbox_pages(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[dict[tuple[str, frozenset[str]], tuple[RecordingDecoder, list[Any], int]]]:
    """Every stream scanned once over HTTP (prospects also with ``keep``), pages of 15."""
    server = SandboxServer(SandboxConfig(records=40)).start()
    try:
        client = make_client(server, tmp_path_factory.mktemp("tokens"))
        scans = {}
        for stream, keep in [(s, frozenset()) for s in STREAMS] + [(PROSPECTS, HISTOGRAM)]:
            decoder = RecordingDecoder(stream, keep)
            pages = list(client.iter_pages(stream, page_size=15, decoder=decoder))
            scans[stream.name, keep] = (decoder, pages, len(server.truth(stream.name)))
        yield scans
    finally:
        server.stop()


SCANS: list[tuple[str, frozenset[str]]] = [(s.name, frozenset()) for s in STREAMS] + [
    ("prospects", HISTOGRAM)
]


def _scan_id(value: Any) -> str:
    return value if isinstance(value, str) else "keep=" + ",".join(sorted(value))


@pytest.mark.parametrize(("name", "keep"), SCANS, ids=_scan_id)
def test_sandbox_pages_of_every_stream_take_the_fast_path_exactly(sandbox_pages, name, keep):
    decoder, pages, size = sandbox_pages[name, keep]
    stream = get_stream(name)
    assert decoder.stats.refused == 0, decoder.stats.last_refusal
    assert len(decoder.bodies) == len(pages) == 3
    assert [p.count for p in pages] == [15, 15, 10] and size == 40
    for body, page in zip(decoder.bodies, pages, strict=True):
        assert page.records == []
        assert_same(
            page.decoded, to_record_batch(stream, json.loads(body)["data"], EXTRACTED_AT, keep)
        )
    # The sandbox's unknown attribute and prospects' echoed updaterId took the fast path too.
    batch, stats = pages[0].decoded
    assert stats.unknown_attributes == {"sandboxNote": 15}
    assert all("sandboxNote" in text for text in batch.column(EXTRA_COLUMN).to_pylist())


# --- crafted pages ---------------------------------------------------------------------------


# Values read_json reads otherwise than json.loads (an integral float is no integer to it) or
# that Arrow's cast cannot parse (records.py then parses them one by one): refused.
REFUSED_TYPE_CASES = {
    ("prospects", "clickCount", "3.0"),
    ("prospects", "dateOfBirth", "'1990-05-17T00:00:00.000Z'"),
    ("sequence_steps", "date", "'2024-03-01'"),
}


@pytest.mark.parametrize(("stream_name", "name", "value", "expected"), TYPE_CASES)
def test_every_field_type(stream_name, name, value, expected):
    stream = get_stream(stream_name)
    taken = same_as_reference(stream, page_of(stream, [{name: value}, {}, {name: None}]))
    assert taken is ((stream_name, name, repr(value)) not in REFUSED_TYPE_CASES)


@pytest.mark.parametrize(("stream_name", "name", "value"), WRONG_TYPED)
def test_wrong_typed_values_are_refused(stream_name, name, value):
    stream = get_stream(stream_name)
    keep = HISTOGRAM if name == "contactHistogram" else frozenset()
    good = {n: v for s, n, v, _ in TYPE_CASES if s == stream_name and n == name}
    rows = [dict(good.items()), {name: value}, {name: None}]
    assert not same_as_reference(stream, page_of(stream, rows), keep)


@pytest.mark.parametrize(
    ("text", "taken"),
    [
        ("2024-02-16T19:30:18.000Z", True),
        ("2024-02-16T19:30:18Z", True),
        ("2024-02-16T21:30:18+02:00", True),
        ("2024-02-16 19:30:18Z", True),
        # Arrow's cast refuses these; records.py parses them value by value.
        ("2024-02-16T19:30:18", False),
        ("2024-02-16", False),
        ("2024-02-16T19:30:18.123456789Z", False),
    ],
)
def test_timestamps_are_cast_as_records_py_casts_them(text, taken):
    body = page_of(PROSPECTS, [{"updatedAt": "2024-01-01T00:00:00.000Z"}, {"updatedAt": text}])
    assert same_as_reference(PROSPECTS, body) is taken


def test_nulls_and_missing_attributes_relationships_and_links():
    stream = PROSPECTS
    nulls = resource(
        stream,
        1,
        {f.name: None for f in stream.fields},
        {r.name: {"data": None} for r in stream.relationships},
    )
    bare = {"type": "prospect", "id": 2}
    untyped = {"id": 3, "attributes": None, "relationships": None}
    sparse = resource(stream, 4, {"firstName": "Sally"})
    assert same_as_reference(stream, body_of([nulls, bare, untyped, sparse]))


@pytest.mark.parametrize("stream", STREAMS, ids=lambda s: s.name)
def test_a_synthetic_record_of_every_stream(stream):
    keep = frozenset(stream.dropped_by_default)
    record = resource(stream, 77, sample_attributes(stream), sample_relationships(stream))
    taken = same_as_reference(stream, body_of([record], {"next": NEXT}), keep)
    # The JSON sample's array mixes a number and an object: read_json cannot infer that.
    assert taken is (stream.name not in {"events", "users"})


@pytest.mark.parametrize("stream_name", ["prospects", "users", "mailboxes", "events"])
def test_every_value_lands_in_its_own_row_and_column(stream_name):
    stream = get_stream(stream_name)
    resources, _ = distinct_page(stream, 5)
    assert same_as_reference(stream, body_of(resources), frozenset(stream.dropped_by_default))


@pytest.mark.parametrize(("relationships", "expected"), RELATIONSHIP_SHAPES)
def test_relationship_shapes(relationships, expected):
    rows = [
        resource(PROSPECTS, 1, {}, {"owner": {"data": {"type": "user", "id": 9}}}),
        resource(PROSPECTS, 2, {}, relationships),
    ]
    string_id = '"id": "' in json.dumps(relationships)  # read_json has no strings as ids
    assert same_as_reference(PROSPECTS, body_of(rows)) is not string_id


@pytest.mark.parametrize(
    "data",
    [
        [{"type": "user", "id": 5}],
        {"type": "user"},
        {"type": "user", "id": None},
        {"type": "user", "id": "five"},
        {"type": "user", "id": True},
        {"type": "user", "id": 5.0},
        "5",
        5,
    ],
)
def test_malformed_relationships_are_refused(data):
    rows = [resource(PROSPECTS, 1, {}, {"owner": {"data": data}})]
    assert not same_as_reference(PROSPECTS, body_of(rows))


def test_relationship_data_with_extra_members_or_no_type_is_read():
    rows = [
        resource(PROSPECTS, 1, {}, {"owner": {"data": {"id": 5}}}),
        resource(PROSPECTS, 2, {}, {"owner": {"data": {"type": "user", "id": 6, "meta": {}}}}),
        resource(PROSPECTS, 3, {}, {"mailings": {"data": [{"type": "mailing", "id": 1}]}}),
    ]
    assert same_as_reference(PROSPECTS, body_of(rows))


@pytest.mark.parametrize(("stream_name", "relationship", "column"), CLASH_STREAMS)
@pytest.mark.parametrize(
    "case",
    [
        (5, 5, True),  # same id: dropped
        (None, 5, True),
        (6, 5, True),  # differs: kept in _extra, counted
        (6, None, True),
        ("5", 5, False),  # read_json has no strings in an id column
        ("x", 5, False),
        (True, 1, False),
    ],
)
def test_clashes(stream_name, relationship, column, case):
    """case: (attribute value, relationship id, whether the fast path takes the page)."""
    attribute, related, taken = case
    stream = get_stream(stream_name)
    data = None if related is None else {"type": relationship, "id": related}
    rows = [
        resource(stream, 1, {column: attribute}, {relationship: {"data": data}}),
        resource(stream, 2, {column: 7}, {relationship: {"data": {"type": "x", "id": 7}}}),
        resource(stream, 3, {}, {}),
    ]
    assert same_as_reference(stream, body_of(rows)) is taken


def test_clash_and_unknown_attributes_share_one_sorted_extra_object():
    rows = [
        resource(PROSPECTS, 1, {"updaterId": 4, "zeta": 1, "alpha": "a"}, {}),
        resource(PROSPECTS, 2, {"zeta": 2}, {"updater": {"data": {"type": "user", "id": 3}}}),
        resource(PROSPECTS, 3, {"updaterId": 3}, {"updater": {"data": {"type": "u", "id": 3}}}),
    ]
    assert same_as_reference(PROSPECTS, body_of(rows))
    batch, _ = to_record_batch(PROSPECTS, json.loads(body_of(rows))["data"], EXTRACTED_AT)
    assert batch.column(EXTRA_COLUMN).to_pylist() == [
        '{"alpha":"a","updaterId":4,"zeta":1}',
        '{"zeta":2}',
        None,
    ]


UNKNOWN_VALUES = [
    # (values of an unknown attribute in three rows; MISSING = key absent), taken
    (["a", "b", "c"], True),
    (['the "quoted" one', "back\\slash", "tab\tstop"], True),
    (["Zoë", "Łódź", "rocket 🚀"], True),
    ([1, -2, 2**62], True),
    ([True, False, True], True),
    ([1.5, 2.25, -0.5], True),
    ([1.5, 2.0, 3.5], False),  # 2.0 could have been 2: read_json cannot tell
    ([1, 2.5, 3], False),
    ([{"b": 1, "a": [1, 2]}, {"b": 2, "a": []}, {"b": 3, "a": [3]}], True),
    ([{"b": 1}, {"a": 2}, {"b": 3}], True),  # keys missing in some objects, none null
    ([{"b": 1}, {"a": None}, {"b": 3}], False),  # null or missing: the body says null
    ([["x", None], [], ["y"]], True),
    (["a", "MISSING", "c"], True),
    (["a", None, "c"], True),  # null and missing are alike: neither is a value
    (["a", None, "MISSING"], True),
    ([None, None, None], True),
    ([None, "MISSING", None], True),
    (["2024-01-01T00:00:00.000Z", "2024-01-02T00:00:00.000Z", "MISSING"], True),
    (["2024-01-01", "later", "MISSING"], True),
]


@pytest.mark.parametrize(("values", "taken"), UNKNOWN_VALUES)
def test_unknown_attributes(values, taken):
    rows = [
        {"firstName": str(i)} | ({} if v == "MISSING" else {"zNew": v})
        for i, v in enumerate(values)
    ]
    assert same_as_reference(PROSPECTS, page_of(PROSPECTS, rows)) is taken


def test_unknown_attribute_counts_rows_with_a_value_on_both_paths():
    """A new attribute Outreach sends as null on most records keeps the page on the fast path,
    and both paths list it with the rows that had a value."""
    rows: list[dict[str, Any]] = [{"zNew": "a"}, {"zNew": None}, {}, {"zAlwaysNull": None}]
    body = page_of(PROSPECTS, rows)
    fast = ArrowPageDecoder(PROSPECTS, EXTRACTED_AT).decode(body)
    assert fast is not None
    reference = to_record_batch(PROSPECTS, json.loads(body)["data"], EXTRACTED_AT)
    assert_same(fast.value, reference)
    assert fast.value[1].unknown_attributes == {"zAlwaysNull": 0, "zNew": 1}


def test_timestamp_like_unknown_attribute_is_read_as_text_once_learned():
    decoder = ArrowPageDecoder(PROSPECTS, EXTRACTED_AT)
    for day in (1, 2):
        body = page_of(PROSPECTS, [{"zSeenAt": f"2024-01-0{day}T00:00:00.000Z"}, {}])
        fast = decoder.decode(body)
        assert fast is not None
        reference = to_record_batch(PROSPECTS, json.loads(body)["data"], EXTRACTED_AT)
        assert_same(fast.value, reference)
    assert decoder.stats.decoded == 2 and decoder.stats.refused == 0


@pytest.mark.parametrize(
    ("payloads", "taken"),
    [
        (
            [{"kind": "a", "count": 1, "labels": ["x"]}, {"kind": "b", "count": 2, "labels": []}],
            True,
        ),
        ([None, None], True),
        (["plain", "text"], True),
        ([{"kind": "a"}, {"count": 2}], True),  # payloads differ by event type
        ([{"kind": "a", "at": {"x": 1}}, {"at": {"y": [1, None]}}, None], True),
        ([[{"a": 1}, None, {"b": "x"}], []], True),
        ([{"kind": None}, {"kind": "b"}], False),
        ([{"kind": "a"}, {"kind": "b", "count": None}], False),
        ([[{"y": 2, "x": "é"}], []], True),
        ([1, 2.5], False),
    ],
)
def test_json_attributes(payloads, taken):
    events = get_stream("events")
    assert same_as_reference(events, page_of(events, [{"payload": p} for p in payloads])) is taken


def test_json_objects_with_missing_keys_are_refused_when_the_key_is_null_anywhere():
    """A missing key and ``null`` read alike; a ``"count": null`` elsewhere in the body (here
    an unknown attribute) makes the fast path unable to tell which, so it steps aside."""
    events = get_stream("events")
    rows: list[dict[str, Any]] = [{"payload": {"kind": "a"}}, {"payload": {"count": 2}}]
    assert same_as_reference(events, page_of(events, rows))
    rows[0]["zOther"] = {"count": None, "kind": "x"}
    rows[1]["zOther"] = {"count": 1, "kind": "y"}
    assert not same_as_reference(events, page_of(events, rows))


@pytest.mark.parametrize(
    ("links", "taken"),
    [
        (None, True),  # Outreach leaves links out of an empty result
        ({"next": NEXT, "first": NEXT}, True),
        ({"next": None}, True),
        ({"next": "  "}, True),  # blank: the scan ends, as next_link says
        ({}, True),
        ({"next": 5}, False),
        ("nowhere", False),
    ],
)
def test_links_next_is_read_as_the_client_reads_it(links, taken):
    rows = [resource(PROSPECTS, 1, {"firstName": "a"})]
    assert same_as_reference(PROSPECTS, body_of(rows, links, meta={"count": 1})) is taken


def test_empty_page():
    assert same_as_reference(PROSPECTS, body_of([], meta={}))


@pytest.mark.parametrize("number", [b"-0", b"-0.0", b"1e400"])
def test_numbers_read_json_reads_otherwise_are_refused(number):
    """json.loads makes -0 the integer 0 and 1e400 infinity; read_json does neither."""
    body = page_of(PROSPECTS, [{"score": 1.5}, {}]).replace(b"1.5", number)
    assert not same_as_reference(PROSPECTS, body)


def test_raw_utf8_bodies_are_read():
    rows = [resource(PROSPECTS, 1, {"firstName": "Zoë 🚀", "zNew": "Łódź"}), resource(PROSPECTS, 2)]
    body = json.dumps({"data": rows}, ensure_ascii=False).encode()
    assert not body.isascii()
    assert same_as_reference(PROSPECTS, body)


@pytest.mark.parametrize(
    "body",
    [
        b'{"data":[{"type":"prospect","id":1,"attributes":{"firstName":"a\xff"}}]}',
        b'{"data":[{"type":"prospect","id":1,"attributes":{"firstName":"\\ud800"}}]}',
        b'{"data":[{"type":"prospect","id":1,"attributes":{"firstName":"a","firstName":"b"}}]}',
        b'{"data":[]}\n{"data":[]}',
        b'{"data":[{"type":"prospect","id":1}]',  # cut short
        b'{"data":null}',
        b'{"links":{}}',
        b'{"data":[null]}',
        b'{"data":{"type":"prospect","id":1}}',
        b'[{"type":"prospect","id":1}]',
        b'{"data":[{"type":"account","id":1}]}',
        b'{"data":[{"type":"prospect","id":"1"}]}',
        b'{"data":[{"type":"prospect"}]}',
        b'{"data":[{"type":"prospect","id":1,"attributes":["a"]}]}',
        b"",
    ],
)
def test_odd_bodies_are_refused(body):
    """Each is a body json.loads rejects, a page the client retries, or one to_record_batch
    raises on (or, for string ids, reads otherwise): the fallback decides."""
    decoder = ArrowPageDecoder(PROSPECTS, EXTRACTED_AT)
    assert decoder.decode(body) is None
    assert decoder.stats.refused == 1


# --- through the client --------------------------------------------------------------------


class RefuseEveryOther(ArrowPageDecoder):
    def __init__(self, stream: Stream) -> None:
        super().__init__(stream, EXTRACTED_AT)
        self.calls = 0

    def decode(self, body: bytes) -> DecodedPage[ConvertedPage] | None:
        self.calls += 1
        return super().decode(body) if self.calls % 2 else None


def test_refused_pages_are_converted_from_the_parsed_body(sandbox_factory, tmp_path):
    sb = sandbox_factory(sizes={"prospects": 50})
    client = make_client(sb, tmp_path)
    plain = list(client.iter_pages(PROSPECTS, page_size=10))
    decoder = RefuseEveryOther(PROSPECTS)
    mixed = list(client.iter_pages(PROSPECTS, page_size=10, decoder=decoder))
    assert decoder.calls == len(mixed) == len(plain) == 5
    assert decoder.stats.decoded == 3  # pages 1, 3, 5; 2 and 4 went through convert
    for fast, reference in zip(mixed, plain, strict=True):
        assert fast.decoded is not None
        assert fast.records == [] and fast.count == len(reference.records) == 10
        assert (fast.number, fast.url_path, fast.page_size) == (
            reference.number,
            reference.url_path,
            reference.page_size,
        )
        assert_same(fast.decoded, to_record_batch(PROSPECTS, reference.records, EXTRACTED_AT))
    assert client.stats.records == 100 and client.stats.pages == 10


def test_pages_without_a_decoder_are_unchanged(sandbox_factory, tmp_path):
    sb = sandbox_factory(sizes={INCREMENTAL.name: 25})
    client = make_client(sb, tmp_path)
    pages = list(client.iter_pages(INCREMENTAL, page_size=10))
    assert [len(p.records) for p in pages] == [p.count for p in pages] == [10, 10, 5]
    assert all(p.decoded is None for p in pages)
    assert sorted(int(r["id"]) for p in pages for r in p.records) == sorted(
        sb.truth(INCREMENTAL.name)
    )


def test_truncated_bodies_are_still_retried_with_a_decoder(sandbox_factory, tmp_path):
    sb = sandbox_factory(sizes={"prospects": 30})
    client = make_client(sb, tmp_path)
    decoder = ArrowPageDecoder(PROSPECTS, EXTRACTED_AT)
    sb.truncate_next(2)
    pages = list(client.iter_pages(PROSPECTS, page_size=10, decoder=decoder))
    ids = [i for p in pages if p.decoded for i in p.decoded[0].column("id").to_pylist()]
    assert sorted(ids) == sorted(sb.truth("prospects"))
    assert client.stats.retries == 2 and sb.stats.truncated == 2
    assert decoder.stats.refused == 0


def test_bodies_are_read_whole_and_the_connection_is_reused(sandbox_factory, tmp_path):
    """stream=True bodies must still hand their connection back to the pool."""
    sb = sandbox_factory(sizes={"prospects": 60})
    client = make_client(sb, tmp_path)
    decoder = ArrowPageDecoder(PROSPECTS, EXTRACTED_AT)
    pages = list(client.iter_pages(PROSPECTS, page_size=10, decoder=decoder))
    assert sum(p.count for p in pages) == 60
    adapter = client._session.get_adapter(sb.api_base_url)
    assert isinstance(adapter, requests.adapters.HTTPAdapter)
    pools = adapter.poolmanager.pools
    assert sum(pools[key].num_connections for key in list(pools.keys())) == 1


def test_decoder_refuses_naive_times_and_bad_keep():
    with pytest.raises(ValueError, match="timezone-aware"):
        ArrowPageDecoder(PROSPECTS, datetime(2024, 1, 1))
    with pytest.raises(ValueError, match="only attributes it drops"):
        ArrowPageDecoder(PROSPECTS, EXTRACTED_AT, frozenset({"firstName"}))


def test_extracted_at_is_normalized_like_the_reference():
    at = datetime(2024, 3, 1, 14, 0, tzinfo=UTC) + timedelta(microseconds=5)
    decoder = ArrowPageDecoder(PROSPECTS, at)
    body = page_of(PROSPECTS, [{}])
    fast = decoder.decode(body)
    assert fast is not None
    assert_same(fast.value, to_record_batch(PROSPECTS, json.loads(body)["data"], at))


def test_conversion_stats_start_empty_on_the_fast_path():
    fast = ArrowPageDecoder(PROSPECTS, EXTRACTED_AT).decode(page_of(PROSPECTS, [{}, {}]))
    assert fast is not None and fast.value[1] == ConversionStats(rows=2)
