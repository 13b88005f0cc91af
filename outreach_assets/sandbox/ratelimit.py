"""Per-user request budget with Outreach's X-RateLimit-* headers.

Outreach documents a per-user budget per window, the X-RateLimit-Limit, -Remaining and
-Reset headers, and a 429 with Retry-After once it is spent
(https://developers.outreach.io/api/rate-limiting/).

A fixed window that opens at the user's first request. The header forms Outreach has been
seen sending (two-value Remaining, epoch or relative Reset, or none) are all selectable so
the client's defensive parsing gets exercised.
"""

import json
import math
import threading
from dataclasses import dataclass

from outreach_assets.sandbox.config import SandboxConfig
from outreach_assets.timestamps import format_epoch


@dataclass(frozen=True)
class RateState:
    limit: int
    used: int
    reset_at: float  # epoch seconds when the window closes
    allowed: bool = True


@dataclass(frozen=True)
class WindowUse:
    """Requests one user spent in one rate window."""

    user: str
    start: float  # epoch seconds of the window's first request
    end: float
    used: int
    limit: int


class RateLimiter:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._windows: dict[str, tuple[float, int]] = {}
        self._closed: list[tuple[str, float, int]] = []  # (user, start, used) of past windows

    def hit(self, user: str, cfg: SandboxConfig, now: float) -> RateState:
        """Spend one request of the budget; a refused request spends nothing."""
        with self._lock:
            start, used = self._current(user, cfg, now)
            if start is None:
                self._close(user)
                start, used = now, 0
            reset_at = start + cfg.rate_window_s
            if used >= cfg.rate_limit:
                self._windows[user] = (start, used)
                return RateState(cfg.rate_limit, used, reset_at, allowed=False)
            self._windows[user] = (start, used + 1)
            return RateState(cfg.rate_limit, used + 1, reset_at)

    def peek(self, user: str, cfg: SandboxConfig, now: float) -> RateState:
        """The budget as it stands, for answers that do not count (401s, injected faults)."""
        with self._lock:
            start, used = self._current(user, cfg, now)
        reset_at = (start if start is not None else now) + cfg.rate_window_s
        return RateState(cfg.rate_limit, used, reset_at, allowed=used < cfg.rate_limit)

    def _current(self, user: str, cfg: SandboxConfig, now: float) -> tuple[float | None, int]:
        window = self._windows.get(user)
        if window is None or now >= window[0] + cfg.rate_window_s:
            return None, 0
        return window

    def _close(self, user: str) -> None:
        previous = self._windows.pop(user, None)
        if previous is not None:
            self._closed.append((user, *previous))

    def history(self, cfg: SandboxConfig) -> list[WindowUse]:
        """Every window so far, oldest first, the open one last: what a run spent of each.

        Benchmarks read it to check that a client kept within its share of every window
        and did not leave the share unused while it had work waiting.
        """
        with self._lock:
            windows = [*self._closed, *((u, s, n) for u, (s, n) in self._windows.items())]
        return [WindowUse(u, s, s + cfg.rate_window_s, n, cfg.rate_limit) for u, s, n in windows]

    def reset(self) -> None:
        with self._lock:
            self._windows.clear()
            self._closed.clear()


def rate_headers(state: RateState, cfg: SandboxConfig, now: float) -> list[tuple[str, str]]:
    if not cfg.rate_headers:
        return []
    remaining = max(0, state.limit - state.used)
    remaining_text = str(remaining)
    if cfg.remaining_two_values:
        # Outreach's undocumented second budget ("9999, 19988"); twice the first here.
        remaining_text = f"{remaining}, {max(0, 2 * state.limit - state.used)}"
    headers = [("X-RateLimit-Limit", str(state.limit)), ("X-RateLimit-Remaining", remaining_text)]
    if cfg.reset_header == "epoch":
        headers.append(("X-RateLimit-Reset", str(math.ceil(state.reset_at))))
    elif cfg.reset_header == "seconds":
        headers.append(("X-RateLimit-Reset", str(max(0, math.ceil(state.reset_at - now)))))
    return headers


def limit_exceeded_body(state: RateState) -> bytes:
    """Outreach's 429 text, limit with thousands separators as in its documentation."""
    retry_at = format_epoch(state.reset_at, zone="")  # no zone: Outreach's text has none
    detail = (
        f"You have exceeded your permitted rate limit of {state.limit:,}; "
        f"please try again at {retry_at}."
    )
    error = {"id": "rateLimitExceeded", "title": "Rate Limit Exceeded", "detail": detail}
    return json.dumps({"errors": [error]}).encode()


def retry_after(state: RateState, now: float) -> str:
    return str(max(1, math.ceil(state.reset_at - now)))
