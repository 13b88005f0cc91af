"""The Dagster code location: every definition of the project, wired to its resources."""

import dagster as dg

from outreach_assets.resource import outreach_resource_from_env

defs = dg.Definitions(
    resources={"outreach": outreach_resource_from_env()},
)
