"""The benchmark suite: throughput, requests, memory and quota use, end to end.

Every scenario starts a sandbox in its own process with a given size, latency, rate limit
and body limit, then runs the project's real ``outreach_sync_job`` (code location loaded
from ``OUTREACH_*`` variables, OAuth, quota limiter, one sweep per stream, Parquet files,
blocking checks) in a second process over a partition range, and measures both from
outside. What landed is compared with the sandbox's ground truth, record by record.

    .venv/bin/python -m benchmarks                      # every scenario, prints the table
    .venv/bin/python -m benchmarks --only a --scale 0.1 # one scenario, smaller
    .venv/bin/python -m benchmarks --write-results      # also refresh benchmarks/RESULTS.md
"""

import argparse
import json
import math
import os
import platform
import re
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from benchmarks.backfill_requests import (
    check_landed,
    daily_key,
    effective_page_size,
    pages_for,
)
from benchmarks.processes import ROOT, SandboxProcess, Usage, materialize
from outreach_assets.catalog import STREAMS, get_stream
from outreach_assets.client.quota import RESET_MARGIN_S

RESULTS = ROOT / "benchmarks" / "RESULTS.md"
BEGIN, END = "<!-- results:begin -->", "<!-- results:end -->"

# One year of a mid-sized Outreach account (a few dozen reps): people and activity streams
# in the tens of thousands, configuration in the hundreds, lookup lists in the tens.
YEAR_SIZES: dict[str, int] = {
    "account_notes": 2_000, "accounts": 5_000, "audit_logs": 10_000, "batch_items": 5_000,
    "batches": 100, "call_dispositions": 20, "call_purposes": 20, "calls": 20_000,
    "compliance_requests": 20, "content_categories": 20, "content_category_memberships": 300,
    "content_category_ownerships": 50, "duties": 20, "email_addresses": 20_000,
    "events": 40_000, "favorites": 500, "kaia_recordings": 500, "mail_aliases": 60,
    "mailboxes": 60, "mailings": 20_000, "opportunities": 2_000,
    "opportunity_prospect_roles": 3_000, "opportunity_stages": 10, "personas": 20,
    "phone_numbers": 20_000, "products": 50, "profiles": 10, "prospect_notes": 5_000,
    "prospects": 20_000, "purchases": 1_000, "recipients": 20_000, "roles": 20,
    "rulesets": 20, "sequence_states": 20_000, "sequence_steps": 1_200,
    "sequence_templates": 300, "sequences": 300, "snippets": 300, "stages": 10,
    "task_dispositions": 10, "task_priorities": 5, "task_purposes": 10, "tasks": 20_000,
    "teams": 10, "templates": 500, "users": 60, "webhooks": 10,
}  # fmt: skip
YEAR_START = date(2025, 1, 1)
REQUEST_TOLERANCE = 0.02
BIG_PARTITION_RSS_TARGET_MB = 400
WINDOW_USE_TARGET = 0.9  # share of quota_limit a window must use while work waits
FEW_FAILURES = 3  # 502s allowed before the page size settles


