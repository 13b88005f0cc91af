"""Response bodies: reading a page whole, validating it, and turning an error into a message.

A 200 body is accepted only as a JSON:API list (an object whose ``data`` is an array), by the
caller's decoder when it takes the bytes, else by ``json.loads``; anything else counts as cut
short or unparsable and is retried by the client. Error bodies are summarised for messages,
with every secret the request carried redacted.
"""

from dataclasses import dataclass, replace
from typing import Any

import requests

from outreach_assets.client.log import redact
from outreach_assets.client.oauth import REAUTHORIZE_HOWTO
from outreach_assets.client.page import DecodedPage, Page, PageDecoder, R
from outreach_assets.client.pagination import next_link
from outreach_assets.client.scan import Scan
from outreach_assets.config import env
from outreach_assets.errors import APIError, AuthError, FatalAPIError, RetriableAPIError
from outreach_assets.jsontext import loads_or_none

_SUMMARY_BYTES = 200
_SUMMARY_CHARS = 300


@dataclass(frozen=True)
class Body:
    """A validated 200 body: parsed resources or a decoder's value, and ``links.next``."""

    records: list[dict[str, Any]] | None  # None when the decoder read the body itself
    decoded: DecodedPage[Any] | None
    next_link: str | None
    decode_s: float = 0.0  # spent parsing or decoding it


def read_body(resp: requests.Response) -> bytes:
    """The whole body of a ``stream=True`` response, read in one call.

    ``resp.content`` gathers a multi-MB page through a generator of 10 KB chunks; asking
    for one chunk of any size makes urllib3 read (and gunzip) it at once, with the same
    timeouts and the same requests exceptions for bodies cut short. A 200 body is read
    here and nowhere else; any other status is small and stays readable as
    ``resp.content`` for error messages.
    """
    if resp.status_code != 200:
        return resp.content
    return b"".join(resp.iter_content(chunk_size=None))


def accept(content: bytes, decoder: PageDecoder[Any] | None) -> Body | None:
    """The 200 body, by the decoder when it takes it; ``None`` if cut short or unparsable."""
    if decoder is not None:
        decoded = decoder.decode(content)
        if decoded is not None:
            return Body(None, decoded, decoded.next_link)
    payload = loads_or_none(content)
    if not isinstance(payload, dict) or not isinstance(payload.get("data"), list):
        return None
    return Body(payload["data"], None, next_link(payload))


def fill_page(body: Body, decoder: PageDecoder[R] | None, head: Page[R]) -> Page[R]:
    """``head`` (where the page came from) with its content; a page the decoder refused is
    converted here, from the resources ``json.loads`` made of it."""
    if body.decoded is not None:
        return replace(head, decoded=body.decoded.value, decoded_records=body.decoded.records)
    records = body.records or []
    if decoder is None:
        return replace(head, records=records)
    return replace(head, decoded=decoder.convert(records), decoded_records=len(records))


def first_error(content: bytes) -> tuple[str | None, str | None]:
    """``id`` and ``detail`` (or ``details``, or ``title``) of the first JSON:API error."""
    body = loads_or_none(content)
    errors = body.get("errors") if isinstance(body, dict) else None
    if not isinstance(errors, list) or not errors or not isinstance(errors[0], dict):
        return None, None
    first = errors[0]
    error_id = first.get("id")
    detail = first.get("detail") or first.get("details") or first.get("title")
    return (
        str(error_id) if error_id is not None else None,
        str(detail) if detail is not None else None,
    )


def error_summary(content: bytes, secrets: tuple[str, ...]) -> str:
    """``<id>: <detail>`` of a JSON:API error, else the start of a text body, redacted."""
    error_id, detail = first_error(content)
    if error_id or detail:
        text = ": ".join(p for p in (error_id, detail) if p)
    else:
        text = " ".join(content[:_SUMMARY_BYTES].decode("utf-8", "replace").split())
    return redact(text, secrets)[:_SUMMARY_CHARS] or "(empty body)"


def refusal(
    status: int, content: bytes, scan: Scan, url_path: str, secrets: tuple[str, ...]
) -> APIError:
    """The error for a status the client does not retry itself: fatal for a 4xx other than
    408 (a timeout may pass), retriable otherwise; with what to do where we know it."""
    error_id, _ = first_error(content)
    stream = scan.stream
    hint = ""
    if error_id == "unauthorizedOauthScope":
        hint = (
            f"; the authorization lacks the {stream!r} stream's read scope "
            f"{scan.scope or 'for it'}: {REAUTHORIZE_HOWTO}; or leave the stream out with "
            f"{env('exclude_streams')}={stream}"
        )
    elif status == 404:
        hint = f"; check {env('api_base_url')} (api_base_url)"
    kind = FatalAPIError if 400 <= status < 500 and status != 408 else RetriableAPIError
    return kind(
        f"Outreach API error on stream {stream!r}: HTTP {status} "
        f"{error_summary(content, secrets)} (GET {url_path}){hint}",
        status=status,
        error_id=error_id,
        stream=stream,
        url_path=url_path,
    )


def refused_twice(stream: str, url_path: str) -> AuthError:
    """A freshly refreshed access token was refused too: the authorization is gone."""
    return AuthError(
        f"Outreach refused a freshly refreshed access token (HTTP 401 twice in a row) on "
        f"stream {stream!r}, GET {url_path}; the authorization may have been revoked. "
        f"{REAUTHORIZE_HOWTO[0].upper()}{REAUTHORIZE_HOWTO[1:]}"
    )
