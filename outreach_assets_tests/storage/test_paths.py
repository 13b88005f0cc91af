"""Partition keys as file names, and back."""

from datetime import timedelta
from pathlib import Path

import pytest
from fsspec.implementations.local import LocalFileSystem

from outreach_assets.storage import ParquetStore, PartitionWindow
from outreach_assets.storage.paths import Layout, partition_key, safe_key, unsafe_key
from outreach_assets_tests.support.files import DAY0, write_purposes


def test_partition_keys_become_safe_file_names(store: ParquetStore) -> None:
    keys = ["a/b", ".hidden", "_meta", "100%", "2024-03-01-13:00", "x|y"]
    for key in keys:
        assert "/" not in safe_key(key) and not safe_key(key).startswith((".", "_"))
        assert unsafe_key(safe_key(key)) == key
    start = DAY0
    windows = [PartitionWindow(k, start, start + timedelta(hours=1)) for k in keys]
    write_purposes(store, windows, [])
    assert store.existing_keys("call_purposes") == sorted(keys)
    with pytest.raises(ValueError):
        safe_key("")


def test_public_paths_map_onto_the_filesystem_root(tmp_path: Path) -> None:
    layout = Layout(f"file://{tmp_path}/", LocalFileSystem(), str(tmp_path))

    assert layout.base == f"file://{tmp_path}"
    assert layout.partition_path("calls", "a/b") == f"file://{tmp_path}/calls/a%2Fb.parquet"
    assert layout.table_path("calls") == f"file://{tmp_path}/calls/calls.parquet"
    assert layout.partition_fs_path("calls", "k") == f"{tmp_path}/calls/k.parquet"
    assert partition_key("a%2Fb.parquet") == "a/b"
    assert partition_key(".a.parquet.1234.inprogress") is None
    assert partition_key("_SUCCESS.parquet") is None
    for name in ("", "a/b", ".hidden", "_meta"):
        with pytest.raises(ValueError, match="invalid stream or table name"):
            layout.stream_path(name)
