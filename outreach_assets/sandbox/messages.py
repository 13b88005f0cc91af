"""The sandbox's request/response values and Outreach's JSON:API error envelope."""

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

JSONAPI = "application/vnd.api+json; charset=utf-8"
JSON = "application/json; charset=utf-8"
TEXT = "text/plain; charset=utf-8"


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: str
    headers: Mapping[str, str]  # names lower-cased
    body: bytes = b""


@dataclass
class Response:
    """An answer; a large body may come as ``chunks`` so it is never joined in memory."""

    status: int
    body: bytes = b""
    content_type: str = JSON
    headers: list[tuple[str, str]] = field(default_factory=list)
    drop: bool = False  # close the connection without answering
    truncate: bool = False  # announce the full length, send part of the body, close
    chunks: list[bytes] | None = None  # the body in pieces, when set (``body`` unused)

    @property
    def length(self) -> int:
        return len(self.body) if self.chunks is None else sum(map(len, self.chunks))

    def joined(self) -> bytes:
        return self.body if self.chunks is None else b"".join(self.chunks)


def jsonapi_error(status: int, error_id: str, detail: str, **extra: Any) -> Response:
    """`{"errors":[{id,title,detail}]}`, the envelope of every Outreach API error."""
    error = {"id": error_id, "title": HTTPStatus(status).phrase, "detail": detail}
    body = json.dumps({"errors": [error]}).encode()
    return Response(status, body, JSONAPI, **extra)


def json_response(status: int, payload: Any) -> Response:
    return Response(status, json.dumps(payload).encode(), JSON)
