"""``convert.relationships`` and the fast path's relationship columns: to-many ids in every
shape they arrive in, malformed ones moved to ``_extra``, relationships the catalog does not
know kept in ``_extra`` and counted, and both converters making the same of all of them."""

import json
from typing import Any

import pytest

from outreach_assets.catalog import STREAMS, get_stream
from outreach_assets.convert import EXTRA_COLUMN, ArrowPageDecoder, ConversionStats
from outreach_assets_tests.support.resources import (
    API,
    EXTRACTED_AT,
    assert_same,
    body_of,
    convert,
    distinct_page,
    extra_of,
    reference_page,
    resource,
    same_as_reference,
    to_many_columns,
)

PROSPECTS = get_stream("prospects")
GOOD = {"opportunities": {"data": [{"type": "opportunity", "id": 1}]}}

MISSING = object()  # a relationship key the resource does not carry
# A to-many relationship (prospects.opportunities) in every shape it arrives in:
# (relationships of the resource, expected opportunityIds, whether the fast path reads it).
_OPPORTUNITIES = f"{API}/opportunities?filter%5Bprospect%5D%5Bid%5D=2"
TO_MANY_SHAPES = [
    (
        {
            "opportunities": {
                "data": [{"type": "opportunity", "id": 9}, {"type": "opportunity", "id": 3}],
                "links": {"related": _OPPORTUNITIES},
                "meta": {"count": 2},
            }
        },
        [9, 3],  # the API's order, not sorted
        True,
    ),
    ({"opportunities": {"data": [{"type": "opportunity", "id": 4}] * 2}}, [4, 4], True),
    ({"opportunities": {"data": [], "meta": {"count": 0}}}, [], True),
    ({"opportunities": {"data": None}}, None, True),
    ({"opportunities": {"links": {"related": _OPPORTUNITIES}}}, None, True),
    ({"opportunities": {"meta": {"count": 3}}}, None, True),
    ({"opportunities": {}}, None, True),
    ({"opportunities": None}, None, True),
    ({"opportunities": MISSING}, None, True),
    ({"opportunities": {"data": [{"id": 5}, {"type": "o", "id": 6, "meta": {}}]}}, [5, 6], True),
    # JSON:API spells ids as strings: accepted, losslessly; read_json has no strings as ids.
    ({"opportunities": {"data": [{"type": "opportunity", "id": "5"}]}}, [5], False),
    (
        {"opportunities": {"data": [{"type": "opportunity", "id": "5"}, {"id": 6}]}},
        [5, 6],
        False,
    ),
]
# A to-many ``data`` that is not an array of objects with integer ids: never coerced.
MALFORMED_TO_MANY = [
    {"type": "opportunity", "id": 5},  # to-one where the catalog says to-many
    [{"type": "opportunity"}],
    [{"type": "opportunity", "id": None}],
    [{"type": "opportunity", "id": "five"}],
    [{"type": "opportunity", "id": "-5"}],
    [{"type": "opportunity", "id": True}],
    [{"type": "opportunity", "id": 5.0}],
    [{"type": "opportunity", "id": 2**63}],
    [{"type": "opportunity", "id": 5}, None],
    [5],
    ["5"],
    [[{"type": "opportunity", "id": 5}]],
    "5",
    5,
]
# An unknown relationship ``zNew`` in three resources: (its objects, the ``_extra`` value each
# row keeps, the count in unknown_relationships, whether the fast path reads the page).
UNKNOWN_RELATIONSHIPS: list[tuple[list[Any], list[Any], int, bool]] = [
    (
        [{"data": {"type": "x", "id": 1}, "links": {"related": API}}, {"data": None}, MISSING],
        [{"id": 1, "type": "x"}, None, None],
        1,
        True,
    ),
    (
        [{"data": [{"type": "x", "id": 1}, {"type": "x", "id": 2}]}, {"data": []}, {"meta": {}}],
        [[{"id": 1, "type": "x"}, {"id": 2, "type": "x"}], [], None],
        2,  # [] is a value
        True,
    ),
    ([{"data": []}, {"data": [], "meta": {"count": 0}}, MISSING], [[], [], None], 2, True),
    ([{"links": {"related": API}}, {"links": {"related": API}}, MISSING], [None] * 3, 0, True),
    ([{"meta": {"count": 0}}, {}, {"data": None}], [None] * 3, 0, True),
    ([None, MISSING, None], [None] * 3, 0, True),
    ([{"data": {"type": "x", "id": "7"}}, MISSING, MISSING],
     [{"id": "7", "type": "x"}, None, None], 1, True),  # kept as sent: nothing to convert
    ([5, MISSING, None], [5, None, None], 1, True),  # not an object: its own data
    ([5, {"data": None}, MISSING], [5, None, None], 1, False),  # read_json: one type per key
    # read_json cannot read one type for both cardinalities: the reference converts it.
    ([{"data": {"type": "x", "id": 1}}, {"data": [{"type": "x", "id": 2}]}, MISSING],
     [{"id": 1, "type": "x"}, [{"id": 2, "type": "x"}], None], 2, False),
    # A member that is null in one object and missing in another reads alike: refused.
    ([{"data": {"type": "x", "id": 1, "meta": None}}, {"data": {"type": "x", "id": 2}}, MISSING],
     [{"id": 1, "meta": None, "type": "x"}, {"id": 2, "type": "x"}, None], 2, False),
    # Text read_json takes for a timestamp has lost its spelling: refused.
    ([{"data": "2024-01-01T00:00:00Z"}, MISSING, MISSING], ["2024-01-01T00:00:00Z", None, None],
     1, False),
]  # fmt: skip


