"""API requests a single-run backfill of many daily partitions costs, stream by stream.

The point of ``BackfillPolicy.single_run`` plus one API sweep per run is that backfilling
1,000 days costs about one scan of each endpoint, not 1,000. This measures it through the
real Dagster path: a sandbox with records spread over exactly the partitions' days, and
for every stream one ``dg.materialize`` of its partitioned asset over the whole range
(range tags, as a single-run backfill launches it), real OAuth and HTTP on 127.0.0.1. The
sandbox counts the API requests (token requests excluded); the lower bound is one request
per full page of the records in the range. What landed is compared with the sandbox's
ground truth: every id whose cursor is in the range exactly once, in the file of its cursor
day; for full-snapshot streams, the whole table in every partition's file.

Exit status 1 if any stream's rows differ from the truth, its run or checks fail, or it
used more than 2% above the minimum of requests. One-run-per-partition costs are printed
for contrast, computed from the truth, not run.

Run from the repository root::

    .venv/bin/python -m benchmarks.backfill_requests [--partitions 1000] [--records 2000]
    .venv/bin/python -m benchmarks.backfill_requests --streams prospects,duties
    .venv/bin/python -m benchmarks.backfill_requests --streams mailings --profile
"""

import argparse
import contextlib
import cProfile
import math
import pstats
import sys
import tempfile
import time
import warnings
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import pyarrow.dataset as pads

from outreach_assets.assets import build_stream_asset
from outreach_assets.assets.partitions import build_partitions_def
from outreach_assets.catalog import STREAMS, Stream, get_stream
from outreach_assets.config.client import MAX_PAGE_SIZE
from outreach_assets.convert import ID_COLUMN
from outreach_assets.resources.io_manager import OutreachIOManager
from outreach_assets.sandbox import SandboxConfig, SandboxServer
from outreach_assets.storage import EXTENSION, safe_key
from outreach_assets_tests.support.clients import sandbox_resource

# Realistic proportions, small enough that each stream's sweep and files take seconds:
# activity and people streams are big, configuration tables a few hundred rows, lookup
# lists tiny.
# Streams named in neither set (a catalog addition) get the middle size.
LARGE_STREAMS = frozenset(
    {
        "accounts", "calls", "email_addresses", "events", "mailings", "opportunities",
        "prospects", "sequence_states", "tasks",
    }
)  # fmt: skip
LOOKUP_STREAMS = frozenset(
    {
        "call_dispositions", "call_purposes", "content_categories", "duties",
        "opportunity_stages", "personas", "stages", "teams",
    }
)  # fmt: skip
TOLERANCE = 0.02  # requests may exceed the minimum by this share before the run fails
_RANGE_START = "dagster/asset_partition_range_start"
_RANGE_END = "dagster/asset_partition_range_end"
# A 1,000-partition run logs 2,000 events (a planned and a materialized one per partition);
# keep them in the instance's event log and off the terminal.
_QUIET = {"loggers": {"console": {"config": {"log_level": "ERROR"}}}}


@dataclass(frozen=True)
class Sizes:
    large: int
    small: int
    lookup: int

    def of(self, stream: Stream) -> int:
        if stream.name in LARGE_STREAMS:
            return self.large
        return self.lookup if stream.name in LOOKUP_STREAMS else self.small


@dataclass(frozen=True)
class Backfill:
    """The partition range every stream is backfilled over."""

    partitions_def: dg.TimeWindowPartitionsDefinition
    keys: list[str]
    start: datetime  # the first window's start
    end: datetime  # the last window's end (exclusive)


@dataclass(frozen=True)
class Landed:
    """What one stream's run left on disk, compared with the truth."""

    files: int
    rows: int
    expected_rows: int
    problems: list[str]  # empty when every row is where the truth says


