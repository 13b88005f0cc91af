"""The Outreach sandbox over real HTTP: OAuth, JSON:API pages, filters, sorts, cursors,
rate limits, faults and data changes, checked against shared/outreach-api.md."""

import base64
import http.client
import json
import re
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests

from outreach_assets.catalog import STREAMS, STREAMS_BY_TYPE, FieldType, Stream
from outreach_assets.sandbox import SandboxConfig, SandboxServer
from outreach_assets_tests.support.wire import (
    DRIFTED,
    DRIFTING,
    get,
    mint,
    session_for,
    token_form,
    walk,
)

ISO_MS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
INCREMENTAL = next(
    s
    for s in STREAMS
    if s.cursor == "updatedAt" and any(f.name == "createdAt" for f in s.fields) and s.relationships
)
SNAPSHOT = next(s for s in STREAMS if not s.is_incremental)
OTHER = next(s for s in STREAMS if s.is_incremental and s is not INCREMENTAL)
EVENTS = next((s for s in STREAMS if {"createdAt", "eventAt"} <= {f.name for f in s.fields}), None)
PROSPECTS = next((s for s in STREAMS if s.json_type == "prospect"), None)
BIG_BODIES = next((s for s in STREAMS if any(f.name == "bodyHtml" for f in s.fields)), None)
REPO = Path(__file__).resolve().parent.parent


# --- helpers -------------------------------------------------------------------------------


def error_id(answer: requests.Response) -> str:
    return answer.json()["errors"][0]["id"]


def cursor_of(record: dict, stream: Stream) -> str:
    assert stream.cursor is not None
    return record["attributes"][stream.cursor]


# --- OAuth ---------------------------------------------------------------------------------


def test_refresh_grant_accepts_form_and_json_bodies(sandbox):
    form = mint(sandbox)
    as_json = requests.post(sandbox.token_url, json=token_form(sandbox), timeout=10)
    for answer in (form, as_json):
        assert answer.status_code == 200
        body = answer.json()
        assert set(body) == {
            "access_token",
            "token_type",
            "expires_in",
            "refresh_token",
            "scope",
            "created_at",
        }
        assert body["token_type"] == "bearer" and body["expires_in"] == 7200
        assert body["refresh_token"] == sandbox.config.refresh_token  # no rotation by default
        assert set(body["scope"].split()) == {s.scope for s in STREAMS}
        assert abs(body["created_at"] - time.time()) < 5
    assert form.json()["access_token"] != as_json.json()["access_token"]


def test_authorization_code_grant_checks_code_and_redirect_uri(sandbox):
    cfg = sandbox.config
    good = {
        "grant_type": "authorization_code",
        "code": cfg.auth_code,
        "redirect_uri": cfg.redirect_uri,
        "client_id": cfg.client_id,
        "client_secret": cfg.client_secret,
    }
    assert requests.post(sandbox.token_url, data=good, timeout=10).status_code == 200
    for bad in ({"code": "nope"}, {"redirect_uri": "http://127.0.0.1/elsewhere"}):
        answer = requests.post(sandbox.token_url, data={**good, **bad}, timeout=10)
        assert answer.status_code == 400 and answer.json()["error"] == "invalid_grant"


def test_token_endpoint_errors(sandbox):
    answer = mint(sandbox, refresh_token="not-a-token")
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_grant"
    answer = mint(sandbox, client_secret="wrong")
    assert answer.status_code == 401 and answer.json()["error"] == "invalid_client"
    answer = mint(sandbox, grant_type="password")
    assert answer.status_code == 400 and answer.json()["error"] == "unsupported_grant_type"
    assert "not-a-token" not in answer.text and "wrong" not in answer.text
    assert sandbox.stats.token_requests == 3 and sandbox.stats.token_mints == 0


def test_rotation_issues_a_new_refresh_token_and_invalidates_the_old(sandbox_factory):
    sb = sandbox_factory(rotate_refresh_tokens=True)
    first = sb.current_refresh_token
    answer = mint(sb, refresh_token=first)
    second = answer.json()["refresh_token"]
    assert second != first and sb.current_refresh_token == second
    assert mint(sb, refresh_token=first).json()["error"] == "invalid_grant"
    third = mint(sb, refresh_token=second).json()["refresh_token"]
    assert third not in (first, second) and sb.current_refresh_token == third


