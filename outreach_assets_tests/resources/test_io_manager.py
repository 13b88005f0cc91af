"""io_manager.py: Dagster assets writing through the store and loading one object back."""

from pathlib import Path
from typing import Any

import dagster as dg
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from outreach_assets.resources.io_manager import (
    OutreachIOManager,
)
from outreach_assets.storage import PartitionWindow
from outreach_assets_tests.support.files import SCHEMA, at, pbatch, purpose

DAILY = dg.DailyPartitionsDefinition(start_date="2024-03-01", end_date="2024-03-05")
RAW_KEY = dg.AssetKey(["outreach", "call_purposes"])
# Rows each partition's sweep returns; 2024-03-03 is never materialized in the tests.
ROWS = {
    "2024-03-01": [purpose(1, at(1)), purpose(2, at(1, 3))],
    "2024-03-02": [purpose(3, at(2))],
    "2024-03-03": [purpose(9, at(3))],
    "2024-03-04": [purpose(4, at(4)), purpose(1, at(4), "changed")],
}
SEEN: dict[str, Any] = {}


@dg.asset(key=RAW_KEY, partitions_def=DAILY, backfill_policy=dg.BackfillPolicy.single_run())
def call_purposes(
    context: dg.AssetExecutionContext, io_manager: dg.ResourceParam[OutreachIOManager]
) -> None:
    windows = []
    for key in context.partition_keys:
        window = DAILY.time_window_for_partition_key(key)
        windows.append(PartitionWindow(key, window.start, window.end))
    sweep = ((key, pbatch(*ROWS[key])) for key in reversed(context.partition_keys))
    io_manager.get_store().write_partitions("call_purposes", SCHEMA, "updatedAt", windows, sweep)


@dg.asset(key=["outreach", "purpose_ids"], ins={"rows": dg.AssetIn(RAW_KEY)})
def purpose_ids(rows: pd.DataFrame) -> pa.Table:
    SEEN["frame"] = rows
    return pa.table({"id": sorted(rows["id"].tolist())})


@dg.asset(key=["outreach", "purpose_stream"], ins={"rows": dg.AssetIn(RAW_KEY)})
def purpose_stream(rows: pa.Table) -> pa.RecordBatchReader:
    SEEN["table"] = rows
    return rows.to_reader()


@dg.asset(
    key=["outreach", "purpose_copy"], ins={"rows": dg.AssetIn(["outreach", "purpose_stream"])}
)
def purpose_copy(rows: pa.Table) -> None:
    SEEN["copy"] = rows


@dg.asset(key=["outreach", "daily_view"], partitions_def=DAILY, ins={"rows": dg.AssetIn(RAW_KEY)})
def daily_view(rows: pd.DataFrame) -> None:
    SEEN["daily"] = rows


def materialize(
    assets: list[dg.AssetsDefinition],
    base: Path,
    instance: dg.DagsterInstance,
    *,
    selection: list[dg.AssetsDefinition] | None = None,
    **kwargs: Any,
) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        assets,
        selection=selection,
        resources={"io_manager": OutreachIOManager(base_dir=str(base))},
        instance=instance,
        **kwargs,
    )


def range_tags(first: str, last: str) -> dict[str, str]:
    return {
        "dagster/asset_partition_range_start": first,
        "dagster/asset_partition_range_end": last,
    }


def warnings(instance: dg.DagsterInstance, result: dg.ExecuteInProcessResult) -> list[str]:
    return [
        entry.user_message
        for entry in instance.all_logs(result.run_id)
        if entry.level == 30 and "not materialized" in entry.user_message
    ]


