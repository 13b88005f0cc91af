"""The rate-limit view shared by every process that spends one Outreach user's quota.

Outreach counts requests per user, not per process (https://developers.outreach.io/api/rate-limiting/).
A limiter that only knows its own process's requests in flight lets several processes (the
steps of a multiprocess run, a sensor in the daemon beside a backfill) each send the "last"
request of the window, so the window's use passes ``quota_limit``. The ledger is where they
pool what they know: the newest ``used`` any response reported, the window's reset time, a
429 pause, and how many requests each process has in flight. A process that dies with
requests in flight cannot release them, so each process's count is a lease that expires.

The ledger is kept beside the token store (the same file's folder, or the same database),
under the same key: one Outreach user's app on one API.
"""

import contextlib
import hashlib
import json
import os
from collections.abc import Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Protocol

import filelock

from outreach_assets.errors import ConfigError

LOCK_TIMEOUT_S = 60.0  # held for a read and a write of a few hundred bytes


class QuotaLedger(Protocol):
    """A small JSON object that processes read and rewrite one at a time."""

    @property
    def location(self) -> str:
        """Where the ledger is, for messages."""
        ...

    def transact(self) -> AbstractContextManager[dict[str, object]]:
        """The ledger's state under an exclusive lock; what the block leaves in it is saved."""
        ...

    def close(self) -> None:
        """Let go of any connection (the ledger may be used again afterwards)."""
        ...


def ledger_key(*parts: str) -> str:
    """One state per Outreach user's app on one API in one store: the API's base URL, the
    token URL, the client id, the org and the store's location. No secret is among them."""
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:32]


class FileQuotaLedger:
    """A JSON file (mode 0600) holding one state per key, guarded by a lock file.

    Not fsynced: a ledger lost to a power cut costs at most one window's pacing, which the
    API's own headers restore with the next response.
    """

    def __init__(self, path: str | os.PathLike[str], key: str) -> None:
        self.path = Path(path)
        self._key = key
        self._lock: filelock.FileLock | None = None  # made once: each request uses it twice

    @property
    def location(self) -> str:
        return str(self.path)

    @contextlib.contextmanager
    def transact(self) -> Iterator[dict[str, object]]:
        try:
            lock = self._lock or self._make_lock()
            lock.acquire()
        except (OSError, filelock.Timeout) as exc:
            raise ConfigError(
                f"cannot lock the Outreach quota ledger {self.path} ({exc}); it lives beside "
                "the token store (OUTREACH_TOKEN_STORE), which must be a writable place"
            ) from None
        try:
            everything = self._read()
            state = everything.get(self._key)
            state = dict(state) if isinstance(state, dict) else {}
            yield state
            everything[self._key] = state
            self._write(everything)
        finally:
            lock.release()

    def close(self) -> None:
        pass  # nothing is held between transactions

    def _make_lock(self) -> filelock.FileLock:
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        self._lock = filelock.FileLock(f"{self.path}.lock", timeout=LOCK_TIMEOUT_S, mode=0o600)
        return self._lock

    def _read(self) -> dict[str, object]:
        try:
            data = json.loads(self.path.read_bytes())
        except (OSError, ValueError):
            return {}  # missing or damaged: the next response's headers start it again
        return data if isinstance(data, dict) else {}

    def _write(self, data: dict[str, object]) -> None:
        """Replace the file whole (readers outside the lock never see half of it); the
        temporary name is fixed, as only the lock's holder writes."""
        tmp = self.path.with_name(f".{self.path.name}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(json.dumps(data).encode())
            os.replace(tmp, self.path)
        except OSError:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise


def file_ledger_path(token_store_path: Path) -> Path:
    """The ledger beside a token store file: ``<store>.quota.json``."""
    return token_store_path.with_name(f"{token_store_path.name}.quota.json")
