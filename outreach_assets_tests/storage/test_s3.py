"""The store on ``s3://``, against moto's S3 server on 127.0.0.1 (``support/s3.py``).

Everything goes through the product's own code (``ParquetStore``, ``AtomicFiles``, the IO
manager, the current-state asset) and is then looked at with a boto3 client of the test's
own, so what is asserted is what the bucket holds, not what the store believes.
"""

import os
import signal
import subprocess
import sys
import tempfile
import time
import tracemalloc
from datetime import timedelta
from pathlib import Path
from typing import Any

import dagster as dg
import fsspec
import pyarrow as pa
import pytest

from outreach_assets.assets.current import build_current_asset
from outreach_assets.resources.io_manager import OutreachIOManager
from outreach_assets.storage import INPROGRESS_SUFFIX, STALE_AFTER, ParquetStore, PartitionWindow
from outreach_assets.storage.atomic import STAGING_DIR_NAME, AtomicFiles
from outreach_assets.storage.objects import (
    MAX_PARTS,
    UPLOAD_CONCURRENCY,
    UPLOAD_PART_BYTES,
    abort_stale_uploads,
    filesystem_options,
    part_bytes,
)
from outreach_assets_tests.support.files import (
    PURPOSES,
    SCHEMA,
    at,
    pbatch,
    purpose,
    window,
    write_purposes,
)
from outreach_assets_tests.support.s3 import S3Server, StallingProxy

STAGING = Path(tempfile.gettempdir()) / STAGING_DIR_NAME
DAILY = dg.DailyPartitionsDefinition(start_date="2024-03-01", end_date="2024-03-05")
RAW_KEY = dg.AssetKey(["outreach", "call_purposes"])
ROWS = {
    "2024-03-01": [purpose(1, at(1)), purpose(2, at(1, 3))],
    "2024-03-02": [purpose(3, at(2))],
    "2024-03-03": [purpose(9, at(3))],
    "2024-03-04": [purpose(4, at(4)), purpose(1, at(4), "changed")],
}
SEEN: dict[str, Any] = {}


def _bucket(base: str) -> str:
    return base.removeprefix("s3://").split("/", 1)[0]


def _staged(stream: str) -> list[Path]:
    return sorted(STAGING.glob(f".{stream}.*{INPROGRESS_SUFFIX}"))


def write_purposes_from(store: ParquetStore, pairs: Any) -> None:
    store.write_partitions("call_purposes", SCHEMA, "updatedAt", [window(1), window(2)], pairs)


# ##### COMMITS


def test_partitions_land_as_objects_with_nothing_else_beside_them(
    s3_server: S3Server, s3_base: str
) -> None:
    store = ParquetStore(s3_base)
    bucket = _bucket(s3_base)
    pairs = [("2024-03-02", pbatch(purpose(1, at(2)))), ("2024-03-01", pbatch(purpose(2, at(1))))]

    results = write_purposes(store, [window(1), window(2)], pairs)
    rewritten = write_purposes(store, [window(2)], [("2024-03-02", pbatch(purpose(5, at(2))))])

    assert [r.path for r in results] == [
        f"{s3_base}/call_purposes/2024-03-01.parquet",
        f"{s3_base}/call_purposes/2024-03-02.parquet",
    ]
    assert rewritten[0].rows == 1
    # Only the committed files: no staging object, no hidden name, no pending upload.
    assert s3_server.keys(bucket) == [
        "data/call_purposes/2024-03-01.parquet",
        "data/call_purposes/2024-03-02.parquet",
    ]
    assert s3_server.uploads(bucket) == []
    assert not _staged("call_purposes")
    assert store.existing_keys("call_purposes") == ["2024-03-01", "2024-03-02"]
    table, missing = store.read_table("call_purposes", ["2024-03-02", "2024-03-03"])
    assert (table["id"].to_pylist(), missing) == ([5], ["2024-03-03"])