def test_partitions_load_as_one_object_with_missing_ones_skipped(tmp_path: Path) -> None:
    SEEN.clear()
    everything = [call_purposes, purpose_ids, purpose_stream, purpose_copy]
    with dg.instance_for_test() as instance:
        writer = [call_purposes]
        tags = range_tags("2024-03-01", "2024-03-02")  # one run over a range
        materialize(everything, tmp_path, instance, selection=writer, tags=tags)
        materialize(everything, tmp_path, instance, selection=writer, partition_key="2024-03-04")
        assert sorted(p.name for p in (tmp_path / "call_purposes").iterdir()) == [
            "2024-03-01.parquet",
            "2024-03-02.parquet",
            "2024-03-04.parquet",
        ]

        result = materialize(
            everything, tmp_path, instance, selection=[purpose_ids, purpose_stream, purpose_copy]
        )

        assert result.success
        (warning,) = set(warnings(instance, result))  # the same one for both inputs
        assert "1 of 4 partition(s)" in warning and "2024-03-03" in warning

    frame = SEEN["frame"]
    assert isinstance(frame, pd.DataFrame)
    assert frame["id"].tolist() == [1, 2, 3, 4, 1]  # every version, in partition order
    assert str(frame["updatedAt"].dtype) == "datetime64[us, UTC]"
    table = SEEN["table"]
    assert isinstance(table, pa.Table) and table.schema.equals(SCHEMA, check_metadata=True)
    assert SEEN["copy"].equals(table)

    ids_file = tmp_path / "purpose_ids" / "purpose_ids.parquet"
    assert pq.read_table(ids_file)["id"].to_pylist() == [1, 1, 2, 3, 4]
    (written,) = result.asset_materializations_for_node("outreach__purpose_stream")
    assert written.metadata["dagster/row_count"].value == 5
    assert written.metadata["path"].value == str(tmp_path / "purpose_stream/purpose_stream.parquet")
    assert (
        written.metadata["bytes"].value
        == (tmp_path / "purpose_stream/purpose_stream.parquet").stat().st_size
    )


def test_all_partitions_missing_gives_an_empty_frame_with_the_schema(tmp_path: Path) -> None:
    SEEN.clear()
    with dg.instance_for_test() as instance:
        materialize([call_purposes], tmp_path, instance, partition_key="2024-03-01")
        result = materialize(
            [call_purposes, daily_view],
            tmp_path,
            instance,
            selection=[daily_view],
            partition_key="2024-03-02",
        )
        assert result.success
        assert warnings(instance, result) == [
            "outreach/call_purposes: 1 of 1 partition(s) not materialized, skipped: 2024-03-02"
        ]
    frame = SEEN["daily"]
    assert len(frame) == 0 and list(frame.columns) == SCHEMA.names


def test_no_file_at_all_falls_back_to_the_catalog_schema(tmp_path: Path) -> None:
    SEEN.clear()
    with dg.instance_for_test() as instance:
        assets = [call_purposes, daily_view]
        materialize(assets, tmp_path, instance, selection=[daily_view], partition_key="2024-03-02")
    assert list(SEEN["daily"].columns) == SCHEMA.names


def test_unpartitioned_asset_returning_a_batch_reader(tmp_path: Path) -> None:
    @dg.asset(key=["outreach", "call_purposes_current"])
    def current() -> pa.RecordBatchReader:
        batches = (pbatch(purpose(i, at(1))) for i in range(3))
        return pa.RecordBatchReader.from_batches(SCHEMA, batches)

    with dg.instance_for_test() as instance:
        result = materialize([current], tmp_path, instance)

    path = tmp_path / "call_purposes_current" / "call_purposes_current.parquet"
    assert pq.read_table(path)["id"].to_pylist() == [0, 1, 2]
    assert pq.read_schema(path).equals(SCHEMA, check_metadata=True)
    (written,) = result.asset_materializations_for_node("outreach__call_purposes_current")
    assert written.metadata["dagster/row_count"].value == 3
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary file left


def test_wrong_outputs_name_the_asset(tmp_path: Path) -> None:
    manager = OutreachIOManager(base_dir=str(tmp_path))
    context = dg.build_output_context(asset_key=dg.AssetKey(["outreach", "odd"]))
    with pytest.raises(TypeError, match="asset outreach/odd returned dict"):
        manager.handle_output(context, {"id": [1]})

    @dg.asset(key=["outreach", "wrong"], partitions_def=DAILY)
    def wrong() -> pa.Table:
        return pa.table({"id": [1]})

    with dg.instance_for_test() as instance:
        result = materialize(
            [wrong], tmp_path, instance, partition_key="2024-03-01", raise_on_error=False
        )
    assert not result.success
    (failure,) = result.get_step_failure_events()
    assert "asset outreach/wrong is partitioned" in str(failure.step_failure_data.error)


def test_base_dir_defaults_to_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OUTREACH_DATA_DIR", raising=False)
    assert OutreachIOManager().base_dir == "data/outreach"
    monkeypatch.setenv("OUTREACH_DATA_DIR", "s3://bucket/outreach")
    manager = OutreachIOManager(storage_options={"anon": True})
    assert manager.base_dir == "s3://bucket/outreach"
    monkeypatch.setenv("OUTREACH_DATA_DIR", "memory://io-manager-test")
    store = OutreachIOManager().store
    assert store.partition_path("prospects", "2024-03-01") == (
        "memory://io-manager-test/prospects/2024-03-01.parquet"
    )
