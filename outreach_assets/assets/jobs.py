"""Jobs to launch from the UI's launchpad, the ``dagster job`` CLI, schedules and sensors."""

from collections.abc import Sequence
from typing import TYPE_CHECKING

import dagster as dg

from outreach_assets.assets.translator import OutreachTranslator
from outreach_assets.catalog import STREAMS, Stream

SYNC_JOB = "outreach_sync_job"
CURRENT_STATE_JOB = "outreach_current_state_job"
RECONCILE_JOB = "outreach_reconcile_job"

# Every job runs its steps in one process: the jobs below, and the asset jobs the UI and
# `dagster asset materialize` build (the code location's default executor). The API quota,
# not CPU, is the ceiling, so streams in parallel would only race each other for the same
# hourly budget. Measured on 2 cores, 20 streams over 31 daily partitions: 20.6 CPU s and
# 22 s wall in one process; 41 CPU s and 30 s wall with the multiprocess executor on a
# forkserver that preloads the code location; 101 CPU s and 58 s wall with its default
# spawn, where each step process imports Dagster and the code location again. One process
# also keeps one HTTP session, one access token and one quota view for the whole run.
EXECUTOR = dg.in_process_executor

if TYPE_CHECKING:  # what define_asset_job returns; dagster does not export the class
    from dagster._core.definitions.unresolved_asset_job_definition import (
        UnresolvedAssetJobDefinition,
    )


def build_jobs(
    translator: OutreachTranslator, streams: Sequence[Stream] = STREAMS
) -> list["UnresolvedAssetJobDefinition"]:
    """The sync job (every stream, then every current state), the current-state job and
    the reconcile job (every stream's id sweep, then every current state), on ``EXECUTOR``;
    named and described for the translator's org, if any.
    """
    current = translator.current_selection(streams)
    custom_fields = dg.AssetSelection.assets(translator.get_custom_fields_spec().key)
    return [
        dg.define_asset_job(
            translator.name(SYNC_JOB),
            executor_def=EXECUTOR,
            selection=translator.selection(streams) | current | custom_fields,
            description=translator.describe(
                "Sync every Outreach stream for the run's partition (or range) and the "
                "custom field definitions, then rebuild the current-state tables. Launch a range "
                "with the dagster/asset_partition_range_start and _end tags, or as a backfill "
                "from the UI."
            ),
        ),
        dg.define_asset_job(
            translator.name(CURRENT_STATE_JOB),
            executor_def=EXECUTOR,
            selection=current,
            description=translator.describe(
                "Rebuild every stream's current-state table from its partition files."
            ),
        ),
        dg.define_asset_job(
            translator.name(RECONCILE_JOB),
            executor_def=EXECUTOR,
            selection=translator.deletions_selection(streams) | current,
            description=translator.describe(
                "Sweep every stream's ids (1 request per 1,000 records), record what "
                "Outreach deleted, re-sync what changed unseen, then rebuild the current states."
            ),
        ),
    ]
