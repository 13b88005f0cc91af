"""Acceptance of the assets milestone: every catalog stream, end to end, over real HTTP.

The sandbox's cursors are spread over the last few days up to now, so the partitions
(which include the open current day) cover every record. One Dagster run lands the whole
range for all streams, then the sandbox changes records and a run of today's partition
must move them there, while the older partitions keep the older versions and the
current-state tables keep only the newest. The last tests drive the ``dagster`` command
line exactly as a user would, from the repository root with OUTREACH_* variables.
"""

import json
import math
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import pyarrow.parquet as pq
import pytest

from outreach_assets.assets import CHECK_CURSOR_IN_WINDOW, CHECK_IDS_UNIQUE, CHECK_SCHEMA
from outreach_assets.catalog import STREAMS, Stream
from outreach_assets.convert import arrow_schema
from outreach_assets.definitions import build_defs
from outreach_assets.sandbox import SandboxServer
from outreach_assets.storage import schemas_match
from outreach_assets_tests.support.clients import ROOT

DAYS = 6  # partitions in the sandbox's range, today included
RECORDS = 60  # per stream: about ten per day, a few pages for the whole catalog
ALL_CHECKS = {CHECK_IDS_UNIQUE: True, CHECK_CURSOR_IN_WINDOW: True, CHECK_SCHEMA: True}
CLI_TIMEOUT_S = 600


# ##### HELPERS


def _days() -> list[str]:
    """The partition keys of the sandbox range: the last ``DAYS`` days, today included."""
    today = datetime.now(UTC).date()
    return [(today - timedelta(days=DAYS - 1 - n)).isoformat() for n in range(DAYS)]


def _start_sandbox(factory: Callable[..., SandboxServer], first: str, **config: object):
    """A sandbox whose cursors lie between the first day's midnight and now."""
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return factory(start=f"{first}T00:00:00Z", end=now, **config)


def _project_env(sb: SandboxServer, first: str, tmp_path: Path) -> dict[str, str]:
    """The variables a user sets: the sandbox's credentials, start date, data and tokens."""
    return {
        **sb.environment(),
        "OUTREACH_START_DATE": first,
        "OUTREACH_DATA_DIR": str(tmp_path / "data"),
        "OUTREACH_TOKEN_STORE": str(tmp_path / "tokens" / "outreach_tokens.json"),
    }


def _ms(moment: datetime) -> str:
    """A cursor as the sandbox's truth writes it (UTC, millisecond precision)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _by_day(truth: Mapping[int, str]) -> dict[str, set[int]]:
    days: dict[str, set[int]] = {}
    for record_id, cursor in truth.items():
        days.setdefault(cursor[:10], set()).add(record_id)
    return days


def _expected_ids(stream: Stream, truth: Mapping[int, str], key: str) -> set[int]:
    """An incremental partition holds its day's cursors; a snapshot, the whole table."""
    return _by_day(truth).get(key, set()) if stream.cursor else set(truth)


def _read(path: Path, stream: Stream) -> dict[int, str]:
    """id -> cursor (ms text; "" for snapshots) of one file; repeated ids raise."""
    table = pq.read_table(path)
    ids = table.column("id").to_pylist()
    assert len(ids) == len(set(ids)), f"{path}: ids repeat"
    if not stream.cursor:
        return dict.fromkeys(ids, "")
    cursors = table.column(stream.cursor).to_pylist()
    return {i: _ms(c) for i, c in zip(ids, cursors, strict=True)}


def _partition_file(data: Path, stream: Stream, key: str) -> Path:
    return data / stream.name / f"{key}.parquet"


def _current_file(data: Path, stream: Stream) -> Path:
    name = f"{stream.name}_current"
    return data / name / f"{name}.parquet"


