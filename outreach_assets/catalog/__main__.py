"""``python -m outreach_assets.catalog``: print the README's table of streams."""

from outreach_assets.catalog import STREAMS
from outreach_assets.catalog.table import markdown_table

print(markdown_table(STREAMS))
