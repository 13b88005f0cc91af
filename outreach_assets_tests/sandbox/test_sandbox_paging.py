"""Sorts, page sizes and keyset cursors: every record once, links that keep the request's
parameters, and the 400s and 404s for what Outreach refuses."""

import base64
import json
from urllib.parse import parse_qsl, urlsplit

from outreach_assets.catalog import FieldType
from outreach_assets_tests.support.wire import (
    INCREMENTAL,
    SNAPSHOT,
    bounds,
    cursor_of,
    error_id,
    get,
    ids_between,
    session_for,
    walk,
)


def test_sort_ascending_and_descending_breaks_ties_by_id(sandbox):
    tied = sandbox.touch(INCREMENTAL.name, count=6)  # one instant for all six: ties
    session = session_for(sandbox)
    cursor = INCREMENTAL.cursor
    ascending = walk(session, sandbox, INCREMENTAL, sort=cursor, **{"page[size]": 4})
    keys = [(cursor_of(r, INCREMENTAL), r["id"]) for r in ascending]
    assert keys == sorted(keys) and len(keys) == len(sandbox.truth(INCREMENTAL.name))
    assert [rid for _, rid in keys[-6:]] == tied
    descending = walk(session, sandbox, INCREMENTAL, sort=f"-{cursor}", **{"page[size]": 4})
    assert [(cursor_of(r, INCREMENTAL), r["id"]) for r in descending] == keys[::-1]


def test_sort_on_an_unindexed_attribute(sandbox):
    session = session_for(sandbox)
    for sort, reverse in (("createdAt", False), ("-createdAt", True)):
        records = walk(session, sandbox, INCREMENTAL, sort=sort, **{"page[size]": 7})
        keys = [(r["attributes"]["createdAt"], r["id"]) for r in records]
        assert keys == sorted(keys, reverse=reverse) and len(keys) == 40


def test_pagination_returns_every_record_once_and_next_links_keep_parameters(sandbox):
    session = session_for(sandbox)
    lo, _ = bounds(sandbox, INCREMENTAL)
    params = {
        "sort": INCREMENTAL.cursor,
        "count": "false",
        "newFilterSyntax": "true",
        f"filter[{INCREMENTAL.cursor}][gte]": lo,
        "page[size]": "3",
    }
    answer = get(session, sandbox, INCREMENTAL, **params)
    links = answer.json()["links"]
    assert links["first"] == answer.url
    next_url = links["next"]
    assert next_url.startswith(f"{sandbox.api_base_url}/{INCREMENTAL.path}?")
    assert "%5B" in next_url and "[" not in next_url  # URL-encoded
    carried = dict(parse_qsl(urlsplit(next_url).query))
    assert {k: carried[k] for k in params} == params and carried["page[after]"]
    ids = [r["id"] for r in walk(session, sandbox, INCREMENTAL, **params)]
    assert sorted(ids) == sorted(ids_between(sandbox, INCREMENTAL, lo, "9"))
    assert len(ids) == len(set(ids))


def test_snapshot_stream_pages_by_id_and_refuses_timestamp_filters(sandbox):
    session = session_for(sandbox)
    ids = [r["id"] for r in walk(session, sandbox, SNAPSHOT, **{"page[size]": 6})]
    assert ids == sorted(sandbox.truth(SNAPSHOT.name)) and set(
        sandbox.truth(SNAPSHOT.name).values()
    ) == {""}
    timestamp = next(
        (f.name for f in SNAPSHOT.fields if f.type is FieldType.TIMESTAMP), "updatedAt"
    )
    assert get(session, sandbox, SNAPSHOT, sort=timestamp).status_code == 400


def test_empty_result_has_no_links_and_count_false_drops_the_count(sandbox):
    session = session_for(sandbox)
    empty = get(
        session, sandbox, INCREMENTAL, **{f"filter[{INCREMENTAL.cursor}]": "2030-01-01..inf"}
    )
    assert empty.json() == {"data": [], "meta": {"count": 0, "count_truncated": False}}
    quiet = get(session, sandbox, INCREMENTAL, count="false")
    assert quiet.json()["meta"] == {} and len(quiet.json()["data"]) == 40


def test_page_size_default_maximum_and_limits(sandbox_factory):
    sb = sandbox_factory(records=60)
    session = session_for(sb)
    assert len(get(session, sb, INCREMENTAL).json()["data"]) == 50
    assert len(get(session, sb, INCREMENTAL, **{"page[size]": 1000}).json()["data"]) == 60
    for bad in ("1001", "0", "ten"):
        answer = get(session, sb, INCREMENTAL, **{"page[size]": bad})
        assert answer.status_code == 400 and answer.json()["errors"][0]["detail"]


def test_bad_cursors_and_unknown_routes(sandbox):
    session = session_for(sandbox)
    assert get(session, sandbox, INCREMENTAL, **{"page[after]": "!!!"}).status_code == 400
    next_url = get(session, sandbox, INCREMENTAL, **{"page[size]": 5}).json()["links"]["next"]
    cursor = dict(parse_qsl(urlsplit(next_url).query))["page[after]"]
    decoded = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    assert decoded["sp"] == "id" and decoded["id"] == 5  # keyset: last sort value and id
    other_sort = get(session, sandbox, INCREMENTAL, sort="-id", **{"page[after]": cursor})
    assert other_sort.status_code == 400
    answer = session.get(f"{sandbox.api_base_url}/noSuchThing", timeout=10)
    assert answer.status_code == 404 and error_id(answer) == "routeNotFound"
    missing = session.get(f"{sandbox.api_base_url}/{INCREMENTAL.path}/99999", timeout=10)
    assert missing.status_code == 404 and error_id(missing) == "resourceNotFound"
