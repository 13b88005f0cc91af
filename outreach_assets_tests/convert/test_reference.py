"""``convert.reference``: parsed JSON:API resources -> fixed-schema batches: ids, to-one
relationships, name clashes, unknown attributes, and the input refused outright."""

import pyarrow as pa
import pytest

from outreach_assets.catalog import STREAMS, fields, get_stream
from outreach_assets.convert import (
    EXTRA_COLUMN,
    EXTRACTED_AT_COLUMN,
    ConversionStats,
    arrow_schema,
    to_record_batch,
)
from outreach_assets_tests.support.resources import (
    CLASH_STREAMS,
    CONTACTS,
    EXTRACTED_AT,
    RELATIONSHIP_SHAPES,
    SAMPLES,
    convert,
    extra_of,
    resource,
    sample_attributes,
    sample_relationships,
    to_many_columns,
    widgets,
)


def test_nulls_everywhere_give_null_columns_and_no_extra():
    stream = get_stream("prospects")
    attributes = {f.name: None for f in stream.fields}
    relationships = {r.name: {"data": None} for r in (*stream.relationships, *stream.to_many)}
    bare = {"type": "prospect", "id": 2}  # no attributes, relationships or links at all
    batch, stats = convert("prospects", [resource(stream, 1, attributes, relationships), bare])
    for name in batch.schema.names:
        column = batch.column(name)
        if name in ("id", EXTRACTED_AT_COLUMN):
            assert column.null_count == 0
        else:
            assert column.null_count == 2, name
    assert stats == ConversionStats(rows=2)


@pytest.mark.parametrize(("relationships", "expected"), RELATIONSHIP_SHAPES)
def test_relationship_shapes(relationships, expected):
    stream = get_stream("prospects")
    good = resource(stream, 1, {}, {"owner": {"data": {"type": "user", "id": 9}}})
    batch, stats = convert("prospects", [good, resource(stream, 2, {}, relationships)])
    assert batch.column("ownerId").to_pylist() == [9, expected]
    assert batch.column(EXTRA_COLUMN).to_pylist() == [None, None]
    assert stats == ConversionStats(rows=2)


@pytest.mark.parametrize(
    "data",
    [
        [{"type": "user", "id": 5}],  # to-many where the catalog says to-one
        {"type": "user"},
        {"type": "user", "id": "five"},
        {"type": "user", "id": True},
        "5",
    ],
)
def test_malformed_relationship_moves_to_extra(data):
    row_batch, stats = convert(
        "prospects", [resource(get_stream("prospects"), 1, {}, {"owner": {"data": data}})]
    )
    row = row_batch.to_pylist()[0]
    assert row["ownerId"] is None
    assert extra_of(row) == {"relationships.owner": data}
    assert stats.moved_to_extra == {"relationships.owner": 1}


@pytest.mark.parametrize(("stream_name", "relationship", "column"), CLASH_STREAMS)
@pytest.mark.parametrize(
    "case",
    [
        (5, 5, 5, None),  # same id: redundant, dropped
        ("5", 5, 5, None),  # same id spelled as a string
        (None, 5, 5, None),
        (6, 5, 5, 6),  # disagrees: the relationship wins, the attribute is kept
        (6, None, None, 6),
        ("x", 5, 5, "x"),
        (True, 1, 1, True),  # True == 1 in Python, but it is not the id 1
    ],
)
def test_clash_relationship_wins_and_differing_attribute_is_kept(
    stream_name, relationship, column, case
):
    """case: (attribute value, relationship id, expected column value, expected _extra)."""
    attribute, related, expected_column, expected_extra = case
    stream = get_stream(stream_name)
    data = None if related is None else {"type": relationship, "id": related}
    batch, stats = convert(
        stream_name, [resource(stream, 1, {column: attribute}, {relationship: {"data": data}})]
    )
    assert batch.schema.names.count(column) == 1
    assert batch.schema.field(column).type == pa.int64()
    row = batch.to_pylist()[0]
    assert row[column] == expected_column
    assert extra_of(row) == (None if expected_extra is None else {column: expected_extra})
    assert stats.clashes == (0 if expected_extra is None else 1)
    assert stats.unknown_attributes == {}