def test_throttle_allows_one_mint_per_period_with_plain_text_429(sandbox_factory):
    sb = sandbox_factory(token_throttle_s=0.4, rotate_refresh_tokens=True)
    assert mint(sb).status_code == 200
    token_before = sb.current_refresh_token
    throttled = mint(sb)
    assert throttled.status_code == 429 and throttled.text == "Retry later\n"
    assert throttled.headers["Content-Type"].startswith("text/plain")
    assert sb.current_refresh_token == token_before  # a refused mint spends nothing
    time.sleep(0.45)
    assert mint(sb).status_code == 200
    assert sb.stats.status_counts[429] == 1 and sb.stats.token_mints == 2


def test_access_tokens_expire_after_their_ttl(sandbox_factory):
    sb = sandbox_factory(access_token_ttl_s=0.5)
    session = session_for(sb)
    assert get(session, sb, INCREMENTAL).status_code == 200
    time.sleep(0.55)
    answer = get(session, sb, INCREMENTAL)
    assert answer.status_code == 401 and error_id(answer) == "expiredAccessToken"


def test_api_needs_a_valid_bearer_token(sandbox):
    missing = requests.get(f"{sandbox.api_base_url}/{INCREMENTAL.path}", timeout=10)
    garbage = requests.get(
        f"{sandbox.api_base_url}/{INCREMENTAL.path}",
        headers={"Authorization": "Bearer forged"},
        timeout=10,
    )
    for answer in (missing, garbage):
        assert answer.status_code == 401 and error_id(answer) == "unauthorized"
        assert "X-RateLimit-Limit" in answer.headers


def test_secrets_stay_out_of_reprs_and_the_server_logs_nothing(sandbox_factory, capfd):
    sb = sandbox_factory(client_secret="s3cr3t-value", refresh_token="rt-value-123")
    assert "s3cr3t-value" not in repr(sb.config) and "rt-value-123" not in repr(sb.config)
    session = session_for(sb)
    assert get(session, sb, INCREMENTAL).status_code == 200
    assert mint(sb, refresh_token="wrong").status_code == 400
    out, err = capfd.readouterr()
    assert out == "" and err == ""


def test_missing_scope_is_403_naming_it(sandbox_factory):
    sb = sandbox_factory(scopes=[INCREMENTAL.scope])
    assert mint(sb).json()["scope"] == INCREMENTAL.scope
    session = session_for(sb)
    assert get(session, sb, INCREMENTAL).status_code == 200
    answer = get(session, sb, OTHER)
    assert answer.status_code == 403 and error_id(answer) == "unauthorizedOauthScope"
    assert OTHER.scope in answer.json()["errors"][0]["detail"]


# --- resource objects ------------------------------------------------------------------------


def _value_matches(kind: FieldType, value: Any) -> bool:
    if kind is FieldType.STRING:
        return isinstance(value, str)
    if kind is FieldType.INTEGER:
        return isinstance(value, int) and not isinstance(value, bool)
    if kind is FieldType.NUMBER:
        return isinstance(value, float)
    if kind is FieldType.BOOLEAN:
        return isinstance(value, bool)
    if kind is FieldType.TIMESTAMP:
        return isinstance(value, str) and ISO_MS.match(value) is not None
    if kind is FieldType.DATE:
        return isinstance(value, str) and DATE.match(value) is not None
    if kind is FieldType.STRING_LIST:
        return isinstance(value, list) and all(isinstance(v, str) for v in value)
    if kind is FieldType.INT_LIST_LIST:
        pairs_ok = all(len(p) == 2 and all(isinstance(n, int) for n in p) for p in value)
        return isinstance(value, list) and len(value) == 12 and pairs_ok
    return isinstance(value, dict)


def _check_resource(record: dict, stream: Stream, sb: SandboxServer) -> None:
    assert record["type"] == stream.json_type and isinstance(record["id"], int)
    assert record["links"] == {"self": f"{sb.api_base_url}/{stream.path}/{record['id']}"}
    attributes = record["attributes"]
    for f in stream.fields:
        assert _value_matches(f.type, attributes[f.name]), (stream.name, f.name, attributes[f.name])
    assert "sandboxNote" in attributes  # an attribute the catalog does not know
    if "createdAt" in attributes and "updatedAt" in attributes:
        assert attributes["createdAt"] <= attributes["updatedAt"]
    for rel in stream.relationships:
        data = record["relationships"][rel.name]["data"]
        assert data is None or (data["type"] == rel.target and isinstance(data["id"], int))
    for member in record["relationships"].values():
        if "links" in member:  # to-many: links.related only
            assert set(member) == {"links"}
            assert member["links"]["related"].startswith(sb.api_base_url)


