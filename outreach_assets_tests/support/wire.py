"""Talking to a sandbox directly over HTTP, without the project's client.

The streams below are picked by shape, not by name, so the sandbox tests follow the catalog:
each names the property a test relies on (an updatedAt cursor with relationships, a full
snapshot, back-dated events...).
"""

from collections.abc import Iterator
from typing import Any

import requests

from outreach_assets.catalog import STREAMS, FieldType, Stream
from outreach_assets.sandbox import SandboxServer

# The narrowest stream with an INTEGER attribute, and that attribute: what the sandbox's
# wrong_type_variants sends as a decimal string.
DRIFTING = min(
    (s for s in STREAMS if any(f.type is FieldType.INTEGER for f in s.fields)),
    key=lambda s: len(s.fields),
)
DRIFTED = next(f.name for f in DRIFTING.fields if f.type is FieldType.INTEGER)

# An updatedAt-cursor stream with createdAt and relationships: most query behaviour.
INCREMENTAL = next(
    s
    for s in STREAMS
    if s.cursor == "updatedAt" and any(f.name == "createdAt" for f in s.fields) and s.relationships
)
SNAPSHOT = next(s for s in STREAMS if not s.is_incremental)  # no filterable timestamp
OTHER = next(s for s in STREAMS if s.is_incremental and s is not INCREMENTAL)  # another scope
EVENTS = next((s for s in STREAMS if {"createdAt", "eventAt"} <= {f.name for f in s.fields}), None)
PROSPECTS = next((s for s in STREAMS if s.json_type == "prospect"), None)
BIG_BODIES = next((s for s in STREAMS if any(f.name == "bodyHtml" for f in s.fields)), None)


def token_form(sb: SandboxServer, **overrides: str) -> dict[str, str]:
    cfg = sb.config
    form = {
        "grant_type": "refresh_token",
        "client_id": cfg.client_id,
        "client_secret": cfg.client_secret,
        "refresh_token": sb.current_refresh_token,
    }
    return {**form, **overrides}


def mint(sb: SandboxServer, **overrides: str) -> requests.Response:
    return requests.post(sb.token_url, data=token_form(sb, **overrides), timeout=10)


def session_for(sb: SandboxServer) -> requests.Session:
    answer = mint(sb)
    assert answer.status_code == 200, answer.text
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {answer.json()['access_token']}"
    return session


def get(
    session: requests.Session, sb: SandboxServer, stream: Stream, **params: Any
) -> requests.Response:
    return session.get(f"{sb.api_base_url}/{stream.path}", params=params, timeout=10)


def pages(
    session: requests.Session, sb: SandboxServer, stream: Stream, **params: Any
) -> Iterator[dict]:
    """Every page body of a query, following links.next verbatim; lazy, so a test can
    change the data between two pages."""
    answer = get(session, sb, stream, **params)
    while True:
        assert answer.status_code == 200, answer.text
        body = answer.json()
        yield body
        next_url = body.get("links", {}).get("next")
        if next_url is None:
            return
        answer = session.get(next_url, timeout=10)


def walk(session: requests.Session, sb: SandboxServer, stream: Stream, **params: Any) -> list[dict]:
    """Every record of a query, following links.next verbatim."""
    return [record for body in pages(session, sb, stream, **params) for record in body["data"]]


def ids_of(records: list[dict]) -> list[int]:
    return [r["id"] for r in records]


def admin(sb: SandboxServer, name: str, **body: Any) -> requests.Response:
    """``POST /_sandbox/<name>`` with ``body`` as its JSON object, as another process would."""
    return requests.post(f"{sb.base_url}/_sandbox/{name}", json=body, timeout=10)


def error_id(answer: requests.Response) -> str:
    """The JSON:API error id of an Outreach error answer (``errors[0].id``)."""
    return answer.json()["errors"][0]["id"]


def served_relationships(record: dict) -> dict[str, list[int] | int | None]:
    """A record's relationships that carry ids, as `SandboxServer.relationships` reports
    them: the id list of a to-many one, the id (or None) of a to-one one."""
    out: dict[str, list[int] | int | None] = {}
    for name, member in record["relationships"].items():
        if "data" not in member:
            continue  # links only
        data = member["data"]
        if isinstance(data, list):
            out[name] = [item["id"] for item in data]
        else:
            out[name] = None if data is None else data["id"]
    return out


def cursor_of(record: dict, stream: Stream) -> str:
    assert stream.cursor is not None
    return record["attributes"][stream.cursor]


def bounds(sb: SandboxServer, stream: Stream) -> tuple[str, str]:
    """Two existing cursor values, so inclusive bounds have records sitting on them."""
    values = sorted(sb.truth(stream.name).values())
    return values[len(values) // 4], values[3 * len(values) // 4]


def ids_between(sb: SandboxServer, stream: Stream, lo: str, hi: str) -> set[int]:
    """Ids whose cursor text lies in [lo, hi]; ISO text with Z sorts as time does."""
    return {rid for rid, c in sb.truth(stream.name).items() if lo <= c <= hi}
