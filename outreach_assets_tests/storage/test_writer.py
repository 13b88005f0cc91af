"""One run's partition files from an interleaved sweep: split, deduped, bounded, atomic."""

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from outreach_assets.storage import ParquetStore, writer
from outreach_assets_tests.support.files import (
    DUTIES,
    DUTY_SCHEMA,
    SCHEMA,
    all_files,
    at,
    batch,
    column,
    duty,
    pbatch,
    purpose,
    window,
    write_purposes,
)


def test_interleaved_keys_are_split_into_one_file_per_window(store: ParquetStore) -> None:
    windows = [window(1), window(2), window(3)]
    pairs = [
        ("2024-03-02", pbatch(purpose(1, at(2, 1)), purpose(2, at(2, 2)))),
        ("2024-03-01", pbatch(purpose(3, at(1, 5)))),
        ("2024-03-02", pbatch(purpose(4, at(2, 23)))),
        ("2024-03-01", pbatch(purpose(5, at(1, 0)))),
    ]
    results = write_purposes(store, windows, pairs)

    assert [r.key for r in results] == ["2024-03-01", "2024-03-02", "2024-03-03"]
    first, second, empty = results
    assert column(first.path, "id") == [3, 5]
    assert column(second.path, "id") == [1, 2, 4]
    assert (first.rows, second.rows, empty.rows) == (2, 3, 0)
    assert first.min_cursor == datetime(2024, 3, 1, 0, tzinfo=UTC)
    assert first.max_cursor == datetime(2024, 3, 1, 5, tzinfo=UTC)
    assert (empty.min_cursor, empty.max_cursor) == (None, None)
    for r in results:
        assert r.path == store.partition_path("call_purposes", r.key)
        assert r.bytes == os.path.getsize(r.path)
        assert r.ids_unique and r.schema_matches
        assert r.cursor_outside_window == 0 and r.duplicates_removed == 0
        assert pq.read_schema(r.path).equals(SCHEMA, check_metadata=True)
        metadata = pq.ParquetFile(r.path).metadata
        for group in range(metadata.num_row_groups):
            assert metadata.row_group(group).column(0).compression == "ZSTD"
    assert store.existing_keys("call_purposes") == [w.key for w in windows]
    assert all_files(Path(store.stream_path("call_purposes"))) == [
        "2024-03-01.parquet",
        "2024-03-02.parquet",
        "2024-03-03.parquet",
    ]


def test_empty_partitions_share_one_checked_empty_file(store: ParquetStore) -> None:
    windows = [window(day) for day in range(1, 6)]
    results = write_purposes(store, windows, [("2024-03-03", pbatch(purpose(1, at(3))))])

    empty = [r for r in results if r.key != "2024-03-03"]
    contents = {Path(r.path).read_bytes() for r in empty}
    assert len(contents) == 1  # byte copies of the first empty file
    for r in empty:
        assert (r.rows, r.bytes, r.min_cursor, r.cursor_outside_window) == (
            0,
            len(*contents),
            None,
            0,
        )
        assert r.ids_unique and r.schema_matches
        assert r.path == store.partition_path("call_purposes", r.key)
        table = pq.read_table(r.path)
        assert table.num_rows == 0 and table.schema.equals(SCHEMA, check_metadata=True)
    assert [r.rows for r in results] == [0, 0, 1, 0, 0]


def test_dedupe_keeps_newest_cursor_and_last_seen_on_ties(store: ParquetStore) -> None:
    pairs = [
        ("2024-03-01", pbatch(purpose(1, at(1, 3), "old"), purpose(2, at(1, 9), "first"))),
        ("2024-03-01", pbatch(purpose(1, at(1, 8), "newest"), purpose(3, at(1, 1)))),
        ("2024-03-01", pbatch(purpose(1, at(1, 5), "middle"), purpose(2, at(1, 9), "second"))),
    ]
    # One-row row groups: the rewrite must line the keep-mask up across row groups.
    (result,) = store.write_partitions(
        "call_purposes", SCHEMA, "updatedAt", [window(1)], iter(pairs), row_group_rows=1
    )

    table = pq.read_table(result.path)
    assert dict(zip(table["id"].to_pylist(), table["name"].to_pylist(), strict=True)) == {
        1: "newest",
        2: "second",
        3: "p3",
    }
    assert result.rows == 3 and result.duplicates_removed == 3 and result.ids_unique
    assert all_files(Path(store.stream_path("call_purposes"))) == ["2024-03-01.parquet"]


def test_full_snapshot_dedupe_keeps_last_seen(store: ParquetStore) -> None:
    pairs = [
        ("2024-03-01", batch(DUTIES, [duty(1, "a"), duty(2, "b")])),
        ("2024-03-01", batch(DUTIES, [duty(1, "c")])),
    ]
    (result,) = store.write_partitions("duties", DUTY_SCHEMA, None, [window(1)], iter(pairs))

    table = pq.read_table(result.path)
    assert sorted(zip(table["id"].to_pylist(), table["symbolicName"].to_pylist(), strict=True)) == [
        (1, "c"),
        (2, "b"),
    ]
    assert result.duplicates_removed == 1 and result.cursor_outside_window == 0
    assert (result.min_cursor, result.max_cursor) == (None, None)


