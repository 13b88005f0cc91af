"""What each catalog type accepts (``convert.values``), through the reference converter:
exact conversions, and wrong-typed values moved to ``_extra`` without disturbing the rest."""

import json
from datetime import UTC, datetime

import pyarrow as pa
import pytest

from outreach_assets.catalog import FieldType, get_stream
from outreach_assets.convert import ARROW_TYPES, EXTRA_COLUMN, ConversionStats, to_record_batch
from outreach_assets_tests.support.resources import (
    EXTRACTED_AT,
    HISTOGRAM,
    TYPE_CASES,
    WRONG_TYPED,
    convert,
    distinct_page,
    extra_of,
    resource,
)


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
        # Read as UTC, but counted: Outreach always sends an offset.
        assert stats.assumed_utc == ({"updatedAt": 1} if text == "2024-02-16T19:30:18" else {})


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
