"""Hard deletes, as Outreach makes them: by count (spread, fixed by the seed) or by ids, over
Python and over HTTP; a deleted record leaves every read, and its id is never handed out
again."""

import pytest
import requests

from outreach_assets_tests.support.wire import (
    INCREMENTAL,
    OTHER,
    SNAPSHOT,
    admin,
    bounds,
    error_id,
    get,
    ids_between,
    ids_of,
    session_for,
    walk,
)

PAGE = {"page[size]": 6}


def test_delete_by_count_is_spread_over_the_ids_and_fixed_by_the_seed(sandbox_factory):
    first, second, other = (sandbox_factory(seed=s) for s in (3, 3, 4))
    chosen = first.delete(INCREMENTAL.name, count=4)
    assert chosen == second.delete(INCREMENTAL.name, count=4)
    assert chosen != other.delete(INCREMENTAL.name, count=4)
    # one from each quarter of the 40 ids, ascending
    assert [(rid - 1) // 10 for rid in chosen] == [0, 1, 2, 3]
    again = first.delete(INCREMENTAL.name, count=30)
    assert len(again) == 30 and not set(again) & set(chosen)  # never a deleted one twice
    rest = first.delete(INCREMENTAL.name, count=10)  # more than are left: all that are
    assert sorted(chosen + again + rest) == list(range(1, 41))
    assert first.truth(INCREMENTAL.name) == {} and first.delete(INCREMENTAL.name) == []


def test_delete_by_ids_refuses_unknown_and_deleted_ids_and_then_deletes_nothing(sandbox):
    assert sandbox.delete(INCREMENTAL.name, ids=[7, 3, 7]) == [3, 7]
    with pytest.raises(ValueError, match=r"\[3\].*deleted"):
        sandbox.delete(INCREMENTAL.name, ids=[3])
    with pytest.raises(ValueError, match=r"\[0, 41\]"):
        sandbox.delete(INCREMENTAL.name, ids=[5, 0, 41])
    assert 5 in sandbox.truth(INCREMENTAL.name)  # all or nothing
    with pytest.raises(ValueError, match=r"\[7\]"):
        sandbox.touch(INCREMENTAL.name, ids=[7])
    with pytest.raises(KeyError):
        sandbox.delete("noSuchStream", count=1)


def test_the_admin_endpoint_deletes_by_count_and_by_ids(sandbox_factory):
    sb, twin = sandbox_factory(), sandbox_factory()
    by_count = admin(sb, "delete", stream=INCREMENTAL.name, count=3)
    assert by_count.status_code == 200
    assert by_count.json() == {"ids": twin.delete(INCREMENTAL.name, count=3)}
    kept = [rid for rid in range(1, 41) if rid not in by_count.json()["ids"]]
    low, high = kept[0], kept[-1]
    assert admin(sb, "delete", stream=INCREMENTAL.name, ids=[high, low]).json() == {
        "ids": [low, high]
    }
    assert admin(sb, "delete", stream=INCREMENTAL.name).json()["ids"]  # count defaults to 5
    assert admin(sb, "touch", stream=INCREMENTAL.name, ids=[low]).status_code == 400
    refused = admin(sb, "delete", stream=INCREMENTAL.name, ids=[low, 99])
    assert refused.status_code == 400 and f"[{low}, 99]" in refused.json()["error"]
    for wrong in (["1"], [True], [1.0]):  # only JSON integers are ids
        assert admin(sb, "delete", stream=INCREMENTAL.name, ids=wrong).status_code == 400
    assert admin(sb, "delete", count=1).status_code == 400  # no stream
    assert admin(sb, "delete", stream="nope").status_code == 400
    truth = requests.get(f"{sb.base_url}/_sandbox/truth/{INCREMENTAL.name}", timeout=10).json()
    assert {low, high}.isdisjoint(int(k) for k in truth) and len(truth) == 40 - 3 - 2 - 5


def test_a_deleted_record_leaves_every_list_filter_count_and_its_own_url(sandbox):
    relation = INCREMENTAL.relationships[0].name
    before = sandbox.relationships(INCREMENTAL.name)
    lo, hi = bounds(sandbox, INCREMENTAL)
    in_window = ids_between(sandbox, INCREMENTAL, lo, hi)
    gone = set(sandbox.delete(INCREMENTAL.name, count=4))
    # a to-one target two records still point at, so its filter keeps one and loses one
    spared = {rid: row[relation] for rid, row in before.items() if rid not in gone | {1, 40}}
    target = next(t for t in spared.values() if t and list(spared.values()).count(t) >= 2)
    pointing = sorted(rid for rid, row in before.items() if row[relation] == target)
    first_pointing = next(rid for rid in pointing if rid in spared)
    gone |= set(sandbox.delete(INCREMENTAL.name, ids=[1, 40, first_pointing]))
    kept = sorted(set(range(1, 41)) - gone)
    session = session_for(sandbox)
    cursor = INCREMENTAL.cursor
    for sort in ("id", "-id", cursor, f"-{cursor}", "createdAt"):  # id, index, scan
        assert sorted(ids_of(walk(session, sandbox, INCREMENTAL, sort=sort, **PAGE))) == kept
    filters = {
        f"filter[{cursor}]": (f"{lo}..{hi}", sorted(in_window - gone)),  # the cursor index
        "filter[id]": ("1..10", [rid for rid in kept if rid <= 10]),  # an id range
        f"filter[{relation}][id]": (str(target), [p for p in pointing if p not in gone]),
    }
    for key, (value, expected) in filters.items():
        assert ids_of(walk(session, sandbox, INCREMENTAL, **{key: value}, **PAGE)) == expected
        answer = get(session, sandbox, INCREMENTAL, count="true", **{key: value})
        assert answer.json()["meta"]["count"] == len(expected), key
    assert 0 < len(filters[f"filter[{relation}][id]"][1]) < len(pointing)
    listed = {"filter[id]": ",".join(map(str, range(1, 41)))}
    assert sorted(ids_of(walk(session, sandbox, INCREMENTAL, **listed))) == kept
    assert get(session, sandbox, INCREMENTAL).json()["meta"]["count"] == len(kept)
    for rid in gone:
        missing = session.get(f"{sandbox.api_base_url}/{INCREMENTAL.path}/{rid}", timeout=10)
        assert missing.status_code == 404 and error_id(missing) == "resourceNotFound"
    assert session.get(f"{sandbox.api_base_url}/{INCREMENTAL.path}/{kept[0]}", timeout=10).ok
    assert sorted(sandbox.truth(INCREMENTAL.name)) == kept
    assert sandbox.relationships(INCREMENTAL.name) == {rid: before[rid] for rid in kept}
    url = f"{sandbox.base_url}/_sandbox/relationships/{INCREMENTAL.name}"
    assert sorted(map(int, requests.get(url, timeout=10).json())) == kept


def test_ids_are_never_reused_and_touch_and_add_keep_working(sandbox):
    assert sandbox.delete(INCREMENTAL.name, ids=[40, 39]) == [39, 40]
    assert sandbox.add(INCREMENTAL.name, count=2) == [41, 42]  # not 39 and 40 again
    deleted = set(sandbox.delete(INCREMENTAL.name, count=20)) | {39, 40}
    touched = sandbox.touch(INCREMENTAL.name, count=15)
    assert len(touched) == 15 and not set(touched) & deleted
    everything = sandbox.touch(INCREMENTAL.name, count=100)  # at most every record left
    assert sorted(everything) == sorted(sandbox.truth(INCREMENTAL.name))
    assert len(everything) == 42 - len(deleted)
    session = session_for(sandbox)
    assert sorted(ids_of(walk(session, sandbox, INCREMENTAL, **PAGE))) == sorted(everything)


def test_snapshot_streams_delete_too_and_other_streams_keep_their_references(sandbox):
    """A record of another stream that points at a deleted one keeps pointing at it, as
    some of Outreach's relationships do; a client must not take every related id to exist."""
    pointing = next(r.name for r in OTHER.relationships if r.target == INCREMENTAL.json_type)
    references = sandbox.relationships(OTHER.name)
    target = next(t for row in references.values() if isinstance(t := row[pointing], int))
    sandbox.delete(INCREMENTAL.name, ids=[target])
    assert sandbox.relationships(OTHER.name) == references
    gone = sandbox.delete(SNAPSHOT.name, count=3)
    session = session_for(sandbox)
    ids = ids_of(walk(session, sandbox, SNAPSHOT, **PAGE))
    assert ids == sorted(set(range(1, 41)) - set(gone)) == sorted(sandbox.truth(SNAPSHOT.name))
