"""What a backfill costs through ``dagster asset materialize``, as a user launches one.

The CPU per record stopped mattering once the API's quota, not one core, capped extraction;
what a first backfill costs is the fixed part: Dagster's per-run, per-step and
per-partition bookkeeping. Two scenarios measure it from outside (``os.wait4`` on the CLI
process; its steps run in that process), each against a sandbox in a process of its own:

- **fixed**: 20 streams (the ones Singer's tap-outreach syncs) over the 31 daily partitions
  of October 2026, at two sizes per stream. The slope between the sizes is the marginal
  cost (records per CPU second), the intercept the fixed cost. Run on the project's
  ``dagster.yaml`` instance (``outreach_assets.instance``) and on Dagster's stock SQLite
  instance, and beside tap-outreach on the same sandbox data (``singer_tap.py``).
- **years**: every stream over 1,095 daily partitions (three years) on the project's
  instance. Incremental streams hold ``YEAR_SIZES`` x 3 records (three years of activity);
  full snapshots hold ``YEAR_SIZES`` (a snapshot is today's table, which does not grow
  with the history asked for), written into every partition. Dagster's share is the run's
  CPU minus what the stream steps spent on HTTP, decoding and Parquet (``sweep_cpu_s`` in
  each run's metadata).

    .venv/bin/python -m benchmarks.backfill_cost                 # both, about 20 minutes
    .venv/bin/python -m benchmarks.backfill_cost --only fixed    # without the 3-year run
    .venv/bin/python -m benchmarks.backfill_cost --write-results # also into RESULTS.md

Exit status 1 when a target is missed or a partition file differs from the sandbox's truth.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from benchmarks.backfill_requests import check_landed
from benchmarks.processes import ROOT, SandboxProcess, Usage, wait_for
from benchmarks.singer_tap import SINGER_STREAMS, default_venv, ensure_tap, run_tap
from benchmarks.suite import YEAR_SIZES, machine
from outreach_assets.catalog import STREAMS, get_stream

FIXED_FIRST, FIXED_LAST = date(2026, 10, 1), date(2026, 10, 31)
SIZES = (1_000, 10_000)  # records per stream
YEARS_LAST = date(2026, 11, 30)
YEARS_FIRST = YEARS_LAST - timedelta(days=1_094)  # 1,095 daily partitions
FIXED_TARGET_S = 15.0
MARGINAL_TARGET = 5.0  # times singer's records per CPU second
YEARS_WALL_TARGET_S = 900.0
BEGIN, END = "<!-- backfill-cost:begin -->", "<!-- backfill-cost:end -->"
RESULTS = ROOT / "benchmarks" / "RESULTS.md"
_QUIET = "telemetry:\n  enabled: false\n"


@dataclass(frozen=True)
class Run:
    """One measured ``dagster asset materialize`` (or tap) run."""

    label: str
    records: int
    usage: Usage
    sweep_cpu_s: float = 0.0
    problems: tuple[str, ...] = ()


def _instance_yaml(kind: str) -> str:
    return (ROOT / "dagster.yaml").read_text() + "\n" + _QUIET if kind == "project" else _QUIET


def materialize_range(
    sandbox: SandboxProcess,
    streams: Sequence[str],
    span: tuple[date, date],
    instance: str,
    work: Path,
) -> tuple[Usage, float, Path]:
    """``dagster asset materialize --select <streams> --partition-range first...last`` in a
    fresh ``DAGSTER_HOME``; its usage, the steps' own CPU and the data folder."""
    first, last = span
    home, data = work / "home", work / "data"
    home.mkdir(parents=True)
    (home / "dagster.yaml").write_text(_instance_yaml(instance))
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("OUTREACH_")},
        **sandbox.environment,
        "OUTREACH_START_DATE": first.isoformat(),
        "OUTREACH_DATA_DIR": str(data),
        "OUTREACH_TOKEN_STORE": str(work / "tokens.json"),
        "OUTREACH_STREAMS": ",".join(streams),
        "DAGSTER_HOME": str(home),
    }
    command = [
        *(sys.executable, "-m", "dagster", "asset", "materialize", "-m", "outreach_assets"),
        *("--select", ",".join(f"outreach/{name}" for name in streams)),
        *("--partition-range", f"{first.isoformat()}...{last.isoformat()}"),
    ]
    started = time.monotonic()
    with (work / "run.log").open("w") as log:
        proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        usage = wait_for(proc, started)
    if usage.exit_code:
        tail = (work / "run.log").read_text()[-3000:]
        raise RuntimeError(f"dagster asset materialize exited {usage.exit_code}:\n{tail}")
    return usage, _sweep_cpu(home), data


