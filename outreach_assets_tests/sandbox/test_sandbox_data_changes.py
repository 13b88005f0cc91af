"""The data: deterministic from the config, changed by touch and add while serving, and
the wrong-type drift that sends an integer as its decimal string."""

import threading
import time
from typing import Any

import pytest

from outreach_assets.catalog import Stream
from outreach_assets.sandbox import SandboxConfig, SandboxServer
from outreach_assets_tests.support.wire import (
    DRIFTED,
    DRIFTING,
    INCREMENTAL,
    OTHER,
    PROSPECTS,
    SNAPSHOT,
    cursor_of,
    get,
    session_for,
    walk,
)


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