def test_a_sweep_failing_midway_commits_nothing_and_keeps_the_old_file(
    s3_server: S3Server, s3_base: str
) -> None:
    store = ParquetStore(s3_base)
    bucket = _bucket(s3_base)
    write_purposes(store, [window(1)], [("2024-03-01", pbatch(purpose(1, at(1))))])
    key = "data/call_purposes/2024-03-01.parquet"
    before = s3_server.client().get_object(Bucket=bucket, Key=key)["Body"].read()

    def sweep() -> Any:
        yield "2024-03-01", pbatch(purpose(7, at(1)))
        yield "2024-03-02", pbatch(purpose(8, at(2)))
        raise ConnectionError("the API went away")

    with pytest.raises(ConnectionError):
        write_purposes_from(store, sweep())

    assert s3_server.keys(bucket) == [key]
    assert s3_server.client().get_object(Bucket=bucket, Key=key)["Body"].read() == before
    assert s3_server.uploads(bucket) == []
    assert not _staged("call_purposes")


KILLED_WRITER = """
import sys
import numpy as np
import pyarrow as pa
from outreach_assets.storage import ParquetStore

store = ParquetStore(sys.argv[1])
blobs = np.random.default_rng(0).bytes(int(sys.argv[2]))
chunk = 2**20
column = pa.array([blobs[i : i + chunk] for i in range(0, len(blobs), chunk)], pa.binary())
store.write_table(store.table_path("bigtable"), pa.table({"blob": column}).to_reader())
"""


def test_a_process_killed_mid_upload_leaves_no_object_and_its_leftovers_are_cleaned(
    s3_server: S3Server, s3_base: str
) -> None:
    """The writer is killed once its multipart upload is 20 MiB in (the proxy stalls it
    there): the final key never appears, and the next write of the stream aborts the
    abandoned upload and, once older than STALE_AFTER, removes the killed process's staging
    file.

    The upload's age cannot be checked here: moto lists every multipart upload as initiated
    on 2010-11-10 (a constant in moto/s3/responses.py), so all of them are stale to it,
    whereas S3 reports the real time and a live run's upload younger than STALE_AFTER is
    kept.
    """
    bucket = _bucket(s3_base)
    proxy = StallingProxy(int(s3_server.endpoint.rsplit(":", 1)[1]), limit=20 * 2**20)
    env = {**os.environ, "AWS_ENDPOINT_URL": proxy.endpoint}
    before = set(_staged("bigtable"))
    child = subprocess.Popen(
        [sys.executable, "-c", KILLED_WRITER, s3_base, str(6 * UPLOAD_PART_BYTES)], env=env
    )
    try:
        assert proxy.stalled.wait(timeout=120), "the upload never got 20 MiB in"
        (upload,) = s3_server.uploads(bucket)
        assert upload["Key"] == "data/bigtable/bigtable.parquet"
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
        proxy.close()

    assert s3_server.keys(bucket) == []  # no object, whole or partial, under any key
    store = ParquetStore(s3_base)
    assert not store.exists(store.table_path("bigtable"))
    (leftover,) = set(_staged("bigtable")) - before
    old = time.time() - STALE_AFTER.total_seconds() - 60
    os.utime(leftover, (old, old))
    store.write_table(store.table_path("bigtable"), pa.table({"x": [2]}).to_reader())
    assert s3_server.uploads(bucket) == []
    assert not leftover.exists()
    assert store.read_file(store.table_path("bigtable"))["x"].to_pylist() == [2]


def test_a_commit_holds_at_most_two_parts_in_memory(s3_server: S3Server, s3_base: str) -> None:
    """A file of eight parts is uploaded with two parts in flight, each held about twice
    (the part read and the request body made of it): below five parts' worth, less than
    the file. s3fs's default put reads any file below 100 MiB whole, and measured 128 MiB
    for this one."""
    size = 8 * UPLOAD_PART_BYTES
    local = STAGING / f".memtest.{os.getpid()}{INPROGRESS_SUFFIX}"
    STAGING.mkdir(exist_ok=True)
    with open(local, "wb") as handle:
        for _ in range(8):
            handle.write(os.urandom(UPLOAD_PART_BYTES))
    fs, root = fsspec.core.url_to_fs(s3_base, use_listings_cache=False)
    files = AtomicFiles(fs)
    fs.exists(root)  # the client is made, and botocore's service model loaded, before tracing

    tracemalloc.start()
    try:
        files.commit(str(local), f"{root}/big/big.parquet")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    head = s3_server.client().head_object(Bucket=_bucket(s3_base), Key="data/big/big.parquet")
    assert head["ContentLength"] == size
    assert not local.exists()
    bound = (2 * UPLOAD_CONCURRENCY + 1) * UPLOAD_PART_BYTES
    assert bound < size
    assert peak < bound, f"peak {peak / 2**20:.1f} MiB for a 64 MiB file"


