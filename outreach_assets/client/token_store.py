"""Where the newest OAuth tokens live between processes.

Every Dagster step and run is its own process, yet Outreach lets a user mint only one
access token a minute, and every mint counts towards the 100 after which a refresh token
dies. So tokens are kept in a store that all processes share: a valid access token is
reused instead of minted again, and the newest refresh token (Outreach may rotate it on
every refresh) is written down before anything uses the new access token, so the next run
never starts from a dead refresh token.

The default :class:`FileTokenStore` is a JSON file (mode 0600) guarded by a lock file. It
works for every process on one machine. On several machines either put the file on a
shared filesystem whose locks work across hosts (``OUTREACH_TOKEN_STORE=/shared/path.json``;
NFS needs working ``flock``/lockd), or keep the tokens in PostgreSQL
(``OUTREACH_TOKEN_STORE=postgresql://user@host:port/db``, :mod:`.pg_token_store`), or
implement :class:`TokenStore` over another shared service (Redis with a lock, a secrets
manager) and pass it to the client. :func:`.stores.open_token_store` picks the store from
the setting.
"""

import contextlib
import hashlib
import json
import os
import tempfile
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, runtime_checkable

import filelock

from outreach_assets.config import env
from outreach_assets.errors import AuthError, ConfigError

# The token layout's version. The remembered rejection is an optional key beside it rather
# than a new version, so processes still running an older release (a rolling deploy) keep
# reading the tokens of a file that also holds a rejection instead of taking it for empty.
STORE_VERSION = 1
LOCK_TIMEOUT_S = 600.0  # the holder may be waiting out a throttled token endpoint
MAX_EXPIRY_MARGIN_S = 300.0  # refresh this long before expiry (less for short-lived tokens)


def fingerprint(secret: str) -> str:
    """A one-way digest, so a store can say which token it descends from without holding it."""
    return hashlib.sha256(secret.encode()).hexdigest()


def credentials_fingerprint(client_id: str, client_secret: str, refresh_token: str) -> str:
    """One digest of the credentials a refresh is made with: a remembered rejection applies
    exactly while all three are unchanged (fixing any one of them clears it)."""
    return fingerprint(json.dumps([client_id, client_secret, refresh_token]))


@dataclass(frozen=True)
class Rejection:
    """The token endpoint refused these credentials for good; remembered so that no other
    step, run or process asks again with them (each ask is a token request, and the error
    would be the same). Holds a digest of the credentials and the already redacted message,
    never a secret."""

    credentials_fingerprint: str
    message: str
    rejected_at: float  # Unix time

    def to_json(self) -> dict[str, object]:
        return {
            "credentials_fingerprint": self.credentials_fingerprint,
            "message": self.message,
            "rejected_at": self.rejected_at,
        }

    @classmethod
    def from_json(cls, data: object) -> "Rejection | None":
        if not isinstance(data, dict):
            return None
        try:
            return cls(
                str(data["credentials_fingerprint"]),
                str(data["message"]),
                float(data["rejected_at"]),
            )
        except (KeyError, TypeError, ValueError):
            return None


@dataclass(frozen=True)
class StoredToken:
    """The newest tokens minted from one configured refresh token."""

    refresh_token: str = field(repr=False)
    access_token: str = field(repr=False)
    issued_at: float  # Unix time the mint was requested
    expires_at: float  # Unix time the access token stops working
    source_fingerprint: str  # fingerprint() of the configured refresh token this descends from

    def is_fresh(self, now: float) -> bool:
        """Valid for a while longer: a request started now will not race the expiry."""
        margin = min(MAX_EXPIRY_MARGIN_S, 0.1 * max(0.0, self.expires_at - self.issued_at))
        return now < self.expires_at - margin

    def to_json(self) -> dict[str, object]:
        return {
            "version": STORE_VERSION,
            "refresh_token": self.refresh_token,
            "access_token": self.access_token,
            "issued_at": self.issued_at,
            "expires_at": self.expires_at,
            "source_fingerprint": self.source_fingerprint,
            "updated_at": time.time(),
        }

    @classmethod
    def from_json(cls, data: object) -> "StoredToken | None":
        """Parse what :meth:`to_json` wrote; anything else is treated as an empty store."""
        if not isinstance(data, dict) or data.get("version") != STORE_VERSION:
            return None
        try:
            token = cls(
                refresh_token=str(data["refresh_token"]),
                access_token=str(data["access_token"]),
                issued_at=float(data["issued_at"]),
                expires_at=float(data["expires_at"]),
                source_fingerprint=str(data["source_fingerprint"]),
            )
        except (KeyError, TypeError, ValueError):
            return None
        return token if token.refresh_token and token.access_token else None


