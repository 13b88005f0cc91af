"""One API sweep over a run's windows, routed per partition (real HTTP against the sandbox)."""

from datetime import UTC, datetime, timedelta

import pyarrow as pa
import pytest

from outreach_assets.assets.sweep import SweepStats, route, sweep
from outreach_assets.catalog import get_stream
from outreach_assets.storage import PartitionWindow
from outreach_assets_tests.support.clients import make_client


def _days(first: datetime, count: int) -> list[PartitionWindow]:
    return [
        PartitionWindow(
            (first + timedelta(days=i)).strftime("%Y-%m-%d"),
            first + timedelta(days=i),
            first + timedelta(days=i + 1),
        )
        for i in range(count)
    ]


def _iso(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def test_sweep_routes_every_record_to_the_window_of_its_cursor(sandbox_factory, tmp_path):
    stream = get_stream("calls")
    sb = sandbox_factory(
        sizes={"calls": 400}, start="2024-01-01T00:00:00Z", end="2024-03-01T00:00:00Z"
    )
    windows = _days(datetime(2024, 1, 10, tzinfo=UTC), 20)
    stats = SweepStats()
    client = make_client(sb, tmp_path)
    got: dict[str, set[int]] = {}
    for key, batch in sweep(client, stream, windows, stats):
        got.setdefault(key, set()).update(batch.column("id").to_pylist())
    expected: dict[str, set[int]] = {}
    for record_id, cursor in sb.truth("calls").items():
        moment = _iso(cursor)
        for w in windows:
            if w.start <= moment < w.end:
                expected.setdefault(w.key, set()).add(record_id)
    assert got == expected
    assert sum(stats.rows_per_key.values()) == sum(len(v) for v in expected.values())
    # one sweep over the whole range, not one scan per partition
    assert client.stats.requests == stats.pages


def test_rows_outside_the_run_range_are_dropped_whatever_the_server_sends():
    windows = _days(datetime(2024, 1, 1, tzinfo=UTC), 2)
    ts = pa.array(
        [
            datetime(2023, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),  # before
            datetime(2024, 1, 1, tzinfo=UTC),  # first window, inclusive start
            datetime(2024, 1, 2, 12, tzinfo=UTC),  # second window
            datetime(2024, 1, 3, tzinfo=UTC),  # the API's inclusive upper bound: not ours
            None,
        ],
        pa.timestamp("us", tz="UTC"),
    )
    batch = pa.RecordBatch.from_arrays([pa.array([1, 2, 3, 4, 5]), ts], ["id", "updatedAt"])
    stats = SweepStats()
    routed = {k: b.column("id").to_pylist() for k, b in route(batch, "updatedAt", windows, stats)}
    assert routed == {"2024-01-01": [2], "2024-01-02": [3]}
    assert stats.outside_range == 3


def test_a_batch_wholly_inside_one_window_is_passed_on_without_a_copy():
    windows = _days(datetime(2024, 1, 1, tzinfo=UTC), 3)
    ts = pa.array(
        [datetime(2024, 1, 2, h, tzinfo=UTC) for h in (0, 5, 23)], pa.timestamp("us", tz="UTC")
    )
    batch = pa.RecordBatch.from_arrays([pa.array([1, 2, 3]), ts], ["id", "updatedAt"])
    stats = SweepStats()
    [(key, part)] = route(batch, "updatedAt", windows, stats)
    assert key == "2024-01-02" and part is batch and stats.outside_range == 0
    # One row elsewhere: split, each part its own rows.
    late = pa.array([datetime(2024, 1, 3, 1, tzinfo=UTC)], pa.timestamp("us", tz="UTC"))
    mixed = pa.RecordBatch.from_arrays(
        [pa.array([1, 2, 3, 4]), pa.concat_arrays([ts, late])], ["id", "updatedAt"]
    )
    split = {k: b.column("id").to_pylist() for k, b in route(mixed, "updatedAt", windows, stats)}
    assert split == {"2024-01-02": [1, 2, 3], "2024-01-03": [4]}


@pytest.mark.parametrize("name", ["duties", "sequence_templates"])
def test_full_snapshot_is_the_content_of_every_window_of_the_run(sandbox_factory, tmp_path, name):
    sb = sandbox_factory()
    windows = _days(datetime(2024, 5, 1, tzinfo=UTC), 3)
    stats = SweepStats()
    client = make_client(sb, tmp_path)
    got: dict[str, list[int]] = {}
    for key, batch in sweep(client, get_stream(name), windows, stats):
        got.setdefault(key, []).extend(batch.column("id").to_pylist())
    truth = sorted(sb.truth(name))
    assert {k: sorted(v) for k, v in got.items()} == {w.key: truth for w in windows}
    assert client.stats.requests == stats.pages  # fetched once, not once per window
