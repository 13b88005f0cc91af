"""Stream assets end to end: Dagster materializations against the sandbox over real HTTP."""

import json
import logging
import math
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

from outreach_assets.assets import (
    CHECK_CURSOR_IN_WINDOW,
    CHECK_IDS_UNIQUE,
    CHECK_SCHEMA,
    CURRENT_STATE_JOB,
    EXECUTOR,
    RECONCILE_JOB,
    SYNC_JOB,
    OutreachTranslator,
    build_current_asset,
    build_stream_asset,
    check_results,
    executor_for,
    partition_metadata,
    run_metadata,
)
from outreach_assets.assets.partitions import build_partitions_def
from outreach_assets.assets.sweep import SweepStats
from outreach_assets.catalog import STREAMS, get_stream
from outreach_assets.config import ConfigError, deployment_settings_from_env
from outreach_assets.convert import arrow_schema
from outreach_assets.definitions import build_defs
from outreach_assets.resources.io_manager import OutreachIOManager
from outreach_assets.sandbox import SandboxServer
from outreach_assets.storage import PartitionResult
from outreach_assets_tests.support.clients import sandbox_resource
from outreach_assets_tests.support.wire import DRIFTED, DRIFTING, session_for, walk

KEYS = OutreachTranslator()

START = datetime(2024, 1, 1, tzinfo=UTC)
PARTITIONS = build_partitions_def(START)
SANDBOX_RANGE = {"start": "2024-01-01T00:00:00Z", "end": "2024-02-01T00:00:00Z"}


def _resources(sb: SandboxServer, tmp_path: Path) -> dict[str, object]:
    return {
        "outreach": sandbox_resource(sb, tmp_path),
        "io_manager": OutreachIOManager(base_dir=str(tmp_path / "data")),
    }


def _materialize(assets, sb, tmp_path, *, partition=None, first=None, last=None, logs=None):
    """``logs``, when given, receives the run's event log entries (the asset's log lines)."""
    tags = {}
    if first is not None:
        tags = {
            "dagster/asset_partition_range_start": first,
            "dagster/asset_partition_range_end": last,
        }
    with dg.instance_for_test() as instance:
        result = dg.materialize(
            assets,
            resources=_resources(sb, tmp_path),
            instance=instance,
            partition_key=partition,
            tags=tags,
        )
        if logs is not None:
            logs.extend(instance.all_logs(result.run_id))
        return result


def _ids_by_day(sb: SandboxServer, name: str) -> dict[str, set[int]]:
    by_day: dict[str, set[int]] = {}
    for record_id, cursor in sb.truth(name).items():
        by_day.setdefault(cursor[:10], set()).add(record_id)
    return by_day


def _file_ids(tmp_path: Path, name: str, key: str) -> list[int]:
    return pq.read_table(tmp_path / "data" / name / f"{key}.parquet").column("id").to_pylist()


@pytest.mark.parametrize("name", ["prospects", "events", "mailings"])
def test_one_partition_lands_exactly_the_records_of_its_day(sandbox_factory, tmp_path, name):
    sb = sandbox_factory(sizes={name: 600}, **SANDBOX_RANGE)
    stream = get_stream(name)
    result = _materialize(
        [build_stream_asset(stream, PARTITIONS)], sb, tmp_path, partition="2024-01-15"
    )
    assert result.success
    ids = _file_ids(tmp_path, name, "2024-01-15")
    assert sorted(ids) == sorted(_ids_by_day(sb, name)["2024-01-15"])
    (event,) = result.asset_materializations_for_node(f"outreach__{name}")
    metadata = event.metadata
    assert metadata["dagster/row_count"].value == len(ids) > 0
    assert metadata["requests"].value >= 1
    assert metadata["pages"].value >= 1
    evaluations = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    assert evaluations == {CHECK_IDS_UNIQUE: True, CHECK_CURSOR_IN_WINDOW: True, CHECK_SCHEMA: True}


def test_a_backfill_range_is_one_sweep_split_into_a_file_per_partition(sandbox_factory, tmp_path):
    sb = sandbox_factory(sizes={"calls": 2500}, **SANDBOX_RANGE)
    sb.reset_stats()
    stream = get_stream("calls")
    result = _materialize(
        [build_stream_asset(stream, PARTITIONS)],
        sb,
        tmp_path,
        first="2024-01-01",
        last="2024-01-31",
    )
    assert result.success
    materialized = result.asset_materializations_for_node("outreach__calls")
    assert sorted(m.partition for m in materialized) == PARTITIONS.get_partition_keys_in_range(
        dg.PartitionKeyRange("2024-01-01", "2024-01-31")
    )
    # one scan of the whole range: ceil(2500 / 1000) pages, not one scan per partition
    assert sb.stats.api_requests == math.ceil(2500 / 1000)
    truth = _ids_by_day(sb, "calls")
    for m in materialized:
        assert sorted(_file_ids(tmp_path, "calls", m.partition)) == sorted(
            truth.get(m.partition, ())
        )
    dataset = ds.dataset(tmp_path / "data" / "calls")
    assert dataset.count_rows() == 2500


