"""No resurrection: tombstones, and full rebuilds that agree with incremental merges.

A server is simulated as id -> cursor day (None once deleted). Each step of a random
history changes or deletes records on it, re-syncs some partitions (each one then holds
exactly the server's records whose cursor falls in it), and sometimes records the server's
deletions as tombstones, as an id sweep would. After every step, a chain of incremental
merges and a full rebuild from scratch (with the previous state) must agree, and neither
may hold a record the tombstones name, or an older version of a record than it held.
"""

import random
from datetime import UTC, datetime

import numpy as np
import pyarrow as pa
import pytest

from outreach_assets.convert import ID_COLUMN
from outreach_assets.storage import ParquetStore, Tombstones
from outreach_assets.storage import tombstones as graves
from outreach_assets_tests.support.files import (
    DUTIES,
    DUTY_SCHEMA,
    SCHEMA,
    at,
    batch,
    duty,
    pbatch,
    purpose,
    window,
    write_purposes,
)

NAME = "call_purposes"
DAYS = 6
DELETED_AT = datetime(2024, 3, 9, tzinfo=UTC)


def _tombstones(deleted: dict[int, int]) -> Tombstones:
    """Tombstones for ``deleted`` (id -> the day of the last cursor held)."""
    table = pa.table(
        {
            ID_COLUMN: list(deleted),
            graves.DELETED_AT: [DELETED_AT] * len(deleted),
            graves.LAST_CURSOR: [datetime.fromisoformat(at(day)) for day in deleted.values()],
        },
        schema=graves.SCHEMA,
    )
    return Tombstones.from_table(table)


def _resync(store: ParquetStore, server: dict[int, int | None], day: int) -> None:
    rows = [purpose(i, at(d)) for i, d in sorted(server.items()) if d == day]
    pairs = [(window(day).key, pbatch(*rows))] if rows else []
    write_purposes(store, [window(day)], pairs)


def _state(reader: pa.RecordBatchReader) -> dict[int, str]:
    table = reader.read_all()
    cursors = [c.isoformat() for c in table["updatedAt"].to_pylist()]
    return dict(zip(table[ID_COLUMN].to_pylist(), cursors, strict=True))


def _write_state(store: ParquetStore, reader: pa.RecordBatchReader, path: str) -> None:
    store.write_table(path, reader)


@pytest.mark.parametrize("seed", range(12))
def test_full_rebuild_equals_the_merge_and_neither_resurrects(
    store: ParquetStore, seed: int
) -> None:
    rng = random.Random(seed)
    server: dict[int, int | None] = {i: rng.randint(1, DAYS) for i in range(1, 40)}
    for day in range(1, DAYS + 1):
        _resync(store, server, day)
    previous = store.table_path("call_purposes_current")
    _write_state(store, store.current_state(NAME, SCHEMA, "updatedAt"), previous)
    buried: dict[int, int] = {}
    for _ in range(8):
        held = _state(store.current_state(NAME, SCHEMA, "updatedAt", previous=previous))
        for record_id in rng.sample(sorted(server), 6):
            if server[record_id] is None:
                continue
            if rng.random() < 0.4:
                server[record_id] = None  # deleted on the server
            else:  # changed: a newer cursor, never older
                server[record_id] = min(DAYS, (server[record_id] or 1) + rng.randint(0, 2))
        synced = rng.sample(range(1, DAYS + 1), rng.randint(1, 3))
        for day in synced:
            _resync(store, server, day)
        if rng.random() < 0.5:  # an id sweep: the server's deletions become tombstones
            for record_id, cursor_day in server.items():
                if cursor_day is None and record_id not in buried:
                    last = held.get(record_id)
                    buried[record_id] = int(last[8:10]) if last else 1
        deleted = _tombstones(buried)
        keys = [window(day).key for day in synced]
        merged = _state(
            store.merge_current(NAME, SCHEMA, "updatedAt", previous, keys, deleted=deleted)
        )
        full = _state(
            store.current_state(NAME, SCHEMA, "updatedAt", previous=previous, deleted=deleted)
        )
        assert full == merged
        assert not set(full) & set(buried)  # no deleted record comes back
        for record_id, cursor in held.items():  # no record falls back to an older version
            if record_id in full:
                assert full[record_id] >= cursor
        _write_state(
            store,
            store.merge_current(NAME, SCHEMA, "updatedAt", previous, keys, deleted=deleted),
            previous,
        )


def test_an_old_version_in_an_older_partition_does_not_come_back(store: ParquetStore) -> None:
    """The case that resurrected records: the newest version's partition is re-synced
    without the record (Outreach deleted it), an older partition still holds an older one."""
    write_purposes(store, [window(1)], [(window(1).key, pbatch(purpose(7, at(1), "old")))])
    write_purposes(store, [window(2)], [(window(2).key, pbatch(purpose(7, at(2), "new")))])
    previous = store.table_path("call_purposes_current")
    store.write_table(previous, store.current_state(NAME, SCHEMA, "updatedAt"))
    write_purposes(store, [window(2)], [])  # re-synced: 7 is gone from day 2
    without_previous = _state(store.current_state(NAME, SCHEMA, "updatedAt"))
    assert without_previous == {7: datetime.fromisoformat(at(1)).isoformat()}  # the old bug
    with_previous = _state(store.current_state(NAME, SCHEMA, "updatedAt", previous=previous))
    assert with_previous == {7: datetime.fromisoformat(at(2)).isoformat()}  # newest it had
    deleted = _tombstones({7: 2})
    assert (
        _state(store.current_state(NAME, SCHEMA, "updatedAt", previous=previous, deleted=deleted))
        == {}
    )


def test_a_version_newer_than_its_tombstone_stands(store: ParquetStore) -> None:
    write_purposes(store, [window(3)], [(window(3).key, pbatch(purpose(5, at(3))))])
    deleted = _tombstones({5: 2})
    state = _state(store.current_state(NAME, SCHEMA, "updatedAt", deleted=deleted))
    assert list(state) == [5]


def test_a_snapshot_leaves_tombstoned_ids_out(store: ParquetStore) -> None:
    store.write_partitions(
        "duties",
        DUTY_SCHEMA,
        None,
        [window(1)],
        iter([(window(1).key, batch(DUTIES, [duty(1), duty(2), duty(3)]))]),
    )
    table = pa.table(
        {ID_COLUMN: [2], graves.DELETED_AT: [DELETED_AT], graves.LAST_CURSOR: [None]},
        schema=graves.SCHEMA,
    )
    reader = store.current_state("duties", DUTY_SCHEMA, None, deleted=Tombstones.from_table(table))
    assert reader.read_all()[ID_COLUMN].to_pylist() == [1, 3]


def test_alive_compares_against_each_ids_own_tombstone() -> None:
    deleted = _tombstones({10: 2, 3: 4})
    ids = np.array([3, 3, 10, 10, 11], dtype=np.int64)
    micros = np.array([_micros(4), _micros(5), _micros(1), _micros(3), _micros(1)], dtype=np.int64)
    assert deleted.alive(ids, micros).tolist() == [False, True, False, True, True]
    assert deleted.alive(ids, None).tolist() == [False, False, False, False, True]
    assert Tombstones.empty().alive(ids, micros).all()


def _micros(day: int) -> int:
    moment = datetime.fromisoformat(at(day))
    return int(moment.timestamp() * 1_000_000)
