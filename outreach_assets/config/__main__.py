"""``python -m outreach_assets.config``: print the README's configuration table."""

from outreach_assets.config import configuration_table

print(configuration_table())