def _rows(relationships: dict[str, Any]) -> list[dict[str, Any]]:
    """A well-formed resource, then one with ``relationships`` (the stream's defaults for
    the rest; :data:`MISSING` leaves a key out), then one carrying no relationships at all."""
    second = resource(PROSPECTS, 2, {}, relationships)
    second["relationships"] = {k: v for k, v in second["relationships"].items() if v is not MISSING}
    return [resource(PROSPECTS, 1, {}, GOOD), second, {"type": "prospect", "id": 3}]


@pytest.mark.parametrize(("relationships", "expected", "taken"), TO_MANY_SHAPES)
def test_to_many_shapes(relationships, expected, taken):
    rows = _rows(relationships)
    batch, stats = convert("prospects", rows)
    assert batch.column("opportunityIds").to_pylist() == [[1], expected, None]
    assert batch.column(EXTRA_COLUMN).to_pylist() == [None] * 3
    assert stats == ConversionStats(rows=3)
    assert same_as_reference(PROSPECTS, body_of(rows)) is taken


@pytest.mark.parametrize("data", MALFORMED_TO_MANY, ids=repr)
def test_malformed_to_many_data_moves_to_extra_and_is_refused_by_the_fast_path(data):
    rows = _rows({"opportunities": {"data": data, "meta": {"count": 1}}})
    batch, stats = convert("prospects", rows)
    assert batch.column("opportunityIds").to_pylist() == [[1], None, None]
    assert [extra_of(row) for row in batch.to_pylist()] == [
        None,
        {"relationships.opportunities": data},
        None,
    ]
    assert stats.moved_to_extra == {"relationships.opportunities": 1}
    # The other to-many columns of the same row keep their ids.
    assert batch.column("favoriteIds").to_pylist() == [
        to_many_columns(PROSPECTS, rid)["favoriteIds"] for rid in (1, 2)
    ] + [None]
    assert not same_as_reference(PROSPECTS, body_of(rows))


def test_a_to_many_relationship_that_is_not_an_object_is_kept_as_it_came():
    """A bare array is not a relationship object: it is not read as one, nor dropped."""
    bare = [{"type": "opportunity", "id": 5}]
    rows = _rows({"opportunities": bare})
    batch, stats = convert("prospects", rows)
    assert batch.column("opportunityIds").to_pylist() == [[1], None, None]
    assert extra_of(batch.to_pylist()[1]) == {"relationships.opportunities": bare}
    assert stats.moved_to_extra == {"relationships.opportunities": 1}
    assert not same_as_reference(PROSPECTS, body_of(rows))


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        ([{"type": "opportunity", "id": 5}, None], "has an item that is not an object"),
        ([{"type": "opportunity"}], "has an item without an id"),
        ([{"type": "opportunity", "id": None}], "has an item without an id"),
        ([{"type": "opportunity", "id": "5"}], "read_json"),
        ({"type": "opportunity", "id": 5}, "read_json"),
    ],
)
def test_the_fast_path_says_why_it_refuses_to_many_data(data, reason):
    decoder = ArrowPageDecoder(PROSPECTS, EXTRACTED_AT)
    assert decoder.decode(body_of(_rows({"opportunities": {"data": data}}))) is None
    assert reason in decoder.stats.last_refusal


@pytest.mark.parametrize(("objects", "kept", "count", "taken"), UNKNOWN_RELATIONSHIPS)
def test_unknown_relationships_are_kept_in_extra_and_counted(objects, kept, count, taken):
    rows = [
        resource(PROSPECTS, i + 1, {}, {} if obj is MISSING else {"zNew": obj})
        for i, obj in enumerate(objects)
    ]
    batch, stats = convert("prospects", rows)
    assert [extra_of(row) for row in batch.to_pylist()] == [
        None if value is None else {"relationships.zNew": value} for value in kept
    ]
    assert stats == ConversionStats(rows=3, unknown_relationships={"zNew": count})
    assert same_as_reference(PROSPECTS, body_of(rows)) is taken