@dataclass(frozen=True)
class Outcome:
    stream: Stream
    records: int  # in the sandbox
    in_range: int  # records whose cursor is in the backfill range (all, for snapshots)
    requests: int  # API requests the sandbox counted for the run
    minimum: int
    per_partition_minimum: int  # one run per partition, computed
    landed: Landed
    run_ok: bool  # the run succeeded and every blocking check passed
    seconds: float  # the whole dg.materialize call
    body_seconds: float  # inside the asset: API sweep, conversion, every file written

    @property
    def page_size(self) -> int:
        return effective_page_size(self.stream)

    @property
    def over_budget(self) -> bool:
        return self.requests > self.minimum * (1 + TOLERANCE)


def effective_page_size(stream: Stream) -> int:
    return min(MAX_PAGE_SIZE, stream.max_page_size)


def pages_for(records: int, page_size: int) -> int:
    """Requests a scan needs: one per full or partial page, and one for an empty result."""
    return max(1, math.ceil(records / page_size))


def make_backfill(start: datetime, partitions: int) -> Backfill:
    partitions_def = build_partitions_def(start)
    keys = list(partitions_def.get_partition_keys()[:partitions])
    if len(keys) < partitions:
        raise SystemExit(
            f"only {len(keys)} daily partitions from {start:%Y-%m-%d} to today; "
            "choose an earlier --start"
        )
    first = partitions_def.time_window_for_partition_key(keys[0])
    last = partitions_def.time_window_for_partition_key(keys[-1])
    return Backfill(partitions_def, keys, first.start, last.end)


def sandbox_config(backfill: Backfill, streams: Sequence[Stream], sizes: Sizes) -> SandboxConfig:
    """Cursors spread over exactly the backfill's days; every catalog stream has data."""

    def iso(moment: datetime) -> str:
        return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    return SandboxConfig(
        sizes={s.name: sizes.of(s) for s in streams},
        start=iso(backfill.start),
        end=iso(backfill.end),
    )


def daily_key(cursor_text: str) -> str:
    """The daily partition key of a sandbox cursor (``YYYY-MM-DD`` starts its text)."""
    return cursor_text[:10]


def expected_keys(
    stream: Stream,
    truth: dict[int, str],
    keys: Sequence[str],
    key_of: Callable[[str], str] = daily_key,
) -> dict[int, str]:
    """id -> partition key for incremental streams: the cursor's period, if in the range."""
    if stream.cursor is None:
        raise ValueError(f"{stream.name} is a full snapshot: every partition holds every id")
    in_range = set(keys)
    pairs = ((rid, key_of(text)) for rid, text in truth.items())
    return {rid: key for rid, key in pairs if key in in_range}


def stream_dir(base: Path, stream: Stream) -> Path:
    return base / stream.name


def read_ids(base: Path, stream: Stream, keys: Sequence[str]) -> dict[str, list[int]]:
    """The ids in each partition's file; none for a key without a file (reported by the
    file count). One multithreaded dataset scan: thousands of files one by one take long."""
    names = {f"{safe_key(key)}{EXTENSION}": key for key in keys}
    paths = [str(stream_dir(base, stream) / name) for name in names]
    found = [p for p in paths if Path(p).exists()]
    out: dict[str, list[int]] = {key: [] for key in keys}
    if not found:
        return out
    table = pads.dataset(found, format="parquet").to_table(columns=[ID_COLUMN, "__filename"])
    files, ids = table["__filename"].to_pylist(), table[ID_COLUMN].to_pylist()
    for name, rid in zip(files, ids, strict=True):
        out[names[Path(name).name]].append(rid)
    return out


def committed_files(base: Path, stream: Stream) -> tuple[int, int]:
    """Committed partition files, and leftover hidden temporaries (which must be none)."""
    names = [p.name for p in stream_dir(base, stream).iterdir()]
    files = sum(1 for n in names if n.endswith(EXTENSION) and not n.startswith("."))
    return files, sum(1 for n in names if n.startswith("."))


