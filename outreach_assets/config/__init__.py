"""Every setting of the project, each declared once, and what derives from the declarations.

``client``: what the HTTP client needs (credentials, page size, quota, timeouts); the Dagster
resource's fields are generated from it. ``deployment``: what shapes the definitions
(partitions, data folder, kept columns, automation). ``declare`` holds the machinery.
``orgs``: ``OUTREACH_ORGS``, and each org's view of the environment, read by the same
declarations. ``python -m outreach_assets.config`` prints the README's configuration table.
"""

from functools import cache

from outreach_assets.config.client import ClientSettings, client_settings_from_env
from outreach_assets.config.declare import declared, markdown_table, validate
from outreach_assets.config.deployment import DeploymentSettings, deployment_settings_from_env
from outreach_assets.config.orgs import OrgSettings
from outreach_assets.errors import ConfigError

SETTINGS_CLASSES: tuple[type, ...] = (ClientSettings, DeploymentSettings, OrgSettings)


@cache
def env(name: str) -> str:
    """The environment variable of setting ``name`` (a field of either settings class)."""
    for cls in SETTINGS_CLASSES:
        item = declared(cls).get(name)
        if item is not None:
            return item.env
    raise KeyError(f"no setting named {name!r}")


def configuration_table() -> str:
    """The README's table of every setting, generated from the declarations."""
    return markdown_table(SETTINGS_CLASSES)


__all__ = [
    "SETTINGS_CLASSES",
    "ClientSettings",
    "ConfigError",
    "DeploymentSettings",
    "client_settings_from_env",
    "configuration_table",
    "deployment_settings_from_env",
    "env",
    "validate",
]
