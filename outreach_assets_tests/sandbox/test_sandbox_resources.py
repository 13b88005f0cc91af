"""JSON:API resource objects (https://jsonapi.org/format/): every catalog field with its
type, relationships that point at real records, and the shapes real payloads have."""

import re
from typing import Any

import pytest

from outreach_assets.catalog import STREAMS, STREAMS_BY_TYPE, FieldType, Stream
from outreach_assets.sandbox import SandboxServer
from outreach_assets_tests.support.wire import (
    BIG_BODIES,
    EVENTS,
    INCREMENTAL,
    PROSPECTS,
    get,
    session_for,
    walk,
)

ISO_MS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _value_matches(kind: FieldType, value: Any) -> bool:
    if kind is FieldType.STRING:
        return isinstance(value, str)
    if kind is FieldType.INTEGER:
        return isinstance(value, int) and not isinstance(value, bool)
    if kind is FieldType.NUMBER:
        return isinstance(value, float)
    if kind is FieldType.BOOLEAN:
        return isinstance(value, bool)
    if kind is FieldType.TIMESTAMP:
        return isinstance(value, str) and ISO_MS.match(value) is not None
    if kind is FieldType.DATE:
        return isinstance(value, str) and DATE.match(value) is not None
    if kind is FieldType.STRING_LIST:
        return isinstance(value, list) and all(isinstance(v, str) for v in value)
    if kind is FieldType.INT_LIST_LIST:
        pairs_ok = all(len(p) == 2 and all(isinstance(n, int) for n in p) for p in value)
        return isinstance(value, list) and len(value) == 12 and pairs_ok
    return isinstance(value, dict)


def _check_resource(record: dict, stream: Stream, sb: SandboxServer) -> None:
    assert record["type"] == stream.json_type and isinstance(record["id"], int)
    assert record["links"] == {"self": f"{sb.api_base_url}/{stream.path}/{record['id']}"}
    attributes = record["attributes"]
    for f in stream.fields:
        assert _value_matches(f.type, attributes[f.name]), (stream.name, f.name, attributes[f.name])
    assert "sandboxNote" in attributes  # an attribute the catalog does not know
    if "createdAt" in attributes and "updatedAt" in attributes:
        assert attributes["createdAt"] <= attributes["updatedAt"]
    relationships = record["relationships"]
    assert set(relationships) == stream.known_relationships  # no unknown ones by default
    for rel in stream.relationships:
        data = relationships[rel.name]["data"]
        assert data is None or (data["type"] == rel.target and isinstance(data["id"], int))
    for rel in stream.to_many:  # ids inline, a link to the related records and their count
        member = relationships[rel.name]
        assert set(member) == {"data", "links", "meta"}
        assert all(d["type"] == rel.target and isinstance(d["id"], int) for d in member["data"])
        assert member["meta"] == {"count": len(member["data"])}
        assert member["links"]["related"].startswith(sb.api_base_url)
    for name in stream.links_only:
        assert set(relationships[name]) == {"links"}
        assert relationships[name]["links"]["related"].startswith(sb.api_base_url)


def test_every_stream_serves_every_catalog_field_with_its_type(sandbox_factory):
    sb = sandbox_factory(records=12)
    session = session_for(sb)
    for stream in STREAMS:
        answer = get(session, sb, stream, **{"page[size]": 12})
        assert answer.headers["Content-Type"].startswith("application/vnd.api+json")
        body = answer.json()
        size = len(sb.truth(stream.name))  # fewer in lookup tables
        assert 0 < size <= 12 and len(body["data"]) == size == body["meta"]["count"]
        for record in body["data"]:
            _check_resource(record, stream, sb)


def test_relationships_point_at_existing_records_and_some_are_empty(sandbox_factory):
    sb = sandbox_factory(records=30, sizes={INCREMENTAL.name: 300})
    session = session_for(sb)
    records = walk(session, sb, INCREMENTAL, **{"page[size]": 1000})
    targets = [
        (rel, r["relationships"][rel.name]["data"])
        for r in records
        for rel in INCREMENTAL.relationships
    ]
    empty = sum(data is None for _, data in targets)
    assert 0.04 < empty / len(targets) < 0.2  # about one in ten, like real payloads
    for rel, data in targets:
        if data is not None and rel.target in STREAMS_BY_TYPE:
            target = STREAMS_BY_TYPE[rel.target]
            assert data["id"] in sb.truth(target.name)
    single = session.get(records[0]["links"]["self"], timeout=10).json()["data"]
    assert single == records[0]


@pytest.mark.skipif(PROSPECTS is None, reason="no prospects stream in the catalog")
def test_prospects_echo_the_updater_relationship_as_an_attribute(sandbox):
    assert PROSPECTS is not None
    for record in walk(session_for(sandbox), sandbox, PROSPECTS):
        updater = record["relationships"]["updater"]["data"]
        assert record["attributes"]["updaterId"] == (updater["id"] if updater else None)


@pytest.mark.skipif(EVENTS is None, reason="no stream with createdAt and eventAt")
def test_events_are_sometimes_back_dated(sandbox_factory):
    assert EVENTS is not None
    sb = sandbox_factory(sizes={EVENTS.name: 200})
    records = walk(session_for(sb), sb, EVENTS, **{"page[size]": 200})
    earlier = [r for r in records if r["attributes"]["eventAt"] < r["attributes"]["createdAt"]]
    assert 0 < len(earlier) < len(records)


@pytest.mark.skipif(BIG_BODIES is None, reason="no stream with bodyHtml")
def test_big_bodies_trigger_the_gateway_limit_only_on_big_pages(sandbox_factory):
    assert BIG_BODIES is not None
    sb = sandbox_factory(max_body_bytes=60_000)
    session = session_for(sb)
    record = get(session, sb, BIG_BODIES, **{"page[size]": 1}).json()["data"][0]
    assert len(record["attributes"]["bodyHtml"]) >= 2000
    answer = get(session, sb, BIG_BODIES, **{"page[size]": 40})
    assert answer.status_code == 502 and answer.text == "Bad Gateway\n"
