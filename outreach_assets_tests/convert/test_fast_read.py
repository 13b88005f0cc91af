"""``convert.fast_read``: bodies the fast path reads whole (links, empty pages, raw UTF-8)
and bodies it refuses before converting a value."""

import json

import pytest

from outreach_assets.catalog import get_stream
from outreach_assets.convert import ArrowPageDecoder
from outreach_assets_tests.support.resources import (
    EXTRACTED_AT,
    NEXT,
    body_of,
    resource,
    same_as_reference,
)

PROSPECTS = get_stream("prospects")


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