@dataclass(frozen=True)
class Scenario:
    key: str
    title: str
    sandbox: dict[str, Any]  # SandboxConfig fields
    streams: tuple[str, ...]
    periods: int
    settings: dict[str, str] = field(default_factory=dict)  # extra OUTREACH_* variables

    @property
    def first_day(self) -> date:
        return date.fromisoformat(self.sandbox["start"][:10])

    @property
    def monthly(self) -> bool:
        return self.settings.get("OUTREACH_PARTITION_CADENCE") == "monthly"

    @property
    def keys(self) -> list[str]:
        first = self.first_day
        if self.monthly:
            months = (first.year * 12 + first.month - 1 + i for i in range(self.periods))
            return [date(m // 12, m % 12 + 1, 1).isoformat() for m in months]
        return [(first + timedelta(days=i)).isoformat() for i in range(self.periods)]

    def key_of(self, cursor_text: str) -> str:
        """The partition key of a sandbox cursor (its text starts with ``YYYY-MM-DD``)."""
        return f"{cursor_text[:7]}-01" if self.monthly else daily_key(cursor_text)


@dataclass
class Measurement:
    scenario: Scenario
    usage: Usage
    outcome: dict[str, Any]
    records: int  # rows that landed
    expected: int
    problems: list[str]
    requests: int
    minimum: int
    statuses: dict[str, int]
    windows: list[dict[str, Any]]
    sandbox_cpu_s: float
    log: Path
    quota_resets: list[float]  # window resets the client waited for (from its log)

    @property
    def run_cpu_s(self) -> float:
        return float(self.outcome.get("run_cpu_s", math.nan))

    @property
    def peak_rss_mb(self) -> float:
        return float(self.outcome.get("peak_rss_mb", math.nan))

    @property
    def run_wall_s(self) -> float:
        return float(self.outcome.get("run_wall_s", math.nan))

    @property
    def ok(self) -> bool:
        return bool(self.outcome.get("success")) and not self.problems


def _iso(day: date) -> str:
    return f"{day.isoformat()}T00:00:00Z"


def scenarios(scale: float) -> dict[str, Scenario]:
    """The scenarios; ``scale`` multiplies record counts (1.0 = the sizes the targets name)."""
    year = {name: max(1, round(n * scale)) for name, n in YEAR_SIZES.items()}
    year_range = {"start": _iso(YEAR_START), "end": _iso(YEAR_START + timedelta(days=365))}
    everything = tuple(s.name for s in STREAMS)
    # The streams that make nearly all of b's requests (the others need one page each).
    big = tuple(name for name, n in YEAR_SIZES.items() if n >= 5_000)
    big_day = date(2025, 6, 1)
    return {
        "a": Scenario(
            "a",
            "one partition of prospects, 1,000,000 wide records, no latency",
            {
                "records": 0,
                "sizes": {"prospects": max(1, round(1_000_000 * scale))},
                "start": _iso(big_day),
                "end": _iso(big_day + timedelta(days=1)),
            },
            ("prospects",),
            1,
        ),
        "b": Scenario(
            "b",
            f"365-partition backfill of all {len(STREAMS)} streams, 50 ms latency",
            {"records": 0, "sizes": year, "latency_ms": 50.0, **year_range},
            everything,
            365,
        ),
        "c": Scenario(
            "c",
            "the same backfill, 80 requests per 10 s window, quota_limit=0.5",
            {
                "records": 0,
                "sizes": year,
                "latency_ms": 50.0,
                "rate_limit": 80,
                "rate_window_s": 10.0,
                **year_range,
            },
            everything,
            365,
            {"OUTREACH_QUOTA_LIMIT": "0.5"},
        ),
        "d": Scenario(
            "d",
            "mailings with big bodies: 502 above 1.5 MB, page size 1000 asked",
            {"records": 0, "sizes": {"mailings": year["mailings"]}, "max_body_bytes": 1_500_000}
            | year_range,
            ("mailings",),
            365,
            {"OUTREACH_PAGE_SIZE": "1000"},
        ),
        # b's API work without most of its Dagster bookkeeping (8,760 partition events),
        # so that what hiding the latency gains is visible in the wall time.
        "e": Scenario(
            "e",
            "b's 8 streams of 5,000+ records, 12 monthly partitions, 50 ms latency, latency hidden",
            {"records": 0, "sizes": year, "latency_ms": 50.0, **year_range},
            big,
            12,
            {"OUTREACH_PARTITION_CADENCE": "monthly"},
        ),
        "f": Scenario(
            "f",
            "the same as e with prefetch and slices off",
            {"records": 0, "sizes": year, "latency_ms": 50.0, **year_range},
            big,
            12,
            {
                "OUTREACH_PARTITION_CADENCE": "monthly",
                "OUTREACH_PREFETCH_PAGES": "0",
                "OUTREACH_MAX_CONCURRENT_SLICES": "1",
            },
        ),
    }


def run_scenario(
    scenario: Scenario, instance: str, keep: Path | None, settings: dict[str, str]
) -> Measurement:
    with tempfile.TemporaryDirectory(prefix=f"bench-{scenario.key}-") as tmp:
        work = Path(tmp)
        with SandboxProcess(scenario.sandbox) as sandbox:
            env = {
                **sandbox.environment,
                "OUTREACH_START_DATE": scenario.first_day.isoformat(),
                "OUTREACH_DATA_DIR": str(work / "data"),
                "OUTREACH_TOKEN_STORE": str(work / "tokens.json"),
                "DAGSTER_HOME": str(work / "home"),
                **scenario.settings,
                **settings,
            }
            (work / "home").mkdir()
            (work / "home" / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
            spec = {
                "env": env,
                "streams": list(scenario.streams),
                "first": scenario.keys[0],
                "last": scenario.keys[-1],
                "instance": instance,
                "profile": os.environ.get("BENCH_PROFILE"),
            }
            usage, outcome, log = materialize(spec, work)
            stats = sandbox.get("stats")
            windows = sandbox.get("rate_windows")["windows"]
            truths = {name: _truth(sandbox, name) for name in scenario.streams}
        assert sandbox.usage is not None
        records, expected, minimum, problems = _compare(scenario, work / "data", truths)
        if not outcome.get("success"):
            problems.append(f"the run failed (exit {usage.exit_code})")
        resets = quota_resets(log.read_text())
        kept_log = _keep_log(log, scenario, keep)
        return Measurement(
            scenario=scenario,
            usage=usage,
            outcome=outcome,
            records=records,
            expected=expected,
            problems=problems,
            requests=stats["api_requests"],
            minimum=minimum,
            statuses={str(k): v for k, v in stats["status_counts"].items()},
            windows=windows,
            sandbox_cpu_s=sandbox.usage.cpu_s,
            log=kept_log,
            quota_resets=resets,
        )


_QUOTA_WAIT = re.compile(r"quota_limit=\S+ of \d+/window reached .* until reset at (\S+Z)")


def quota_resets(log: str) -> list[float]:
    """Reset times (epoch seconds) of every quota wait the client logged.

    The limiter waits until the window's reset plus its margin; a window that ended with a
    wait is one in which work was waiting for quota, so it must have been used fully.
    """
    stamps = {m.group(1) for m in _QUOTA_WAIT.finditer(log)}
    return sorted(datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp() for s in stamps)


def _truth(sandbox: SandboxProcess, name: str) -> dict[int, str]:
    return {int(k): v for k, v in sandbox.get(f"truth/{name}").items()}


def _compare(
    scenario: Scenario, base: Path, truths: dict[str, dict[int, str]]
) -> tuple[int, int, int, list[str]]:
    """Rows landed, rows expected, the minimum of requests, and every difference found."""
    records = expected = minimum = 0
    problems: list[str] = []
    for name, truth in truths.items():
        stream = get_stream(name)
        landed = check_landed(base, stream, scenario.keys, truth, scenario.key_of)
        records += landed.rows
        expected += landed.expected_rows
        problems += [f"{name}: {p}" for p in landed.problems]
        minimum += pages_for(len(truth), effective_page_size(stream))
    return records, expected, minimum, problems


def _keep_log(log: Path, scenario: Scenario, keep: Path | None) -> Path:
    if keep is None:
        return log
    keep.mkdir(parents=True, exist_ok=True)
    target = keep / f"{scenario.key}.log"
    target.write_text(log.read_text())
    return target


# --- targets -----------------------------------------------------------------------------


def window_shares(m: Measurement) -> list[float]:
    return [w["used"] / w["limit"] for w in m.windows]


def quota_limit(m: Measurement) -> float:
    return float(m.scenario.settings.get("OUTREACH_QUOTA_LIMIT", "1"))


def target_a(m: Measurement) -> tuple[bool | None, str]:
    """Figures only: the CPU per wide record is bounded by parsing and Parquet, not by
    anything the project adds (``python -m benchmarks.parse_ceiling`` measures that bound),
    and the quota, not one core, caps extraction; the cost that matters is the fixed one
    (``python -m benchmarks.backfill_cost``)."""
    rate = m.records / m.run_cpu_s
    return None, (
        f"{rate:,.0f} records per CPU second (read beside `python -m benchmarks.parse_ceiling`"
        f"); peak RSS {m.peak_rss_mb:,.0f} MB (target < {BIG_PARTITION_RSS_TARGET_MB}, "
        f"{'met' if m.peak_rss_mb < BIG_PARTITION_RSS_TARGET_MB else 'NOT met'})"
    )


def target_b(m: Measurement) -> tuple[bool, str]:
    over = m.requests / m.minimum - 1
    failed = sum(n for status, n in m.statuses.items() if status != "200")
    ok = over <= REQUEST_TOLERANCE and failed == 0 and m.ok
    return ok, f"{m.requests:,} requests, minimum {m.minimum:,} ({over:+.1%}); {failed} not 200"


def waited_windows(m: Measurement) -> list[int]:
    """Indexes of the windows that ended while the client waited for quota."""
    return [
        i
        for i, w in enumerate(m.windows)
        if any(abs(reset - RESET_MARGIN_S - w["end"]) <= 2.0 for reset in m.quota_resets)
    ]


def target_c(m: Measurement) -> tuple[bool, str]:
    limit = quota_limit(m)
    shares = window_shares(m)
    waited = waited_windows(m)
    ok = bool(shares) and max(shares) <= limit + 1e-9 and bool(waited) and m.ok
    ok = ok and all(shares[i] >= WINDOW_USE_TARGET * limit for i in waited)
    listed = ", ".join(f"{s:.0%}{'*' if i in waited else ''}" for i, s in enumerate(shares))
    return ok, (
        f"used share of each of {len(shares)} windows: {listed} (* = the client waited for "
        f"quota in that window; target: at most {limit:.0%} in every window, at least "
        f"{WINDOW_USE_TARGET * limit:.0%} in every starred one)"
    )


def target_d(m: Measurement) -> tuple[bool, str]:
    gateway = m.statuses.get("502", 0)
    ok = m.ok and m.records == m.expected and gateway <= FEW_FAILURES
    first = effective_page_size(get_stream(m.scenario.streams[0]))
    return ok, (
        f"{gateway} request(s) answered 502 (the page size of {first} halves only when a "
        f"page's 502 repeats at one size, and grows back after 4 pages in a row); "
        f"{m.requests} requests in all; {m.records:,} of {m.expected:,} records landed"
    )


TARGETS: dict[str, Callable[[Measurement], tuple[bool | None, str]]] = {
    "a": target_a,
    "b": target_b,
    "c": target_c,
    "d": target_d,
    "e": target_b,
    "f": target_b,
}


# --- report ------------------------------------------------------------------------------


def table(measurements: Sequence[Measurement]) -> str:
    header = (
        "| scenario | records | requests | minimum | records/request | wall s | run wall s "
        "| run CPU s | records/CPU s | process CPU s | peak RSS MB | sandbox CPU s | rows ok |"
    )
    lines = [header, "|" + "---|" * header.count(" | ") + "---|"]
    for m in measurements:
        lines.append(
            f"| {m.scenario.key}: {m.scenario.title} | {m.records:,} | {m.requests:,} "
            f"| {m.minimum:,} | {m.records / max(m.requests, 1):,.0f} | {m.usage.wall_s:.1f} "
            f"| {m.run_wall_s:.1f} | {m.run_cpu_s:.1f} | {m.records / m.run_cpu_s:,.0f} "
            f"| {m.usage.cpu_s:.1f} | {m.peak_rss_mb:,.0f} | {m.sandbox_cpu_s:.1f} "
            f"| {'yes' if m.ok else 'NO'} |"
        )
    return "\n".join(lines)


def statuses(measurements: Sequence[Measurement]) -> str:
    lines = []
    for m in measurements:
        ok, text = TARGETS[m.scenario.key](m)
        verdict = "FIGURES" if ok is None else "MET" if ok else "NOT MET"
        lines.append(f"- ({m.scenario.key}) {verdict}: {text}")
        lines += [f"  - problem: {p}" for p in m.problems[:5]]
    return "\n".join(lines)


def machine() -> str:
    cpu = "unknown CPU"
    with open("/proc/cpuinfo") as handle:
        for line in handle:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as handle:
        mem_kb = int(handle.readline().split()[1])
    return (
        f"{os.cpu_count()} cores ({cpu}), {mem_kb / 1024**2:.0f} GiB RAM, "
        f"{platform.system()} {platform.release()}, Python {platform.python_version()}"
    )


def report(measurements: Sequence[Measurement], args: argparse.Namespace, wall: float) -> str:
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return "\n".join(
        [
            f"Run {when} with `python -m benchmarks {' '.join(args.argv)}`".rstrip() + "; "
            f"{wall:.0f} s in all. Machine: {machine()}. Dagster instance: {args.instance}.",
            "",
            table(measurements),
            "",
            "Targets:",
            "",
            statuses(measurements),
        ]
    )


def write_results(text: str) -> None:
    """Replace the generated block of RESULTS.md, keeping the hand-written notes around it."""
    empty = f"# Benchmark results\n\n{BEGIN}\n{END}\n"
    current = RESULTS.read_text() if RESULTS.exists() else empty
    head, _, rest = current.partition(BEGIN)
    _, _, tail = rest.partition(END)
    RESULTS.write_text(f"{head}{BEGIN}\n{text}\n{END}{tail}")


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--only", default="abcdef", help="scenarios to run, e.g. 'a' or 'ef'")
    parser.add_argument("--scale", type=float, default=1.0, help="multiplies record counts")
    parser.add_argument(
        "--instance",
        choices=("memory", "sqlite"),
        default="memory",
        help="Dagster instance of the runs (memory: events in memory; sqlite: DAGSTER_HOME)",
    )
    parser.add_argument("--write-results", action="store_true", help="refresh RESULTS.md")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="OUTREACH_X=V",
        help="a setting for every run, e.g. OUTREACH_PREFETCH_PAGES=0 (repeatable)",
    )
    parser.add_argument("--logs", type=Path, default=None, help="keep each run's log here")
    args = parser.parse_args(argv)
    args.argv = list(argv)
    args.settings = dict(item.split("=", 1) for item in args.set)
    unknown = set(args.only) - set("abcdef")
    if unknown or not args.only:
        parser.error("--only takes letters among a, b, c, d, e, f")
    if args.scale <= 0:
        parser.error("--scale must be positive")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    chosen = scenarios(args.scale)
    started = time.monotonic()
    measurements = []
    for key in args.only:
        scenario = chosen[key]
        print(f"({key}) {scenario.title} ...", file=sys.stderr, flush=True)
        m = run_scenario(scenario, args.instance, args.logs, args.settings)
        print(
            f"    {m.records:,} records, {m.requests:,} requests, {m.usage.wall_s:.0f} s; "
            f"log {m.log}",
            file=sys.stderr,
            flush=True,
        )
        measurements.append(m)
    text = report(measurements, args, time.monotonic() - started)
    print(text)
    print(json.dumps([_raw(m) for m in measurements]), file=sys.stderr)
    if args.write_results:
        write_results(text)
    return 0 if all(m.ok for m in measurements) else 1


def _raw(m: Measurement) -> dict[str, Any]:
    return {
        "scenario": m.scenario.key,
        "usage": vars(m.usage),
        "outcome": m.outcome,
        "statuses": m.statuses,
        "windows": m.windows,
    }
