"""What a scan yields: pages, and the two small protocols a caller's page form implements.

The client knows nothing of Arrow or of the converters. A caller that wants pages in its
own form hands the scan a :class:`PageDecoder`; the decoded value implements
:class:`PageRows`, which is all the slicer needs of it: each row's id and cursor, and the
same value with some rows dropped.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, Protocol, Self, TypeVar

from outreach_assets.timestamps import parse_timestamp, to_ms


class PageRows(Protocol):
    """A decoded page, as the slicer sees it."""

    def keys(self, cursor: str) -> tuple[list[Any], list[int | None]]:
        """Every row's id, and its ``cursor`` in ms since the epoch (None if unreadable);
        ``cursor=""`` (a full snapshot has none): the ids, with every cursor None."""
        ...

    def keep(self, mask: Sequence[bool]) -> Self:
        """The same page with only the rows where ``mask`` is true."""
        ...

    @property
    def rows(self) -> int: ...


R = TypeVar("R", bound=PageRows)
R_co = TypeVar("R_co", bound=PageRows, covariant=True)


@dataclass(frozen=True)
class DecodedPage(Generic[R_co]):
    """What a decoder read from a page body: its value, and what the scan needs to go on."""

    value: R_co
    records: int  # resources on the page
    next_link: str | None  # ``links.next`` exactly as ``pagination.next_link`` reads it


class PageDecoder(Protocol[R_co]):
    """Turns 200 bodies into the caller's own form; called from the scanning thread."""

    def decode(self, body: bytes) -> DecodedPage[R_co] | None:
        """The page read straight from its bytes, or ``None`` to leave it to ``convert``.

        Refuse (``None``) whenever the result could differ from ``convert`` on the parsed
        body: the client then validates the body itself and calls ``convert``.
        """
        ...

    def convert(self, records: list[dict[str, Any]]) -> R_co:
        """The same value from the resource objects ``json.loads`` made of the body."""
        ...


@dataclass(frozen=True)
class Page(Generic[R]):
    """One page of a stream: its resources and where they came from.

    Without a decoder, ``records`` holds the raw JSON:API resource objects. With one,
    ``decoded`` holds the decoder's value and ``records`` is empty: not building those
    objects is the point of a decoder. ``count`` is the number of resources either way.
    """

    records: list[dict[str, Any]]
    number: int  # 1-based within the scan
    url_path: str
    page_size: int  # the page[size] this page was requested with
    elapsed_s: float  # wall time to get it, waits and retries included
    decoded: R | None = None
    decoded_records: int = 0  # resources behind ``decoded``
    # Part of ``elapsed_s`` spent parsing, decoding and converting the body (CPU, not the
    # network): what fetching in parallel cannot hide.
    decode_s: float = 0.0

    @property
    def count(self) -> int:
        return len(self.records) if self.decoded is None else self.decoded_records


def page_keys(page: Page[Any], cursor: str) -> tuple[list[Any], list[int | None]]:
    """Ids and cursors (ms since the epoch, None where unreadable) of a page's records,
    whether it holds raw resource objects or a decoded value."""
    if page.decoded is not None:
        return page.decoded.keys(cursor)
    return [r.get("id") for r in page.records], [_cursor_ms(r, cursor) for r in page.records]


def _cursor_ms(record: dict[str, Any], cursor: str) -> int | None:
    """A record's cursor in ms since the epoch (the API's precision), or None if unreadable."""
    attributes = record.get("attributes")
    moment = parse_timestamp(attributes.get(cursor)) if isinstance(attributes, dict) else None
    return None if moment is None else to_ms(moment)
