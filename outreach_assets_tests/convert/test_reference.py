"""records.py: JSON:API resources in the shape of outreach-api.md 2.2 -> fixed-schema batches."""

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pyarrow as pa
import pytest

from outreach_assets.catalog import (
    STREAMS,
    FieldType,
    Replication,
    Stream,
    fields,
    get_stream,
    rels,
)
from outreach_assets.convert import (
    ARROW_TYPES,
    EXTRA_COLUMN,
    EXTRACTED_AT_COLUMN,
    ConversionStats,
    arrow_schema,
    to_record_batch,
)
from outreach_assets.convert.layout import SCHEMA_VERSION
from outreach_assets_tests.support.resources import (
    CLASH_STREAMS,
    CONTACTS,
    HISTOGRAM,
    RELATIONSHIP_SHAPES,
    SAMPLES,
    TYPE_CASES,
    WRONG_TYPED,
    distinct_page,
    resource,
    sample_attributes,
    sample_relationships,
)

EXTRACTED_AT = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)


def convert(
    stream_name: str,
    resources: list[dict[str, Any]],
    keep: frozenset[str] = frozenset(),
) -> tuple[pa.RecordBatch, ConversionStats]:
    batch, stats = to_record_batch(get_stream(stream_name), resources, EXTRACTED_AT, keep=keep)
    assert batch.schema.equals(arrow_schema(get_stream(stream_name), keep), check_metadata=True)
    return batch, stats


def extra_of(row: dict[str, Any]) -> dict[str, Any] | None:
    text = row[EXTRA_COLUMN]
    return None if text is None else json.loads(text)


# --- every field type ----------------------------------------------------------------------


@pytest.mark.parametrize(("stream_name", "name", "value", "expected"), TYPE_CASES)
def test_each_field_type_converts_exactly(stream_name, name, value, expected):
    stream = get_stream(stream_name)
    batch, stats = convert(stream_name, [resource(stream, 1, {name: value})])
    assert batch.schema.field(name).type == ARROW_TYPES[stream.field(name).type]
    row = batch.to_pylist()[0]
    assert row[name] == expected
    assert type(row[name]) is type(expected)
    assert row[EXTRA_COLUMN] is None
    assert stats == ConversionStats(rows=1)


def test_int_list_list_kept_converts():
    stream = get_stream("prospects")
    histogram = [[1, 2], [0, 0], [5, 3.0]]
    batch, stats = convert(
        "prospects", [resource(stream, 1, {"contactHistogram": histogram})], HISTOGRAM
    )
    assert batch.schema.field("contactHistogram").type == pa.list_(pa.list_(pa.int64()))
    assert batch.column("contactHistogram").to_pylist() == [[[1, 2], [0, 0], [5, 3]]]
    assert stats.moved_to_extra == {}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-02-16T19:30:18.000Z", datetime(2024, 2, 16, 19, 30, 18)),
        ("2024-02-16T19:30:18Z", datetime(2024, 2, 16, 19, 30, 18)),
        ("2024-02-16T19:30:18.123Z", datetime(2024, 2, 16, 19, 30, 18, 123000)),
        ("2024-02-16T21:30:18+02:00", datetime(2024, 2, 16, 19, 30, 18)),
        ("2024-02-16T14:30:18.500-05:00", datetime(2024, 2, 16, 19, 30, 18, 500000)),
        ("2024-02-17T01:00:18+05:30", datetime(2024, 2, 16, 19, 30, 18)),
        ("2024-02-16T19:30:18", datetime(2024, 2, 16, 19, 30, 18)),  # no offset: UTC
        ("2024-02-16T19:30:18.123456789Z", datetime(2024, 2, 16, 19, 30, 18, 123456)),
    ],
)
def test_timestamps_normalize_to_utc(text, expected):
    stream = get_stream("prospects")
    outreach_shaped = "2024-01-01T00:00:00.000Z"
    # Alone, and next to an Outreach-shaped value so both the fast and per-value paths run.
    for values in ([text], [outreach_shaped, text]):
        batch, stats = convert(
            "prospects", [resource(stream, i + 1, {"updatedAt": v}) for i, v in enumerate(values)]
        )
        column = batch.column("updatedAt")
        assert column.type == pa.timestamp("us", tz="UTC")
        assert column.to_pylist()[-1] == expected.replace(tzinfo=UTC)
        assert stats.moved_to_extra == {}


def test_nulls_everywhere_give_null_columns_and_no_extra():
    stream = get_stream("prospects")
    attributes = {f.name: None for f in stream.fields}
    relationships = {r.name: {"data": None} for r in stream.relationships}
    bare = {"type": "prospect", "id": 2}  # no attributes, relationships or links at all
    batch, stats = convert("prospects", [resource(stream, 1, attributes, relationships), bare])
    for name in batch.schema.names:
        column = batch.column(name)
        if name in ("id", EXTRACTED_AT_COLUMN):
            assert column.null_count == 0
        else:
            assert column.null_count == 2, name
    assert stats == ConversionStats(rows=2)


# --- relationships -------------------------------------------------------------------------