def test_values_of_the_wrong_type_land_in_extra_and_are_reported(sandbox_factory, tmp_path):
    """Outreach's type drift (an integer sent as "1763") loses no record and no value."""
    day = "2024-01-15"
    sb = sandbox_factory(sizes={DRIFTING.name: 600}, wrong_type_variants=8, **SANDBOX_RANGE)
    served = {  # what the sandbox sent for the day, read over HTTP without the client
        r["id"]: r["attributes"][DRIFTED]
        for r in walk(session_for(sb), sb, DRIFTING, **{"page[size]": 1000})
        if r["attributes"][DRIFTING.cursor].startswith(day)
    }
    as_text = {rid: v for rid, v in served.items() if isinstance(v, str)}
    assert 0 < len(as_text) < len(served)
    logs: list[dg.EventLogEntry] = []
    result = _materialize(
        [build_stream_asset(DRIFTING, PARTITIONS)], sb, tmp_path, partition=day, logs=logs
    )
    assert result.success
    rows = pq.read_table(tmp_path / "data" / DRIFTING.name / f"{day}.parquet").to_pylist()
    assert sorted(r["id"] for r in rows) == sorted(_ids_by_day(sb, DRIFTING.name)[day])
    assert sorted(served) == sorted(r["id"] for r in rows)
    for row in rows:
        extra = json.loads(row["_extra"])  # never null here: sandboxNote is on every record
        if row["id"] in as_text:
            assert row[DRIFTED] is None and extra[DRIFTED] == as_text[row["id"]]
        else:
            assert row[DRIFTED] == served[row["id"]] and DRIFTED not in extra
    (event,) = result.asset_materializations_for_node(f"outreach__{DRIFTING.name}")
    assert event.metadata["values_moved_to__extra"].value == {DRIFTED: len(as_text)}
    messages = {(e.level, e.user_message) for e in logs}
    assert any(
        level == logging.INFO and "pages went the slower way (json.loads" in message
        for level, message in messages
    )
    warning = (
        f"{DRIFTING.name}: values of an unexpected type were kept in _extra instead of their "
        f"column: {json.dumps({DRIFTED: len(as_text)})}"
    )
    assert (logging.WARNING, warning) in messages


def test_relationships_the_catalog_does_not_know_land_in_extra_and_are_counted(
    sandbox_factory, tmp_path
):
    """Nothing is dropped silently: an unknown to-one and an unknown to-many relationship
    keep their ids in _extra, and the run metadata counts the rows that carried them."""
    day = "2024-01-15"
    stream = get_stream("prospects")
    sb = sandbox_factory(sizes={"prospects": 300}, unknown_relationships=True, **SANDBOX_RANGE)
    served = {
        r["id"]: r["relationships"]
        for r in walk(session_for(sb), sb, stream, **{"page[size]": 1000})
        if r["attributes"]["updatedAt"].startswith(day)
    }
    assert served
    result = _materialize([build_stream_asset(stream, PARTITIONS)], sb, tmp_path, partition=day)
    assert result.success
    rows = pq.read_table(tmp_path / "data" / "prospects" / f"{day}.parquet").to_pylist()
    assert {r["id"] for r in rows} == set(served)
    owners = tags = 0
    for row in rows:
        extra = json.loads(row["_extra"])
        given = served[row["id"]]
        for name in ("sandboxOwner", "sandboxTags"):
            data = given[name].get("data")
            assert extra.get(f"relationships.{name}") == data
        owners += given["sandboxOwner"].get("data") is not None
        tags += given["sandboxTags"].get("data") is not None
        # A known to-many relationship lands in its own typed column, ids in Outreach's order.
        ids = [item["id"] for item in given["assignedUsers"]["data"]]
        assert row["assignedUserIds"] == ids
    (event,) = result.asset_materializations_for_node("outreach__prospects")
    assert event.metadata["unknown_relationships"].value == {
        "sandboxOwner": owners,
        "sandboxTags": tags,
    }


