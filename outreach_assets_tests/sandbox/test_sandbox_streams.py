"""Every catalog stream is served: all its ids page through, cursor streams filter and sort on
their cursor (updatedAt, createdAt or timestamp) while full snapshots refuse timestamps,
lookup tables are small, and each stream needs its own scope."""

from collections.abc import Iterator

import pytest

from outreach_assets.catalog import STREAMS, STREAMS_BY_NAME, FieldType, Stream
from outreach_assets.catalog.admin import ADMIN_STREAMS
from outreach_assets.sandbox import SandboxConfig, SandboxServer
from outreach_assets_tests.conftest import SMALL_RECORDS
from outreach_assets_tests.support.wire import (
    bounds,
    cursor_of,
    error_id,
    get,
    ids_between,
    session_for,
    walk,
)

# Tables an organisation keeps a handful of records in, whatever its number of prospects.
LOOKUPS = frozenset(
    {
        "call_dispositions",
        "call_purposes",
        "duties",
        "mail_aliases",
        "opportunity_stages",
        "personas",
        "products",
        "profiles",
        "roles",
        "rulesets",
        "stages",
        "task_dispositions",
        "task_priorities",
        "task_purposes",
        "webhooks",
    }
)


def _name(stream: Stream) -> str:
    return stream.name


@pytest.fixture(scope="module")
def served() -> Iterator[SandboxServer]:
    """One server for the read-only tests below: a server per stream would cost more than
    the stream's checks."""
    with SandboxServer(SandboxConfig(records=SMALL_RECORDS)) as server:
        yield server


@pytest.mark.parametrize("stream", STREAMS, ids=_name)
def test_every_catalog_stream_pages_through_all_its_ids(served, stream):
    session = session_for(served)
    truth = served.truth(stream.name)
    assert len(truth) >= 3
    ids = [r["id"] for r in walk(session, served, stream, **{"page[size]": 2})]
    assert ids == sorted(truth)
    newest_first = walk(session, served, stream, sort="-id", **{"page[size]": 3})
    assert [r["id"] for r in newest_first] == ids[::-1]


@pytest.mark.parametrize("stream", [s for s in STREAMS if s.is_incremental], ids=_name)
def test_cursor_streams_filter_and_sort_on_their_cursor(served, stream):
    session = session_for(served)
    cursor = stream.cursor
    truth = served.truth(stream.name)
    ordered = walk(session, served, stream, sort=cursor, **{"page[size]": 3})
    keys = [(cursor_of(r, stream), r["id"]) for r in ordered]
    assert keys == sorted((text, rid) for rid, text in truth.items())
    backwards = walk(session, served, stream, sort=f"-{cursor}", **{"page[size]": 3})
    assert [(cursor_of(r, stream), r["id"]) for r in backwards] == keys[::-1]
    lo, hi = bounds(served, stream)
    classic = walk(session, served, stream, **{f"filter[{cursor}]": f"{lo}..{hi}"})
    assert {r["id"] for r in classic} == ids_between(served, stream, lo, hi)
    params = {"newFilterSyntax": "true", f"filter[{cursor}][gte]": lo, "sort": cursor}
    newer = walk(session, served, stream, **params, **{"page[size]": 2})
    assert [r["id"] for r in newer] == [rid for text, rid in keys if text >= lo]


@pytest.mark.parametrize("stream", [s for s in STREAMS if not s.is_incremental], ids=_name)
def test_full_snapshots_refuse_timestamp_filters_and_sorts(served, stream):
    session = session_for(served)
    assert set(served.truth(stream.name).values()) == {""}  # no cursor
    timestamps = [f.name for f in stream.fields if f.type is FieldType.TIMESTAMP]
    for name in timestamps or ["updatedAt"]:
        sort = get(session, served, stream, sort=name)
        assert sort.status_code == 400 and error_id(sort) == "sortParameter.invalidAttribute"
        bad = get(session, served, stream, **{f"filter[{name}]": "2023-01-01..inf"})
        assert bad.status_code == 400 and error_id(bad) == "filterParameter.invalidAttribute"


def test_lookup_tables_hold_few_records_unless_sized_by_name(sandbox_factory):
    assert set(STREAMS_BY_NAME) >= LOOKUPS
    hundred = sandbox_factory(records=100)
    sizes = {s.name: len(hundred.truth(s.name)) for s in STREAMS}
    assert all(1 <= sizes[name] <= 20 for name in LOOKUPS), sizes
    assert all(n == 100 for name, n in sizes.items() if name not in LOOKUPS)
    other_seed = sandbox_factory(records=100, seed=7)
    assert {s.name: len(other_seed.truth(s.name)) for s in STREAMS} == sizes  # deterministic
    sized = sandbox_factory(records=100, sizes={"stages": 70, "roles": 0})
    assert len(sized.truth("stages")) == 70 and sized.truth("roles") == {}
    few = sandbox_factory(records=2)
    assert all(len(few.truth(name)) <= 2 for name in LOOKUPS)


def test_relationships_into_lookup_tables_point_at_their_records(sandbox_factory):
    sb = sandbox_factory(records=100)
    lookup_types = {STREAMS_BY_NAME[name].json_type: name for name in LOOKUPS}
    checked = 0
    for stream in STREAMS:
        targets = {
            r.name: lookup_types[r.target]
            for r in (*stream.relationships, *stream.to_many)
            if r.target in lookup_types
        }
        if not targets:
            continue
        truth = sb.relationships(stream.name)
        for name, lookup in targets.items():
            existing = set(sb.truth(lookup))
            for row in truth.values():
                value = row[name]
                assert set(value if isinstance(value, list) else [value]) - {None} <= existing
            checked += 1
    assert checked >= 10


def test_every_stream_needs_its_scope_and_types_needs_none(sandbox_factory):
    none = sandbox_factory(records=3, scopes=[])
    session = session_for(none)
    for stream in STREAMS:
        answer = get(session, none, stream)
        assert answer.status_code == 403 and error_id(answer) == "unauthorizedOauthScope"
        assert stream.scope in answer.json()["errors"][0]["detail"]
    assert session.get(f"{none.api_base_url}/types", timeout=10).status_code == 200
    # Each granted, half as `<path>.read` and half as `<path>.all`.
    scopes = [s.scope for s in STREAMS[::2]] + [f"{s.path}.all" for s in STREAMS[1::2]]
    granted = sandbox_factory(records=3, scopes=scopes)
    session = session_for(granted)
    assert all(get(session, granted, s).status_code == 200 for s in STREAMS)


@pytest.mark.parametrize("stream", ADMIN_STREAMS, ids=_name)
def test_an_admin_stream_alone_without_its_scope_is_403(sandbox_factory, stream):
    """Admin streams are the ones whose scope an app is most often not granted."""
    sb = sandbox_factory(records=3, scopes=[s.scope for s in STREAMS if s is not stream])
    session = session_for(sb)
    answer = get(session, sb, stream)
    assert answer.status_code == 403 and error_id(answer) == "unauthorizedOauthScope"
    assert all(get(session, sb, s).status_code == 200 for s in STREAMS if s is not stream)
