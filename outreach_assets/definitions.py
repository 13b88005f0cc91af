"""The Dagster code location: every definition of the project, wired to its resources."""

import os
from collections.abc import Mapping

import dagster as dg

from outreach_assets.assets import (
    EXECUTOR,
    OutreachTranslator,
    build_assets,
    build_jobs,
    partitions_def_for,
)
from outreach_assets.automation import build_automation
from outreach_assets.config import deployment_settings_from_env
from outreach_assets.resources import OutreachIOManager, outreach_resource_from_env


def build_defs(
    environ: Mapping[str, str] | None = None, translator: OutreachTranslator | None = None
) -> dg.Definitions:
    """Everything, configured from ``environ`` (default: the process environment).

    Credentials stay ``dg.EnvVar`` references resolved at launch; the partition start,
    cadence, data folder, kept columns and automation settings shape the definitions, so
    they are read now. ``translator`` names the assets (see ``assets.translator``).
    """
    env = os.environ if environ is None else environ
    settings = deployment_settings_from_env(env)
    translator = translator or OutreachTranslator()
    partitions_def = partitions_def_for(settings)
    schedules, sensors = build_automation(partitions_def, settings, translator)
    return dg.Definitions(
        executor=EXECUTOR,  # also for the asset jobs the UI and the CLI build
        assets=build_assets(partitions_def, settings, translator),
        jobs=build_jobs(translator, settings.selected_streams()),
        schedules=schedules,
        sensors=sensors,
        resources={
            "outreach": outreach_resource_from_env(env),
            "io_manager": OutreachIOManager(base_dir=settings.data_dir),
        },
    )


defs = build_defs()
