"""The Dagster code location: every definition of the project, wired to its resources."""

import os
from collections.abc import Mapping

import dagster as dg

from outreach_assets.assets import build_assets, keep_columns_from_env
from outreach_assets.automation import build_automation
from outreach_assets.io_manager import DEFAULT_DATA_DIR, ENV_DATA_DIR, OutreachParquetIOManager
from outreach_assets.jobs import outreach_current_state_job, outreach_sync_job
from outreach_assets.partitions import partitions_def_from_env
from outreach_assets.resource import outreach_resource_from_env


def build_defs(environ: Mapping[str, str] | None = None) -> dg.Definitions:
    """Everything, configured from ``environ`` (default: the process environment).

    Credentials stay ``dg.EnvVar`` references resolved at launch; the partition start,
    cadence, data folder, kept columns and automation settings shape the definitions, so
    they are read now.
    """
    env = os.environ if environ is None else environ
    partitions_def = partitions_def_from_env(env)
    schedules, sensors = build_automation(partitions_def, env)
    return dg.Definitions(
        assets=build_assets(partitions_def, keep_columns_from_env(env)),
        jobs=[outreach_sync_job, outreach_current_state_job],
        schedules=schedules,
        sensors=sensors,
        resources={
            "outreach": outreach_resource_from_env(env),
            "io_manager": OutreachParquetIOManager(
                base_dir=env.get(ENV_DATA_DIR) or DEFAULT_DATA_DIR
            ),
        },
    )


defs = build_defs()
