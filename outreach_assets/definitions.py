"""The Dagster code location: every definition of the project, wired to its resources."""

import dagster as dg

from outreach_assets.assets import build_assets, keep_columns_from_env
from outreach_assets.io_manager import OutreachParquetIOManager
from outreach_assets.partitions import partitions_def_from_env
from outreach_assets.resource import outreach_resource_from_env

partitions_def = partitions_def_from_env()

defs = dg.Definitions(
    assets=build_assets(partitions_def, keep_columns_from_env()),
    resources={
        "outreach": outreach_resource_from_env(),
        "io_manager": OutreachParquetIOManager(),
    },
)
