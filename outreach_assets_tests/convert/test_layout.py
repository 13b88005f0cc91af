"""``convert.layout``: one fixed schema per stream from the catalog alone (to-one and
to-many relationship columns, catalog entries whose columns would collide), what ``keep``
may name, the ``_extracted_at`` column and how conversion stats add up."""

from datetime import UTC, datetime, timedelta, timezone

import pyarrow as pa
import pytest

from outreach_assets.catalog import STREAMS, fields, get_stream, links, many
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
    EXTRACTED_AT,
    HISTOGRAM,
    convert,
    resource,
    sample_attributes,
    sample_relationships,
    widgets,
    wrong_value_for,
)


def test_to_many_relationships_get_list_columns_after_the_to_one_ones():
    schema = arrow_schema(get_stream("prospects"))
    relationship_columns = schema.names[schema.names.index("accountId") : -2]
    assert relationship_columns == [
        "accountId",
        "creatorId",
        "defaultPluginMappingId",
        "ownerId",
        "personaId",
        "stageId",
        "trashedByAccountId",
        "updaterId",
        "activeSequenceStateIds",
        "assignedTeamIds",
        "assignedUserIds",
        "emailAddressIds",
        "favoriteIds",
        "opportunityIds",
        "opportunityProspectRoleIds",
        "phoneNumberIds",
    ]
    opportunities = schema.field("opportunityIds")
    assert opportunities.type == pa.list_(pa.int64())
    assert opportunities.nullable
    assert opportunities.metadata == {
        b"outreach.relationship": b"opportunities",
        b"outreach.target": b"opportunity",
        b"outreach.cardinality": b"many",
    }
    # Links-only relationships have no ids inline, so no column of any kind.
    assert not {"callIds", "callsId", "taskIds", "tasksId", "batchIds"} & set(schema.names)


@pytest.mark.parametrize("stream", STREAMS, ids=lambda s: s.name)
def test_schema_layout_follows_the_catalog(stream):
    schema = arrow_schema(stream)
    kept = [f for f in stream.fields if f.name not in stream.dropped_by_default]
    columns = [r.column for r in stream.relationships]
    lists = [r.column for r in stream.to_many]
    assert schema.names == [
        "id",
        *(f.name for f in kept),
        *columns,
        *lists,
        EXTRA_COLUMN,
        EXTRACTED_AT_COLUMN,
    ]
    assert len(set(schema.names)) == len(schema.names)
    assert schema.field("id").type == pa.int64()
    assert not schema.field("id").nullable
    for f in kept:
        assert schema.field(f.name).type == ARROW_TYPES[f.type]
    for r in stream.relationships:
        assert schema.field(r.column).type == pa.int64()
        assert schema.field(r.column).metadata == {
            b"outreach.relationship": r.name.encode(),
            b"outreach.target": r.target.encode(),
        }
    for r in stream.to_many:
        assert schema.field(r.column).type == pa.list_(pa.int64())
        assert schema.field(r.column).metadata[b"outreach.relationship"] == r.name.encode()
        assert schema.field(r.column).metadata[b"outreach.target"] == r.target.encode()
        assert schema.field(r.column).metadata[b"outreach.cardinality"] == b"many"
    assert schema.field(EXTRA_COLUMN).type == pa.string()
    assert schema.field(EXTRACTED_AT_COLUMN).type == pa.timestamp("us", tz="UTC")
    assert schema.metadata[b"outreach.stream"] == stream.name.encode()
    assert schema.metadata[b"outreach.schema_version"] == SCHEMA_VERSION.encode()


def test_schema_version_says_the_to_many_columns_are_there():
    assert SCHEMA_VERSION == "2"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        # An attribute named like a to-many column: which should win is nobody's guess.
        ({"fields": fields(s="name", sl="assignedUserIds")}, "already the attribute"),
        # Dropped by default does not help: keeping it would bring the clash back.
        (
            {
                "fields": fields(s="name", sl="assignedUserIds"),
                "dropped_by_default": ("assignedUserIds",),
            },
            "already the attribute",
        ),
        ({"to_many": many("assignedUsers:user assignedUser:user")}, "to-many relationship"),
        ({"to_many": many("extras:x")}, None),  # extraIds, not _extra
        ({"links_only": links("owner")}, "twice"),
        ({"to_many": many("owner:user")}, "twice"),
    ],
)
def test_a_catalog_entry_whose_columns_would_collide_is_refused(changes, message):
    stream = widgets(**{"to_many": many("assignedUsers:user")} | changes)
    if message is None:
        assert arrow_schema(stream).names[-3] == "extraIds"
        return
    with pytest.raises(ValueError, match=message):
        arrow_schema(stream)


def test_every_catalog_stream_has_a_layout():
    """All of them, dropped-by-default attributes kept or not (the guard raises on none)."""
    assert len(STREAMS) == 47
    for stream in STREAMS:
        assert arrow_schema(stream).names[0] == "id"
        assert arrow_schema(stream, frozenset(stream.dropped_by_default)).names[0] == "id"


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


def test_stats_merge_adds_up_batches():
    total = ConversionStats(
        rows=2,
        moved_to_extra={"a": 1},
        unknown_attributes={"x": 2},
        clashes=1,
        unknown_relationships={"zLinks": 0, "zMany": 2},
    )
    total.merge(
        ConversionStats(
            rows=3,
            moved_to_extra={"a": 2, "b": 1},
            unknown_attributes={"y": 1},
            clashes=2,
            unknown_relationships={"zMany": 1, "zOne": 0},
        )
    )
    assert total == ConversionStats(
        rows=5,
        moved_to_extra={"a": 3, "b": 1},
        unknown_attributes={"x": 2, "y": 1},
        clashes=3,
        unknown_relationships={"zLinks": 0, "zMany": 3, "zOne": 0},
    )
