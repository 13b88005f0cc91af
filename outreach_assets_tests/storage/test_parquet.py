"""storage.py: per-partition Parquet files from one interleaved sweep, atomic and bounded."""

import json
import os
import subprocess
import sys
import tempfile
import textwrap
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import fsspec
import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

from outreach_assets.catalog import get_stream
from outreach_assets.convert import arrow_schema
from outreach_assets.storage import ParquetStore, PartitionWindow
from outreach_assets.storage import parquet as storage
from outreach_assets.storage.parquet import safe_key, unsafe_key
from outreach_assets_tests.support.files import (
    DAY0,
    DUTIES,
    DUTY_SCHEMA,
    SCHEMA,
    at,
    batch,
    duty,
    pbatch,
    purpose,
    window,
)


def write(
    store: ParquetStore, windows: list[PartitionWindow], pairs: list[tuple[str, pa.RecordBatch]]
) -> list[storage.PartitionResult]:
    return store.write_partitions("call_purposes", SCHEMA, "updatedAt", windows, iter(pairs))


def column(path: str, name: str) -> list[Any]:
    return pq.read_table(path, columns=[name])[name].to_pylist()


def all_files(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.rglob("*") if p.is_file())


@pytest.fixture
def store(tmp_path: Path) -> ParquetStore:
    return ParquetStore(str(tmp_path / "data"))


def test_interleaved_keys_are_split_into_one_file_per_window(store: ParquetStore) -> None:
    windows = [window(1), window(2), window(3)]
    pairs = [
        ("2024-03-02", pbatch(purpose(1, at(2, 1)), purpose(2, at(2, 2)))),
        ("2024-03-01", pbatch(purpose(3, at(1, 5)))),
        ("2024-03-02", pbatch(purpose(4, at(2, 23)))),
        ("2024-03-01", pbatch(purpose(5, at(1, 0)))),
    ]
    results = write(store, windows, pairs)

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
    results = write(store, windows, [("2024-03-03", pbatch(purpose(1, at(3))))])

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


def test_rows_outside_the_window_are_reported_not_dropped(store: ParquetStore) -> None:
    late = purpose(2, at(2, 0))  # exactly the window's end: outside, the end is exclusive
    no_cursor = purpose(3, at(1))
    del no_cursor["attributes"]["updatedAt"]
    (result,) = write(store, [window(1)], [("2024-03-01", pbatch(purpose(1, at(1)), late))])
    assert (result.rows, result.cursor_outside_window) == (2, 1)

    (result,) = write(store, [window(1)], [("2024-03-01", pbatch(purpose(1, at(1)), no_cursor))])
    assert (result.rows, result.cursor_outside_window) == (2, 1)


def test_failure_mid_stream_commits_nothing_and_removes_temp_files(tmp_path: Path) -> None:
    store = ParquetStore(str(tmp_path))
    good = write(store, [window(1)], [("2024-03-01", pbatch(purpose(1, at(1))))])
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
        write(
            store,
            [window(1)],
            [("2024-03-01", pbatch(purpose(1, at(1)))), ("2024-03-09", pbatch())],
        )
    duties = batch(DUTIES, [duty(1)])
    with pytest.raises(ValueError, match="schema differs"):
        write(store, [window(1)], [("2024-03-01", duties)])
    assert all_files(tmp_path) == []


