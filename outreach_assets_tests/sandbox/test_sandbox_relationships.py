"""Relationships as Outreach sends them (https://developers.outreach.io/api/making-requests/):
to-one ids, to-many ids inline with their related link and count, links-only relationships,
all equal to the sandbox's ground truth, and the switch that adds unknown ones."""

import json
from collections import Counter
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests

from outreach_assets.catalog import STREAMS, STREAMS_BY_PATH, STREAMS_BY_TYPE, Stream
from outreach_assets.sandbox import SandboxConfig, SandboxServer
from outreach_assets_tests.support.wire import served_relationships, session_for, walk

WITH_TO_MANY = [s for s in STREAMS if s.to_many]
WITH_LINKS_ONLY = [s for s in STREAMS if s.links_only]
UNKNOWN = {"sandboxOwner", "sandboxTags"}


def _all(sb: SandboxServer, stream: Stream) -> list[dict]:
    return walk(session_for(sb), sb, stream, **{"page[size]": 1000})


def _based(sb: SandboxServer, stream: Stream) -> list[dict]:
    """`_all` with the server's address replaced, to compare two servers' records."""
    return json.loads(json.dumps(_all(sb, stream)).replace(sb.base_url, "BASE"))


def test_to_many_ids_exist_in_their_targets_and_equal_the_truth(sandbox_factory):
    sb = sandbox_factory(records=60)
    counts: Counter[int] = Counter()
    for stream in WITH_TO_MANY:
        truth = sb.relationships(stream.name)
        records = _all(sb, stream)
        assert sorted(r["id"] for r in records) == sorted(truth) == sorted(sb.truth(stream.name))
        for record in records:
            assert served_relationships(record) == truth[record["id"]]
            for rel in stream.to_many:
                ids = truth[record["id"]][rel.name]
                assert isinstance(ids, list) and len(set(ids)) == len(ids) <= 5
                counts[len(ids)] += 1
                if rel.target in STREAMS_BY_TYPE:
                    assert set(ids) <= set(sb.truth(STREAMS_BY_TYPE[rel.target].name)), rel
                else:  # a type outside the catalog: plausible ids
                    assert all(1 <= i <= 500 for i in ids)
    assert counts[0] > 0 and sum(n for k, n in counts.items() if k >= 3) > 0  # [] and long ones
    assert set(counts) == set(range(6))


def test_to_one_truth_and_the_admin_endpoint(sandbox):
    stream = next(s for s in WITH_TO_MANY if s.relationships)
    truth = sandbox.relationships(stream.name)
    row = truth[1]
    assert {r.name for r in stream.relationships} <= set(row)
    assert all(row[r.name] is None or isinstance(row[r.name], int) for r in stream.relationships)
    assert not set(row) & set(stream.links_only)  # links only: no ids to report
    admin = requests.get(f"{sandbox.base_url}/_sandbox/relationships/{stream.name}", timeout=10)
    assert admin.json() == {str(k): v for k, v in truth.items()}
    unknown = requests.get(f"{sandbox.base_url}/_sandbox/relationships/nope", timeout=10)
    assert unknown.status_code == 400


def test_relationships_are_deterministic_from_the_seed(sandbox_factory):
    stream = max(WITH_TO_MANY, key=lambda s: len(s.to_many))
    first, second, other = (sandbox_factory(seed=s).relationships(stream.name) for s in (5, 5, 6))
    assert first == second != other


def test_links_only_relationships_carry_only_a_related_link(sandbox):
    for stream in WITH_LINKS_ONLY:
        for record in _all(sandbox, stream)[:5]:
            for name in stream.links_only:
                member = record["relationships"][name]
                assert set(member) == {"links"} and set(member["links"]) == {"related"}
                assert member["links"]["related"].startswith(f"{sandbox.api_base_url}/")
                assert str(record["id"]) in member["links"]["related"]


def test_related_links_list_the_records_that_point_back(sandbox):
    """Where the related stream has a relationship back, its link is a filter the sandbox
    answers, and it lists exactly the records whose relationship names this one."""
    session = session_for(sandbox)
    followed = 0
    for stream in WITH_LINKS_ONLY + WITH_TO_MANY:
        record = _all(sandbox, stream)[0]
        for member in record["relationships"].values():
            url = member.get("links", {}).get("related", "")
            related = STREAMS_BY_PATH.get(urlsplit(url).path.rsplit("/", 1)[-1])
            ((key, value),) = parse_qsl(urlsplit(url).query) or [("", "")]
            back = key.removeprefix("filter[").removesuffix("][id]")
            if related is None or back not in {r.name for r in related.relationships}:
                continue
            assert value == str(record["id"])
            answer = session.get(url, params={"page[size]": 1000}, timeout=10)
            assert answer.status_code == 200, url
            listed = {r["id"] for r in answer.json()["data"]}
            truth = sandbox.relationships(related.name)
            assert listed == {rid for rid, row in truth.items() if row[back] == record["id"]}
            followed += 1
    assert followed > 10


def test_unknown_relationships_switch_adds_one_to_one_and_one_to_many(sandbox_factory):
    plain = sandbox_factory(records=25)
    switched = sandbox_factory(records=25, unknown_relationships=True)
    users = set(switched.truth("users"))
    owners: list[int | None] = []
    tag_lists: list[list[int]] = []
    for stream in STREAMS:
        assert not UNKNOWN & set(_all(plain, stream)[0]["relationships"])
        truth = switched.relationships(stream.name)
        for record in _all(switched, stream):
            relationships = record["relationships"]
            assert set(relationships) == stream.known_relationships | UNKNOWN
            owner, tags = relationships["sandboxOwner"], relationships["sandboxTags"]
            assert set(owner) == {"data"} and set(tags) == {"data"}
            assert owner["data"] is None or (
                owner["data"]["type"] == "user" and owner["data"]["id"] in users
            )
            assert all(item["type"] == "tag" for item in tags["data"])
            assert served_relationships(record) == truth[record["id"]]
            owners.append(truth[record["id"]]["sandboxOwner"])
            tag_lists.append(truth[record["id"]]["sandboxTags"])
    assert None in owners and any(o is not None for o in owners)
    assert [] in tag_lists and any(tag_lists)
    # Everything else is the same with or without the switch.
    stream = WITH_TO_MANY[0]
    for off, on in zip(_based(plain, stream), _based(switched, stream), strict=True):
        for name in UNKNOWN:
            del on["relationships"][name]
        assert on == off


def test_unknown_relationships_is_fixed_at_start():
    with pytest.raises(ValueError, match="fixed when the server starts"):
        SandboxConfig().replace(unknown_relationships=True)