def test_full_snapshot_partition_holds_the_whole_table(sandbox_factory, tmp_path):
    sb = sandbox_factory(**SANDBOX_RANGE)
    result = _materialize(
        [build_stream_asset(get_stream("duties"), PARTITIONS)], sb, tmp_path, partition="2024-01-03"
    )
    assert result.success
    assert sorted(_file_ids(tmp_path, "duties", "2024-01-03")) == sorted(sb.truth("duties"))


def test_changed_records_move_and_the_current_state_keeps_the_newest(sandbox_factory, tmp_path):
    sb = sandbox_factory(sizes={"accounts": 300}, **SANDBOX_RANGE)
    stream = get_stream("accounts")
    assets = [build_stream_asset(stream, PARTITIONS), build_current_asset(stream)]
    assert _materialize(assets[:1], sb, tmp_path, first="2024-01-01", last="2024-01-31").success
    touched = sb.touch("accounts", count=7)
    today = datetime.now(UTC).strftime("%Y-%m-%d")
    assert _materialize(assets, sb, tmp_path, partition=today).success
    assert sorted(_file_ids(tmp_path, "accounts", today)) == sorted(touched)
    current = pq.read_table(tmp_path / "data" / "accounts_current")
    assert sorted(current.column("id").to_pylist()) == sorted(sb.truth("accounts"))
    newest = {
        i: u.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
        for i, u in zip(
            current.column("id").to_pylist(), current.column("updatedAt").to_pylist(), strict=True
        )
    }
    assert newest == sb.truth("accounts")


def test_contact_histogram_is_dropped_by_default_and_kept_on_request(sandbox_factory, tmp_path):
    sb = sandbox_factory(sizes={"prospects": 50}, **SANDBOX_RANGE)
    stream = get_stream("prospects")
    keep = deployment_settings_from_env({"OUTREACH_KEEP_COLUMNS": "prospects.contactHistogram"})
    for columns, expected in ((frozenset(), False), (keep.kept_columns("prospects"), True)):
        base = tmp_path / str(expected)
        result = _materialize(
            [build_stream_asset(stream, PARTITIONS, columns)],
            sb,
            base,
            first="2024-01-01",
            last="2024-01-31",
        )
        assert result.success
        schema = ds.dataset(base / "data" / "prospects").schema
        assert ("contactHistogram" in schema.names) is expected
    with pytest.raises(ConfigError, match="OUTREACH_KEEP_COLUMNS"):
        deployment_settings_from_env({"OUTREACH_KEEP_COLUMNS": "prospects.firstName"})


def test_checks_name_the_partitions_that_fail():
    def result(key: str, **bad: object) -> PartitionResult:
        fields: dict[str, object] = {
            "key": key,
            "path": f"/x/{key}.parquet",
            "rows": 1,
            "bytes": 10,
            "duplicates_removed": 0,
            "min_cursor": None,
            "max_cursor": None,
            "ids_unique": True,
            "cursor_outside_window": 0,
            "schema_matches": True,
        }
        return PartitionResult(**{**fields, **bad})  # type: ignore[arg-type]

    results = [
        result("2024-01-01"),
        result("2024-01-02", ids_unique=False, cursor_outside_window=2),
    ]
    checks = {c.check_name: c for c in check_results(results)}
    assert not checks[CHECK_IDS_UNIQUE].passed
    assert checks[CHECK_IDS_UNIQUE].metadata["failing_partitions"].value == ["2024-01-02"]
    assert not checks[CHECK_CURSOR_IN_WINDOW].passed
    assert checks[CHECK_SCHEMA].passed


def test_every_job_runs_its_steps_in_one_process(monkeypatch):
    """The named jobs and the asset job the UI and ``dagster asset materialize`` build: a
    process per step would import Dagster and the code location again for each."""
    monkeypatch.setenv("OUTREACH_START_DATE", "2024-01-01")
    from outreach_assets.definitions import defs

    jobs = [defs.resolve_implicit_global_asset_job_def()]
    jobs += [defs.resolve_job_def(name) for name in (SYNC_JOB, CURRENT_STATE_JOB, RECONCILE_JOB)]
    assert {job.executor_def.name for job in jobs} == {EXECUTOR.name} == {"in_process"}


