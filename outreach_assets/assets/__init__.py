"""The Dagster assets: what each stream becomes, and the jobs that materialize them.

``translator``: keys, groups, kinds, descriptions and metadata of a stream's assets (override
it for other names). ``partitions``: the shared time-window partitions. ``sweep``: one API
sweep over a run's windows, routed per partition. ``stream`` and ``current``: the two asset
builders; ``checks`` and ``metadata``: what a materialization checks and records.
``factory``: every stream's assets. ``jobs``: the sync and current-state jobs. ``bound``:
the resources an asset or sensor uses, by the keys of its org's translator. ``lifeline``:
step workers that die with the run's process; runs a killed process left STARTED, failed.
"""

from outreach_assets.assets.checks import (
    CHECK_CURSOR_IN_WINDOW,
    CHECK_IDS_UNIQUE,
    CHECK_SCHEMA,
    check_results,
)
from outreach_assets.assets.current import build_current_asset
from outreach_assets.assets.factory import build_assets
from outreach_assets.assets.jobs import (
    CURRENT_STATE_JOB,
    EXECUTOR,
    RECONCILE_JOB,
    SYNC_JOB,
    build_jobs,
    executor_for,
)
from outreach_assets.assets.metadata import partition_metadata, run_metadata
from outreach_assets.assets.partitions import build_partitions_def, partitions_def_for
from outreach_assets.assets.stream import RETRY_POLICY, build_stream_asset
from outreach_assets.assets.translator import CURRENT_STATE_CONDITION, POOL, OutreachTranslator

__all__ = [
    "CHECK_CURSOR_IN_WINDOW",
    "CHECK_IDS_UNIQUE",
    "CHECK_SCHEMA",
    "CURRENT_STATE_CONDITION",
    "CURRENT_STATE_JOB",
    "EXECUTOR",
    "POOL",
    "RECONCILE_JOB",
    "RETRY_POLICY",
    "SYNC_JOB",
    "OutreachTranslator",
    "build_assets",
    "build_current_asset",
    "build_jobs",
    "build_partitions_def",
    "build_stream_asset",
    "check_results",
    "executor_for",
    "partition_metadata",
    "partitions_def_for",
    "run_metadata",
]