def _partition_problems(
    data: Path, stream: Stream, keys: list[str], truth: Mapping[int, str]
) -> list[str]:
    """What is wrong with the files ``keys`` of a stream against ``truth``, if anything."""
    problems = []
    schemas = []
    for key in keys:
        path = _partition_file(data, stream, key)
        rows = _read(path, stream)
        expected = _expected_ids(stream, truth, key)
        if set(rows) != expected:
            problems.append(
                f"{stream.name}/{key}: {len(set(rows) - expected)} unexpected id(s), "
                f"{len(expected - set(rows))} missing"
            )
        wrong = [i for i, c in rows.items() if i in truth and c != truth[i]]
        if wrong:
            problems.append(f"{stream.name}/{key}: cursor differs from truth for ids {wrong[:5]}")
        schemas.append(pq.read_schema(path))
    if not all(s.equals(schemas[0], check_metadata=True) for s in schemas):
        problems.append(f"{stream.name}: the partition files differ in schema")
    if not schemas_match(schemas[0], arrow_schema(stream)):
        problems.append(f"{stream.name}: file schema differs from records.arrow_schema")
    return problems


def _current_problems(data: Path, stream: Stream, truth: Mapping[int, str]) -> list[str]:
    """The current state must be one row per truth id with the truth's newest cursor."""
    rows = _read(_current_file(data, stream), stream)
    if set(rows) != set(truth):
        return [f"{stream.name}_current: ids differ from the sandbox's ({len(rows)} rows)"]
    if stream.cursor and rows != dict(truth):
        stale = [i for i in rows if rows[i] != truth[i]]
        return [f"{stream.name}_current: not the newest cursor for ids {stale[:5]}"]
    return []


def _relationship_problems(data: Path, stream: Stream, sb: SandboxServer) -> list[str]:
    """Every relationship column of the current state equals what the server holds."""
    columns = {r.name: r.column for r in (*stream.relationships, *stream.to_many)}
    if not columns:
        return []
    table = pq.read_table(_current_file(data, stream), columns=["id", *columns.values()])
    landed = {row.pop("id"): row for row in table.to_pylist()}
    truth = sb.relationships(stream.name)
    problems = []
    for record_id, relationships in truth.items():
        row = landed.get(record_id)
        expected = {columns[name]: ids for name, ids in relationships.items() if name in columns}
        if row is None or {c: row[c] for c in expected} != expected:
            problems.append(f"{stream.name}: relationships of id {record_id} differ")
    return problems[:5]


def _listing_problems(data: Path, stream: Stream, keys: list[str]) -> list[str]:
    """Exactly one committed file per partition, and no temporary file left behind."""
    found = sorted(os.listdir(data / stream.name))
    expected = sorted(f"{k}.parquet" for k in keys)
    return [] if found == expected else [f"{stream.name}: files {found}, expected {expected}"]


def _checks_by_asset(result: dg.ExecuteInProcessResult) -> dict[str, dict[str, bool]]:
    checks: dict[str, dict[str, bool]] = {}
    for evaluation in result.get_asset_check_evaluations():
        name = evaluation.asset_key.path[-1]
        checks.setdefault(name, {})[evaluation.check_name] = evaluation.passed
    return checks


def _change_every_stream(sb: SandboxServer) -> dict[str, list[int]]:
    """Touch 3 and add 2 records per incremental stream (add 2 per snapshot): ids changed."""
    changed = {}
    for stream in STREAMS:
        touched = sb.touch(stream.name, count=3) if stream.cursor else []
        changed[stream.name] = touched + sb.add(stream.name, count=2)
    return changed


# ##### IN-PROCESS: EVERY STREAM, ONE RUN OVER THE RANGE, THEN ONE RUN OF TODAY


