"""Jobs to launch from the UI's launchpad, the ``dagster job`` CLI, schedules and sensors."""

import functools
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


@functools.cache
def executor_for(step_processes: int) -> dg.ExecutorDefinition:
    """``EXECUTOR`` for 1, else Dagster's multiprocess executor running that many steps at
    once (``OUTREACH_STEP_PROCESSES``): for a deployment whose steps are worth spreading
    over processes (conversion, Parquet, current-state rebuilds), while the instance's pool,
    the shared token store and the quota ledger keep the API at one user's quota and one
    access token. Cached, so every org of a code location gets the same object."""
    if step_processes <= 1:
        return EXECUTOR
    return dg.multiprocess_executor.configured(
        {"max_concurrent": step_processes}, name=f"multiprocess_{step_processes}"
    )


if TYPE_CHECKING:  # what define_asset_job returns; dagster does not export the class
    from dagster._core.definitions.unresolved_asset_job_definition import (
        UnresolvedAssetJobDefinition,
    )


def build_jobs(
    translator: OutreachTranslator,
    streams: Sequence[Stream] = STREAMS,
    executor: dg.ExecutorDefinition = EXECUTOR,
) -> list["UnresolvedAssetJobDefinition"]:
    """The sync job (every stream, then every current state), the current-state job and
    the reconcile job (every stream's id sweep, then every current state), on ``executor``;
    named and described for the translator's org, if any.
    """
    current = translator.current_selection(streams)
    custom_fields = dg.AssetSelection.assets(translator.get_custom_fields_spec().key)
    return [
        dg.define_asset_job(
            translator.name(SYNC_JOB),
            executor_def=executor,
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
            executor_def=executor,
            selection=current,
            description=translator.describe(
                "Rebuild every stream's current-state table from its partition files."
            ),
        ),
        dg.define_asset_job(
            translator.name(RECONCILE_JOB),
            executor_def=executor,
            selection=translator.deletions_selection(streams) | current,
            description=translator.describe(
                "Sweep every stream's ids (1 request per 1,000 records), record what "
                "Outreach deleted, re-sync what changed unseen, then rebuild the current states."
            ),
        ),
    ]