def test_every_stream_serves_every_catalog_field_with_its_type(sandbox_factory):
    sb = sandbox_factory(records=12)
    session = session_for(sb)
    to_many_seen = 0
    for stream in STREAMS:
        answer = get(session, sb, stream, **{"page[size]": 12})
        assert answer.headers["Content-Type"].startswith("application/vnd.api+json")
        body = answer.json()
        assert len(body["data"]) == 12 and body["meta"]["count"] == 12
        for record in body["data"]:
            _check_resource(record, stream, sb)
            to_many_seen += sum("links" in r for r in record["relationships"].values())
    assert to_many_seen > 0


def test_relationships_point_at_existing_records_and_some_are_empty(sandbox_factory):
    sb = sandbox_factory(records=30, sizes={INCREMENTAL.name: 300})
    session = session_for(sb)
    records = walk(session, sb, INCREMENTAL, **{"page[size]": 1000})
    targets = [
        (rel, r["relationships"][rel.name]["data"])
        for r in records
        for rel in INCREMENTAL.relationships
    ]
    empty = sum(data is None for _, data in targets)
    assert 0.04 < empty / len(targets) < 0.2  # about one in ten, like real payloads
    for rel, data in targets:
        if data is not None and rel.target in STREAMS_BY_TYPE:
            target = STREAMS_BY_TYPE[rel.target]
            assert data["id"] in sb.truth(target.name)
    single = session.get(records[0]["links"]["self"], timeout=10).json()["data"]
    assert single == records[0]


@pytest.mark.skipif(PROSPECTS is None, reason="no prospects stream in the catalog")
def test_prospects_echo_the_updater_relationship_as_an_attribute(sandbox):
    assert PROSPECTS is not None
    for record in walk(session_for(sandbox), sandbox, PROSPECTS):
        updater = record["relationships"]["updater"]["data"]
        assert record["attributes"]["updaterId"] == (updater["id"] if updater else None)


@pytest.mark.skipif(EVENTS is None, reason="no stream with createdAt and eventAt")
def test_events_are_sometimes_back_dated(sandbox_factory):
    assert EVENTS is not None
    sb = sandbox_factory(sizes={EVENTS.name: 200})
    records = walk(session_for(sb), sb, EVENTS, **{"page[size]": 200})
    earlier = [r for r in records if r["attributes"]["eventAt"] < r["attributes"]["createdAt"]]
    assert 0 < len(earlier) < len(records)


@pytest.mark.skipif(BIG_BODIES is None, reason="no stream with bodyHtml")
def test_big_bodies_trigger_the_gateway_limit_only_on_big_pages(sandbox_factory):
    assert BIG_BODIES is not None
    sb = sandbox_factory(max_body_bytes=60_000)
    session = session_for(sb)
    record = get(session, sb, BIG_BODIES, **{"page[size]": 1}).json()["data"][0]
    assert len(record["attributes"]["bodyHtml"]) >= 2000
    answer = get(session, sb, BIG_BODIES, **{"page[size]": 40})
    assert answer.status_code == 502 and answer.text == "Bad Gateway\n"


# --- filters -------------------------------------------------------------------------------


