"""The two Dagster resources: the Outreach client's, and the IO manager over the stored files."""

from outreach_assets.resources.io_manager import OutreachIOManager
from outreach_assets.resources.outreach import (
    OutreachResource,
    outreach_resource_for,
    outreach_resource_from_env,
    with_org_token_store,
)

__all__ = [
    "OutreachIOManager",
    "OutreachResource",
    "outreach_resource_for",
    "outreach_resource_from_env",
    "with_org_token_store",
]