# ##### READING WHAT OTHERS WROTE


def test_listings_and_sizes_stay_fresh_after_another_writer(
    s3_server: S3Server, s3_base: str
) -> None:
    """s3fs caches listings per instance, and fsspec shares instances: the store sees
    files another process added, removed or rewrote since it last listed."""
    store = ParquetStore(s3_base)
    bucket = _bucket(s3_base)
    write_purposes(store, [window(1)], [("2024-03-01", pbatch(purpose(1, at(1))))])
    assert store.existing_keys("call_purposes") == ["2024-03-01"]
    assert store.exists(store.partition_path("call_purposes", "2024-03-01"))
    other = ParquetStore(s3_base)  # the same s3fs instance, as in one long-lived process
    write_purposes(other, [window(2)], [("2024-03-02", pbatch(purpose(2, at(2))))])
    client = s3_server.client()
    first, second = "data/call_purposes/2024-03-01.parquet", "data/call_purposes/2024-03-02.parquet"
    bigger = client.get_object(Bucket=bucket, Key=second)["Body"].read()
    client.delete_object(Bucket=bucket, Key=second)  # outside s3fs, as another host would
    client.put_object(Bucket=bucket, Key="data/call_purposes/2024-03-03.parquet", Body=bigger)
    write_purposes(  # rewritten elsewhere with more rows (a bigger object)
        ParquetStore(s3_base, {"skip_instance_cache": True}),
        [window(1)],
        [("2024-03-01", pbatch(purpose(1, at(1)), purpose(5, at(1)), purpose(6, at(1))))],
    )

    assert store.existing_keys("call_purposes") == ["2024-03-01", "2024-03-03"]
    assert not store.exists(store.partition_path("call_purposes", "2024-03-02"))
    assert store.exists(store.partition_path("call_purposes", "2024-03-03"))
    assert store.read_file(f"s3://{bucket}/{first}")["id"].to_pylist() == [1, 5, 6]


# ##### THROUGH DAGSTER: THE IO MANAGER AND THE CURRENT-STATE ASSET


@dg.asset(key=RAW_KEY, partitions_def=DAILY, backfill_policy=dg.BackfillPolicy.single_run())
def call_purposes(
    context: dg.AssetExecutionContext, io_manager: dg.ResourceParam[OutreachIOManager]
) -> None:
    windows = []
    for key in context.partition_keys:
        span = DAILY.time_window_for_partition_key(key)
        windows.append(PartitionWindow(key, span.start, span.end))
    sweep = ((key, pbatch(*ROWS[key])) for key in reversed(context.partition_keys))
    io_manager.ready_store().write_partitions("call_purposes", SCHEMA, "updatedAt", windows, sweep)


@dg.asset(key=["outreach", "purpose_ids"], ins={"rows": dg.AssetIn(RAW_KEY)})
def purpose_ids(rows: pa.Table) -> pa.Table:
    SEEN["range"] = rows
    return pa.table({"id": sorted(rows["id"].to_pylist())})


@dg.asset(key=["outreach", "ids_copy"], ins={"ids": dg.AssetIn(["outreach", "purpose_ids"])})
def ids_copy(ids: pa.Table) -> None:
    SEEN["copy"] = ids


@dg.asset(key=["outreach", "daily_view"], partitions_def=DAILY, ins={"rows": dg.AssetIn(RAW_KEY)})
def daily_view(rows: pa.Table) -> None:
    SEEN["daily"] = rows


CURRENT = build_current_asset(PURPOSES)
EVERYTHING = [call_purposes, purpose_ids, ids_copy, daily_view, CURRENT]


def _run(base: str, instance: dg.DagsterInstance, selection: list[Any], **kwargs: Any) -> None:
    result = dg.materialize(
        EVERYTHING,
        selection=selection,
        resources={"io_manager": OutreachIOManager(base_dir=base)},
        instance=instance,
        **kwargs,
    )
    assert result.success


