"""Counters of what the sandbox served, for tests and benchmarks to assert on."""

import copy
import dataclasses
import threading
from dataclasses import dataclass, field
from typing import Any


@dataclass
class SandboxStats:
    api_requests: int = 0  # requests to /api/v2, whatever their outcome
    token_requests: int = 0  # requests to /oauth/token
    token_mints: int = 0  # access tokens issued
    status_counts: dict[int, int] = field(default_factory=dict)  # API and token answers
    requests_by_path: dict[str, int] = field(default_factory=dict)
    rate_limited: int = 0  # API 429s from the budget (not injected ones)
    records_served: int = 0  # resource objects in 200 list/single answers
    dropped: int = 0  # connections closed without an answer
    truncated: int = 0  # answers cut short

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


class StatsRecorder:
    """Thread-safe updates; readers get a copy, never the live object."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._stats = SandboxStats()

    def request(self, path: str, *, api: bool) -> None:
        with self._lock:
            s = self._stats
            s.requests_by_path[path] = s.requests_by_path.get(path, 0) + 1
            if api:
                s.api_requests += 1
            else:
                s.token_requests += 1

    def answered(self, status: int) -> None:
        with self._lock:
            counts = self._stats.status_counts
            counts[status] = counts.get(status, 0) + 1

    def add(self, **increments: int) -> None:
        with self._lock:
            for name, amount in increments.items():
                setattr(self._stats, name, getattr(self._stats, name) + amount)

    def snapshot(self) -> SandboxStats:
        with self._lock:
            return copy.deepcopy(self._stats)

    def reset(self) -> None:
        with self._lock:
            self._stats = SandboxStats()
