"""``convert.fast``: a page read straight from its bytes is exactly what json.loads +
to_record_batch make of it, or it is refused and the client falls back to those: the
sandbox's pages over HTTP, whole records, and the decoder inside the client's scan."""

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests

from outreach_assets.catalog import STREAMS, FieldType, Stream, get_stream
from outreach_assets.client.page import DecodedPage
from outreach_assets.convert import EXTRA_COLUMN, ArrowPageDecoder, ConversionStats, ConvertedPage
from outreach_assets.sandbox import SandboxConfig, SandboxServer
from outreach_assets_tests.support.clients import INCREMENTAL, make_client
from outreach_assets_tests.support.resources import (
    EXTRACTED_AT,
    HISTOGRAM,
    NEXT,
    assert_same,
    body_of,
    distinct_page,
    page_of,
    reference_page,
    resource,
    same_as_reference,
    sample_attributes,
    sample_relationships,
)

PROSPECTS = get_stream("prospects")


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
    assert len(decoder.bodies) == len(pages) == max(1, -(-size // 15))
    assert sum(p.count for p in pages) == size > 0
    assert all(p.count == 15 for p in pages[:-1])
    for body, page in zip(decoder.bodies, pages, strict=True):
        assert page.records == []
        assert_same(page.decoded, reference_page(stream, json.loads(body)["data"], keep=keep))
    # The sandbox's unknown attribute and prospects' echoed updaterId took the fast path too.
    first = pages[0].decoded
    assert first.stats.unknown_attributes == {"sandboxNote": pages[0].count}
    assert all("sandboxNote" in text for text in first.batch.column(EXTRA_COLUMN).to_pylist())


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
    assert taken is not any(f.type is FieldType.JSON for f in stream.fields)


@pytest.mark.parametrize("stream_name", ["prospects", "users", "mailboxes", "events"])
def test_every_value_lands_in_its_own_row_and_column(stream_name):
    stream = get_stream(stream_name)
    resources, _ = distinct_page(stream, 5)
    assert same_as_reference(stream, body_of(resources), frozenset(stream.dropped_by_default))


def test_timestamp_like_unknown_attribute_is_read_as_text_once_learned():
    decoder = ArrowPageDecoder(PROSPECTS, EXTRACTED_AT)
    for day in (1, 2):
        body = page_of(PROSPECTS, [{"zSeenAt": f"2024-01-0{day}T00:00:00.000Z"}, {}])
        fast = decoder.decode(body)
        assert fast is not None
        assert_same(fast.value, reference_page(PROSPECTS, json.loads(body)["data"]))
    assert decoder.stats.decoded == 2 and decoder.stats.refused == 0


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
    assert_same(fast.value, reference_page(PROSPECTS, json.loads(body)["data"], at))


def test_conversion_stats_start_empty_on_the_fast_path():
    fast = ArrowPageDecoder(PROSPECTS, EXTRACTED_AT).decode(page_of(PROSPECTS, [{}, {}]))
    assert fast is not None and fast.value.stats == ConversionStats(rows=2)


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
        assert_same(fast.decoded, reference_page(PROSPECTS, reference.records))
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
    ids = [i for p in pages if p.decoded for i in p.decoded.batch.column("id").to_pylist()]
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
