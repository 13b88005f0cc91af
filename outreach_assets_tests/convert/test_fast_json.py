"""``convert.fast_json``: unknown attributes and JSON columns that read_json inferred,
turned back into the reference's JSON text, or refused where the text cannot be recovered."""

import json
from typing import Any

import pytest

from outreach_assets.catalog import get_stream
from outreach_assets.convert import ArrowPageDecoder
from outreach_assets_tests.support.resources import (
    EXTRACTED_AT,
    assert_same,
    page_of,
    reference_page,
    same_as_reference,
)

PROSPECTS = get_stream("prospects")


UNKNOWN_VALUES = [
    # (values of an unknown attribute in three rows; MISSING = key absent), taken
    (["a", "b", "c"], True),
    (['the "quoted" one', "back\\slash", "tab\tstop"], True),
    (["Zoë", "Łódź", "rocket 🚀"], True),
    ([1, -2, 2**62], True),
    ([True, False, True], True),
    ([1.5, 2.25, -0.5], True),
    ([1.5, 2.0, 3.5], False),  # 2.0 could have been 2: read_json cannot tell
    ([1, 2.5, 3], False),
    ([{"b": 1, "a": [1, 2]}, {"b": 2, "a": []}, {"b": 3, "a": [3]}], True),
    ([{"b": 1}, {"a": 2}, {"b": 3}], True),  # keys missing in some objects, none null
    ([{"b": 1}, {"a": None}, {"b": 3}], False),  # null or missing: the body says null
    ([["x", None], [], ["y"]], True),
    (["a", "MISSING", "c"], True),
    (["a", None, "c"], True),  # null and missing are alike: neither is a value
    (["a", None, "MISSING"], True),
    ([None, None, None], True),
    ([None, "MISSING", None], True),
    (["2024-01-01T00:00:00.000Z", "2024-01-02T00:00:00.000Z", "MISSING"], True),
    (["2024-01-01", "later", "MISSING"], True),
]


@pytest.mark.parametrize(("values", "taken"), UNKNOWN_VALUES)
def test_unknown_attributes(values, taken):
    rows = [
        {"firstName": str(i)} | ({} if v == "MISSING" else {"zNew": v})
        for i, v in enumerate(values)
    ]
    assert same_as_reference(PROSPECTS, page_of(PROSPECTS, rows)) is taken


def test_unknown_attribute_counts_rows_with_a_value_on_both_paths():
    """A new attribute Outreach sends as null on most records keeps the page on the fast path,
    and both paths list it with the rows that had a value."""
    rows: list[dict[str, Any]] = [{"zNew": "a"}, {"zNew": None}, {}, {"zAlwaysNull": None}]
    body = page_of(PROSPECTS, rows)
    fast = ArrowPageDecoder(PROSPECTS, EXTRACTED_AT).decode(body)
    assert fast is not None
    assert_same(fast.value, reference_page(PROSPECTS, json.loads(body)["data"]))
    assert fast.value.stats.unknown_attributes == {"zAlwaysNull": 0, "zNew": 1}


@pytest.mark.parametrize(
    ("payloads", "taken"),
    [
        (
            [{"kind": "a", "count": 1, "labels": ["x"]}, {"kind": "b", "count": 2, "labels": []}],
            True,
        ),
        ([None, None], True),
        (["plain", "text"], True),
        ([{"kind": "a"}, {"count": 2}], True),  # payloads differ by event type
        ([{"kind": "a", "at": {"x": 1}}, {"at": {"y": [1, None]}}, None], True),
        ([[{"a": 1}, None, {"b": "x"}], []], True),
        ([{"kind": None}, {"kind": "b"}], False),
        ([{"kind": "a"}, {"kind": "b", "count": None}], False),
        ([[{"y": 2, "x": "é"}], []], True),
        ([1, 2.5], False),
    ],
)
def test_json_attributes(payloads, taken):
    events = get_stream("events")
    assert same_as_reference(events, page_of(events, [{"payload": p} for p in payloads])) is taken


def test_json_objects_with_missing_keys_are_refused_when_the_key_is_null_anywhere():
    """A missing key and ``null`` read alike; a ``"count": null`` elsewhere in the body (here
    an unknown attribute) makes the fast path unable to tell which, so it steps aside."""
    events = get_stream("events")
    rows: list[dict[str, Any]] = [{"payload": {"kind": "a"}}, {"payload": {"count": 2}}]
    assert same_as_reference(events, page_of(events, rows))
    rows[0]["zOther"] = {"count": None, "kind": "x"}
    rows[1]["zOther"] = {"count": 1, "kind": "y"}
    assert not same_as_reference(events, page_of(events, rows))
