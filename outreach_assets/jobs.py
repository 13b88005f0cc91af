"""Jobs to launch from the UI's launchpad, the ``dagster job`` CLI, schedules and sensors."""

import dagster as dg

from outreach_assets.assets import GROUP

CURRENT_STATE = dg.AssetSelection.groups(GROUP) & dg.AssetSelection.key_substring("_current")

# Every stream for a partition or a partition range (one run, one API sweep per stream),
# then each stream's current state, which its blocking checks gate.
#
# In-process executor: the API quota, not CPU, is the ceiling, so streams in parallel would
# only race each other for the same hourly budget, while a process per step costs seconds of
# imports for each of the 48 steps and re-reads the token store in each. One process keeps
# one HTTP session and one quota view for the whole run.
outreach_sync_job = dg.define_asset_job(
    "outreach_sync_job",
    executor_def=dg.in_process_executor,
    selection=dg.AssetSelection.groups(GROUP),
    description="Sync every Outreach stream for the run's partition (or range), then rebuild "
    "the current-state tables. Launch a range with the dagster/asset_partition_range_start "
    "and _end tags, or as a backfill from the UI.",
)

# Rebuild only the current-state tables from what has landed (no API calls).
outreach_current_state_job = dg.define_asset_job(
    "outreach_current_state_job",
    executor_def=dg.in_process_executor,
    selection=CURRENT_STATE,
    description="Rebuild every stream's current-state table from its partition files.",
)
