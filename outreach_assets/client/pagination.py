"""URLs of a stream scan: the first page's query, ``links.next``, and page-size rewrites.

Outreach's ``links.next`` is an absolute URL that already carries every parameter of the
first request plus the opaque ``page[after]`` cursor. It is followed verbatim: a connector
that rebuilt it lost the ``/api/v2`` prefix and 404'd on page 2. The one edit we make is
lowering ``page[size]`` after a 502/504, leaving everything else byte for byte.

A server can still lead a scan round in a circle (two ``links.next`` that point at each
other, or fresh cursors that keep serving the same records): :class:`CycleGuard` fails the
scan at the first page that closes one, before it spends the quota on it.
"""

import hashlib
from collections import deque
from datetime import datetime
from typing import Any, Final
from urllib.parse import unquote, urlencode, urlsplit, urlunsplit

from outreach_assets.catalog import Stream
from outreach_assets.client.page import Page, page_keys
from outreach_assets.config import env
from outreach_assets.errors import PaginationCycleError, UnexpectedResponseError
from outreach_assets.timestamps import format_cursor_time, from_ms

PAGE_SIZE_PARAM = "page[size]"
CURSOR_PARAM: Final = "page[after]"
# Pages whose records are remembered one by one, to tell a page that brings nothing new
# from one with a few records seen before (records changed during the scan come again).
RECENT_PAGES: Final = 4
# Empty pages in a row that may still point on (Outreach sends no links on an empty page).
EMPTY_PAGES_ALLOWED: Final = 3


def first_page_url(
    api_base_url: str,
    stream: Stream,
    page_size: int,
    start: datetime | None = None,
    end: datetime | None = None,
    *,
    ids_only: bool = False,
) -> str:
    """The first request of a scan.

    Incremental streams are sorted by their cursor and filtered with inclusive bounds (the
    caller trims the exact half-open window); full-snapshot streams get neither.

    ``ids_only``: an id sweep. A sparse fieldset (``fields[<type>]=<cursor>``, just the
    cursor, or nothing for a snapshot; https://jsonapi.org/format/#fetching-sparse-fieldsets)
    makes each record a few dozen bytes, and sorting by id keeps keyset pages stable while
    records change, so every id that exists throughout the sweep is returned once.
    """
    params: list[tuple[str, str]] = [("count", "false"), (PAGE_SIZE_PARAM, str(page_size))]
    if ids_only:
        params += [("sort", "id"), (f"fields[{stream.json_type}]", stream.cursor or "")]
        if start is not None or end is not None:
            raise ValueError("an id sweep covers the whole stream; it takes no time window")
    elif stream.is_incremental and stream.cursor:
        cursor = stream.cursor
        params += [("sort", cursor), ("newFilterSyntax", "true")]
        if start is not None:
            params.append((f"filter[{cursor}][gte]", format_cursor_time(start)))
        if end is not None:
            params.append((f"filter[{cursor}][lte]", format_cursor_time(end)))
    return f"{api_base_url.rstrip('/')}/{stream.path}?{urlencode(params)}"


def next_link(payload: dict[str, object]) -> str | None:
    """``links.next`` if there is one; ``links`` is absent altogether on empty results."""
    links = payload.get("links")
    if not isinstance(links, dict):
        return None
    nxt = links.get("next")
    return nxt if isinstance(nxt, str) and nxt.strip() else None


def url_path(url: str) -> str:
    """The path of a URL, for messages (queries carry cursors that mean nothing to people)."""
    return urlsplit(url).path


def same_origin(url: str, base: str) -> bool:
    """Whether ``url`` points at the API host: the bearer token must not go anywhere else."""
    a, b = urlsplit(url), urlsplit(base)
    return (a.scheme, a.netloc.lower()) == (b.scheme, b.netloc.lower())


