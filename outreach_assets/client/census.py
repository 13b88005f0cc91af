"""An id sweep: every id Outreach holds for a stream, with its cursor, at little quota cost.

Outreach hard-deletes records and no list endpoint says so; the only evidence is a record
that a complete listing no longer returns. A census pages through a stream sorted by id,
1,000 records a request, asking for no attribute but the cursor (about 60 bytes a record),
so a million prospects cost a thousand requests. The ids are kept in compact arrays (8
bytes each, 16 with the cursor), whatever the stream's width.

A census is all or nothing: it returns only once the last page has come, and any failure
the client's retries did not absorb, or a stop, raises instead. Callers never act on part
of one.
"""

import threading
from array import array
from dataclasses import dataclass, field
from typing import Any, Final

from outreach_assets.catalog import Stream
from outreach_assets.client.http import OutreachClient
from outreach_assets.config.client import MAX_PAGE_SIZE
from outreach_assets.errors import RetriableAPIError
from outreach_assets.timestamps import parse_timestamp, to_micros

NO_CURSOR: Final = -(2**63)  # a record without a readable cursor


@dataclass
class Census:
    """What a complete id sweep of one stream found."""

    stream: str
    ids: array = field(default_factory=lambda: array("q"))  # ascending, each once
    cursors: array | None = None  # micros since the epoch, NO_CURSOR where unreadable
    pages: int = 0
    requests: int = 0

    def __len__(self) -> int:
        return len(self.ids)


def take_census(
    client: OutreachClient, stream: Stream, *, cancel: threading.Event | None = None
) -> Census:
    """Every id of ``stream`` (and its cursor, for an incremental stream), or an exception."""
    census = Census(stream.name, cursors=array("q") if stream.cursor else None)
    before = client.stats.requests
    pages = client.iter_pages(stream, page_size=MAX_PAGE_SIZE, ids_only=True, cancel=cancel)
    last = NO_CURSOR
    for page in pages:
        census.pages += 1
        for record in page.records:
            record_id = _id(record, stream)
            if record_id <= last:  # sorted by id: a repeat or a step back is not a census
                raise RetriableAPIError(
                    f"id sweep of stream {stream.name!r}: id {record_id} after {last} on page "
                    f"{census.pages}; the listing is not sorted by id, so it cannot prove what "
                    "is missing",
                    stream=stream.name,
                    url_path=page.url_path,
                )
            last = record_id
            census.ids.append(record_id)
            if census.cursors is not None and stream.cursor:
                census.cursors.append(_cursor(record, stream.cursor))
    census.requests = client.stats.requests - before
    return census


def _id(record: dict[str, Any], stream: Stream) -> int:
    value = record.get("id")
    if type(value) is str and value.isdigit():
        value = int(value)
    if type(value) is not int or record.get("type") not in (stream.json_type, None):
        raise RetriableAPIError(
            f"id sweep of stream {stream.name!r}: a resource without an integer id of type "
            f"{stream.json_type!r} ({str(record)[:80]})",
            stream=stream.name,
        )
    return value


def _cursor(record: dict[str, Any], name: str) -> int:
    attributes = record.get("attributes")
    moment = parse_timestamp(attributes.get(name)) if isinstance(attributes, dict) else None
    return NO_CURSOR if moment is None else to_micros(moment)