def check_incremental(
    base: Path, stream: Stream, keys: Sequence[str], expected: dict[int, str]
) -> tuple[int, list[str]]:
    """Rows landed, and how they differ from ``expected`` (missing, repeated, misplaced)."""
    where: dict[int, list[str]] = {}
    for key, ids in read_ids(base, stream, keys).items():
        for rid in ids:
            where.setdefault(rid, []).append(key)
    problems = []
    missing = [rid for rid in expected if rid not in where]
    repeated = [rid for rid, found in where.items() if len(found) > 1]
    misplaced = [
        rid for rid, found in where.items() if len(found) == 1 and expected.get(rid) != found[0]
    ]
    for label, ids in (("missing", missing), ("repeated", repeated), ("misplaced", misplaced)):
        if ids:
            problems.append(f"{len(ids)} {label} (e.g. ids {sorted(ids)[:5]})")
    return sum(len(found) for found in where.values()), problems


def check_snapshot(
    base: Path, stream: Stream, keys: Sequence[str], truth: dict[int, str]
) -> tuple[int, list[str]]:
    """Rows landed; a problem for every partition whose ids are not exactly the table's."""
    wanted = Counter(truth.keys())
    rows, bad = 0, []
    for key, ids in read_ids(base, stream, keys).items():
        rows += len(ids)
        if Counter(ids) != wanted:
            bad.append(key)
    problems = [f"{len(bad)} partition(s) differ from the table (e.g. {bad[:3]})"] if bad else []
    return rows, problems


def check_landed(
    base: Path,
    stream: Stream,
    keys: Sequence[str],
    truth: dict[int, str],
    key_of: Callable[[str], str] = daily_key,
) -> Landed:
    files, temporaries = committed_files(base, stream)
    if stream.cursor is None:
        expected_rows = len(truth) * len(keys)
        rows, problems = check_snapshot(base, stream, keys, truth)
    else:
        expected = expected_keys(stream, truth, keys, key_of)
        expected_rows = len(expected)
        rows, problems = check_incremental(base, stream, keys, expected)
    if files != len(keys):
        problems.append(f"{files} files for {len(keys)} partitions")
    if temporaries:
        problems.append(f"{temporaries} temporary file(s) left behind")
    return Landed(files, rows, expected_rows, problems)


def per_partition_minimum(stream: Stream, in_range: dict[int, str], partitions: int) -> int:
    """The least one run per partition could cost: every run makes at least one request.

    Incremental: each day's records in pages of their own, an empty day one empty page.
    Snapshot: the whole table again in every run.
    """
    page = effective_page_size(stream)
    if stream.cursor is None:
        return partitions * pages_for(len(in_range), page)
    per_day = Counter(in_range.values())
    empty_days = partitions - len(per_day)
    return empty_days + sum(pages_for(count, page) for count in per_day.values())


def open_instance(kind: str) -> contextlib.AbstractContextManager[dg.DagsterInstance]:
    """``sqlite``: ``instance_for_test``, a temporary SQLite-backed instance like ``dagster
    dev``'s. ``memory``: an ephemeral in-memory one, 3 to 4x faster at recording a range
    run's per-partition events; the requests and files are the same either way."""
    if kind == "memory":
        return dg.DagsterInstance.ephemeral()
    return dg.instance_for_test()


@dataclass(frozen=True)
class Harness:
    """What every stream's run shares: the range, the sandbox, the instance, the folder."""

    backfill: Backfill
    sandbox: SandboxServer
    instance: dg.DagsterInstance
    resources: dict[str, object]
    base: Path


def materialize_range(stream: Stream, harness: Harness) -> tuple[bool, float]:
    """One run over the whole range: whether it succeeded with every check passing, and
    the seconds spent in the asset's body (the rest of the run is Dagster's bookkeeping)."""
    backfill = harness.backfill
    asset = build_stream_asset(stream, backfill.partitions_def)
    result = dg.materialize(
        [asset],
        resources=harness.resources,
        instance=harness.instance,
        tags={_RANGE_START: backfill.keys[0], _RANGE_END: backfill.keys[-1]},
        run_config=_QUIET,
        raise_on_error=False,
    )
    checks = result.get_asset_check_evaluations()
    ok = result.success and bool(checks) and all(c.passed for c in checks)
    return ok, body_seconds(harness.instance, result.run_id)