def page_size_of(url: str) -> int | None:
    for part in urlsplit(url).query.split("&"):
        key, _, value = part.partition("=")
        if unquote(key) == PAGE_SIZE_PARAM:
            try:
                return int(unquote(value))
            except ValueError:
                return None
    return None


def with_page_size(url: str, size: int) -> str:
    """``url`` with ``page[size]`` set to ``size``; every other parameter kept verbatim."""
    parts = urlsplit(url)
    pieces = [p for p in parts.query.split("&") if p]
    out = []
    found = False
    for piece in pieces:
        key = piece.partition("=")[0]
        if unquote(key) == PAGE_SIZE_PARAM:
            if not found:
                out.append(f"{key}={size}")
            found = True
        else:
            out.append(piece)
    if not found:
        out.append(urlencode({PAGE_SIZE_PARAM: size}))
    return urlunsplit(parts._replace(query="&".join(out)))


def follow(nxt: str | None, url: str, api_base_url: str, stream: str, pages: int) -> str | None:
    """``links.next`` if the scan may go there: never to another host (the bearer token
    would go with it). Whether it leads back is :class:`CycleGuard`'s to say."""
    if nxt is None:
        return None
    if not same_origin(nxt, api_base_url):  # the same link comes again: no use retrying
        raise UnexpectedResponseError(
            f"links.next of stream {stream!r} page {pages} points at another host "
            f"({url_path(nxt)} on a different origin than {env('api_base_url')}); "
            "refusing to send the access token there",
            stream=stream,
            url_path=url_path(url),
        )
    return nxt


def link_key(url: str) -> bytes:
    """What makes two links the same page: the ``page[after]`` cursor, or for a link without
    one the URL less ``page[size]`` (which the client itself rewrites after a 502/504).

    Kept as a 16-byte digest, so a scan's memory does not grow with the cursors' length.
    """
    parts = urlsplit(url)
    pieces = [(unquote(p.partition("=")[0]), p) for p in parts.query.split("&") if p]
    cursors = [unquote(p.partition("=")[2]) for key, p in pieces if key == CURSOR_PARAM]
    if cursors:
        text = "after " + cursors[-1]
    else:
        query = "&".join(p for key, p in pieces if key != PAGE_SIZE_PARAM)
        text = "url " + urlunsplit(parts._replace(query=query))
    return hashlib.blake2b(text.encode(), digest_size=16).digest()


