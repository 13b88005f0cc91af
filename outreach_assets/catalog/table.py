"""The README's stream table, made from the catalog (``python -m outreach_assets.catalog``).

What a stream costs is a fact of its replication and page size: an incremental stream asks
for the records whose cursor falls in a period (one request at least, one more per full
page of them); a full snapshot reads the whole table every period it is synced.
"""

from collections.abc import Sequence

from outreach_assets.catalog.model import Stream


def request_cost(stream: Stream) -> str:
    page = f"{stream.max_page_size:,}"
    if stream.is_incremental:
        return f"1, plus 1 per {page} records whose `{stream.cursor}` falls in the period"
    return f"1 per {page} records in the table, every period"


def markdown_table(streams: Sequence[Stream]) -> str:
    """One row per stream: asset, API path, replication, cursor, scope, requests per period."""
    rows = [
        "| Stream | API path | Replication | Cursor | Scope | Requests per period synced |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for s in streams:
        replication = "incremental" if s.is_incremental else "full snapshot"
        cursor = f"`{s.cursor}`" if s.cursor else "none"
        rows.append(
            f"| `{s.name}` | `/{s.path}` | {replication} | {cursor} | `{s.scope}` | "
            f"{request_cost(s)} |"
        )
    return "\n".join(rows)
