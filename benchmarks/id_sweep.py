"""What the id sweep that finds deletions costs: requests, wall and CPU time, peak memory.

A sandbox with ``--records`` prospects runs in its own process; a second process takes the
census (``client.census.take_census``: every id and cursor, 1,000 a request) through the
real client and reports its own CPU time and peak RSS (VmHWM), so neither process's figures
include the other's. Targets: requests = ceil(records / 1,000), peak RSS under 400 MB.

    .venv/bin/python -m benchmarks.id_sweep [--records 1000000]
"""

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.processes import ROOT, SandboxProcess

RSS_TARGET_MB = 400

CHILD = """
import json, os, sys, time, resource
from outreach_assets.catalog import get_stream
from outreach_assets.client import OutreachClient
from outreach_assets.client.census import take_census
from outreach_assets.config import client_settings_from_env

client = OutreachClient(client_settings_from_env(os.environ))
started = time.monotonic()
census = take_census(client, get_stream("prospects"))
wall = time.monotonic() - started
usage = resource.getrusage(resource.RUSAGE_SELF)
with open("/proc/self/status") as status:
    hwm = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
print(json.dumps({
    "ids": len(census), "requests": census.requests, "pages": census.pages,
    "wall_s": wall, "cpu_s": usage.ru_utime + usage.ru_stime, "peak_rss_mb": hwm / 1024,
}))
"""


def run(records: int) -> dict[str, float]:
    config = {
        "records": 0,
        "sizes": {"prospects": records},
        "start": "2025-01-01T00:00:00Z",
        "end": "2025-12-31T00:00:00Z",
    }
    with SandboxProcess(config) as sandbox, tempfile.TemporaryDirectory() as tmp:
        env = {
            **os.environ,
            **sandbox.environment,
            "OUTREACH_TOKEN_STORE": str(Path(tmp) / "tokens.json"),
        }
        started = time.monotonic()
        done = subprocess.run(
            [sys.executable, "-c", CHILD],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        total = time.monotonic() - started
        outcome: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
        served = sandbox.get("stats")
    outcome["process_wall_s"] = total
    outcome["sandbox_api_requests"] = served["api_requests"]
    return outcome


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    args = parser.parse_args()
    outcome = run(args.records)
    minimum = math.ceil(args.records / 1000)
    print(
        f"id sweep of {outcome['ids']:,.0f} prospects: {outcome['requests']:,.0f} requests "
        f"(minimum {minimum:,}), {outcome['wall_s']:.1f} s wall, {outcome['cpu_s']:.1f} s CPU "
        f"in the sweeping process, peak RSS {outcome['peak_rss_mb']:.0f} MB"
    )
    met = outcome["requests"] == minimum and outcome["peak_rss_mb"] < RSS_TARGET_MB
    met = met and outcome["ids"] == args.records
    print(f"target {'MET' if met else 'NOT MET'}: requests = ceil(records / 1000), RSS < 400 MB")
    sys.exit(0 if met else 1)


if __name__ == "__main__":
    main()