def test_io_manager_loads_a_range_and_a_partition_back_from_s3(
    s3_server: S3Server, s3_base: str
) -> None:
    SEEN.clear()
    bucket = _bucket(s3_base)
    with dg.instance_for_test() as instance:
        tags = {
            "dagster/asset_partition_range_start": "2024-03-01",
            "dagster/asset_partition_range_end": "2024-03-02",
        }
        _run(s3_base, instance, [call_purposes], tags=tags)
        _run(s3_base, instance, [call_purposes], partition_key="2024-03-04")
        _run(s3_base, instance, [purpose_ids, ids_copy])
        _run(s3_base, instance, [daily_view], partition_key="2024-03-04")

    assert sorted(SEEN["range"]["id"].to_pylist()) == [1, 1, 2, 3, 4]  # 03-03 skipped
    assert SEEN["copy"]["id"].to_pylist() == [1, 1, 2, 3, 4]  # written to S3, read back
    assert sorted(SEEN["daily"]["id"].to_pylist()) == [1, 4]
    assert "data/purpose_ids/purpose_ids.parquet" in s3_server.keys(bucket)


def test_current_state_is_built_from_s3_partitions_then_merged(
    s3_server: S3Server, s3_base: str
) -> None:
    store = ParquetStore(s3_base)
    bucket = _bucket(s3_base)
    path = store.table_path("call_purposes_current")
    with dg.instance_for_test() as instance:
        tags = {
            "dagster/asset_partition_range_start": "2024-03-01",
            "dagster/asset_partition_range_end": "2024-03-03",
        }
        _run(s3_base, instance, [call_purposes, CURRENT], tags=tags)
        first = store.read_file(path)
        _run(s3_base, instance, [call_purposes], partition_key="2024-03-04")
        _run(s3_base, instance, [CURRENT])
        event = instance.get_latest_materialization_event(CURRENT.key)

    assert sorted(first["id"].to_pylist()) == [1, 2, 3, 9]
    current = store.read_file(path).sort_by("id")
    assert current["id"].to_pylist() == [1, 2, 3, 4, 9]
    assert current["name"].to_pylist()[0] == "changed"  # the newest version of id 1
    assert event is not None and event.asset_materialization is not None
    assert "incremental" in str(event.asset_materialization.metadata["rebuild"].value)
    keys = s3_server.keys(bucket, "data/call_purposes_current/")
    assert keys == ["data/call_purposes_current/call_purposes_current.parquet"]
    assert s3_server.uploads(bucket) == []


# ##### THE OPTIONS AND LIMITS BEHIND THESE


def test_object_stores_open_without_listings_cache_unless_told() -> None:
    assert filesystem_options("s3://b/p", None) == {"use_listings_cache": False}
    assert filesystem_options("gs://b/p", {"use_listings_cache": True}) == {
        "use_listings_cache": True
    }
    assert filesystem_options("/data/outreach", {"x": 1}) == {"x": 1}
    assert filesystem_options("memory://x", None) == {}


def test_parts_grow_only_when_a_file_would_need_more_than_s3_takes() -> None:
    assert part_bytes(0) == part_bytes(MAX_PARTS * UPLOAD_PART_BYTES) == UPLOAD_PART_BYTES
    huge = MAX_PARTS * UPLOAD_PART_BYTES + 1
    assert part_bytes(huge) * MAX_PARTS >= huge > UPLOAD_PART_BYTES * MAX_PARTS


def test_only_uploads_older_than_the_limit_and_in_the_folder_are_aborted(
    s3_server: S3Server, s3_base: str
) -> None:
    """moto dates every upload 2010-11-10, so "older than a century" keeps them all."""
    bucket = _bucket(s3_base)
    client = s3_server.client()
    for key in ("data/s/a.parquet", "data/s/deeper/b.parquet", "data/other/c.parquet"):
        client.create_multipart_upload(Bucket=bucket, Key=key)
    fs, _ = fsspec.core.url_to_fs(s3_base)

    assert abort_stale_uploads(fs, f"{bucket}/data/s", timedelta(days=36_500)) == []
    assert abort_stale_uploads(fs, f"{bucket}/data/s", timedelta(0)) == ["data/s/a.parquet"]
    assert sorted(u["Key"] for u in s3_server.uploads(bucket)) == [
        "data/other/c.parquet",
        "data/s/deeper/b.parquet",
    ]