def test_failure_mid_stream_commits_nothing_and_removes_temp_files(tmp_path: Path) -> None:
    store = ParquetStore(str(tmp_path))
    good = write_purposes(store, [window(1)], [("2024-03-01", pbatch(purpose(1, at(1))))])
    before = Path(good[0].path).read_bytes()

    def failing_sweep() -> Iterator[tuple[str, pa.RecordBatch]]:
        for rid in range(2, 8):  # enough rows for several row groups on disk first
            yield ("2024-03-01", pbatch(purpose(rid, at(1))))
            yield ("2024-03-02", pbatch(purpose(rid + 100, at(2))))
        raise ConnectionError("API went away")

    with pytest.raises(ConnectionError, match="API went away"):
        store.write_partitions(
            "call_purposes",
            SCHEMA,
            "updatedAt",
            [window(1), window(2)],
            failing_sweep(),
            row_group_rows=2,
        )

    assert Path(good[0].path).read_bytes() == before
    assert all_files(tmp_path) == ["2024-03-01.parquet"]  # no 2024-03-02, no .inprogress


def test_unknown_key_and_wrong_schema_are_refused_without_leftovers(tmp_path: Path) -> None:
    store = ParquetStore(str(tmp_path))
    with pytest.raises(ValueError, match="'2024-03-09'"):
        write_purposes(
            store,
            [window(1)],
            [("2024-03-01", pbatch(purpose(1, at(1)))), ("2024-03-09", pbatch())],
        )
    duties = batch(DUTIES, [duty(1)])
    with pytest.raises(ValueError, match="schema differs"):
        write_purposes(store, [window(1)], [("2024-03-01", duties)])
    assert all_files(tmp_path) == []


def test_many_interleaved_partitions_beyond_the_open_writer_limit(
    store: ParquetStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(writer, "MAX_OPEN_WRITERS", 2)
    windows = [window(day) for day in range(1, 6)]
    pairs = []
    for round_ in range(3):  # each key is evicted and reopened: several segments per key
        for day in range(1, 6):
            rid = day * 10 + round_
            pairs.append((f"2024-03-{day:02d}", pbatch(purpose(rid, at(day, round_)))))
    pairs.append(("2024-03-01", pbatch(purpose(10, at(1, 20), "newer"))))

    results = write_purposes(store, windows, pairs)

    assert [r.rows for r in results] == [3] * 5
    assert column(results[1].path, "id") == [20, 21, 22]  # segments concatenated in order
    table = pq.read_table(results[0].path)
    assert dict(zip(table["id"].to_pylist(), table["name"].to_pylist(), strict=True))[10] == (
        "newer"
    )
    assert results[0].duplicates_removed == 1
    assert not [f for f in all_files(Path(store.stream_path("call_purposes"))) if "inprog" in f]


def test_buffers_over_the_byte_budget_are_written_out(
    store: ParquetStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(writer, "BUFFER_BYTES", 1)  # every page goes straight to disk
    pairs = [
        (window(day).key, pbatch(purpose(day * 10 + i, at(day))))
        for i in range(3)
        for day in (1, 2)
    ]

    results = write_purposes(store, [window(1), window(2)], pairs)

    for result in results:
        assert pq.ParquetFile(result.path).metadata.num_row_groups == 3
    assert column(results[1].path, "id") == [20, 21, 22]


_MEMORY_PROBE = """
import json, sys
from datetime import UTC, datetime, timedelta
import pyarrow as pa, pyarrow.compute as pc
from outreach_assets.convert import arrow_schema
from outreach_assets.catalog import get_stream
from outreach_assets.storage import ParquetStore, PartitionWindow

schema = arrow_schema(get_stream("call_purposes"))
day = datetime(2024, 3, 1, tzinfo=UTC)
windows = [PartitionWindow(f"k{i}", day, day + timedelta(days=1)) for i in range(2)]
PAGE, PAGES = 5_000, 100
filler = pa.array(["x" * 120] * PAGE)
stamp = pa.scalar(day + timedelta(hours=1), type=pa.timestamp("us", tz="UTC"))
total = 0

def page(n):
    global total
    first = n * PAGE if n < PAGES - 1 else PAGE  # the last page repeats page 1's ids (k1)
    ids = pc.add(pa.array(range(PAGE), pa.int64()), first)
    names = pc.binary_join_element_wise(filler, pc.cast(ids, pa.string()), "")  # fresh bytes
    columns = {f.name: pa.nulls(PAGE, f.type) for f in schema}
    columns.update(id=ids, name=names, _extracted_at=pa.repeat(stamp, PAGE))
    updated = pa.scalar(day + timedelta(hours=n % 24), type=stamp.type)
    columns["updatedAt"] = pa.repeat(updated, PAGE)
    batch = pa.RecordBatch.from_arrays([columns[f.name] for f in schema], schema=schema)
    total += batch.nbytes
    return batch

pool = pa.default_memory_pool()
baseline = pool.max_memory()
results = ParquetStore(sys.argv[1]).write_partitions(
    "call_purposes",
    schema,
    "updatedAt",
    windows,
    ((f"k{n % 2}", page(n)) for n in range(PAGES)),
    row_group_rows=10_000,  # the bound is a few row groups, whatever the partition's size
)
rows = [r.rows for r in results]
dropped = [r.duplicates_removed for r in results]
peak = pool.max_memory() - baseline
print(json.dumps({"peak": peak, "data": total, "rows": rows, "dropped": dropped}))
"""


def test_memory_stays_bounded_for_a_500k_row_write(tmp_path: Path) -> None:
    """A fresh process, so the Arrow pool's peak is this write's and nothing else's."""
    out = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(_MEMORY_PROBE), str(tmp_path)],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[1],
        timeout=60,
    )
    report = json.loads(out.stdout)
    assert report["rows"] == [250_000, 245_000] and report["dropped"] == [0, 5_000]
    assert report["data"] > 60 * 2**20
    assert report["peak"] < report["data"] / 4, report
