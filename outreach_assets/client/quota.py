"""Rate-limit headers and the limiter that keeps us inside ``quota_limit`` of the window.

Outreach allows a fixed number of requests per user per window (10,000 an hour) and says
how much is left in ``X-RateLimit-*`` headers on every response. The headers have changed
shape before (``Remaining`` grew a second value, ``Reset`` may be an epoch or a delay, and a
429 may carry neither), which crashed other connectors; here anything unreadable simply
means "no information". The limiter is shared by every thread of a client, because pages of
several streams may be fetched at once and each in-flight request spends quota before its
response tells us so; and it can share its view with other processes through a ledger
(``quota_ledger``).
"""

import contextlib
import math
import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from outreach_assets.timestamps import format_epoch, parse_http_date

if TYPE_CHECKING:
    from outreach_assets.client.quota_ledger import QuotaLedger

EPOCH_THRESHOLD = 1e9  # a Reset value above this is a Unix time, below it a delay in seconds
RESET_MARGIN_S = 1.0  # wake a little after the reset: clocks and header rounding differ


@dataclass(frozen=True)
class RateLimitInfo:
    """What one response said about the quota; ``None`` where it said nothing usable."""

    limit: int | None = None
    remaining: int | None = None
    reset_at: float | None = None  # Unix time at which the window resets

    @property
    def used(self) -> int | None:
        if self.limit is None or self.remaining is None:
            return None
        return max(0, self.limit - self.remaining)


def _first_number(value: str | None) -> float | None:
    """The first value of a possibly comma-separated header (``"9999, 19988"`` -> 9999)."""
    if value is None:
        return None
    head = value.split(",", 1)[0].strip()
    try:
        number = float(head)
    except ValueError:
        return None
    return number if math.isfinite(number) and number >= 0 else None


def parse_rate_limit_headers(headers: Mapping[str, str], now: float) -> RateLimitInfo:
    """Read ``X-RateLimit-Limit/-Remaining/-Reset``; never raises."""
    limit = _first_number(headers.get("X-RateLimit-Limit"))
    remaining = _first_number(headers.get("X-RateLimit-Remaining"))
    reset = _first_number(headers.get("X-RateLimit-Reset"))
    reset_at = None
    if reset is not None:
        reset_at = reset if reset > EPOCH_THRESHOLD else now + reset
    return RateLimitInfo(
        limit=int(limit) if limit else None,  # a limit of 0 carries no usable information
        remaining=int(remaining) if remaining is not None else None,
        reset_at=reset_at,
    )


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delay seconds, HTTP date or ISO time."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        when = parse_http_date(text)
        return None if when is None else max(0.0, when.timestamp() - now)
    if not math.isfinite(seconds) or seconds < 0:
        return None
    return max(0.0, seconds - now) if seconds > EPOCH_THRESHOLD else seconds


def delay_after_429(headers: Mapping[str, str], now: float, fallback_s: float) -> tuple[float, str]:
    """How long to wait after a 429, and which header said so: ``Retry-After``, else the
    window reset, else ``fallback_s``; at least a second, never a tight loop."""
    retry_after = parse_retry_after(headers.get("Retry-After"), now)
    info = parse_rate_limit_headers(headers, now)
    if retry_after is not None:
        delay, source = retry_after, "Retry-After"
    elif info.reset_at is not None:
        delay, source = info.reset_at - now + RESET_MARGIN_S, "X-RateLimit-Reset"
    else:
        delay, source = fallback_s, "rate_limit_backoff_s"
    return max(1.0, delay), source


@dataclass(frozen=True)
class QuotaWait:
    """A request may not go yet: wait ``seconds``; ``reason`` is the log line explaining why."""

    seconds: float
    reason: str


class MemoryQuotaLedger:
    """The ledger of a limiter that shares its view with no other process."""

    location = "this process"

    def __init__(self) -> None:
        self._state: dict[str, object] = {}

    @contextlib.contextmanager
    def transact(self) -> Iterator[dict[str, object]]:
        yield self._state  # the limiter's own lock makes it exclusive

    def close(self) -> None:
        pass


@dataclass
class _Window:
    """The ledger's state as the limiter reads and writes it."""

    limit: int | None
    used: int | None
    reset_at: float | None
    paused_until: float  # set by a 429, so every thread and process holds back
    holders: dict[str, list[float]]  # holder -> [requests in flight, lease expiry]

    @classmethod
    def load(cls, raw: dict[str, object], now: float) -> "_Window":
        def number(name: str) -> float | None:
            value = raw.get(name)
            return float(value) if isinstance(value, int | float) else None

        limit, used = number("limit"), number("used")
        holders = raw.get("holders")
        live = {}
        for holder, lease in holders.items() if isinstance(holders, dict) else ():
            with contextlib.suppress(TypeError, ValueError):  # a damaged entry is dropped
                count, expires_at = (float(x) for x in lease)
                if count > 0 and expires_at > now:
                    live[str(holder)] = [count, expires_at]
        return cls(
            limit=None if limit is None else int(limit),
            used=None if used is None else int(used),
            reset_at=number("reset_at"),
            paused_until=number("paused_until") or 0.0,
            holders=live,
        )

    def save(self, raw: dict[str, object]) -> None:
        raw.clear()
        raw.update(
            limit=self.limit,
            used=self.used,
            reset_at=self.reset_at,
            paused_until=self.paused_until,
            holders=self.holders,
        )

    @property
    def in_flight(self) -> int:
        return int(sum(count for count, _ in self.holders.values()))


