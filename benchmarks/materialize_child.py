"""The materializing process of a benchmark: the project's real sync job, nothing else.

It loads the code location the way ``dagster dev`` does (``build_defs`` from ``OUTREACH_*``
variables), runs ``outreach_sync_job`` on the selected stream assets over a partition
range, as a single-run backfill launches it, and prints one JSON line with the run's
outcome and its own CPU time. The parent measures the whole process from outside
(``os.wait4``: CPU, peak RSS), so imports and definition loading are visible apart from
the run.
"""

import contextlib
import json
import os
import sys
import time
import warnings
from typing import Any

_RANGE_START = "dagster/asset_partition_range_start"
_RANGE_END = "dagster/asset_partition_range_end"


def _instance(kind: str) -> contextlib.AbstractContextManager[Any]:
    """``memory``: events kept in memory; ``sqlite``: the local instance under DAGSTER_HOME.

    A range run records two events per partition and asset; SQLite's per-event cost
    (about 30 ms here) would otherwise be most of a 365-partition run's time.
    """
    import dagster as dg

    if kind == "memory":
        return dg.DagsterInstance.ephemeral()
    return dg.DagsterInstance.get()


def _peak_rss_mb() -> float:
    """This process's own high-water RSS.

    Not ``wait4``'s ``ru_maxrss``: Linux carries the parent's RSS at fork time into the
    child's maximum, so a parent holding a million-record ground truth would inflate it.
    """
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def run(spec: dict[str, Any]) -> dict[str, Any]:
    os.environ.update(spec["env"])
    started_cpu, started = time.process_time(), time.monotonic()
    import dagster as dg

    from outreach_assets.definitions import build_defs

    warnings.filterwarnings("ignore", category=dg.BetaWarning)
    job = build_defs(spec["env"]).resolve_job_def("outreach_sync_job")
    selection = [dg.AssetKey(["outreach", name]) for name in spec["streams"]]
    loaded_cpu, loaded = time.process_time(), time.monotonic()
    with _instance(spec["instance"]) as instance:
        result = job.execute_in_process(
            instance=instance,
            tags={_RANGE_START: spec["first"], _RANGE_END: spec["last"]},
            asset_selection=selection,
            raise_on_error=False,
            run_config={"loggers": {"console": {"config": {"log_level": "INFO"}}}},
        )
        checks = result.get_asset_check_evaluations()
    return {
        "peak_rss_mb": _peak_rss_mb(),
        "success": result.success,
        "checks": len(checks),
        "checks_failed": [str(c.asset_key.to_user_string()) for c in checks if not c.passed],
        "load_cpu_s": loaded_cpu - started_cpu,
        "load_wall_s": loaded - started,
        "run_cpu_s": time.process_time() - loaded_cpu,
        "run_wall_s": time.monotonic() - loaded,
    }


def main() -> None:
    with open(sys.argv[1]) as handle:
        spec = json.load(handle)
    profile = spec.get("profile")
    if profile:
        import cProfile

        profiler = cProfile.Profile(time.process_time)  # CPU, not wall: waits do not count
        outcome = profiler.runcall(run, spec)
        profiler.dump_stats(profile)
    else:
        outcome = run(spec)
    with open(spec["result_path"], "w") as handle:
        json.dump(outcome, handle)


if __name__ == "__main__":
    main()
