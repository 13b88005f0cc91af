"""The store as readers see it: one dataset per stream, missing keys, no secrets shown."""

from pathlib import Path

import pandas as pd
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from outreach_assets.storage import ParquetStore
from outreach_assets_tests.support.files import SCHEMA, at, pbatch, purpose, window, write_purposes


def test_readers_see_one_dataset_with_one_schema(store: ParquetStore) -> None:
    windows = [window(1), window(2), window(3)]
    write_purposes(
        store, windows, [("2024-03-01", pbatch(purpose(1, at(1)))), ("2024-03-03", pbatch())]
    )
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


def test_read_table_skips_missing_keys_and_keeps_the_schema(store: ParquetStore) -> None:
    write_purposes(store, [window(1), window(2)], [("2024-03-02", pbatch(purpose(5, at(2))))])

    table, missing = store.read_table("call_purposes", ["2024-03-02", "2024-03-04"], ["id"])
    assert (table.to_pydict(), missing) == ({"id": [5]}, ["2024-03-04"])
    table, missing = store.read_table("call_purposes", ["2024-03-08"])
    assert table.num_rows == 0 and table.schema.equals(SCHEMA, check_metadata=True)
    assert missing == ["2024-03-08"]
    assert store.read_table("call_purposes")[0].num_rows == 1
    assert store.read_table("never_written")[0].num_columns == 0


def test_repr_hides_storage_options() -> None:
    store = ParquetStore("memory://x", {"secret_token": "s3cr3t"})
    assert "s3cr3t" not in repr(store)