def test_catalog_field_named_like_a_relationship_column_yields_to_it():
    stream = widgets(fields=fields(s="name", i="ownerId"))
    assert arrow_schema(stream).names == [
        "id",
        "name",
        "ownerId",
        EXTRA_COLUMN,
        EXTRACTED_AT_COLUMN,
    ]
    rows = [
        resource(
            stream, 1, {"name": "a", "ownerId": 7}, {"owner": {"data": {"type": "user", "id": 8}}}
        ),
        resource(
            stream, 2, {"name": "b", "ownerId": 9}, {"owner": {"data": {"type": "user", "id": 9}}}
        ),
    ]
    batch, stats = to_record_batch(stream, rows, EXTRACTED_AT)
    assert batch.column("ownerId").to_pylist() == [8, 9]
    assert batch.column(EXTRA_COLUMN).to_pylist() == ['{"ownerId":7}', None]
    assert stats.clashes == 1


def test_unknown_attributes_are_kept_in_extra():
    stream = get_stream("prospects")
    rows = [
        resource(
            stream,
            1,
            {"firstName": "Sally", "zNewField": "x", "emailContacts": CONTACTS, "nullOne": None},
        ),
        resource(stream, 2, {"firstName": "Omar", "zNewField": None}),
        resource(stream, 3, {"firstName": "Mei"}),
    ]
    batch, stats = convert("prospects", rows)
    assert batch.column("firstName").to_pylist() == ["Sally", "Omar", "Mei"]
    assert batch.column(EXTRA_COLUMN).to_pylist() == [
        '{"emailContacts":[{"email":"s@x.io","id":1}],"zNewField":"x"}',
        None,  # a null value carries nothing
        None,
    ]
    # Rows that gave the attribute a value: a null counts like a missing key.
    assert stats.unknown_attributes == {"emailContacts": 1, "nullOne": 0, "zNewField": 1}
    assert stats.moved_to_extra == {}


@pytest.mark.parametrize("stream", STREAMS, ids=lambda s: s.name)
def test_every_stream_converts_a_synthetic_record(stream):
    keep = frozenset(stream.dropped_by_default)
    record = resource(stream, 77, sample_attributes(stream), sample_relationships(stream))
    batch, stats = to_record_batch(stream, [record], EXTRACTED_AT, keep=keep)
    assert batch.schema.equals(arrow_schema(stream, keep))
    row = batch.to_pylist()[0]
    assert row["id"] == 77
    for f in stream.fields:
        assert row[f.name] == SAMPLES[f.type][1], f.name
    for i, r in enumerate(stream.relationships):
        assert row[r.column] == 100 + i
    assert {r.column: row[r.column] for r in stream.to_many} == to_many_columns(stream, 77)
    assert row[EXTRA_COLUMN] is None
    assert row[EXTRACTED_AT_COLUMN] == EXTRACTED_AT
    assert stats == ConversionStats(rows=1)


def test_ids_as_decimal_strings_are_accepted():
    stream = get_stream("stages")
    batch, _ = convert("stages", [resource(stream, "12", {}), resource(stream, 13, {})])
    assert batch.column("id").to_pylist() == [12, 13]


@pytest.mark.parametrize("bad_id", [None, "x", 1.5, True, 2**63])
def test_resource_without_an_integer_id_is_refused(bad_id):
    stream = get_stream("stages")
    with pytest.raises(ValueError, match="has no integer id"):
        to_record_batch(
            stream, [resource(stream, 1, {}), resource(stream, bad_id, {})], EXTRACTED_AT
        )


def test_resources_of_another_type_are_refused():
    """Airbyte's sequence_steps once returned sequenceStates; such rows must not land."""
    states = get_stream("sequence_states")
    with pytest.raises(ValueError, match="expects JSON:API type 'sequenceStep'"):
        to_record_batch(get_stream("sequence_steps"), [resource(states, 1, {})], EXTRACTED_AT)


def test_non_object_attributes_are_refused():
    stream = get_stream("stages")
    record = resource(stream, 1, {}) | {"attributes": ["name", "x"]}
    with pytest.raises(ValueError, match="'attributes' is list, not a JSON object"):
        to_record_batch(stream, [record], EXTRACTED_AT)
