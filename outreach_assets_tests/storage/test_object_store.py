"""A store on an fsspec URL: files staged locally, committed by one upload each."""

import tempfile
import uuid
from pathlib import Path

import fsspec

from outreach_assets.storage import INPROGRESS_SUFFIX, ParquetStore
from outreach_assets.storage.atomic import STAGING_DIR_NAME
from outreach_assets_tests.support.files import SCHEMA, at, pbatch, purpose, window


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
    staging = Path(tempfile.gettempdir()) / STAGING_DIR_NAME
    assert not list(staging.glob(f".call_purposes.*{INPROGRESS_SUFFIX}"))
    fs.rm(f"/{root}", recursive=True)
