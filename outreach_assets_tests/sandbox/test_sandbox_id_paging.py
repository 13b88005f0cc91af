"""Paging by id while records change: keyset pages on the id neither skip nor repeat a record
that exists throughout, whatever is touched, deleted or added between two pages. Delete
detection relies on it: an id sweep that skipped a record would report it deleted."""

import threading
import time

import pytest

from outreach_assets.sandbox import SandboxServer
from outreach_assets_tests.support.wire import INCREMENTAL, SNAPSHOT, ids_of, pages, session_for

RECORDS = 300
PAGE_SIZE = 7


def _check(seen: list[int], descending: bool, initial: set[int], deleted: set[int]) -> None:
    assert len(seen) == len(set(seen)), "a record was served twice"
    assert seen == sorted(seen, reverse=descending)
    assert initial - deleted <= set(seen), "a record that exists throughout was skipped"


@pytest.mark.parametrize("sort", ["id", "-id"])
@pytest.mark.parametrize("fields", [None, "", INCREMENTAL.cursor])
def test_id_pages_are_stable_while_records_are_touched_deleted_and_added(
    sandbox_factory, sort, fields
):
    sb: SandboxServer = sandbox_factory(sizes={INCREMENTAL.name: RECORDS})
    params = {"sort": sort, "page[size]": PAGE_SIZE, "count": "false"}
    if fields is not None:
        params[f"fields[{INCREMENTAL.json_type}]"] = fields
    initial = set(sb.truth(INCREMENTAL.name))
    deleted: set[int] = set()
    seen: list[int] = []
    for body in pages(session_for(sb), sb, INCREMENTAL, **params):
        page = ids_of(body["data"])
        assert not set(page) & deleted  # nothing deleted before its page is served
        seen += page
        # the page's last record is the cursor's own: deleting it must not lose the place
        ahead, behind = page[-1], page[0]
        deleted |= set(sb.delete(INCREMENTAL.name, ids=[ahead]))
        if behind not in deleted:
            deleted |= set(sb.delete(INCREMENTAL.name, ids=[behind]))
        deleted |= set(sb.delete(INCREMENTAL.name, count=2))
        touched = sb.touch(INCREMENTAL.name, count=5)  # new cursor values, same ids
        assert not set(touched) & deleted
        sb.add(INCREMENTAL.name, count=1)
    assert len(deleted) > RECORDS // 4  # the walk really raced the changes
    _check(seen, sort == "-id", initial, deleted)


def test_a_snapshot_stream_pages_by_id_stably_too(sandbox_factory):
    sb: SandboxServer = sandbox_factory(sizes={SNAPSHOT.name: RECORDS})
    initial = set(sb.truth(SNAPSHOT.name))
    deleted: set[int] = set()
    seen: list[int] = []
    params = {"page[size]": PAGE_SIZE, f"fields[{SNAPSHOT.json_type}]": ""}
    for body in pages(session_for(sb), sb, SNAPSHOT, **params):
        seen += ids_of(body["data"])
        deleted |= set(sb.delete(SNAPSHOT.name, count=3))
        sb.touch(SNAPSHOT.name, count=3)
    _check(seen, False, initial, deleted)


def test_id_pages_are_stable_under_concurrent_changes(sandbox_factory):
    sb: SandboxServer = sandbox_factory(sizes={INCREMENTAL.name: RECORDS})
    initial = set(sb.truth(INCREMENTAL.name))
    deleted: set[int] = set()
    stop = threading.Event()

    def mutate() -> None:
        while not stop.is_set():
            deleted.update(sb.delete(INCREMENTAL.name, count=1))
            sb.touch(INCREMENTAL.name, count=3)
            sb.add(INCREMENTAL.name, count=1)
            time.sleep(0.001)

    worker = threading.Thread(target=mutate)
    worker.start()
    try:
        params = {"sort": "id", "page[size]": 5, f"fields[{INCREMENTAL.json_type}]": ""}
        seen = [
            r for body in pages(session_for(sb), sb, INCREMENTAL, **params) for r in body["data"]
        ]
    finally:
        stop.set()
        worker.join()
    assert deleted, "the mutator never ran during the walk"
    _check(ids_of(seen), False, initial, deleted)
