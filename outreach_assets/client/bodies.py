"""Response bodies: reading a page whole, validating it, and turning an error into a message.

A 200 body is accepted only as a JSON:API list (an object whose ``data`` is an array), by the
caller's decoder when it takes the bytes, else by ``json.loads``. Anything else is one of two
things, told apart by what the bytes show: cut short (fewer bytes than ``Content-Length``, or
JSON that ends mid-document: the parser ran out of input), which the client retries; or whole
but wrong (HTML, JSON that is no JSON:API list, text that is no JSON at all), which asking
again cannot change: :func:`wrong_content` names the content type and the body's start, so
the person reading it sees the login page or proxy that answered. Error bodies are
summarised for messages, with every secret the request carried redacted.
"""

import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import requests

from outreach_assets.client.log import redact
from outreach_assets.client.oauth import REAUTHORIZE_HOWTO
from outreach_assets.client.page import DecodedPage, Page, PageDecoder, R
from outreach_assets.client.pagination import next_link
from outreach_assets.client.scan import Scan
from outreach_assets.config import env
from outreach_assets.config.client import DEFAULT_API_BASE_URL
from outreach_assets.errors import (
    APIError,
    AuthError,
    FatalAPIError,
    RetriableAPIError,
    UnexpectedResponseError,
)
from outreach_assets.jsontext import loads_or_none

_SUMMARY_BYTES = 200
_SUMMARY_CHARS = 300
_LITERALS = ("true", "false", "null")  # a body cut inside one ends in a prefix of it
_NUMBER_CHARS = "-+.eE0123456789"  # or in a number's


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


@dataclass(frozen=True)
class Rejected:
    """Why a 200 body is no page: ``cut_short`` ones are retried, the others fail at once."""

    cut_short: bool
    why: str
    content_type: str = ""


def accept(
    content: bytes, decoder: PageDecoder[Any] | None, headers: Mapping[str, str]
) -> Body | Rejected:
    """The 200 body, by the decoder when it takes it; else why it is not a page."""
    if decoder is not None:
        decoded = decoder.decode(content)
        if decoded is not None:
            return Body(None, decoded, decoded.next_link)
    content_type = headers.get("Content-Type", "")
    declared = headers.get("Content-Length", "")
    if declared.isdigit() and not headers.get("Content-Encoding") and len(content) < int(declared):
        return Rejected(True, f"HTTP 200 with a body cut short ({len(content)} of {declared} B)")
    try:
        payload = json.loads(content.decode("utf-8"))  # JSON on the wire is UTF-8 (RFC 8259)
    except ValueError as exc:
        if _json_cut_off(exc, content_type):
            return Rejected(True, f"HTTP 200 with JSON cut off mid-document ({len(content)} B)")
        return Rejected(False, "a body that is not JSON", content_type)
    if isinstance(payload, dict) and isinstance(payload.get("data"), list):
        return Body(payload["data"], None, next_link(payload))
    shape = f"an object with keys {sorted(payload)[:5]}" if isinstance(payload, dict) else None
    kind = shape or type(payload).__name__
    return Rejected(False, f"JSON that is not a JSON:API list ({kind})", content_type)


def _json_cut_off(exc: ValueError, content_type: str) -> bool:
    """Whether a body that failed to parse is JSON that ended early, rather than no JSON:
    it is labelled JSON (or not labelled), starts like a document, and the parser stopped
    where the text ran out (inside a character, a string, a literal or a number, or after
    the last complete value)."""
    if content_type and "json" not in content_type.lower():
        return False
    if isinstance(exc, UnicodeDecodeError):
        return exc.reason == "unexpected end of data"
    if not isinstance(exc, json.JSONDecodeError):
        return False
    text = exc.doc.strip()
    if text[:1] not in ("", "{", "["):
        return False
    tail = exc.doc[exc.pos :].strip()
    if exc.msg.startswith(("Unterminated string", "Invalid \\uXXXX escape")):
        return True
    return any(w.startswith(tail) for w in _LITERALS) or not tail.strip(_NUMBER_CHARS)


def wrong_content(
    rejected: Rejected, content: bytes, scan: Scan, url_path: str, secrets: tuple[str, ...]
) -> UnexpectedResponseError:
    """The error for a whole 200 body that is no page: the stream, the request, the status,
    the content type and the body's first bytes (redacted, whitespace folded), which is
    usually enough to recognise the login page, proxy or wrong service that answered."""
    longest = max((len(s) for s in secrets if s), default=0)
    text = content[: _SUMMARY_BYTES + longest].decode("utf-8", "replace")
    start = " ".join(redact(text, secrets).split())[:_SUMMARY_BYTES] or "(empty body)"
    content_type = rejected.content_type or "(no Content-Type)"
    return UnexpectedResponseError(
        f"Outreach API answered stream {scan.stream!r} (GET {url_path}) with HTTP 200 and "
        f"{rejected.why}, Content-Type {content_type}, instead of a JSON:API page; it starts: "
        f"{start!r}. Asking again gets the same; check that {env('api_base_url')} "
        f"(api_base_url) is Outreach's API ({DEFAULT_API_BASE_URL})",
        status=200,
        stream=scan.stream,
        url_path=url_path,
    )


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