def _sweep_cpu(home: Path) -> float:
    """The sum of the run's ``sweep_cpu_s`` (one per stream), read from its instance."""
    code = (
        "import dagster as dg, json\n"
        "with dg.DagsterInstance.get() as i:\n"
        "    (run,) = i.get_runs()\n"
        "    total = 0.0\n"
        "    for e in i.all_logs(run.run_id):\n"
        "        m = e.asset_materialization\n"
        "        if m and 'sweep_cpu_s' in m.metadata:\n"
        "            total += m.metadata['sweep_cpu_s'].value\n"
        "    print(json.dumps(total))\n"
    )
    env = {**os.environ, "DAGSTER_HOME": str(home)}
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    return float(json.loads(done.stdout.strip().splitlines()[-1]))


def _problems(
    sandbox: SandboxProcess, streams: Sequence[str], data: Path, keys: list[str]
) -> list[str]:
    """Every partition file against the sandbox's truth, id by id."""
    problems = []
    for name in streams:
        truth = {int(k): v for k, v in sandbox.get(f"truth/{name}").items()}
        landed = check_landed(data, get_stream(name), keys, truth)
        problems += [f"{name}: {p}" for p in landed.problems]
    return problems


def _keys(first: date, last: date) -> list[str]:
    return [(first + timedelta(days=n)).isoformat() for n in range((last - first).days + 1)]


def _sandbox_config(sizes: dict[str, int], first: date, last: date) -> dict[str, Any]:
    return {
        "records": 0,
        "sizes": sizes,
        "start": f"{first.isoformat()}T00:00:00Z",
        "end": f"{(last + timedelta(days=1)).isoformat()}T00:00:00Z",
    }


def fixed_runs(singer_venv: Path | None) -> list[Run]:
    runs: list[Run] = []
    keys = _keys(FIXED_FIRST, FIXED_LAST)
    python = ensure_tap(singer_venv or default_venv())
    for size in SIZES:
        cfg = _sandbox_config(dict.fromkeys(SINGER_STREAMS, size), FIXED_FIRST, FIXED_LAST)
        records = size * len(SINGER_STREAMS)
        with SandboxProcess(cfg) as sandbox:
            for instance in ("project", "stock"):
                with tempfile.TemporaryDirectory(prefix="bench-cost-") as tmp:
                    usage, sweep, data = materialize_range(
                        sandbox, SINGER_STREAMS, (FIXED_FIRST, FIXED_LAST), instance, Path(tmp)
                    )
                    problems = _problems(sandbox, SINGER_STREAMS, data, keys)
                runs.append(Run(instance, records, usage, sweep, tuple(problems)))
                print(f"{instance} {records:,}: {usage.cpu_s:.1f} CPU s, {usage.wall_s:.1f} s")
            if python is not None:
                with tempfile.TemporaryDirectory(prefix="bench-singer-") as tmp:
                    start = f"{FIXED_FIRST.isoformat()}T00:00:00Z"
                    tap = run_tap(python, sandbox.environment, start, Path(tmp))
                short = [] if tap.total == records else [f"tap-outreach: {tap.total:,} records"]
                runs.append(Run("singer", records, tap.usage, problems=tuple(short)))
                print(f"singer {records:,}: {tap.usage.cpu_s:.1f} CPU s")
    return runs


def years_run() -> Run:
    names = [s.name for s in STREAMS]
    sizes = {name: n * (3 if get_stream(name).cursor else 1) for name, n in YEAR_SIZES.items()}
    keys = _keys(YEARS_FIRST, YEARS_LAST)
    with (
        SandboxProcess(_sandbox_config(sizes, YEARS_FIRST, YEARS_LAST)) as sandbox,
        tempfile.TemporaryDirectory(prefix="bench-years-") as tmp,
    ):
        usage, sweep, data = materialize_range(
            sandbox, names, (YEARS_FIRST, YEARS_LAST), "project", Path(tmp)
        )
        problems = _problems(sandbox, names, data, keys)
    records = sum(sizes.values())
    print(f"years {records:,}: {usage.cpu_s:.1f} CPU s, {usage.wall_s:.1f} s")
    return Run("years", records, usage, sweep, tuple(problems))