def _bounds(sb: SandboxServer, stream: Stream) -> tuple[str, str]:
    """Two existing cursor values, so inclusive bounds have records sitting on them."""
    values = sorted(sb.truth(stream.name).values())
    return values[len(values) // 4], values[3 * len(values) // 4]


def _ids_between(sb: SandboxServer, stream: Stream, lo: str, hi: str) -> set[int]:
    return {rid for rid, c in sb.truth(stream.name).items() if lo <= c <= hi}


def test_classic_range_filter_is_inclusive_with_open_ends(sandbox):
    session = session_for(sandbox)
    lo, hi = _bounds(sandbox, INCREMENTAL)
    key = f"filter[{INCREMENTAL.cursor}]"
    cases = {f"{lo}..{hi}": (lo, hi), f"{lo}..inf": (lo, "9"), f"neginf..{hi}": ("0", hi)}
    for value, (low, high) in cases.items():
        ids = [r["id"] for r in walk(session, sandbox, INCREMENTAL, **{key: value})]
        assert ids == sorted(_ids_between(sandbox, INCREMENTAL, low, high)), value
        newest_first = walk(
            session, sandbox, INCREMENTAL, sort="-id", **{key: value, "page[size]": 4}
        )
        assert [r["id"] for r in newest_first] == ids[::-1]


def test_new_filter_syntax_gte_lte_is_inclusive(sandbox):
    session = session_for(sandbox)
    lo, hi = _bounds(sandbox, INCREMENTAL)
    cursor = INCREMENTAL.cursor
    params = {"newFilterSyntax": "true", f"filter[{cursor}][gte]": lo, f"filter[{cursor}][lte]": hi}
    ids = {r["id"] for r in walk(session, sandbox, INCREMENTAL, **params)}
    assert ids == _ids_between(sandbox, INCREMENTAL, lo, hi)
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
    assert date_only == _ids_between(sandbox, INCREMENTAL, "2023-07-01T00:00:00.000Z", "9")
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


# --- sorting and pagination ------------------------------------------------------------------


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
    lo, _ = _bounds(sandbox, INCREMENTAL)
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
    assert sorted(ids) == sorted(_ids_between(sandbox, INCREMENTAL, lo, "9"))
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


# --- rate limiting -------------------------------------------------------------------------


def test_rate_limit_headers_count_down_in_a_fixed_window(sandbox_factory):
    sb = sandbox_factory(rate_limit=5, rate_window_s=30)
    session = session_for(sb)
    started = time.time()
    seen = [get(session, sb, INCREMENTAL).headers for _ in range(3)]
    assert [h["X-RateLimit-Remaining"] for h in seen] == ["4", "3", "2"]
    assert all(h["X-RateLimit-Limit"] == "5" for h in seen)
    reset = int(seen[0]["X-RateLimit-Reset"])
    assert (
        started + 29 <= reset <= started + 32 and len({h["X-RateLimit-Reset"] for h in seen}) == 1
    )
    assert sb.stats.token_requests == 1  # /oauth/token does not spend the API budget


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        ({"remaining_two_values": True}, {"X-RateLimit-Remaining": "9, 19"}),
        ({"reset_header": "seconds"}, {"X-RateLimit-Reset": "30"}),
        ({"reset_header": "none"}, {"X-RateLimit-Reset": None}),
        ({"rate_headers": False}, {"X-RateLimit-Limit": None, "X-RateLimit-Remaining": None}),
    ],
)
def test_rate_limit_header_forms(sandbox_factory, config, expected):
    sb = sandbox_factory(rate_limit=10, rate_window_s=30, **config)
    headers = get(session_for(sb), sb, INCREMENTAL).headers
    for name, value in expected.items():
        assert headers.get(name) == value


def test_budget_exhaustion_answers_429_without_spending(sandbox_factory):
    sb = sandbox_factory(rate_limit=2, rate_window_s=0.6)
    session = session_for(sb)
    assert [get(session, sb, INCREMENTAL).status_code for _ in range(2)] == [200, 200]
    for _ in range(2):
        refused = get(session, sb, INCREMENTAL)
        assert refused.status_code == 429 and error_id(refused) == "rateLimitExceeded"
        detail = refused.json()["errors"][0]["detail"]
        assert re.fullmatch(
            r"You have exceeded your permitted rate limit of 2; please try again at "
            r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.",
            detail,
        )
        assert (
            refused.headers["Retry-After"] == "1"
            and refused.headers["X-RateLimit-Remaining"] == "0"
        )
    time.sleep(0.65)
    fresh = get(session, sb, INCREMENTAL)
    assert fresh.status_code == 200 and fresh.headers["X-RateLimit-Remaining"] == "1"
    assert sb.stats.rate_limited == 2