def test_many_interleaved_partitions_beyond_the_open_writer_limit(
    store: ParquetStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(storage, "MAX_OPEN_WRITERS", 2)
    windows = [window(day) for day in range(1, 6)]
    pairs = []
    for round_ in range(3):  # each key is evicted and reopened: several segments per key
        for day in range(1, 6):
            rid = day * 10 + round_
            pairs.append((f"2024-03-{day:02d}", pbatch(purpose(rid, at(day, round_)))))
    pairs.append(("2024-03-01", pbatch(purpose(10, at(1, 20), "newer"))))

    results = write(store, windows, pairs)

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
    monkeypatch.setattr(storage, "BUFFER_BYTES", 1)  # every page goes straight to disk
    pairs = [
        (window(day).key, pbatch(purpose(day * 10 + i, at(day))))
        for i in range(3)
        for day in (1, 2)
    ]

    results = write(store, [window(1), window(2)], pairs)

    for result in results:
        assert pq.ParquetFile(result.path).metadata.num_row_groups == 3
    assert column(results[1].path, "id") == [20, 21, 22]


def test_readers_see_one_dataset_with_one_schema(store: ParquetStore) -> None:
    windows = [window(1), window(2), window(3)]
    write(store, windows, [("2024-03-01", pbatch(purpose(1, at(1)))), ("2024-03-03", pbatch())])
    folder = Path(store.stream_path("call_purposes"))
    (folder / ".2024-03-02.parquet.abcd.inprogress").write_bytes(b"half a file")

    dataset = ds.dataset(str(folder), format="parquet")
    assert dataset.schema.equals(SCHEMA, check_metadata=True)
    assert dataset.to_table().num_rows == 1
    assert len(dataset.files) == 3
    assert all(pq.read_schema(f).equals(SCHEMA, check_metadata=True) for f in dataset.files)
    frame = pd.read_parquet(folder)
    assert list(frame.columns) == SCHEMA.names and len(frame) == 1
    assert str(frame["updatedAt"].dtype) == "datetime64[us, UTC]"


def test_list_columns_match_the_schema_and_read_back_exactly(store: ParquetStore) -> None:
    calls = get_stream("calls")
    schema = arrow_schema(calls)
    tagged = {"type": "call", "id": 1, "attributes": {"tags": ["a", "b"], "updatedAt": at(1)}}
    pairs = iter([("2024-03-01", batch(calls, [tagged]))])

    (result,) = store.write_partitions("calls", schema, "updatedAt", [window(1)], pairs)

    assert result.schema_matches
    table = store.current_state("calls", schema, "updatedAt").read_all()
    assert table["tags"].to_pylist() == [["a", "b"]]
    for array, expected in zip(table.columns, schema, strict=True):
        assert array.type.equals(expected.type, check_metadata=True), expected.name


def test_schema_comparison_checks_metadata_and_types() -> None:
    assert storage.schemas_match(SCHEMA, SCHEMA)
    assert not storage.schemas_match(SCHEMA.with_metadata({}), SCHEMA)
    name = SCHEMA.get_field_index("name")
    assert not storage.schemas_match(SCHEMA.set(name, pa.field("name", pa.string())), SCHEMA)
    assert not storage.schemas_match(SCHEMA.set(name, pa.field("name", pa.large_string())), SCHEMA)
    assert not storage.schemas_match(DUTY_SCHEMA, SCHEMA)


def test_memory_filesystem_base() -> None:
    base = f"memory://outreach-test-{uuid.uuid4().hex}"
    remote = ParquetStore(base)
    fs = fsspec.filesystem("memory")
    windows = [window(1), window(2)]
    pairs = [
        ("2024-03-02", pbatch(purpose(1, at(2)))),
        ("2024-03-01", pbatch(purpose(2, at(1)), purpose(1, at(1)))),
    ]

    results = remote.write_partitions("call_purposes", SCHEMA, "updatedAt", windows, iter(pairs))

    assert results[0].path == f"{base}/call_purposes/2024-03-01.parquet"
    root = base.removeprefix("memory://")
    assert sorted(p.rsplit("/", 1)[-1] for p in fs.ls(f"/{root}/call_purposes", detail=False)) == [
        "2024-03-01.parquet",
        "2024-03-02.parquet",
    ]
    assert remote.existing_keys("call_purposes") == ["2024-03-01", "2024-03-02"]
    table, missing = remote.read_table("call_purposes", ["2024-03-01", "2024-03-05"])
    assert (table["id"].to_pylist(), missing) == ([2, 1], ["2024-03-05"])
    current = remote.current_state("call_purposes", SCHEMA, "updatedAt").read_all()
    assert sorted(current["id"].to_pylist()) == [1, 2]
    size = remote.write_table(f"{base}/x/x.parquet", current.to_reader())
    assert fs.size(f"/{root}/x/x.parquet") == size
    assert remote.read_file(remote.table_path("x")).num_rows == 2
    staging = Path(tempfile.gettempdir()) / storage.STAGING_DIR_NAME
    assert not list(staging.glob(f".call_purposes.*{storage.INPROGRESS_SUFFIX}"))
    fs.rm(f"/{root}", recursive=True)


def test_current_state_takes_the_newest_version_of_each_id(store: ParquetStore) -> None:
    windows = [window(1), window(2), window(3)]
    write(
        store,
        windows,
        [
            ("2024-03-01", pbatch(purpose(1, at(1), "v1"), purpose(2, at(1, 9), "early"))),
            ("2024-03-02", pbatch(purpose(1, at(2), "v2"), purpose(3, at(2)))),
            ("2024-03-03", pbatch(purpose(2, at(1, 9), "tie, later partition"))),
        ],
    )

    reader = store.current_state("call_purposes", SCHEMA, "updatedAt")

    assert reader.schema.equals(SCHEMA, check_metadata=True)
    table = reader.read_all()
    names = dict(zip(table["id"].to_pylist(), table["name"].to_pylist(), strict=True))
    assert names == {1: "v2", 2: "tie, later partition", 3: "p3"}
    empty = store.current_state("nothing_yet", SCHEMA, "updatedAt").read_all()
    assert empty.num_rows == 0 and empty.schema.equals(SCHEMA)


def test_current_state_of_a_full_snapshot_is_the_latest_partition(store: ParquetStore) -> None:
    for day, ids in ((1, [1, 2, 3]), (2, [2, 4])):
        rows = batch(DUTIES, [duty(i) for i in ids])
        store.write_partitions(
            "duties", DUTY_SCHEMA, None, [window(day)], iter([(window(day).key, rows)])
        )

    table = store.current_state("duties", DUTY_SCHEMA, None).read_all()

    assert table["id"].to_pylist() == [2, 4]


def test_stale_inprogress_files_of_written_keys_are_removed(store: ParquetStore) -> None:
    folder = Path(store.stream_path("call_purposes"))
    folder.mkdir(parents=True)
    stale = folder / ".2024-03-01.parquet.dead.inprogress"
    fresh = folder / ".2024-03-01.parquet.live.inprogress"
    other = folder / ".2024-03-09.parquet.dead.inprogress"
    for path in (stale, fresh, other):
        path.write_bytes(b"x")
    two_hours_ago = time.time() - 7200
    for path in (stale, other):
        os.utime(path, (two_hours_ago, two_hours_ago))

    write(store, [window(1)], [])

    assert not stale.exists()
    assert fresh.exists() and other.exists()


def test_read_table_skips_missing_keys_and_keeps_the_schema(store: ParquetStore) -> None:
    write(store, [window(1), window(2)], [("2024-03-02", pbatch(purpose(5, at(2))))])

    table, missing = store.read_table("call_purposes", ["2024-03-02", "2024-03-04"], ["id"])
    assert (table.to_pydict(), missing) == ({"id": [5]}, ["2024-03-04"])
    table, missing = store.read_table("call_purposes", ["2024-03-08"])
    assert table.num_rows == 0 and table.schema.equals(SCHEMA, check_metadata=True)
    assert missing == ["2024-03-08"]
    assert store.read_table("call_purposes")[0].num_rows == 1
    assert store.read_table("never_written")[0].num_columns == 0


def test_partition_keys_become_safe_file_names(store: ParquetStore) -> None:
    keys = ["a/b", ".hidden", "_meta", "100%", "2024-03-01-13:00", "x|y"]
    for key in keys:
        assert "/" not in safe_key(key) and not safe_key(key).startswith((".", "_"))
        assert unsafe_key(safe_key(key)) == key
    start = DAY0
    windows = [PartitionWindow(k, start, start + timedelta(hours=1)) for k in keys]
    write(store, windows, [])
    assert store.existing_keys("call_purposes") == sorted(keys)
    with pytest.raises(ValueError):
        safe_key("")


def test_write_table_is_atomic(tmp_path: Path) -> None:
    store = ParquetStore(str(tmp_path))
    path = store.table_path("call_purposes_current")
    size = store.write_table(path, pa.Table.from_batches([pbatch(purpose(1, at(1)))]).to_reader())
    assert size == os.path.getsize(path)
    before = Path(path).read_bytes()

    def broken() -> Iterator[pa.RecordBatch]:
        yield pbatch(purpose(2, at(1)))
        raise RuntimeError("upstream failed")

    with pytest.raises(RuntimeError):
        store.write_table(path, pa.RecordBatchReader.from_batches(SCHEMA, broken()))
    assert Path(path).read_bytes() == before
    assert all_files(tmp_path) == ["call_purposes_current.parquet"]


def test_windows_must_be_aware_and_ordered() -> None:
    with pytest.raises(ValueError, match="tz-aware"):
        PartitionWindow("k", datetime(2024, 3, 1), datetime(2024, 3, 2, tzinfo=UTC))
    with pytest.raises(ValueError, match="after"):
        PartitionWindow("k", DAY0, DAY0)


def test_repr_hides_storage_options() -> None:
    store = ParquetStore("memory://x", {"secret_token": "s3cr3t"})
    assert "s3cr3t" not in repr(store)


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
