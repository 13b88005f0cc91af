"""URLs of a stream scan: the first page's query, ``links.next``, and page-size rewrites.

Outreach's ``links.next`` is an absolute URL that already carries every parameter of the
first request plus the opaque ``page[after]`` cursor. It is followed verbatim: a connector
that rebuilt it lost the ``/api/v2`` prefix and 404'd on page 2. The one edit we make is
lowering ``page[size]`` after a 502/504, leaving everything else byte for byte.
"""

from datetime import datetime
from urllib.parse import unquote, urlencode, urlsplit, urlunsplit

from outreach_assets.catalog import Stream
from outreach_assets.config import env
from outreach_assets.errors import RetriableAPIError
from outreach_assets.timestamps import format_cursor_time

PAGE_SIZE_PARAM = "page[size]"


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
    """``links.next`` if the scan may follow it: never to another host (the bearer token
    would go with it), never to the URL just fetched (a server that loops)."""
    if nxt is None:
        return None
    if not same_origin(nxt, api_base_url):
        raise RetriableAPIError(
            f"links.next of stream {stream!r} page {pages} points at another host "
            f"({url_path(nxt)} on a different origin than {env('api_base_url')}); "
            "refusing to send the access token there",
            stream=stream,
            url_path=url_path(url),
        )
    if nxt == url:
        raise RetriableAPIError(
            f"links.next of stream {stream!r} page {pages} repeats the request URL "
            f"({url_path(url)}); stopping instead of looping forever",
            stream=stream,
            url_path=url_path(url),
        )
    return nxt
