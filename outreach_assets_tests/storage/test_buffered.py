"""Small pages become row groups of bounded size, whichever bound comes first."""

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from outreach_assets.storage import ParquetStore, buffered
from outreach_assets_tests.support.files import at, pbatch, purpose


def test_a_row_group_is_written_at_the_byte_bound_before_the_row_bound(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(buffered, "ROW_GROUP_BYTES", 1)  # every page is over the byte bound
    store = ParquetStore(str(tmp_path))
    path = store.table_path("call_purposes_current")
    pages = [pbatch(purpose(rid, at(1))) for rid in range(3)]

    store.write_table(path, pa.Table.from_batches(pages).to_reader())

    metadata = pq.ParquetFile(path).metadata
    assert metadata.num_row_groups == 3
    assert metadata.row_group(0).column(0).compression == "ZSTD"
