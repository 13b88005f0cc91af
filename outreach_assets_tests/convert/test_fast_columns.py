"""``convert.fast_columns``: typed attributes, relationship ids and clashes read by the
fast path exactly as the reference converts them, or refused where read_json reads otherwise."""

import json

import pytest

from outreach_assets.catalog import get_stream
from outreach_assets_tests.support.resources import (
    CLASH_STREAMS,
    HISTOGRAM,
    RELATIONSHIP_SHAPES,
    TYPE_CASES,
    WRONG_TYPED,
    body_of,
    page_of,
    resource,
    same_as_reference,
)

PROSPECTS = get_stream("prospects")


# Values read_json reads otherwise than json.loads (an integral float is no integer to it) or
# that Arrow's cast cannot parse (the reference then parses them one by one): refused.
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
        # Arrow's cast refuses these; the reference parses them value by value.
        ("2024-02-16T19:30:18", False),
        ("2024-02-16", False),
        ("2024-02-16T19:30:18.123456789Z", False),
    ],
)
def test_timestamps_are_cast_as_the_reference_casts_them(text, taken):
    body = page_of(PROSPECTS, [{"updatedAt": "2024-01-01T00:00:00.000Z"}, {"updatedAt": text}])
    assert same_as_reference(PROSPECTS, body) is taken


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


@pytest.mark.parametrize("number", [b"-0", b"-0.0", b"1e400"])
def test_numbers_read_json_reads_otherwise_are_refused(number):
    """json.loads makes -0 the integer 0 and 1e400 infinity; read_json does neither."""
    body = page_of(PROSPECTS, [{"score": 1.5}, {}]).replace(b"1.5", number)
    assert not same_as_reference(PROSPECTS, body)