@pytest.mark.parametrize(("relationships", "expected"), RELATIONSHIP_SHAPES)
def test_relationship_shapes(relationships, expected):
    stream = get_stream("prospects")
    good = resource(stream, 1, {}, {"owner": {"data": {"type": "user", "id": 9}}})
    batch, stats = convert("prospects", [good, resource(stream, 2, {}, relationships)])
    assert batch.column("ownerId").to_pylist() == [9, expected]
    assert batch.column(EXTRA_COLUMN).to_pylist() == [None, None]
    assert stats == ConversionStats(rows=2)


def test_to_many_relationships_get_no_column():
    schema = arrow_schema(get_stream("prospects"))
    assert "favoritesId" not in schema.names
    assert "tasksId" not in schema.names
    assert "opportunitiesId" not in schema.names


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


# --- attribute/relationship clashes ----------------------------------------------------------


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
    widgets = Stream(
        name="widgets",
        path="widgets",
        json_type="widget",
        replication=Replication.FULL_SNAPSHOT,
        cursor=None,
        fields=fields(s="name", i="ownerId"),
        relationships=rels("owner:user"),
    )
    assert arrow_schema(widgets).names == [
        "id",
        "name",
        "ownerId",
        EXTRA_COLUMN,
        EXTRACTED_AT_COLUMN,
    ]
    rows = [
        resource(
            widgets, 1, {"name": "a", "ownerId": 7}, {"owner": {"data": {"type": "user", "id": 8}}}
        ),
        resource(
            widgets, 2, {"name": "b", "ownerId": 9}, {"owner": {"data": {"type": "user", "id": 9}}}
        ),
    ]
    batch, stats = to_record_batch(widgets, rows, EXTRACTED_AT)
    assert batch.column("ownerId").to_pylist() == [8, 9]
    assert batch.column(EXTRA_COLUMN).to_pylist() == ['{"ownerId":7}', None]
    assert stats.clashes == 1


# --- unknown and wrong-typed values -------------------------------------------------------


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


@pytest.mark.parametrize(("stream_name", "name", "value"), WRONG_TYPED)
def test_wrong_typed_value_moves_to_extra_and_is_counted(stream_name, name, value):
    stream = get_stream(stream_name)
    good = {
        FieldType.STRING: "ok",
        FieldType.INTEGER: 4,
        FieldType.NUMBER: 4.5,
        FieldType.BOOLEAN: False,
        FieldType.TIMESTAMP: "2024-02-16T19:30:18.000Z",
        FieldType.DATE: "1990-05-17",
        FieldType.STRING_LIST: ["ok"],
        FieldType.INT_LIST_LIST: [[1, 2]],
    }[stream.field(name).type]
    keep = HISTOGRAM if name == "contactHistogram" else frozenset()
    rows = [
        resource(stream, 1, {name: good}),
        resource(stream, 2, {name: value}),
        resource(stream, 3, {name: None}),
    ]
    batch, stats = convert(stream_name, rows, keep)
    expected_good = batch.column(name).to_pylist()[0]
    assert expected_good is not None
    assert batch.column(name).to_pylist() == [expected_good, None, None]
    assert [extra_of(r) for r in batch.to_pylist()] == [None, {name: value}, None]
    assert stats.moved_to_extra == {name: 1}


@pytest.mark.parametrize("stream_name", ["prospects", "users", "mailboxes", "events"])
def test_every_value_lands_in_its_own_row_and_column(stream_name):
    stream = get_stream(stream_name)
    keep = frozenset(stream.dropped_by_default)
    resources, expected = distinct_page(stream, 5)
    batch, stats = to_record_batch(stream, resources, EXTRACTED_AT, keep=keep)
    for row, want in zip(batch.to_pylist(), expected, strict=True):
        assert {name: row[name] for name in want} == want
        assert row[EXTRA_COLUMN] is None
    assert stats == ConversionStats(rows=5)


@pytest.mark.parametrize(
    ("name", "bad"),
    [
        ("optedOut", "yes"),
        ("firstName", 5),
        ("clickCount", 3.7),
        ("score", "high"),
        ("updatedAt", "soon"),
        ("dateOfBirth", "1990-13-01"),
        ("tags", "vip"),
        ("contactHistogram", [[0.5]]),
    ],
)
def test_a_wrong_value_does_not_disturb_the_other_cells(name, bad):
    """One bad value sends its type off the fast path; every other cell must stay the same."""
    stream = get_stream("prospects")
    resources, expected = distinct_page(stream, 4)
    resources[2]["attributes"][name] = bad
    expected[2][name] = None
    batch, stats = to_record_batch(stream, resources, EXTRACTED_AT, keep=HISTOGRAM)
    for row, want in zip(batch.to_pylist(), expected, strict=True):
        assert {key: row[key] for key in want} == want
    assert batch.column(EXTRA_COLUMN).to_pylist() == [
        None,
        None,
        json.dumps({name: bad}, separators=(",", ":")),
        None,
    ]
    assert stats.moved_to_extra == {name: 1}


