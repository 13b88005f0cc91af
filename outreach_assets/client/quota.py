"""Rate-limit headers and the limiter that keeps us inside ``quota_limit`` of the window.

Outreach allows a fixed number of requests per user per window (10,000 an hour) and says
how much is left in ``X-RateLimit-*`` headers on every response. The headers have changed
shape before (``Remaining`` grew a second value, ``Reset`` may be an epoch or a delay, and a
429 may carry neither), which crashed other connectors; here anything unreadable simply
means "no information". The limiter is shared by every thread of a client, because pages of
several streams may be fetched at once and each in-flight request spends quota before its
response tells us so.
"""

import math
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass

from outreach_assets.timestamps import format_epoch, parse_http_date

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


class QuotaLimiter:
    """Keeps ``used + in_flight`` within ``quota_limit * limit`` for the current window.

    ``used`` comes from the newest response's headers. When the window's reset time has
    passed, or after waiting on a window whose reset time is unknown, ``used`` is forgotten
    until the next response tells us again.
    """

    def __init__(self, quota_limit: float, unknown_reset_wait_s: float) -> None:
        self._quota_limit = quota_limit
        self._unknown_reset_wait_s = unknown_reset_wait_s
        self._lock = threading.Lock()
        self._limit: int | None = None
        self._used: int | None = None
        self._reset_at: float | None = None
        self._in_flight = 0
        self._paused_until = 0.0  # set by a 429, so every thread holds back, not just one

    def try_acquire(self) -> QuotaWait | None:
        """Reserve one request (returns ``None``) or say how long to wait first."""
        with self._lock:
            now = time.time()
            if now < self._paused_until:
                seconds = self._paused_until - now
                until = format_epoch(self._paused_until)
                return QuotaWait(seconds, f"paused after an HTTP 429 until {until}")
            if self._reset_at is not None and now >= self._reset_at:
                self._used, self._reset_at = None, None
            wait = self._needed_wait(now)
            if wait is None:
                self._in_flight += 1
            return wait

    def _needed_wait(self, now: float) -> QuotaWait | None:
        if self._limit is None or self._used is None:
            return None
        allowed = self._quota_limit * self._limit
        if self._used + self._in_flight + 1 <= allowed:
            return None
        prefix = (
            f"quota_limit={self._quota_limit:g} of {self._limit}/window reached "
            f"({self._used} used, {self._in_flight} in flight)"
        )
        if self._reset_at is None:
            # Nobody said when the window ends: wait, then forget `used` and probe with one
            # request. Recording the end here makes every thread wait, not just this one.
            self._reset_at = now + self._unknown_reset_wait_s
            seconds = self._unknown_reset_wait_s
            return QuotaWait(seconds, f"{prefix}; no reset time given, waiting {seconds:.1f} s")
        seconds = self._reset_at - now
        return QuotaWait(
            seconds,
            f"{prefix}; waiting {seconds:.1f} s until reset at {format_epoch(self._reset_at)}",
        )

    def pause_until(self, epoch: float) -> None:
        """Hold every new request back until ``epoch`` (the API answered 429)."""
        with self._lock:
            self._paused_until = max(self._paused_until, epoch)

    def release(self, info: RateLimitInfo | None) -> None:
        """The reserved request finished (``info`` is ``None`` if it got no response)."""
        with self._lock:
            self._in_flight = max(0, self._in_flight - 1)
            if info is not None:
                self._observe(info)

    def _observe(self, info: RateLimitInfo) -> None:
        if info.limit is not None:
            self._limit = info.limit
        used = info.used
        if used is None:
            return
        new_window = (
            info.reset_at is not None
            and self._reset_at is not None
            and info.reset_at > self._reset_at  # stored with the margin: tolerates rounding
        )
        if self._used is None or new_window:
            self._used = used
        else:
            # Responses of concurrent requests can arrive out of order; within one window
            # the count only grows.
            self._used = max(self._used, used)
        if info.reset_at is not None:
            self._reset_at = info.reset_at + RESET_MARGIN_S