class QuotaLimiter:
    """Keeps ``used + in_flight`` within ``quota_limit * limit`` for the current window.

    ``used`` comes from the newest response's headers; ``in_flight`` counts the requests
    sent and not yet answered. Both live in a ledger: this process's memory by default, or
    one shared by every process spending the same user's quota (``quota_ledger``), where
    ``in_flight`` counts theirs too. When the window's reset time has passed, or after
    waiting on a window whose reset time is unknown, ``used`` is forgotten until the next
    response tells us again.
    """

    def __init__(
        self,
        quota_limit: float,
        unknown_reset_wait_s: float,
        ledger: "QuotaLedger | None" = None,
        lease_s: float = 600.0,
    ) -> None:
        self._quota_limit = quota_limit
        self._unknown_reset_wait_s = unknown_reset_wait_s
        self._ledger: QuotaLedger = ledger or MemoryQuotaLedger()
        self._lease_s = lease_s  # longer than any request: a dead process's count expires
        self._holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._lock = threading.Lock()
        self._own_in_flight = 0

    def close(self) -> None:
        with self._lock:
            self._ledger.close()

    @contextlib.contextmanager
    def _window(self, now: float) -> Iterator[_Window]:
        with self._lock, self._ledger.transact() as raw:
            window = _Window.load(raw, now)
            yield window
            if self._own_in_flight:
                window.holders[self._holder] = [self._own_in_flight, now + self._lease_s]
            else:
                window.holders.pop(self._holder, None)
            window.save(raw)

    def try_acquire(self) -> QuotaWait | None:
        """Reserve one request (returns ``None``) or say how long to wait first."""
        now = time.time()
        with self._window(now) as window:
            if now < window.paused_until:
                seconds = window.paused_until - now
                until = format_epoch(window.paused_until)
                return QuotaWait(seconds, f"paused after an HTTP 429 until {until}")
            if window.reset_at is not None and now >= window.reset_at:
                window.used, window.reset_at = None, None
            wait = self._needed_wait(window, now)
            if wait is None:
                self._own_in_flight += 1
            return wait

    def _needed_wait(self, window: _Window, now: float) -> QuotaWait | None:
        if window.limit is None or window.used is None:
            return None
        allowed = self._quota_limit * window.limit
        in_flight = window.in_flight - int(window.holders.get(self._holder, [0, 0])[0])
        in_flight += self._own_in_flight
        if window.used + in_flight + 1 <= allowed:
            return None
        prefix = (
            f"quota_limit={self._quota_limit:g} of {window.limit}/window reached "
            f"({window.used} used, {in_flight} in flight)"
        )
        if window.reset_at is None:
            # Nobody said when the window ends: wait, then forget `used` and probe with one
            # request. Recording the end here makes every thread wait, not just this one.
            window.reset_at = now + self._unknown_reset_wait_s
            seconds = self._unknown_reset_wait_s
            return QuotaWait(seconds, f"{prefix}; no reset time given, waiting {seconds:.1f} s")
        seconds = window.reset_at - now
        return QuotaWait(
            seconds,
            f"{prefix}; waiting {seconds:.1f} s until reset at {format_epoch(window.reset_at)}",
        )

    def pause_until(self, epoch: float) -> None:
        """Hold every new request back until ``epoch`` (the API answered 429)."""
        with self._window(time.time()) as window:
            window.paused_until = max(window.paused_until, epoch)

    def release(self, info: RateLimitInfo | None) -> None:
        """The reserved request finished (``info`` is ``None`` if it got no response)."""
        with self._window(time.time()) as window:
            self._own_in_flight = max(0, self._own_in_flight - 1)
            if info is not None:
                _observe(window, info)


def _observe(window: _Window, info: RateLimitInfo) -> None:
    if info.limit is not None:
        window.limit = info.limit
    used = info.used
    if used is None:
        return
    new_window = (
        info.reset_at is not None
        and window.reset_at is not None
        and info.reset_at > window.reset_at  # stored with the margin: tolerates rounding
    )
    if window.used is None or new_window:
        window.used = used
    else:
        # Responses of concurrent requests can arrive out of order; within one window
        # the count only grows.
        window.used = max(window.used, used)
    if info.reset_at is not None:
        window.reset_at = info.reset_at + RESET_MARGIN_S