# --- the schema ----------------------------------------------------------------------------


@pytest.mark.parametrize("stream", STREAMS, ids=lambda s: s.name)
def test_schema_layout_follows_the_catalog(stream):
    schema = arrow_schema(stream)
    kept = [f for f in stream.fields if f.name not in stream.dropped_by_default]
    columns = [r.column for r in stream.relationships]
    assert schema.names == [
        "id",
        *(f.name for f in kept),
        *columns,
        EXTRA_COLUMN,
        EXTRACTED_AT_COLUMN,
    ]
    assert len(set(schema.names)) == len(schema.names)
    assert schema.field("id").type == pa.int64()
    assert not schema.field("id").nullable
    for f in kept:
        assert schema.field(f.name).type == ARROW_TYPES[f.type]
    for column in columns:
        assert schema.field(column).type == pa.int64()
    assert schema.field(EXTRA_COLUMN).type == pa.string()
    assert schema.field(EXTRACTED_AT_COLUMN).type == pa.timestamp("us", tz="UTC")
    assert schema.metadata[b"outreach.stream"] == stream.name.encode()
    assert schema.metadata[b"outreach.schema_version"] == SCHEMA_VERSION.encode()


@pytest.mark.parametrize("stream_name", ["prospects", "events", "users", "duties"])
def test_schema_is_identical_whatever_the_batch_holds(stream_name):
    stream = get_stream(stream_name)
    full = resource(stream, 1, sample_attributes(stream), sample_relationships(stream))
    empty_values = resource(stream, 2, {f.name: None for f in stream.fields})
    odd = resource(stream, 3, {f.name: wrong_value_for(f.type) for f in stream.fields} | {"new": 1})
    batches = [[], [full], [empty_values], [odd], [full, empty_values, odd]]
    schemas = [to_record_batch(stream, b, EXTRACTED_AT)[0].schema for b in batches]
    for schema in schemas:
        assert schema.equals(arrow_schema(stream), check_metadata=True)


def test_contact_histogram_dropped_by_default_and_kept_on_request():
    stream = get_stream("prospects")
    histogram = [[1, 0]] * 12
    rows = [resource(stream, 1, {"contactHistogram": histogram, "firstName": "Sally"})]
    dropped, stats = convert("prospects", rows)
    assert "contactHistogram" not in dropped.schema.names
    assert dropped.column(EXTRA_COLUMN).to_pylist() == [None]  # discarded, not kept aside
    assert stats == ConversionStats(rows=1)
    kept, _ = convert("prospects", rows, HISTOGRAM)
    assert kept.column("contactHistogram").to_pylist() == [histogram]
    names = kept.schema.names
    assert [n for n in names if n != "contactHistogram"] == dropped.schema.names
    catalog_order = [f.name for f in stream.fields]
    assert names.index("contactHistogram") == 1 + catalog_order.index("contactHistogram")


@pytest.mark.parametrize(
    ("stream_name", "keep"),
    [
        ("accounts", HISTOGRAM),
        ("prospects", frozenset({"firstName"})),
        ("prospects", frozenset({"contactHistogramm"})),
    ],
)
def test_keep_only_accepts_dropped_attributes(stream_name, keep):
    with pytest.raises(ValueError, match="only attributes it drops by default"):
        arrow_schema(get_stream(stream_name), keep)


# --- every stream, end to end ----------------------------------------------------------------


def wrong_value_for(kind: FieldType) -> Any:
    return "wrong" if kind is not FieldType.STRING else 1


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
    assert row[EXTRA_COLUMN] is None
    assert row[EXTRACTED_AT_COLUMN] == EXTRACTED_AT
    assert stats == ConversionStats(rows=1)


# --- batch-level rules -----------------------------------------------------------------------


def test_extracted_at_is_the_callers_time_in_utc_for_every_row():
    stream = get_stream("stages")
    at = datetime(2024, 3, 1, 14, 0, 0, 123456, tzinfo=timezone(timedelta(hours=2)))
    batch, _ = to_record_batch(stream, [resource(stream, i, {"name": "x"}) for i in (1, 2, 3)], at)
    expected = datetime(2024, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)
    assert batch.column(EXTRACTED_AT_COLUMN).to_pylist() == [expected] * 3
    assert batch.schema.field(EXTRACTED_AT_COLUMN).type == pa.timestamp("us", tz="UTC")


def test_naive_extracted_at_is_refused():
    with pytest.raises(ValueError, match="timezone-aware"):
        to_record_batch(get_stream("stages"), [], datetime(2024, 3, 1))


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


def test_stats_merge_adds_up_batches():
    total = ConversionStats(rows=2, moved_to_extra={"a": 1}, unknown_attributes={"x": 2}, clashes=1)
    total.merge(
        ConversionStats(
            rows=3, moved_to_extra={"a": 2, "b": 1}, unknown_attributes={"y": 1}, clashes=2
        )
    )
    assert total == ConversionStats(
        rows=5, moved_to_extra={"a": 3, "b": 1}, unknown_attributes={"x": 2, "y": 1}, clashes=3
    )
