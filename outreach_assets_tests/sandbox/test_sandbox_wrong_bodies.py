"""Whole 200s that are no JSON:API page, and links.next on another host, switched per test;
they draw from their own RNG, so the older seeded faults replay as before."""

from urllib.parse import urlsplit

import pytest

from outreach_assets.sandbox import SandboxServer
from outreach_assets_tests.support.wire import INCREMENTAL, get, session_for


def test_html_and_json_that_is_no_json_api_page(sandbox_factory):
    sb = sandbox_factory(html_rate=1.0)
    session = session_for(sb)
    answer = get(session, sb, INCREMENTAL)
    assert answer.status_code == 200
    assert answer.headers["Content-Type"] == "text/html; charset=utf-8"
    assert answer.text.startswith("<!DOCTYPE html>")
    sb.configure(html_rate=0.0, not_jsonapi_rate=1.0)
    answer = get(session, sb, INCREMENTAL)
    assert (answer.status_code, answer.json()) == (200, {"ok": True})
    assert answer.headers["Content-Type"].startswith("application/json")
    sb.configure(not_jsonapi_body="[1, 2]")
    assert get(session, sb, INCREMENTAL).json() == [1, 2]
    sb.configure(not_jsonapi_rate=0.0)
    assert isinstance(get(session, sb, INCREMENTAL).json()["data"], list)
    with pytest.raises(ValueError, match="must be JSON"):
        sb.configure(not_jsonapi_body="<html>")


def test_next_link_origin_moves_links_next_only(sandbox_factory):
    sb = sandbox_factory(next_link_origin="https://elsewhere.example:8443")
    links = get(session_for(sb), sb, INCREMENTAL, **{"page[size]": "1"}).json()["links"]
    moved, first = urlsplit(links["next"]), urlsplit(links["first"])
    assert (moved.scheme, moved.netloc) == ("https", "elsewhere.example:8443")
    assert moved.path == first.path and first.netloc == urlsplit(sb.base_url).netloc


def test_wrong_bodies_leave_the_seeded_faults_as_they_were(sandbox_factory):
    def statuses(sb: SandboxServer) -> list[int]:
        session = session_for(sb)
        return [get(session, sb, INCREMENTAL).status_code for _ in range(25)]

    faults = {"seed": 7, "error_rate": {500: 0.3, 503: 0.2}}
    plain = statuses(sandbox_factory(**faults))
    assert {500, 503} & set(plain), plain  # the seed does draw faults: the replay means it
    mixed = sandbox_factory(**faults, not_jsonapi_rate=0.5)
    assert statuses(mixed) == plain  # the same 5xx on the same requests
