"""Talking to a sandbox directly over HTTP, without the project's client."""

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


def walk(session: requests.Session, sb: SandboxServer, stream: Stream, **params: Any) -> list[dict]:
    """Every record of a query, following links.next verbatim."""
    answer = get(session, sb, stream, **params)
    records: list[dict] = []
    while True:
        assert answer.status_code == 200, answer.text
        body = answer.json()
        records += body["data"]
        next_url = body.get("links", {}).get("next")
        if next_url is None:
            return records
        answer = session.get(next_url, timeout=10)
