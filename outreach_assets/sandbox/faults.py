"""Injected failures: latency, 5xx, dropped connections, truncated bodies and wrong bodies.

Probabilistic faults draw from an RNG seeded by the config's ``seed``, and every API
request draws the same number of values whatever the rates are, so a run replays identically
for the same sequence of requests. One-shot counts (armed through triggers.py) take priority.
Wrong bodies (a whole 200 that is no JSON:API page) draw from a second RNG, so adding them
left the draws of the older faults, and the runs seeded with them, as they were.
"""

import random
import threading
from collections import deque
from dataclasses import dataclass

from outreach_assets.sandbox.config import SandboxConfig


@dataclass(frozen=True)
class FaultDecision:
    drop: bool = False  # close the connection without answering
    truncate: bool = False  # send the full Content-Length but only part of the body
    status: int | None = None  # answer this error status instead of serving
    body: str | None = None  # answer 200 with this wrong body instead: "html" or "json"


class FaultInjector:
    def __init__(self, seed: int) -> None:
        self._lock = threading.Lock()
        self._rng = random.Random(f"{seed}:faults")
        self._bodies_rng = random.Random(f"{seed}:bodies")
        self._fail: deque[int] = deque()
        self._drop = 0
        self._truncate = 0

    def fail_next(self, n: int, status: int) -> None:
        with self._lock:
            self._fail.extend([status] * n)

    def drop_next(self, n: int) -> None:
        with self._lock:
            self._drop += n

    def truncate_next(self, n: int) -> None:
        with self._lock:
            self._truncate += n

    def decide(self, cfg: SandboxConfig) -> FaultDecision:
        with self._lock:
            draw_drop, draw_error, draw_truncate = (self._rng.random() for _ in range(3))
            draw_html, draw_json = self._bodies_rng.random(), self._bodies_rng.random()
            if self._drop:
                self._drop -= 1
                return FaultDecision(drop=True)
            if self._fail:
                return FaultDecision(status=self._fail.popleft())
            truncate = draw_truncate < cfg.truncate_rate
            if self._truncate:
                self._truncate -= 1
                truncate = True
            if draw_drop < cfg.drop_rate:
                return FaultDecision(drop=True)
            status = _pick_status(cfg, draw_error)
            body = None
            if status is None and draw_html < cfg.html_rate:
                body = "html"
            elif status is None and draw_json < cfg.not_jsonapi_rate:
                body = "json"
            return FaultDecision(truncate=truncate, status=status, body=body)


def _pick_status(cfg: SandboxConfig, draw: float) -> int | None:
    threshold = 0.0
    for status, rate in sorted(cfg.error_rate.items()):
        threshold += rate
        if draw < threshold:
            return status
    return None