def test_the_code_location_has_the_three_assets_of_every_stream(monkeypatch):
    monkeypatch.setenv("OUTREACH_START_DATE", "2024-01-01")
    from outreach_assets.definitions import defs

    graph = defs.resolve_asset_graph()
    for stream in STREAMS:
        node = graph.get(KEYS.asset_key(stream))
        assert node.partitions_def is not None
        assert node.backfill_policy == dg.BackfillPolicy.single_run()
        assert node.pools == {"outreach_api"}
        assert {"outreach", "parquet"} <= set(node.kinds)
        assert "dagster/column_schema" in node.metadata
        deletions = KEYS.get_deletions_spec(stream, arrow_schema(stream)).key
        assert graph.get(KEYS.current_asset_key(stream)).parent_keys == {
            KEYS.asset_key(stream),
            deletions,
        }
        assert graph.get(deletions).pools == {"outreach_api"}
        assert graph.get(deletions).partitions_def is None


def test_each_partition_has_its_own_facts_and_the_run_figures_stay_small():
    """A partition's metadata is its own; the run's figures do not grow with the range
    (they ride on one partition, and a long backfill must not store a per-partition map)."""
    stream = get_stream("calls")
    day = datetime(2024, 1, 1, tzinfo=UTC)

    def results(count: int) -> list[PartitionResult]:
        return [
            PartitionResult(
                key=f"k{i}",
                path=f"/x/k{i}.parquet",
                rows=i,
                bytes=10 * i,
                duplicates_removed=0,
                min_cursor=day if i else None,
                max_cursor=day + timedelta(hours=i) if i else None,
                ids_unique=True,
                cursor_outside_window=0,
                schema_matches=True,
            )
            for i in range(count)
        ]

    landed = results(1000)
    third = partition_metadata(stream, landed[3])
    assert third["dagster/row_count"] == 3 and third["bytes"] == 30
    assert third["path"].value == "/x/k3.parquet"
    assert third["max_updatedAt"] == (day + timedelta(hours=3)).isoformat()
    assert "min_updatedAt" not in partition_metadata(stream, landed[0])  # an empty day
    short = run_metadata(results(31), SweepStats(), requests=1)
    long = run_metadata(landed, SweepStats(), requests=1)
    assert long.keys() == short.keys()
    assert long["rows_in_run"] == sum(range(1000))
    assert long["run_range"] == "k0..k999"


def test_current_state_merges_only_the_partitions_changed_since_its_last_build(
    sandbox_factory, tmp_path
):
    sb = sandbox_factory(sizes={"calls": 400}, **SANDBOX_RANGE)
    stream = get_stream("calls")
    assets = [build_stream_asset(stream, PARTITIONS), build_current_asset(stream)]
    resources = _resources(sb, tmp_path)
    today = datetime.now(UTC).strftime("%Y-%m-%d")

    def run(**kwargs) -> str:
        result = dg.materialize(assets, resources=resources, instance=instance, **kwargs)
        assert result.success
        (event,) = result.asset_materializations_for_node("outreach__calls_current")
        return str(event.metadata["rebuild"].value)

    def current() -> dict[int, str]:
        table = pq.read_table(tmp_path / "data" / "calls_current")
        ids = table.column("id").to_pylist()
        stamps = [
            u.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z" for u in table["updatedAt"].to_pylist()
        ]
        assert len(ids) == len(set(ids))
        return dict(zip(ids, stamps, strict=True))

    with dg.instance_for_test() as instance:
        range_tags = {
            "dagster/asset_partition_range_start": "2024-01-01",
            "dagster/asset_partition_range_end": "2024-01-31",
        }
        assert run(tags=range_tags) == "full"  # first build
        assert current() == sb.truth("calls")
        sb.touch("calls", count=4)
        sb.add("calls", count=3)
        assert run(partition_key=today) == "incremental (1 partition(s) merged)"
        assert current() == sb.truth("calls")  # same answer as a full rebuild
        assert run(tags=range_tags) == "full"  # 31 changed partitions: cheaper to rebuild
        assert current() == sb.truth("calls")


def test_step_processes_choose_the_executor_of_every_job() -> None:
    """1 (the default) runs steps in the run's process; more, in that many processes."""
    for processes, name in ((None, "in_process"), ("3", "multiprocess_3")):
        environ = {"OUTREACH_START_DATE": "2024-01-01"}
        if processes:
            environ["OUTREACH_STEP_PROCESSES"] = processes
        defs = build_defs(environ)
        jobs = [defs.resolve_job_def(j.name) for j in defs.jobs or []]
        jobs.append(defs.resolve_implicit_global_asset_job_def())
        assert {job.executor_def.name for job in jobs} == {name}
    assert executor_for(3).config_schema is not None and executor_for(3) is executor_for(3)
    with pytest.raises(ConfigError, match="OUTREACH_STEP_PROCESSES"):
        build_defs({"OUTREACH_START_DATE": "2024-01-01", "OUTREACH_STEP_PROCESSES": "0"})
