"""The bulk-writing SQLite event log: what it stores equals what Dagster's own stores, in fewer
transactions, and a range run is planned in one event."""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
import yaml

from outreach_assets.instance import BatchedSqliteEventLogStorage

DAYS = dg.DailyPartitionsDefinition(start_date="2026-10-01", end_date="2026-11-01")
FIRST, LAST = "2026-10-01", "2026-10-31"
KEY = dg.AssetKey(["t", "daily"])
PROJECT_STORAGE = {
    "event_log_storage": {
        "module": "outreach_assets.instance",
        "class": "BatchedSqliteEventLogStorage",
    }
}


@dg.asset(
    key=KEY, partitions_def=DAYS, backfill_policy=dg.BackfillPolicy.single_run(), code_version="1"
)
def daily(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    for n, key in enumerate(context.partition_keys):
        context.add_asset_metadata({"dagster/row_count": n, "day": key}, partition_key=key)
    return dg.MaterializeResult()


@pytest.fixture
def instance_at(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Any]:  # a factory of DagsterInstance
    opened: list[dg.DagsterInstance] = []

    def open_instance(name: str, config: dict[str, Any]) -> dg.DagsterInstance:
        home = tmp_path / name
        home.mkdir()
        (home / "dagster.yaml").write_text(
            yaml.safe_dump({**config, "telemetry": {"enabled": False}})
        )
        monkeypatch.setenv("DAGSTER_HOME", str(home))
        instance = dg.DagsterInstance.get()
        opened.append(instance)
        return instance

    yield open_instance
    for instance in opened:
        instance.dispose()


def _backfill(instance: dg.DagsterInstance) -> dg.ExecuteInProcessResult:
    job = dg.Definitions(assets=[daily]).resolve_implicit_global_asset_job_def()
    return job.execute_in_process(
        instance=instance,
        tags={
            "dagster/asset_partition_range_start": FIRST,
            "dagster/asset_partition_range_end": LAST,
        },
    )


def _stored(instance: dg.DagsterInstance) -> list[tuple[Any, ...]]:
    """Every materialization as the index holds it, oldest first, without ids and times."""
    records = instance.fetch_materializations(KEY, limit=1000, ascending=True).records
    rows = []
    for record in records:
        event = record.asset_materialization
        assert event is not None
        metadata = {k: v.value for k, v in event.metadata.items()}
        rows.append((record.partition_key, metadata, dict(event.tags or {})))
    return rows


def test_a_batch_is_stored_as_dagsters_own_storage_stores_it(instance_at, monkeypatch):
    monkeypatch.setenv("DAGSTER_EVENT_BATCH_SIZE", "1000")
    stock = instance_at("stock", {})
    assert type(stock.event_log_storage).__name__ == "SqliteEventLogStorage"
    assert _backfill(stock).success
    ours = instance_at("ours", PROJECT_STORAGE)
    assert isinstance(ours.event_log_storage, BatchedSqliteEventLogStorage)
    assert _backfill(ours).success

    assert _stored(ours) == _stored(stock)
    assert len(_stored(ours)) == 31
    for instance in (stock, ours):
        partitions = instance.get_materialized_partitions(KEY)
        assert partitions == set(DAYS.get_partition_keys())
        latest = instance.get_latest_materialization_event(KEY)
        assert latest is not None and latest.asset_materialization is not None
        assert latest.asset_materialization.partition == LAST
        (record,) = instance.get_asset_records([KEY])
        assert record.asset_entry.last_materialization_record is not None


def test_a_batch_takes_one_transaction_per_database(instance_at, monkeypatch):
    """31 partition events: two transactions, where one per event per database was spent."""
    instance = instance_at("ours", PROJECT_STORAGE)
    storage = instance.event_log_storage
    calls = {"run": 0, "index": 0, "single": 0}
    run_connection, index_transaction = storage.run_connection, storage.index_transaction
    store_event = storage.store_event

    def counting(name: str, method: Any) -> Any:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            calls[name] += 1
            return method(*args, **kwargs)

        return wrapper

    monkeypatch.setattr(storage, "run_connection", counting("run", run_connection))
    monkeypatch.setattr(storage, "index_transaction", counting("index", index_transaction))
    monkeypatch.setattr(storage, "store_event", counting("single", store_event))
    before = dict(calls)
    storage.store_event_batch(_materialization_entries(instance, "r-batch"))
    assert {k: calls[k] - before[k] for k in calls} == {"run": 1, "index": 1, "single": 0}
    assert instance.get_materialized_partitions(KEY) == set(DAYS.get_partition_keys())


def _materialization_entries(instance: dg.DagsterInstance, run_id: str) -> list[Any]:
    from dagster._core.events import DagsterEvent, DagsterEventType, StepMaterializationData
    from dagster._core.events.log import EventLogEntry

    entries = []
    for key in DAYS.get_partition_keys():
        materialization = dg.AssetMaterialization(KEY, partition=key, metadata={"day": key})
        event = DagsterEvent(
            DagsterEventType.ASSET_MATERIALIZATION.value,
            "job",
            event_specific_data=StepMaterializationData(materialization),
        )
        entries.append(
            EventLogEntry(
                error_info=None,
                level=20,
                user_message="",
                run_id=run_id,
                timestamp=1.0,
                dagster_event=event,
            )
        )
    return entries


@pytest.mark.parametrize(
    ("switch", "planned"), [(None, 1), ("false", 31)], ids=["default", "stock-switch-off"]
)
def test_a_range_run_is_planned_in_one_event(instance_at, monkeypatch, switch, planned):
    if switch is not None:
        monkeypatch.setenv("DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS", switch)
    else:
        monkeypatch.delenv("DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS", raising=False)
    instance = instance_at("ours", PROJECT_STORAGE)
    result = _backfill(instance)
    assert result.success
    types = [e.dagster_event_type for e in instance.all_logs(result.run_id) if e.dagster_event]
    assert types.count(dg.DagsterEventType.ASSET_MATERIALIZATION_PLANNED) == planned
    assert types.count(dg.DagsterEventType.ASSET_MATERIALIZATION) == 31


def test_without_a_base_dir_it_keeps_the_stock_place_under_any_instance_root(tmp_path, monkeypatch):
    """``dagster dev`` without DAGSTER_HOME loads the folder's dagster.yaml into a temporary
    root: the storage must find its place from the instance, not from the environment."""
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    (tmp_path / "dagster.yaml").write_text(yaml.safe_dump(PROJECT_STORAGE))
    with dg.DagsterInstance.from_config(str(tmp_path)) as instance:
        storage = instance.event_log_storage
        assert isinstance(storage, BatchedSqliteEventLogStorage)
        assert Path(storage._base_dir) == tmp_path / "history" / "runs"
        assert _backfill(instance).success
        assert instance.get_materialized_partitions(KEY) == set(DAYS.get_partition_keys())


def test_it_turns_on_dagsters_event_batching_for_its_process(tmp_path, monkeypatch):
    monkeypatch.delenv("DAGSTER_EVENT_BATCH_SIZE", raising=False)
    BatchedSqliteEventLogStorage(str(tmp_path / "runs"), batch_size=77)
    import os

    assert os.environ["DAGSTER_EVENT_BATCH_SIZE"] == "77"
