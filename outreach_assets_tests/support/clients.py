"""Clients, resources and loggers pointed at a sandbox, for tests and benchmarks.

Clients are pointed at a live sandbox server; backoffs are shortened so fault tests stay
fast, and every client gets its own token store file under the test's tmp_path.
"""

import dataclasses
import threading
import time
from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

import requests

from outreach_assets.catalog import STREAMS, Stream
from outreach_assets.client import OutreachClient, Page
from outreach_assets.config import ClientSettings
from outreach_assets.resources import OutreachResource
from outreach_assets.sandbox import SandboxServer

INCREMENTAL: Stream = next(s for s in STREAMS if s.is_incremental)
SNAPSHOT: Stream = next(s for s in STREAMS if not s.is_incremental)
ROOT = Path(__file__).resolve().parents[2]


class ListLogger:
    """A logger that keeps every message, for assertions on what was logged."""

    def __init__(self) -> None:
        self.records: list[tuple[str, str]] = []
        self._lock = threading.Lock()

    def _add(self, level: str, msg: str) -> None:
        with self._lock:
            self.records.append((level, msg))

    def debug(self, msg: str, /) -> None:
        self._add("debug", msg)

    def info(self, msg: str, /) -> None:
        self._add("info", msg)

    def warning(self, msg: str, /) -> None:
        self._add("warning", msg)

    def error(self, msg: str, /) -> None:
        self._add("error", msg)

    def text(self) -> str:
        return "\n".join(msg for _, msg in self.records)

    def matching(self, fragment: str) -> list[str]:
        return [msg for _, msg in self.records if fragment in msg]


def sandbox_values(sb: SandboxServer, store: Path) -> dict[str, Any]:
    """The settings that point the project at ``sb``, with a token store of its own."""
    cfg = sb.config
    return {
        "client_id": cfg.client_id,
        "client_secret": cfg.client_secret,
        "redirect_uri": cfg.redirect_uri,
        "refresh_token": cfg.refresh_token,
        "api_base_url": sb.api_base_url,
        "token_url": sb.token_url,
        "token_store_path": str(store),
    }


def sandbox_settings(sb: SandboxServer, store: Path, **overrides: Any) -> ClientSettings:
    """Client settings for ``sb`` with short backoffs, so fault tests stay fast."""
    fast = {
        "request_timeout_s": 5.0,
        "retry_backoff_s": 0.01,
        "max_backoff_s": 0.05,
        "rate_limit_backoff_s": 1.0,
    }
    return ClientSettings(**{**sandbox_values(sb, store), **fast, **overrides})


def make_client(
    sb: SandboxServer,
    tmp_path: Path,
    logger: ListLogger | None = None,
    session: requests.Session | None = None,
    **overrides: Any,
) -> OutreachClient:
    store = Path(overrides.pop("token_store_path", tmp_path / "tokens.json"))
    return OutreachClient(
        sandbox_settings(sb, store, **overrides), logger or ListLogger(), session=session
    )


def ids_of(pages: Iterable[Page]) -> list[int]:
    return [int(record["id"]) for page in pages for record in page.records]


def scan_ids(
    client: OutreachClient,
    stream: Stream,
    start: datetime | None = None,
    end: datetime | None = None,
    page_size: int | None = None,
) -> list[int]:
    """Every id the scan returned, in order, duplicates kept (so tests can see them)."""
    return ids_of(client.iter_pages(stream, start, end, page_size=page_size))


@dataclasses.dataclass(frozen=True)
class Seen:
    """One exchange as the wire saw it (the Authorization header is left out)."""

    status: int
    headers: dict[str, str]
    size: int
    url: str
    request_headers: dict[str, str]


class ResponseLog:
    """A requests response hook recording every exchange of a session."""

    def __init__(self) -> None:
        self.seen: list[Seen] = []

    def hook(self, resp: requests.Response, *args: object, **kwargs: object) -> None:
        sent = {k: v for k, v in resp.request.headers.items() if k.lower() != "authorization"}
        self.seen.append(
            Seen(resp.status_code, dict(resp.headers), len(resp.content), resp.url, sent)
        )

    def session(self) -> requests.Session:
        session = requests.Session()
        session.hooks["response"].append(self.hook)
        return session

    def api(self) -> list[Seen]:
        return [s for s in self.seen if "/oauth/" not in s.url]


def sandbox_resource(sb: SandboxServer, tmp_path: Path) -> OutreachResource:
    """The Dagster resource pointed at a sandbox, with its own token store under tmp_path."""
    return OutreachResource(**sandbox_values(sb, tmp_path / "tokens.json"))


def wait_until(condition: Callable[[], bool], timeout_s: float = 3.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.005)