def test_rate_windows_history_counts_what_each_window_spent(sandbox_factory):
    sb = sandbox_factory(rate_limit=3, rate_window_s=0.4)
    session = session_for(sb)
    statuses = [get(session, sb, INCREMENTAL).status_code for _ in range(4)]  # 3 + one 429
    time.sleep(0.45)
    get(session, sb, INCREMENTAL)
    windows = sb.rate_windows()
    assert statuses == [200, 200, 200, 429]
    assert [(w.used, w.limit) for w in windows] == [(3, 3), (1, 3)]
    assert windows[0].end == pytest.approx(windows[0].start + 0.4)
    assert windows[1].start >= windows[0].end
    over_http = requests.get(f"{sb.base_url}/_sandbox/rate_windows", timeout=5).json()
    assert [w["used"] for w in over_http["windows"]] == [3, 1]


def test_429_without_retry_after_when_disabled(sandbox_factory):
    sb = sandbox_factory(rate_limit=1, retry_after_on_429=False)
    session = session_for(sb)
    get(session, sb, INCREMENTAL)
    refused = get(session, sb, INCREMENTAL)
    assert refused.status_code == 429 and "Retry-After" not in refused.headers


# --- faults --------------------------------------------------------------------------------


def test_latency_and_probabilistic_errors(sandbox_factory):
    sb = sandbox_factory(latency_ms=120)
    session = session_for(sb)
    started = time.perf_counter()
    assert get(session, sb, INCREMENTAL).status_code == 200
    assert time.perf_counter() - started >= 0.12
    sb.configure(latency_ms=0, error_rate={503: 1.0})
    answer = get(session, sb, INCREMENTAL)
    assert answer.status_code == 503 and "X-RateLimit-Remaining" in answer.headers
    sb.configure(error_rate={500: 1.0})
    assert get(session, sb, INCREMENTAL).status_code == 500


def test_one_shot_failures_drops_and_truncations(sandbox):
    session = session_for(sandbox)
    sandbox.fail_next(2, status=502)
    assert [get(session, sandbox, INCREMENTAL).status_code for _ in range(3)] == [502, 502, 200]
    sandbox.fail_next(1, status=401)
    assert get(session, sandbox, INCREMENTAL).status_code == 401
    sandbox.drop_next(1)
    with pytest.raises(requests.ConnectionError):
        get(session, sandbox, INCREMENTAL)
    sandbox.truncate_next(1)
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        get(session, sandbox, INCREMENTAL)
    assert get(session, sandbox, INCREMENTAL).status_code == 200
    stats = sandbox.stats
    assert (stats.dropped, stats.truncated, stats.status_counts[502]) == (1, 1, 2)


def test_drop_and_truncate_rates(sandbox_factory):
    sb = sandbox_factory(drop_rate=1.0)
    session = session_for(sb)
    with pytest.raises(requests.ConnectionError):
        get(session, sb, INCREMENTAL)
    sb.configure(drop_rate=0.0, truncate_rate=1.0)
    url = urlsplit(f"{sb.api_base_url}/{INCREMENTAL.path}")
    conn = http.client.HTTPConnection(url.netloc, timeout=10)
    conn.request("GET", url.path, headers={"Authorization": session.headers["Authorization"]})
    answer = conn.getresponse()
    with pytest.raises(http.client.IncompleteRead) as cut:
        answer.read()  # the full Content-Length was announced, part of the body sent
    assert 0 < len(cut.value.partial) < int(answer.getheader("Content-Length", "0"))
    conn.close()


def test_seeded_faults_replay_identically(sandbox_factory):
    def statuses(sb: SandboxServer) -> list[int]:
        session = session_for(sb)
        return [get(session, sb, INCREMENTAL).status_code for _ in range(25)]

    first = statuses(sandbox_factory(seed=7, error_rate={500: 0.3, 503: 0.2}))
    second = statuses(sandbox_factory(seed=7, error_rate={500: 0.3, 503: 0.2}))
    assert first == second and {200, 500, 503} <= set(first)


def test_forced_access_token_expiry(sandbox):
    session = session_for(sandbox)
    sandbox.expire_access_tokens()
    answer = get(session, sandbox, INCREMENTAL)
    assert answer.status_code == 401 and error_id(answer) == "expiredAccessToken"
    session = session_for(sandbox)
    sandbox.expire_after_requests(2)
    assert [get(session, sandbox, INCREMENTAL).status_code for _ in range(3)] == [200, 200, 401]
    assert get(session_for(sandbox), sandbox, INCREMENTAL).status_code == 200


# --- data ----------------------------------------------------------------------------------


