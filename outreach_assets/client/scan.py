"""The state of one stream scan: its page size, its counters, its progress lines, its stop.

A scan run in a background thread (``slices.fetch_pages``) is handed a ``cancel`` event: its
waits (for quota, after a 429, before a retry) wait on that event instead of sleeping, so a
consumer that stops ends them at once rather than joining a thread that sleeps out the window.
"""

import threading
import time
from dataclasses import dataclass, field
from typing import Final

from outreach_assets.client.log import LoggerLike
from outreach_assets.errors import ScanCancelled

PROGRESS_EVERY_S: Final = 10.0
PROGRESS_EVERY_PAGES: Final = 20


@dataclass
class ClientStats:
    """Counters over the client's life (all scans, all threads)."""

    requests: int = 0  # API requests sent, including failed and retried ones
    pages: int = 0
    records: int = 0
    retries: int = 0  # retries after 5xx / transport / body failures (not 429 or 401)
    rate_limit_waits: int = 0  # quota waits and 429 waits
    waited_s: float = 0.0  # time actually spent in them (a cancelled wait counts what it took)
    token_refreshes: int = 0  # access tokens minted by this client
    page_size_reductions: int = 0


@dataclass
class Scan:
    """One stream scan: the page size it has shrunk to, and its progress counters."""

    stream: str
    page_size: int
    min_page_size: int
    log: LoggerLike
    scope: str | None = None  # the OAuth scope it needs, for messages
    cancel: threading.Event = field(default_factory=threading.Event)
    started: float = field(default_factory=time.monotonic)
    pages: int = 0
    records: int = 0
    requests: int = 0
    waits: int = 0
    waited_s: float = 0.0
    reported_at: float = field(default_factory=time.monotonic)
    reported_pages: int = 0

    def report(self, *, final: bool = False) -> None:
        """A progress line every few pages or seconds, and one at the end."""
        now = time.monotonic()
        due = (
            self.pages - self.reported_pages >= PROGRESS_EVERY_PAGES
            or now - self.reported_at >= PROGRESS_EVERY_S
        )
        if not (final or due):
            return
        self.reported_at, self.reported_pages = now, self.pages
        elapsed = max(now - self.started, 1e-9)
        self.log.info(
            f"{self.stream}: {'done, ' if final else ''}{self.pages} pages, "
            f"{self.records} records in {elapsed:.1f} s ({self.records / elapsed:.0f} "
            f"records/s), {self.requests} requests, {self.waits} rate-limit waits "
            f"({self.waited_s:.0f} s)"
        )

    def pause(self, seconds: float, during: str) -> None:
        """Wait ``seconds``, or raise ``ScanCancelled`` as soon as ``cancel`` is set.

        Never ``time.sleep``: these waits run in fetching threads that ``Prefetcher.close``
        joins, and a sleep there holds a terminated run for up to the whole quota window
        (in the main thread, ``Event.wait`` is still interrupted by signals like a sleep).
        """
        started = time.monotonic()
        if self.cancel.wait(seconds):
            took = time.monotonic() - started
            raise self.stopped(f"during {during} ({took:.1f} s of {seconds:.1f} s waited)")

    def stopped(self, where: str) -> ScanCancelled:
        """Log the stop in one info line: it is how a terminated run ends, not an error (the
        fetching thread that raises the exception drops it, so no traceback is printed)."""
        self.log.info(f"{self.stream}: scan stopped {where} after page {self.pages}")
        return ScanCancelled(f"stream {self.stream!r}: scan cancelled {where}")