def line_fit(runs: Sequence[Run]) -> tuple[float, float]:
    """Fixed CPU seconds and marginal records per CPU second through the two sizes."""
    small, large = sorted(runs, key=lambda r: r.records)
    slope = (large.usage.cpu_s - small.usage.cpu_s) / (large.records - small.records)
    return small.usage.cpu_s - slope * small.records, (1 / slope if slope > 0 else float("inf"))


def report(runs: Sequence[Run], argv: Sequence[str]) -> tuple[str, bool]:
    lines = [
        f"Run {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} with "
        f"`python -m benchmarks.backfill_cost {' '.join(argv)}`".rstrip()
        + f". Machine: {machine()}.",
        "",
        "| run | records | CPU s | wall s | steps' own CPU s | Dagster's share | rows ok |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in runs:
        share = "" if r.label == "singer" else f"{1 - r.sweep_cpu_s / r.usage.cpu_s:.0%}"
        own = "" if r.label == "singer" else f"{r.sweep_cpu_s:.1f}"
        lines.append(
            f"| {r.label} | {r.records:,} | {r.usage.cpu_s:.1f} | {r.usage.wall_s:.1f} "
            f"| {own} | {share} | {'NO' if r.problems else 'yes'} |"
        )
    met = not any(r.problems for r in runs)
    lines += ["", "Targets:", ""]
    fits = {}
    for label in ("project", "stock", "singer"):
        pair = [r for r in runs if r.label == label]
        if len(pair) == 2:
            fits[label] = line_fit(pair)
            fixed, marginal = fits[label]
            lines.append(
                f"- {label}: fixed {fixed:.1f} CPU s, marginal {marginal:,.0f} records/CPU s"
            )
    if "project" in fits:
        fixed_ok = fits["project"][0] < FIXED_TARGET_S
        met &= fixed_ok
        lines.append(
            f"- fixed cost on the project's instance {fits['project'][0]:.1f} CPU s "
            f"(target < {FIXED_TARGET_S:.0f}): {'MET' if fixed_ok else 'NOT MET'}"
        )
    if "project" in fits and "singer" in fits:
        ratio = fits["project"][1] / fits["singer"][1]
        met &= ratio >= MARGINAL_TARGET
        lines.append(
            f"- marginal {ratio:.1f}x tap-outreach's (target >= {MARGINAL_TARGET:.0f}x): "
            f"{'MET' if ratio >= MARGINAL_TARGET else 'NOT MET'}"
        )
    for r in runs:
        if r.label == "years":
            ok = r.usage.wall_s < YEARS_WALL_TARGET_S
            met &= ok
            lines.append(
                f"- three-year backfill of {len(STREAMS)} streams: {r.usage.wall_s:.0f} s wall "
                f"(target < {YEARS_WALL_TARGET_S:.0f}): {'MET' if ok else 'NOT MET'}"
            )
    for r in runs:
        lines += [f"  - {r.label} {r.records:,}: {p}" for p in r.problems[:5]]
    return "\n".join(lines), met


def write_results(text: str) -> None:
    current = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n"
    block = f"{BEGIN}\n{text}\n{END}"
    if BEGIN in current:
        head, rest = current.split(BEGIN, 1)
        current = head + block + rest.split(END, 1)[1]
    else:
        current = current.rstrip() + "\n\n## Backfill cost (`backfill_cost.py`)\n\n" + block + "\n"
    RESULTS.write_text(current)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=["fixed", "years"])
    parser.add_argument("--singer-venv", type=Path, help="tap-outreach's venv (default: cache)")
    parser.add_argument("--write-results", action="store_true")
    args = parser.parse_args(argv)
    runs: list[Run] = []
    if args.only in (None, "fixed"):
        runs += fixed_runs(args.singer_venv)
    if args.only in (None, "years"):
        runs.append(years_run())
    text, met = report(runs, sys.argv[1:] if argv is None else list(argv))
    print(text)
    if args.write_results:
        write_results(text)
    return 0 if met else 1


if __name__ == "__main__":
    raise SystemExit(main())