def test_touch_and_add_change_what_is_served_and_the_truth(sandbox):
    session = session_for(sandbox)
    before = sandbox.truth(INCREMENTAL.name)
    started = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(time.time() - 1))
    touched = sandbox.touch(INCREMENTAL.name, count=3)
    added = sandbox.add(INCREMENTAL.name, count=2)
    assert added == [max(before) + 1, max(before) + 2]
    after = sandbox.truth(INCREMENTAL.name)
    assert set(after) == set(before) | set(added)
    recent = walk(
        session, sandbox, INCREMENTAL, **{f"filter[{INCREMENTAL.cursor}]": f"{started}..inf"}
    )
    assert sorted(r["id"] for r in recent) == sorted(touched + added)
    assert all(
        cursor_of(r, INCREMENTAL) == after[r["id"]] > before.get(r["id"], "") for r in recent
    )
    assert (
        sandbox.touch(INCREMENTAL.name, ids=[2]) == [2]
        and sandbox.truth(INCREMENTAL.name)[2] > before[2]
    )
    with pytest.raises(ValueError):
        sandbox.touch(INCREMENTAL.name, ids=[10_000])


def test_changes_while_serving_are_thread_safe(sandbox_factory):
    sb = sandbox_factory(sizes={INCREMENTAL.name: 300})
    untouched = set(sb.truth(INCREMENTAL.name))
    changed: list[int] = []

    def mutate() -> None:  # bounded: records added at "now" extend a cursor-sorted walk
        for _ in range(40):
            changed.extend(sb.touch(INCREMENTAL.name, count=2) + sb.add(INCREMENTAL.name, count=1))
            time.sleep(0.002)

    worker = threading.Thread(target=mutate)
    worker.start()
    try:
        params = {"sort": INCREMENTAL.cursor, "page[size]": 10}
        seen = {r["id"] for r in walk(session_for(sb), sb, INCREMENTAL, **params)}
    finally:
        worker.join()
    assert len(changed) == 120 and untouched - set(changed) <= seen


def test_same_seed_same_data_and_different_seed_different_data(sandbox_factory):
    def page(sb: SandboxServer, stream: Stream) -> str:
        text = get(session_for(sb), sb, stream, **{"page[size]": 40}).text
        return text.replace(sb.base_url, "BASE")

    first, second, other = (sandbox_factory(seed=s) for s in (3, 3, 4))
    for stream in (INCREMENTAL, SNAPSHOT, PROSPECTS or OTHER):
        assert page(first, stream) == page(second, stream)
        assert first.truth(stream.name) == second.truth(stream.name)
    assert page(first, INCREMENTAL) != page(other, INCREMENTAL)
    assert first.truth(INCREMENTAL.name) != other.truth(INCREMENTAL.name)


def test_wrong_type_variants_send_an_integer_as_its_decimal_string(sandbox_factory):
    def served(wrong: int) -> dict[int, dict[str, Any]]:
        sb = sandbox_factory(sizes={DRIFTING.name: 200}, wrong_type_variants=wrong)
        records = walk(session_for(sb), sb, DRIFTING, **{"page[size]": 1000})
        return {r["id"]: r["attributes"] for r in records}

    plain, drifted, everything = served(0), served(8), served(32)
    as_text = {rid for rid, a in drifted.items() if isinstance(a[DRIFTED], str)}
    assert 0 < len(as_text) < len(drifted)  # 8 of 32 variants: about a quarter
    assert not any(isinstance(a[DRIFTED], str) for a in plain.values())
    assert all(isinstance(a[DRIFTED], str) for a in everything.values())
    for rid, attributes in drifted.items():
        original = plain[rid][DRIFTED]
        expected = str(original) if rid in as_text else original
        # nothing else changes, and the text is the very number the record has without drift
        assert attributes == {**plain[rid], DRIFTED: expected}


def test_drifted_values_still_filter_and_sort_as_numbers(sandbox_factory):
    sb = sandbox_factory(sizes={DRIFTING.name: 200}, wrong_type_variants=8)
    session = session_for(sb)
    ordered = walk(session, sb, DRIFTING, sort=DRIFTED, **{"page[size]": 1000})
    keys = [(int(r["attributes"][DRIFTED]), r["id"]) for r in ordered]
    assert keys == sorted(keys) and len(keys) == 200
    text = next(v for r in ordered if isinstance(v := r["attributes"][DRIFTED], str))
    matching = walk(session, sb, DRIFTING, **{f"filter[{DRIFTED}]": text})
    assert {r["id"] for r in matching} == {rid for n, rid in keys if n == int(text)}