@pytest.mark.parametrize("stream", [s for s in STREAMS if s.to_many], ids=lambda s: s.name)
def test_unknown_to_one_and_to_many_relationships_of_every_stream(stream):
    """Next to the stream's own relationships, on both paths; the known ones still convert."""
    extra = {
        "zOne": {"data": {"type": "user", "id": 5}, "links": {"related": API}},
        "zMany": {"data": [{"type": "user", "id": 6}, {"type": "user", "id": 7}]},
        "zEmpty": {"data": [], "meta": {"count": 0}},
        "zLinks": {"links": {"related": API}},
    }
    rows = [resource(stream, 1, {}, extra), resource(stream, 2, {}, {"zOne": {"data": None}})]
    batch, stats = convert(stream.name, rows)
    assert [extra_of(row) for row in batch.to_pylist()] == [
        {
            "relationships.zEmpty": [],
            "relationships.zMany": [{"id": 6, "type": "user"}, {"id": 7, "type": "user"}],
            "relationships.zOne": {"id": 5, "type": "user"},
        },
        None,
    ]
    assert stats.unknown_relationships == {"zEmpty": 1, "zLinks": 0, "zMany": 1, "zOne": 1}
    assert stats.moved_to_extra == {}
    for rid, row in enumerate(batch.to_pylist(), start=1):
        assert {r.column: row[r.column] for r in stream.to_many} == to_many_columns(stream, rid)
    assert same_as_reference(stream, body_of(rows))


def test_known_links_only_relationships_give_nothing():
    """prospects.tasks is known to carry links only; whatever it carries, it is not reported."""
    assert "tasks" in PROSPECTS.links_only
    rows = [
        resource(PROSPECTS, 1, {}, {"tasks": {"links": {"related": API}}}),
        resource(PROSPECTS, 2, {}, {"tasks": {"data": [{"type": "task", "id": 1}]}}),
        resource(PROSPECTS, 3, {}, {"tasks": {"data": None}}),
    ]
    batch, stats = convert("prospects", rows)
    assert batch.column(EXTRA_COLUMN).to_pylist() == [None] * 3
    assert stats == ConversionStats(rows=3)
    assert same_as_reference(PROSPECTS, body_of(rows))


def test_unknown_relationships_share_the_sorted_extra_object_with_everything_else():
    rows = [
        resource(
            PROSPECTS,
            1,
            {"zAttr": 1, "updaterId": 4},
            {"zRel": {"data": {"type": "user", "id": 2}}, "updater": {"data": None}},
        ),
    ]
    body = body_of(rows)
    fast = ArrowPageDecoder(PROSPECTS, EXTRACTED_AT).decode(body)
    assert fast is not None
    expected = reference_page(PROSPECTS, json.loads(body)["data"])
    assert_same(fast.value, expected)
    assert expected.batch.column(EXTRA_COLUMN).to_pylist() == [
        '{"relationships.zRel":{"id":2,"type":"user"},"updaterId":4,"zAttr":1}'
    ]
    assert expected.stats == ConversionStats(
        rows=1, unknown_attributes={"zAttr": 1}, clashes=1, unknown_relationships={"zRel": 1}
    )


@pytest.mark.parametrize("stream", [s for s in STREAMS if s.to_many], ids=lambda s: s.name)
def test_pages_with_to_many_data_take_the_fast_path(stream):
    """Every to-many relationship of every stream carrying ids: decoded, not refused, and
    each list lands in its own row and column."""
    keep = frozenset(stream.dropped_by_default)
    resources, expected = distinct_page(stream, 6)
    decoder = ArrowPageDecoder(stream, EXTRACTED_AT, keep)
    fast = decoder.decode(body_of(resources))
    assert fast is not None, decoder.stats.last_refusal
    assert_same(fast.value, reference_page(stream, resources, keep=keep))
    lists = [r.column for r in stream.to_many]
    got = fast.value.batch.select(lists).to_pylist()
    assert got == [{column: want[column] for column in lists} for want in expected]
    assert any(ids for row in got for ids in row.values())  # not all empty
    assert fast.value.stats == ConversionStats(rows=6)


def test_to_many_lists_are_right_when_the_page_is_a_slice_of_what_was_read():
    """The ids of every row come from its own array also when earlier rows hold many ids and
    later ones none, or lack the relationship object (the offsets of one shared child)."""
    shapes: list[dict[str, Any]] = [
        {"opportunities": {"data": [{"type": "opportunity", "id": i} for i in range(20)]}},
        {},
        {"opportunities": None},
        {"opportunities": {"data": []}},
        {"opportunities": {"data": [{"type": "opportunity", "id": 99}]}},
    ]
    rows = [resource(PROSPECTS, i + 1, {}, shape) for i, shape in enumerate(shapes)]
    rows[1]["relationships"] = {}
    assert same_as_reference(PROSPECTS, body_of(rows))
    batch, _ = convert("prospects", rows)
    assert batch.column("opportunityIds").to_pylist() == [list(range(20)), None, None, [], [99]]