def body_seconds(instance: dg.DagsterInstance, run_id: str) -> float:
    """From the step's start to its first output: the asset function's own time.

    Everything else in a range run is Dagster recording one planned and one materialized
    event per partition, which is what dominates the wall time of a 1,000-partition run.
    """
    start, output = dg.DagsterEventType.STEP_START, dg.DagsterEventType.STEP_OUTPUT
    entries = instance.all_logs(run_id, of_type={start, output})
    starts = [e.timestamp for e in entries if e.dagster_event_type == start]
    outputs = [e.timestamp for e in entries if e.dagster_event_type == output]
    return min(outputs) - min(starts) if starts and outputs else float("nan")


def measure_stream(stream: Stream, harness: Harness) -> Outcome:
    keys, sandbox = harness.backfill.keys, harness.sandbox
    truth = sandbox.truth(stream.name)
    in_range = truth if stream.cursor is None else expected_keys(stream, truth, keys)
    sandbox.reset_stats()
    started = time.perf_counter()
    run_ok, body = materialize_range(stream, harness)
    seconds = time.perf_counter() - started
    return Outcome(
        stream=stream,
        records=len(truth),
        in_range=len(in_range),
        requests=sandbox.stats.api_requests,
        minimum=pages_for(len(in_range), effective_page_size(stream)),
        per_partition_minimum=per_partition_minimum(stream, in_range, len(keys)),
        landed=check_landed(harness.base, stream, keys, truth),
        run_ok=run_ok,
        seconds=seconds,
        body_seconds=body,
    )


def table(outcomes: Sequence[Outcome]) -> str:
    header = (
        "| stream | cursor | records | in range | page | requests | minimum | over min "
        "| files | rows landed | rows expected | rows ok | run ok | asset s | run s |"
    )
    lines = [header, "|" + "---|" * header.count(" | ") + "---|"]
    for o in outcomes:
        over = (o.requests - o.minimum) / o.minimum
        lines.append(
            f"| {o.stream.name} | {o.stream.cursor or 'snapshot'} | {o.records:,} "
            f"| {o.in_range:,} | {o.page_size} | {o.requests:,} | {o.minimum:,} | {over:+.0%} "
            f"| {o.landed.files:,} | {o.landed.rows:,} | {o.landed.expected_rows:,} "
            f"| {'yes' if not o.landed.problems else 'NO'} | {'yes' if o.run_ok else 'NO'} "
            f"| {o.body_seconds:.1f} | {o.seconds:.1f} |"
        )
    return "\n".join(lines)


def summary(outcomes: Sequence[Outcome], partitions: int, elapsed: float) -> str:
    requests = sum(o.requests for o in outcomes)
    minimum = sum(o.minimum for o in outcomes)
    per_partition = sum(o.per_partition_minimum for o in outcomes)
    records = sum(o.in_range for o in outcomes)
    files = sum(o.landed.files for o in outcomes)
    runs = sum(o.seconds for o in outcomes)
    body = sum(o.body_seconds for o in outcomes)
    return (
        f"**Total** ({len(outcomes)} streams, {partitions:,} partitions each, one run per "
        f"stream): {requests:,} API requests for {records:,} records (minimum {minimum:,}), "
        f"{files:,} files, {elapsed:.0f} s wall; the runs took {runs:.0f} s, {body:.0f} s of "
        f"it inside the assets (API sweep, conversion, files), the rest Dagster's own "
        f"(run start-up, one planned and one materialized event per partition).\n"
        f"For contrast, one run per partition ({partitions:,} runs x {len(outcomes)} streams, "
        f"computed, not run): at least {per_partition:,} requests "
        f"({per_partition / max(requests, 1):,.0f}x), i.e. at least {partitions:,} per stream."
    )