def test_wrong_type_variants_is_a_fixed_share_of_the_variants():
    for wrong in (-1, 33):
        with pytest.raises(ValueError, match="wrong_type_variants"):
            SandboxConfig(wrong_type_variants=wrong)
    with pytest.raises(ValueError, match="fixed when the server starts"):
        SandboxConfig().replace(wrong_type_variants=1)


# --- harness -------------------------------------------------------------------------------


def test_stats_and_admin_endpoints(sandbox):
    session = session_for(sandbox)
    walk(session, sandbox, INCREMENTAL, **{"page[size]": 15})
    stats = sandbox.stats
    assert (stats.api_requests, stats.token_mints, stats.records_served) == (3, 1, 40)
    assert (
        stats.requests_by_path[f"/api/v2/{INCREMENTAL.path}"] == 3 and stats.status_counts[200] == 4
    )
    admin = f"{sandbox.base_url}/_sandbox"
    assert requests.get(f"{admin}/stats", timeout=10).json()["records_served"] == 40
    truth = requests.get(f"{admin}/truth/{INCREMENTAL.name}", timeout=10).json()
    assert truth == {str(k): v for k, v in sandbox.truth(INCREMENTAL.name).items()}
    ids = requests.post(f"{admin}/add", json={"stream": INCREMENTAL.name, "count": 1}, timeout=10)
    assert ids.json() == {"ids": [41]}
    touched = requests.post(
        f"{admin}/touch", json={"stream": INCREMENTAL.name, "count": 2}, timeout=10
    )
    assert len(touched.json()["ids"]) == 2
    assert requests.post(f"{admin}/configure", json={"error_rate": {"503": 1.0}}, timeout=10).ok
    assert get(session, sandbox, INCREMENTAL).status_code == 503
    assert requests.post(f"{admin}/configure", json={"seed": 9}, timeout=10).status_code == 400
    assert requests.post(f"{admin}/expire_tokens", timeout=10).ok
    sandbox.configure(error_rate={})
    assert get(session, sandbox, INCREMENTAL).status_code == 401
    sandbox.reset_stats()
    assert sandbox.stats.api_requests == 0
    with pytest.raises(ValueError):
        sandbox.configure(records=5)


def test_keep_alive_and_context_manager_stop():
    with SandboxServer(SandboxConfig(records=5)) as sb:
        session = session_for(sb)
        answers = [get(session, sb, INCREMENTAL) for _ in range(3)]
        assert all(a.raw.version == 11 and a.headers.get("Connection") != "close" for a in answers)
        base = sb.base_url
    with pytest.raises(requests.ConnectionError):
        session.get(f"{base}/api/v2/{INCREMENTAL.path}", timeout=2)


def test_serve_forever_prints_the_url_and_environment():
    code = (
        "from outreach_assets.sandbox import SandboxConfig, serve_forever\n"
        "serve_forever(SandboxConfig(records=3))"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, cwd=REPO
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline().strip()
        match = re.fullmatch(r"Outreach sandbox listening on (http://127\.0\.0\.1:\d+)", first)
        assert match
        lines = [proc.stdout.readline() for _ in range(8)]
        exported = dict(re.findall(r"^export (OUTREACH_\w+)=(.*)$", "".join(lines), re.M))
        assert exported["OUTREACH_API_BASE_URL"] == f"{match.group(1)}/api/v2"
        assert set(exported) >= {
            "OUTREACH_TOKEN_URL",
            "OUTREACH_CLIENT_ID",
            "OUTREACH_CLIENT_SECRET",
            "OUTREACH_REDIRECT_URI",
            "OUTREACH_REFRESH_TOKEN",
        }
        assert requests.post(
            exported["OUTREACH_TOKEN_URL"],
            data={
                "grant_type": "refresh_token",
                "client_id": exported["OUTREACH_CLIENT_ID"],
                "client_secret": exported["OUTREACH_CLIENT_SECRET"],
                "refresh_token": exported["OUTREACH_REFRESH_TOKEN"],
            },
            timeout=10,
        ).ok
    finally:
        proc.send_signal(2)
        assert proc.wait(timeout=10) == 0