@pytest.fixture
def catalog_run(
    sandbox_factory: Callable[..., SandboxServer],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[tuple[SandboxServer, dg.Definitions, dg.DagsterInstance]]:
    """A sandbox for every stream, the project's definitions from its env, an instance.

    Credentials are EnvVars resolved at launch, so they are set in the process environment.
    The instance is in memory: a SQLite event log spends most of a 95-step run on commits.
    """
    sb = _start_sandbox(sandbox_factory, _days()[0], records=RECORDS)
    env = _project_env(sb, _days()[0], tmp_path)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with dg.DagsterInstance.ephemeral() as instance:
        yield sb, build_defs(env), instance


def _materialize(
    defs: dg.Definitions, instance: dg.DagsterInstance, tags: Mapping[str, str]
) -> dg.ExecuteInProcessResult:
    assets = [a for a in defs.assets or [] if isinstance(a, dg.AssetsDefinition)]
    assert len(assets) == 3 * len(STREAMS) + 1  # and the custom field definitions
    # The sync job's own selection: streams, current states, custom fields (not the sweeps).
    assets = [a for a in assets if not any(k.path[-1].endswith("_deletions") for k in a.keys)]
    return dg.materialize(assets, resources=defs.resources, instance=instance, tags=dict(tags))


def test_every_stream_lands_a_range_then_changes_move_to_today(
    catalog_run: tuple[SandboxServer, dg.Definitions, dg.DagsterInstance], tmp_path: Path
) -> None:
    sb, defs, instance = catalog_run
    data = tmp_path / "data"
    keys = _days()
    before = {s.name: sb.truth(s.name) for s in STREAMS}

    result = _materialize(
        defs,
        instance,
        {
            "dagster/asset_partition_range_start": keys[0],
            "dagster/asset_partition_range_end": keys[-1],
        },
    )

    assert result.success
    assert _checks_by_asset(result) == {s.name: ALL_CHECKS for s in STREAMS}
    problems = []
    for stream in STREAMS:
        problems += _listing_problems(data, stream, keys)
        problems += _partition_problems(data, stream, keys, before[stream.name])
        problems += _current_problems(data, stream, before[stream.name])
    assert not problems
    problems = [p for s in STREAMS for p in _relationship_problems(data, s, sb)]
    assert not problems
    assert sum(len(r.to_many) for r in STREAMS) > 50  # to-many columns are there to compare
    _assert_custom_fields(data, sb, instance)
    # The partitions cover the sandbox's whole range, so every record landed exactly once.
    incremental = [s for s in STREAMS if s.cursor]
    files = [_partition_file(data, s, k) for s in incremental for k in keys]
    landed = sum(pq.read_metadata(path).num_rows for path in files)
    assert landed == sum(len(before[s.name]) for s in incremental)

    changed = _change_every_stream(sb)
    after = {s.name: sb.truth(s.name) for s in STREAMS}
    today = datetime.now(UTC).date().isoformat()
    new_cursors = {after[n][i][:10] for n, ids in changed.items() for i in ids if after[n][i]}
    assert new_cursors == {today}  # the changes are today's, a partition of the definition

    result = _materialize(defs, instance, {"dagster/partition": today})

    assert result.success
    assert _checks_by_asset(result) == {s.name: ALL_CHECKS for s in STREAMS}
    older = [k for k in keys if k != today]
    moved = 0
    for stream in STREAMS:
        old, new = before[stream.name], after[stream.name]
        problems += _partition_problems(data, stream, [today], new)
        problems += _partition_problems(data, stream, older, old)  # old versions stay
        problems += _current_problems(data, stream, new)
        for record_id in changed[stream.name]:
            old_day = old.get(record_id, today)[:10] if stream.cursor else today
            if old_day != today:  # the record is now in two files, once in the current state
                moved += 1
                assert record_id in _read(_partition_file(data, stream, old_day), stream)
                assert record_id in _read(_partition_file(data, stream, today), stream)
    assert not problems
    assert moved > 0  # some changed records did come from an older partition


def _assert_custom_fields(data: Path, sb: SandboxServer, instance: dg.DagsterInstance) -> None:
    """The definitions landed as the server holds them, and the streams' column schemas
    describe labelled custom fields by their label."""
    table = pq.read_table(data / "custom_fields" / "custom_fields.parquet")
    landed = {(r["object_type"], r["field"]): r["label"] for r in table.to_pylist()}
    served = sb.custom_fields()
    expected = {
        (t, f): spec.get("label") for t, fields in served.items() for f, spec in fields.items()
    }
    assert landed == expected
    (object_type, field), label = next((k, v) for k, v in sorted(expected.items()) if v)
    stream = next(s for s in STREAMS if s.json_type == object_type)
    event = instance.get_latest_materialization_event(dg.AssetKey(["outreach", stream.name]))
    assert event is not None and event.asset_materialization is not None
    schema = event.asset_materialization.metadata["dagster/column_schema"].value
    described = {c.name: c.description for c in schema.columns}  # type: ignore[union-attr]
    assert label in (described[field] or "")
    assert all(described.values())


def test_a_stream_whose_scope_is_missing_fails_alone(
    sandbox_factory: Callable[..., SandboxServer], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 403 names the scope and the variable that leaves the stream out; the run's other
    streams land all the same."""
    first = _days()[-1]
    missing = next(s for s in STREAMS if s.name == "audit_logs")
    scopes = [s.scope for s in STREAMS if s is not missing]
    sb = _start_sandbox(sandbox_factory, first, records=5, scopes=scopes)
    env = {**_project_env(sb, first, tmp_path), "OUTREACH_STREAMS": "audit_logs,calls,roles"}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    defs = build_defs(env)
    with dg.DagsterInstance.ephemeral() as instance:
        result = defs.resolve_job_def("outreach_sync_job").execute_in_process(
            instance=instance, partition_key=first, raise_on_error=False
        )
    assert not result.success
    (failure,) = [e for e in result.all_events if e.is_step_failure]
    assert failure.step_key == "outreach__audit_logs"
    message = str(failure.step_failure_data.error)
    assert "auditLogs.read" in message
    assert "OUTREACH_EXCLUDE_STREAMS=audit_logs" in message
    for name in ("calls", "roles"):
        assert (tmp_path / "data" / name / f"{first}.parquet").exists(), name
        assert (tmp_path / "data" / f"{name}_current").exists(), name


# ##### THE COMMAND LINE, AS A USER RUNS IT


@pytest.fixture
def cli_env(
    sandbox_factory: Callable[..., SandboxServer], tmp_path: Path
) -> tuple[SandboxServer, dict[str, str]]:
    """A sandbox and the environment of a user's shell pointing the project at it."""
    sb = _start_sandbox(
        sandbox_factory,
        _days()[0],
        records=20,
        sizes={"prospects": 120, "calls": 2500},
        rotate_refresh_tokens=True,
    )
    home = tmp_path / "dagster_home"
    home.mkdir()
    clean = {k: v for k, v in os.environ.items() if not k.startswith("OUTREACH_")}
    env = {**clean, **_project_env(sb, _days()[0], tmp_path), "DAGSTER_HOME": str(home)}
    return sb, env


def _dagster(env: Mapping[str, str], *args: str) -> str:
    """Run ``python -m dagster ...`` from the repository root; its stdout and stderr."""
    done = subprocess.run(
        [sys.executable, "-m", "dagster", *args],
        cwd=ROOT,
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT_S,
        check=False,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-4000:]
    return output


def _assert_no_secrets(sb: SandboxServer, env: Mapping[str, str], output: str) -> None:
    """Neither the output nor the Dagster instance's files hold a secret or a token."""
    store = json.loads(Path(env["OUTREACH_TOKEN_STORE"]).read_text())
    secrets = {
        "client secret": sb.config.client_secret,
        "configured refresh token": sb.config.refresh_token,
        "current refresh token": sb.current_refresh_token,
        "stored refresh token": store["refresh_token"],
        "stored access token": store["access_token"],
    }
    assert all(secrets.values())
    texts = {"output": output}
    for path in Path(env["DAGSTER_HOME"]).rglob("*"):
        if path.is_file():
            texts[str(path)] = path.read_bytes().decode("utf-8", errors="replace")
    leaked = [
        f"{name} in {where}" for name, s in secrets.items() for where, t in texts.items() if s in t
    ]
    assert not leaked


def test_cli_materializes_one_partition_of_one_asset(
    cli_env: tuple[SandboxServer, dict[str, str]],
) -> None:
    sb, env = cli_env
    day = _days()[2]

    output = _dagster(
        env,
        "asset",
        "materialize",
        "-m",
        "outreach_assets",
        "--select",
        "outreach/prospects",
        "--partition",
        day,
    )

    folder = Path(env["OUTREACH_DATA_DIR"]) / "prospects"
    assert os.listdir(folder) == [f"{day}.parquet"]
    ids = pq.read_table(folder / f"{day}.parquet").column("id").to_pylist()
    assert sorted(ids) == sorted(_by_day(sb.truth("prospects"))[day])
    _assert_no_secrets(sb, env, output)


@pytest.mark.parametrize("instance_yaml", ["stock", "project"])
def test_cli_materializes_a_partition_range_in_one_sweep(
    cli_env: tuple[SandboxServer, dict[str, str]],
    instance_yaml: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The README's backfill on Dagster's stock SQLite instance and on the project's
    ``dagster.yaml``: one sweep, one step process, one materialization per partition with
    that partition's own facts; the project's instance plans the range in one event."""
    sb, env = cli_env
    home = Path(env["DAGSTER_HOME"])
    if instance_yaml == "project":
        shutil.copy(ROOT / "dagster.yaml", home / "dagster.yaml")
    keys = _days()
    sb.reset_stats()

    output = _dagster(
        env,
        "asset",
        "materialize",
        "-m",
        "outreach_assets",
        "--select",
        "outreach/calls",
        "--partition-range",
        f"{keys[0]}...{keys[-1]}",
    )

    truth = sb.truth("calls")
    assert sb.stats.api_requests == math.ceil(len(truth) / 1000)
    folder = Path(env["OUTREACH_DATA_DIR"]) / "calls"
    assert sorted(os.listdir(folder)) == [f"{k}.parquet" for k in keys]
    by_day = _by_day(truth)
    for key in keys:
        ids = pq.read_table(folder / f"{key}.parquet").column("id").to_pylist()
        assert sorted(ids) == sorted(by_day.get(key, ()))
    _assert_no_secrets(sb, env, output)

    monkeypatch.setenv("DAGSTER_HOME", str(home))
    with dg.DagsterInstance.get() as instance:
        (run,) = instance.get_runs()
        events = [e.dagster_event for e in instance.all_logs(run.run_id) if e.dagster_event]
    types = [e.event_type for e in events]
    assert dg.DagsterEventType.STEP_WORKER_STARTING not in types  # steps run in the CLI process
    planned = types.count(dg.DagsterEventType.ASSET_MATERIALIZATION_PLANNED)
    assert planned == (1 if instance_yaml == "project" else len(keys))
    materializations = {
        m.partition: m.metadata
        for e in events
        if e.event_type == dg.DagsterEventType.ASSET_MATERIALIZATION
        and (m := e.step_materialization_data.materialization).partition
    }
    assert sorted(materializations) == keys
    for key, metadata in materializations.items():
        rows = pq.read_metadata(folder / f"{key}.parquet").num_rows
        assert metadata["dagster/row_count"].value == rows == len(by_day.get(key, ()))
        assert metadata["path"].value == str(folder / f"{key}.parquet")
        assert metadata["bytes"].value == (folder / f"{key}.parquet").stat().st_size
        assert ("rows_in_run" in metadata) is (key == keys[-1])
        assert ("dagster/column_schema" in metadata) is (key == keys[-1])
    assert materializations[keys[-1]]["rows_in_run"].value == len(truth)
    assert float(materializations[keys[-1]]["sweep_cpu_s"].value) > 0  # type: ignore[arg-type]


def test_cli_executes_the_sync_job_for_a_partition(
    cli_env: tuple[SandboxServer, dict[str, str]],
) -> None:
    sb, env = cli_env
    day = _days()[1]

    output = _dagster(
        env,
        "job",
        "execute",
        "-m",
        "outreach_assets",
        "-j",
        "outreach_sync_job",
        "--tags",
        json.dumps({"dagster/partition": day}),
    )

    data = Path(env["OUTREACH_DATA_DIR"])
    problems = []
    for stream in STREAMS:
        truth = sb.truth(stream.name)
        problems += _listing_problems(data, stream, [day])
        problems += _partition_problems(data, stream, [day], truth)
        landed = {i: truth[i] for i in _expected_ids(stream, truth, day)}
        problems += _current_problems(data, stream, landed)
    assert not problems
    _assert_no_secrets(sb, env, output)
