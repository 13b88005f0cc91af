"""List filters: classic ranges and lists, the new syntax's gte/lte, date-only and
second-precision values, and filters on ids, other timestamps and relationships."""

from outreach_assets_tests.support.wire import (
    INCREMENTAL,
    bounds,
    error_id,
    get,
    ids_between,
    session_for,
    walk,
)


def test_classic_range_filter_is_inclusive_with_open_ends(sandbox):
    session = session_for(sandbox)
    lo, hi = bounds(sandbox, INCREMENTAL)
    key = f"filter[{INCREMENTAL.cursor}]"
    cases = {f"{lo}..{hi}": (lo, hi), f"{lo}..inf": (lo, "9"), f"neginf..{hi}": ("0", hi)}
    for value, (low, high) in cases.items():
        ids = [r["id"] for r in walk(session, sandbox, INCREMENTAL, **{key: value})]
        assert ids == sorted(ids_between(sandbox, INCREMENTAL, low, high)), value
        newest_first = walk(
            session, sandbox, INCREMENTAL, sort="-id", **{key: value, "page[size]": 4}
        )
        assert [r["id"] for r in newest_first] == ids[::-1]


def test_new_filter_syntax_gte_lte_is_inclusive(sandbox):
    session = session_for(sandbox)
    lo, hi = bounds(sandbox, INCREMENTAL)
    cursor = INCREMENTAL.cursor
    params = {"newFilterSyntax": "true", f"filter[{cursor}][gte]": lo, f"filter[{cursor}][lte]": hi}
    ids = {r["id"] for r in walk(session, sandbox, INCREMENTAL, **params)}
    assert ids == ids_between(sandbox, INCREMENTAL, lo, hi)
    mixed = get(
        session,
        sandbox,
        INCREMENTAL,
        **{"newFilterSyntax": "true", f"filter[{cursor}]": f"{lo}..inf"},
    )
    assert mixed.status_code == 400 and error_id(mixed) == "filterParameter.invalidDatetimeFormat"
    classic = get(session, sandbox, INCREMENTAL, **{f"filter[{cursor}][gte]": lo})
    assert classic.status_code == 400


def test_date_only_and_second_precision_values(sandbox):
    session = session_for(sandbox)
    key = f"filter[{INCREMENTAL.cursor}]"
    date_only = {r["id"] for r in walk(session, sandbox, INCREMENTAL, **{key: "2023-07-01..inf"})}
    assert date_only == ids_between(sandbox, INCREMENTAL, "2023-07-01T00:00:00.000Z", "9")
    seconds = {
        r["id"] for r in walk(session, sandbox, INCREMENTAL, **{key: "2023-07-01T00:00:00Z..inf"})
    }
    assert seconds == date_only
    bad = get(session, sandbox, INCREMENTAL, **{key: "yesterday..inf"})
    assert bad.status_code == 400 and error_id(bad) == "filterParameter.invalidDatetimeFormat"


def test_filters_on_other_timestamps_ids_and_relationships(sandbox):
    session = session_for(sandbox)
    everything = walk(session, sandbox, INCREMENTAL, **{"page[size]": 1000})
    created = sorted(r["attributes"]["createdAt"] for r in everything)[len(everything) // 2]
    later = walk(session, sandbox, INCREMENTAL, **{"filter[createdAt]": f"{created}..inf"})
    assert {r["id"] for r in later} == {
        r["id"] for r in everything if r["attributes"]["createdAt"] >= created
    }
    assert [r["id"] for r in walk(session, sandbox, INCREMENTAL, **{"filter[id]": "3,1,5"})] == [
        1,
        3,
        5,
    ]
    assert [r["id"] for r in walk(session, sandbox, INCREMENTAL, **{"filter[id]": "2..4"})] == [
        2,
        3,
        4,
    ]
    rel = INCREMENTAL.relationships[0]
    target = next(
        r["relationships"][rel.name]["data"]
        for r in everything
        if r["relationships"][rel.name]["data"]
    )
    linked = walk(session, sandbox, INCREMENTAL, **{f"filter[{rel.name}][id]": str(target["id"])})
    assert linked and all(r["relationships"][rel.name]["data"] == target for r in linked)
    unknown = get(session, sandbox, INCREMENTAL, **{"filter[noSuchField]": "x"})
    assert unknown.status_code == 400