class TokenStore(Protocol):
    """A place to share tokens between processes; ``lock()`` serializes refreshes."""

    @property
    def location(self) -> str:
        """Where the store is, for error messages (never its contents)."""
        ...

    def load(self) -> StoredToken | None: ...

    def save(self, token: StoredToken) -> None: ...

    def lock(self) -> AbstractContextManager[None]: ...


@runtime_checkable
class RejectionStore(Protocol):
    """A token store that also remembers a rejection, for every process sharing it. Optional:
    for a store without it the token manager remembers rejections in its own process only."""

    def load_rejection(self) -> Rejection | None: ...

    def save_rejection(self, rejection: Rejection | None) -> None:
        """Record ``rejection`` (``None`` forgets it); callers hold ``lock()``."""
        ...


def default_store_path(token_url: str, client_id: str, org: str = "") -> Path:
    """``$DAGSTER_HOME/outreach_assets/tokens/<hash>.json``, else under ``~/.outreach_assets``.

    The name derives from the token URL and client id (never from a secret), so every
    process using the same Outreach app on this machine finds the same file. A non-empty
    ``org`` (one app authorized by several Outreach orgs) is part of the hash; an empty one
    leaves the name as it always was, so existing single-org stores are still found.
    """
    key = f"{token_url}\n{client_id}" + (f"\n{org}" if org else "")
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    dagster_home = os.environ.get("DAGSTER_HOME")
    if dagster_home:
        root = Path(dagster_home) / "outreach_assets"
    else:
        root = Path.home() / ".outreach_assets"
    return root / "tokens" / f"{digest}.json"


class FileTokenStore:
    """A JSON file written atomically (temp file + ``os.replace``) under a ``filelock`` lock."""

    def __init__(self, path: str | os.PathLike[str], lock_timeout_s: float = LOCK_TIMEOUT_S):
        self.path = Path(path).expanduser()
        self._lock_timeout_s = lock_timeout_s

    @property
    def location(self) -> str:
        return str(self.path)

    def load(self) -> StoredToken | None:
        return StoredToken.from_json(self._read())

    def save(self, token: StoredToken) -> None:
        """Write the token, keeping a remembered rejection (callers hold ``lock()``)."""
        self._write({**self._rejection_part(), **token.to_json()})

    def load_rejection(self) -> Rejection | None:
        data = self._read()
        return Rejection.from_json(data.get("rejection")) if isinstance(data, dict) else None

    def save_rejection(self, rejection: Rejection | None) -> None:
        """Write or forget the rejection, keeping the tokens (callers hold ``lock()``)."""
        data = self._read()
        kept = dict(data) if isinstance(data, dict) else {"version": STORE_VERSION}
        kept.pop("rejection", None)
        self._write(kept if rejection is None else {**kept, "rejection": rejection.to_json()})

    def _rejection_part(self) -> dict[str, object]:
        data = self._read()
        if isinstance(data, dict) and isinstance(data.get("rejection"), dict):
            return {"rejection": data["rejection"]}
        return {}

    def _read(self) -> object:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise self._config_error("read", exc) from None
        try:
            return json.loads(text)
        except ValueError:
            return None  # a damaged file is replaced by the next save

    def _write(self, data: dict[str, object]) -> None:
        self._make_parent()
        try:
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.name}.")
        except OSError as exc:
            raise self._config_error("write", exc) from None
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:  # mkstemp creates it 0600
                json.dump(data, fh)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.path)
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise self._config_error("write", exc) from None

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        self._make_parent()
        lock = filelock.FileLock(f"{self.path}.lock", timeout=self._lock_timeout_s, mode=0o600)
        try:
            lock.acquire()
        except filelock.Timeout:
            raise AuthError(
                f"another process has held the Outreach token store lock {self.path}.lock for "
                f"more than {self._lock_timeout_s:.0f} s; if no other run is refreshing a "
                "token, delete that lock file"
            ) from None
        try:
            yield
        finally:
            lock.release()

    def _make_parent(self) -> None:
        try:
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as exc:
            raise self._config_error("create the directory of", exc) from None

    def _config_error(self, action: str, exc: OSError) -> ConfigError:
        return ConfigError(
            f"cannot {action} the Outreach token store {self.path} ({exc.strerror or exc}); "
            f"set {env('token_store_path')} (or the resource's token_store_path) to a writable "
            "file path"
        )
