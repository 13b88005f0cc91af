"""What an id sweep means, decided on arrays: deleted, newer, never landed; and when a sweep
must not delete anything."""

from array import array
from datetime import UTC, datetime

import dagster as dg
import numpy as np
import pyarrow as pa

from outreach_assets.assets.deletions import (
    Held,
    doubts,
    judge,
    stale_windows,
    tombstone_table,
)
from outreach_assets.catalog import get_stream
from outreach_assets.client.census import NO_CURSOR, Census
from outreach_assets.convert import ID_COLUMN
from outreach_assets.storage import tombstones as graves

CALLS = get_stream("calls")
DUTIES = get_stream("duties")
DAY = 86_400_000_000  # microseconds
JAN_1 = int(datetime(2024, 1, 1, tzinfo=UTC).timestamp() * 1_000_000)


def _census(ids: list[int], micros: list[int] | None) -> Census:
    return Census(
        "calls",
        array("q", ids),
        None if micros is None else array("q", micros),
        pages=1,
        requests=1,
    )


def _held(ids: list[int], micros: list[int] | None) -> Held:
    return Held(
        np.array(ids, dtype=np.int64),
        None if micros is None else np.array(micros, dtype=np.int64),
    )


def test_an_incremental_verdict_sorts_ids_into_deleted_newer_and_unheld() -> None:
    held = _held([5, 1, 3, 9], [JAN_1 + 5, JAN_1 + 1, JAN_1 + 3, JAN_1 + 9])
    census = _census([1, 3, 4, 9], [JAN_1 + 1, JAN_1 + DAY, JAN_1 + 2 * DAY, NO_CURSOR])
    verdict = judge(held, census)
    assert verdict.deleted.tolist() == [5]
    assert verdict.deleted_micros.tolist() == [JAN_1 + 5]  # the newest cursor held
    assert verdict.newer_micros.tolist() == [JAN_1 + DAY]  # id 3 changed unseen
    assert verdict.unheld_micros.tolist() == [JAN_1 + 2 * DAY]  # id 4 never landed
    assert not verdict.snapshot_changed  # (id 9's unreadable cursor proves nothing)


def test_a_snapshot_verdict_says_whether_the_ids_differ() -> None:
    same = judge(_held([1, 2], None), _census([1, 2], None))
    assert not same.snapshot_changed and same.deleted.tolist() == []
    added = judge(_held([1, 2], None), _census([1, 2, 3], None))
    assert added.snapshot_changed and added.deleted.tolist() == []
    gone = judge(_held([1, 2], None), _census([2], None))
    assert gone.snapshot_changed and gone.deleted.tolist() == [1]
    assert gone.deleted_micros.tolist() == [NO_CURSOR]


def test_nothing_is_deleted_on_doubt() -> None:
    held = _held(list(range(100)), None)
    few = judge(held, _census(list(range(10, 100)), None))  # 10% gone
    assert doubts(DUTIES, held, few, _census([], None), previous_swept=None, max_share=0.2) is None
    many = judge(held, _census(list(range(50, 100)), None))  # half gone
    reason = doubts(DUTIES, held, many, _census([], None), previous_swept=None, max_share=0.2)
    assert reason is not None
    assert "50 of 100" in reason and "OUTREACH_MAX_DELETE_SHARE=0.50" in reason
    assert doubts(DUTIES, held, many, _census([], None), previous_swept=None, max_share=0.5) is None
    empty = _census([], None)
    reason = doubts(DUTIES, held, judge(held, empty), empty, previous_swept=5_000, max_share=1.0)
    assert reason is not None and "no record where the previous one counted 5,000" in reason


def test_tombstones_accumulate_keep_their_first_date_and_leave_ids_seen_again() -> None:
    earlier = datetime(2024, 1, 1, tzinfo=UTC)
    previous = pa.table(
        {ID_COLUMN: [2, 8], graves.DELETED_AT: [earlier] * 2, graves.LAST_CURSOR: [None] * 2},
        schema=graves.SCHEMA,
    )
    held = _held([1, 2, 4], None)
    census = _census([1, 8], None)  # 8 is back (a sweep that was wrong); 2 and 4 missing
    table = tombstone_table(previous, judge(held, census), census)
    rows = {r[ID_COLUMN]: r[graves.DELETED_AT] for r in table.to_pylist()}
    assert set(rows) == {2, 4}
    assert rows[2] == earlier  # first missed then, not now
    assert table.schema.equals(graves.SCHEMA)


def test_stale_cursors_become_contiguous_runs_of_partitions() -> None:
    partitions = dg.DailyPartitionsDefinition(start_date="2024-01-01", end_offset=1)
    micros = np.array(
        [JAN_1 + DAY + 5, JAN_1 + DAY + 9, JAN_1 + 2 * DAY, JAN_1 + 5 * DAY, JAN_1 - DAY],
        dtype=np.int64,
    )
    now = datetime(2024, 1, 10, tzinfo=UTC)
    runs = stale_windows(micros, partitions, now)
    assert [[w.key for w in run] for run in runs] == [["2024-01-02", "2024-01-03"], ["2024-01-06"]]
    only = stale_windows(micros, partitions, now, only={"2024-01-06"})
    assert [[w.key for w in run] for run in only] == [["2024-01-06"]]