def failures(outcomes: Sequence[Outcome]) -> list[str]:
    out = []
    for o in outcomes:
        if not o.run_ok:
            out.append(f"{o.stream.name}: the run failed or a blocking check did not pass")
        out += [f"{o.stream.name}: {problem}" for problem in o.landed.problems]
        if o.over_budget:
            out.append(
                f"{o.stream.name}: {o.requests} requests, more than {TOLERANCE:.0%} above the "
                f"minimum of {o.minimum}"
            )
    return out


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--partitions", type=int, default=1000, help="daily partitions")
    parser.add_argument("--records", type=int, default=2000, help="records of the big streams")
    parser.add_argument("--small-records", type=int, default=300)
    parser.add_argument("--lookup-records", type=int, default=50)
    parser.add_argument("--streams", default="", help="comma-separated names; default all")
    parser.add_argument("--start", default="2023-01-01", help="first partition day (UTC)")
    parser.add_argument(
        "--instance",
        choices=("sqlite", "memory"),
        default="sqlite",
        help="Dagster instance: instance_for_test (SQLite, default) or in-memory",
    )
    parser.add_argument(
        "--profile", action="store_true", help="cProfile the runs, print the top functions"
    )
    args = parser.parse_args(argv)
    if args.partitions < 1:
        parser.error("--partitions must be at least 1")
    return args


def selected_streams(names: str) -> list[Stream]:
    if not names:
        return list(STREAMS)
    return [get_stream(name.strip()) for name in names.split(",") if name.strip()]


def run(args: argparse.Namespace, streams: Sequence[Stream]) -> list[Outcome]:
    start = datetime.fromisoformat(args.start).replace(tzinfo=UTC)
    backfill = make_backfill(start, args.partitions)
    sizes = Sizes(args.records, args.small_records, args.lookup_records)
    print(
        f"Backfill {backfill.keys[0]}..{backfill.keys[-1]} ({len(backfill.keys):,} daily "
        f"partitions) of {len(streams)} stream(s); sandbox records in "
        f"[{backfill.start:%Y-%m-%d}, {backfill.end:%Y-%m-%d})",
        flush=True,
    )
    outcomes = []
    with (
        tempfile.TemporaryDirectory(prefix="backfill_requests-") as tmp,
        SandboxServer(sandbox_config(backfill, STREAMS, sizes)) as sandbox,
        open_instance(args.instance) as instance,
    ):
        base = Path(tmp) / "data"
        resources: dict[str, object] = {
            "outreach": sandbox_resource(sandbox, Path(tmp)),
            "io_manager": OutreachIOManager(base_dir=str(base)),
        }
        harness = Harness(backfill, sandbox, instance, resources, base)
        for stream in streams:
            outcome = measure_stream(stream, harness)
            print(
                f"  {stream.name}: {outcome.requests} requests, {outcome.landed.files} files, "
                f"{outcome.seconds:.1f} s ({outcome.body_seconds:.1f} s in the asset)",
                file=sys.stderr,
                flush=True,
            )
            outcomes.append(outcome)
    return outcomes


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    # The factory's backfill_policy is a deliberate choice; its beta notice is noise here.
    warnings.filterwarnings("ignore", category=dg.BetaWarning)
    streams = selected_streams(args.streams)
    started = time.perf_counter()
    profiler = cProfile.Profile() if args.profile else None
    if profiler is not None:
        profiler.enable()
    outcomes = run(args, streams)
    if profiler is not None:
        profiler.disable()
    elapsed = time.perf_counter() - started
    print()
    print(table(outcomes))
    print()
    print(summary(outcomes, args.partitions, elapsed))
    if profiler is not None:
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(40)
    problems = failures(outcomes)
    for problem in problems:
        print(f"FAIL {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
