"""``convert.extra``: the ``_extra`` column, the same text from both of its forms."""

import json
from typing import Any

import pyarrow as pa

from outreach_assets.catalog import get_stream
from outreach_assets.convert import EXTRA_COLUMN, to_record_batch
from outreach_assets.convert.extra import (
    RowExtras,
    extra_from_dicts,
    extra_from_fragments,
    put_extra,
)
from outreach_assets.jsontext import canonical
from outreach_assets_tests.support.resources import (
    EXTRACTED_AT,
    body_of,
    resource,
    same_as_reference,
)

PROSPECTS = get_stream("prospects")


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


# --- the two forms of the column, directly ---------------------------------------------------

LEFTOVERS: list[dict[str, Any] | None] = [
    {"zeta": 1, "alpha": "a", "relationships.owner": {"type": "user"}},
    None,
    {"payload": [1, {"b": None, "a": "é"}]},
    {"zeta": None},
    None,
]


def by_dicts(rows: list[dict[str, Any] | None]) -> pa.Array:
    extra: RowExtras = [None] * len(rows)
    for i, row in enumerate(rows):
        for key, value in (row or {}).items():
            put_extra(extra, i, key, value)
    return extra_from_dicts(extra)


def by_fragments(rows: list[dict[str, Any] | None]) -> pa.Array:
    keys = sorted({key for row in rows for key in row or {}}, reverse=True)  # order is ours
    entries = [
        (key, pa.array([canonical(row[key]) if row and key in row else None for row in rows]))
        for key in keys
    ]
    return extra_from_fragments(entries, len(rows))


def test_both_forms_write_the_same_sorted_compact_text():
    expected = [None if row is None else canonical(row) for row in LEFTOVERS]
    assert by_dicts(LEFTOVERS).to_pylist() == expected
    assert by_fragments(LEFTOVERS).equals(by_dicts(LEFTOVERS))
    assert expected[0] == '{"alpha":"a","relationships.owner":{"type":"user"},"zeta":1}'


def test_rows_without_leftovers_are_null_in_both_forms():
    """Nulls only, never ``{}``: a row with nothing aside must not look like one with something."""
    rows: list[dict[str, Any] | None] = [None, None, None]
    assert by_dicts(rows).equals(pa.nulls(3, pa.string()))
    assert extra_from_fragments([], 3).equals(pa.nulls(3, pa.string()))
    null_texts = [("zNew", pa.nulls(3, pa.string()))]
    assert extra_from_fragments(null_texts, 3).to_pylist() == [None, None, None]


def test_put_extra_keeps_the_last_value_of_a_key():
    extra: RowExtras = [None, None]
    put_extra(extra, 1, "a", 1)
    put_extra(extra, 1, "a", 2)
    assert extra == [None, {"a": 2}]