class CycleGuard:
    """Fails a scan at the first page that closes a circle, before it burns the quota.

    A page that points on closes one when its ``links.next`` is a link already followed in
    this scan (same ``page[after]``), when it brings nothing new, or when it lies behind the
    scan's furthest point in an order the scan asked for. The last page is never judged:
    it ends the scan whatever it holds.

    "Nothing new" must not be "a record seen before": a keyset page after a record changed
    may bring it again, with its new cursor (callers keep the newest; the store reports
    the rest as ``duplicates_removed``). So a page trips only when every ``(id, cursor)``
    pair on it is on one of the last ``RECENT_PAGES`` pages, or when it is an exact copy
    of any earlier page. Where the scan is sorted (incremental: by ``(cursor, id)``, the
    keyset Outreach's cursor encodes; an id sweep: by id), a page whose every key is at or
    before the furthest key of the pages before it cannot come from a cursor that moves
    forward, which catches circles of any length; a page served out of that order turns
    this check off for the scan (a server that ignores the sort would trip it by chance).

    Memory: one 16-byte link digest and one page fingerprint per page (1,000 pages for a
    million records at 1,000 a page), plus the pairs of ``RECENT_PAGES`` pages; never
    every id of the scan.
    """

    def __init__(self, stream: Stream, api_base_url: str, *, ids_only: bool = False) -> None:
        self.base = api_base_url  # the API host: links.next must stay on it
        self._stream = stream.name
        sorted_by_cursor = stream.is_incremental and bool(stream.cursor) and not ids_only
        self._cursor = (stream.cursor or "") if sorted_by_cursor else ""
        self._ordered = ids_only or sorted_by_cursor  # the order first_page_url asks for
        self._links: dict[bytes, int] = {}  # link digest -> the page it was followed to
        self._pages: dict[int, int] = {}  # page fingerprint -> its page number
        self._recent: deque[frozenset[int]] = deque(maxlen=RECENT_PAGES)
        self._furthest: tuple[int, int] | None = None
        self._empty = 0

    def follow(self, page: Page[Any], nxt: str | None, url: str, pages: int) -> str | None:
        """``links.next`` of ``page`` (page number ``pages``, fetched from ``url``) if the scan
        may follow it; :class:`PaginationCycleError` if the page or the link closes a circle."""
        nxt = follow(nxt, url, self.base, self._stream, pages)
        self._links.setdefault(link_key(url), pages)
        if nxt is None:
            return None
        self._judge(page, url, pages)
        earlier = self._links.get(link_key(nxt))
        if earlier is not None:
            raise self._cycle(
                url, pages, f"its links.next leads back to page {earlier} (a link already followed)"
            )
        return nxt

    def _judge(self, page: Page[Any], url: str, pages: int) -> None:
        ids, cursors = page_keys(page, self._cursor)
        if not ids:
            self._empty += 1
            if self._empty > EMPTY_PAGES_ALLOWED:
                raise self._cycle(url, pages, f"{self._empty} empty pages in a row point on")
            return
        self._empty = 0
        pairs = frozenset(hash(pair) for pair in zip(ids, cursors, strict=True))
        fingerprint = hash(pairs)
        copied = self._pages.get(fingerprint)
        if copied is not None or all(any(p in r for r in self._recent) for p in pairs):
            where = f"page {copied}" if copied is not None else "the pages just before"
            same = f", each with the same {self._cursor}" if self._cursor else ""
            raise self._cycle(
                url,
                pages,
                f"it brings nothing new: its {len(ids)} records ({_ids_text(ids)}) were all "
                f"on {where}{same}",
            )
        self._advance(ids, cursors, url, pages)
        self._pages[fingerprint] = pages
        self._recent.append(pairs)

    def _advance(self, ids: list[Any], cursors: list[int | None], url: str, pages: int) -> None:
        """Move the furthest key on, or fail if a sorted page lies wholly behind it."""
        if not self._ordered:
            return
        keys = [
            (c or 0, i)
            for i, c in zip(map(_int_id, ids), cursors, strict=True)
            if i is not None and (c is not None or not self._cursor)
        ]
        if not keys:
            return
        if keys != sorted(keys):
            self._ordered = False
            return
        if self._furthest is not None and keys[-1] <= self._furthest:
            raise self._cycle(
                url,
                pages,
                f"it goes back: its last record ({self._key_text(keys[-1])}) is not after the "
                f"furthest of the pages before ({self._key_text(self._furthest)}), and a "
                "cursor only moves forward",
            )
        self._furthest = keys[-1]

    def _key_text(self, key: tuple[int, int]) -> str:
        if not self._cursor:
            return f"id {key[1]}"
        return f"{self._cursor} {format_cursor_time(from_ms(key[0]))}, id {key[1]}"

    def _cycle(self, url: str, pages: int, what: str) -> PaginationCycleError:
        path = url_path(url)
        return PaginationCycleError(
            f"pagination of stream {self._stream!r} goes round in a circle at page {pages} "
            f"(GET {path}): {what}. Stopping instead of following it: every further "
            "request would repeat the circle and spend quota, and so would a retry",
            stream=self._stream,
            url_path=path,
        )


def _int_id(value: Any) -> int | None:
    if type(value) is str and value.isdigit():
        return int(value)
    return value if type(value) is int else None


def _ids_text(ids: list[Any]) -> str:
    shown = ", ".join(str(i) for i in ids[:3])
    return f"ids {shown}{', ...' if len(ids) > 3 else ''}"
