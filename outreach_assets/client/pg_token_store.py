"""The token store in PostgreSQL, for processes on several machines: ``OUTREACH_TOKEN_STORE=
postgresql://user@host:port/db`` (``postgres://`` too; any libpq URL parameter such as
``?sslmode=verify-full`` works, https://www.postgresql.org/docs/current/libpq-connect.html).

One row per (token URL, client id, org) in ``outreach_assets_tokens``, so one database
serves several Outreach apps and orgs. The table is created on first use if missing.

Serializing refreshes: a session-level advisory lock (``pg_advisory_lock``) on a 64-bit hash
of the row's key, on a connection held for the ``lock()`` block, rather than
``SELECT ... FOR UPDATE``, because

* it works before the row exists: the very first refresh has no row to lock;
* the block spans an HTTP request to Outreach (which may wait out a throttled token
  endpoint), and a session lock needs no transaction left open meanwhile: no "idle in
  transaction" session for ``idle_in_transaction_session_timeout`` to kill or for vacuum to
  wait on;
* it survives commits, so ``save()`` commits the rotated refresh token inside the block and
  the lock stays held until the block ends;
* the server releases it when the session ends, so a process killed while refreshing never
  leaves a lock behind (as ``flock`` does for the file store).

Waiting is bounded by ``lock_timeout`` (which applies to advisory locks as to any
heavyweight lock) set to LOCK_TIMEOUT_S, ending in a clear :class:`AuthError`. See
https://www.postgresql.org/docs/current/explicit-locking.html#ADVISORY-LOCKS and
https://www.postgresql.org/docs/current/functions-admin.html#FUNCTIONS-ADVISORY-LOCKS.
A session lock needs a real session: connect directly or through a pooler in session mode
(PgBouncer's transaction mode would hand the lock to someone else's session).

Secrets at rest: the row holds a live refresh token and access token, as the 0600 file
does, so protect it the same way. Give the table to one role (``GRANT SELECT, INSERT,
UPDATE ON outreach_assets_tokens TO <role>``; the role also needs ``CREATE`` on the schema
for the first use, or create the table ahead with the statement below), revoke it from
``PUBLIC``, require TLS (``sslmode=verify-full`` in the URL) when the server is not local,
and keep the password out of the URL (``~/.pgpass`` or ``PGPASSWORD``, which libpq reads).
A refusal of the credentials is remembered in ``outreach_assets_token_rejections``
(created when the first is recorded; grant SELECT, INSERT, UPDATE and DELETE on it too):
a digest of the credentials and the message, no secret. Without it a refusal is still
raised, just remembered by nobody.
The row is never logged: the store's :attr:`location` and every message show the URL with
its password masked, and no statement that carries a token is ever put into a message.

The driver is psycopg2 (the ``scale`` extra), imported only when a database store is
used, so the base install imports without it.
"""

import contextlib
import hashlib
import threading
from collections.abc import Iterator
from typing import Any, Final
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit, urlunsplit

from outreach_assets.client.token_store import LOCK_TIMEOUT_S, Rejection, StoredToken
from outreach_assets.config import env
from outreach_assets.errors import AuthError, ConfigError

SCHEMES: Final = ("postgresql", "postgres")
TABLE: Final = "outreach_assets_tokens"
CONNECT_TIMEOUT_S: Final = 10
MASK: Final = "***"

CREATE_TABLE: Final = f"""
CREATE TABLE IF NOT EXISTS {TABLE} (
    token_url text NOT NULL,
    client_id text NOT NULL,
    org text NOT NULL DEFAULT '',
    refresh_token text NOT NULL,
    access_token text NOT NULL,
    issued_at double precision NOT NULL,
    expires_at double precision NOT NULL,
    source_fingerprint text NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (token_url, client_id, org)
)"""
_SELECT: Final = (
    f"SELECT refresh_token, access_token, issued_at, expires_at, source_fingerprint FROM {TABLE} "
    "WHERE token_url = %s AND client_id = %s AND org = %s"
)
_UPSERT: Final = (
    f"INSERT INTO {TABLE} (token_url, client_id, org, refresh_token, access_token, issued_at, "
    "expires_at, source_fingerprint, updated_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, now()) "
    "ON CONFLICT (token_url, client_id, org) DO UPDATE SET "
    "refresh_token = EXCLUDED.refresh_token, access_token = EXCLUDED.access_token, "
    "issued_at = EXCLUDED.issued_at, expires_at = EXCLUDED.expires_at, "
    "source_fingerprint = EXCLUDED.source_fingerprint, updated_at = now()"
)
# A remembered refusal of the credentials (token_store.Rejection), in a table of its own so
# that the token table's layout (and the grants on it) stay as deployed; it holds no secret.
REJECTIONS: Final = "outreach_assets_token_rejections"
CREATE_REJECTIONS: Final = f"""
CREATE TABLE IF NOT EXISTS {REJECTIONS} (
    token_url text NOT NULL,
    client_id text NOT NULL,
    org text NOT NULL DEFAULT '',
    credentials_fingerprint text NOT NULL,
    message text NOT NULL,
    rejected_at double precision NOT NULL,
    PRIMARY KEY (token_url, client_id, org)
)"""
_KEY: Final = "token_url = %s AND client_id = %s AND org = %s"
_SELECT_REJECTION: Final = (
    f"SELECT credentials_fingerprint, message, rejected_at FROM {REJECTIONS} WHERE {_KEY}"
)
_UPSERT_REJECTION: Final = (
    f"INSERT INTO {REJECTIONS} (token_url, client_id, org, credentials_fingerprint, message, "
    "rejected_at) VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (token_url, client_id, org) DO "
    "UPDATE SET credentials_fingerprint = EXCLUDED.credentials_fingerprint, "
    "message = EXCLUDED.message, rejected_at = EXCLUDED.rejected_at"
)
_DELETE_REJECTION: Final = f"DELETE FROM {REJECTIONS} WHERE {_KEY}"
# Concurrent CREATE TABLE IF NOT EXISTS can still fail on the catalog's unique index
# (pg_type_typname_nsp_index) when two sessions create the same table at once (the check
# and the insert into the catalog are not atomic: https://postgresql.org/message-id/
# CAKU4AWpGFMgp3zF-8TUkpydPZ5kJcY-yWcdN92mwRnSbJW2zhQ%40mail.gmail.com; the tests measured
# 7 failing rounds of 10 with eight sessions). Creators queue on this transaction-scoped
# advisory lock first, so the second finds the table.
_CREATE_LOCK_KEY: Final = int.from_bytes(
    hashlib.sha256(TABLE.encode()).digest()[:8], "big", signed=True
)


def is_database_url(location: str) -> bool:
    """Whether ``OUTREACH_TOKEN_STORE`` names a database rather than a file."""
    return urlsplit(location.strip()).scheme.lower() in SCHEMES


def mask_url(url: str) -> str:
    """The URL with its password (in the authority or a ``password=`` parameter) masked."""
    parts = urlsplit(url)
    netloc = parts.netloc
    userinfo, at, hostport = netloc.rpartition("@")
    if at and ":" in userinfo:
        netloc = f"{userinfo.split(':', 1)[0]}:{MASK}@{hostport}"
    query = parts.query
    if "password" in query.lower():
        pairs = [
            (k, MASK if k.lower() == "password" else v)
            for k, v in parse_qsl(query, keep_blank_values=True)
        ]
        query = urlencode(pairs, safe="*")
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def url_passwords(url: str) -> list[str]:
    """Every spelling of the URL's passwords, to scrub from driver messages."""
    parts = urlsplit(url)
    found = [parts.password or ""]
    found += [v for k, v in parse_qsl(parts.query) if k.lower() == "password"]
    spelled = {s for p in found if p for s in (p, unquote(p), quote(p, safe=""))}
    return sorted(spelled, key=len, reverse=True)


def advisory_key(token_url: str, client_id: str, org: str) -> int:
    """A signed 64-bit key for ``pg_advisory_lock``, one per row (never from a secret)."""
    digest = hashlib.sha256(f"{TABLE}\n{token_url}\n{client_id}\n{org}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def load_driver() -> Any:
    try:
        import psycopg2
    except ImportError:
        return None
    return psycopg2


def connect(pg: Any, url: str, application_name: str) -> Any:
    """A connection to ``url`` named for ``pg_stat_activity``, with a connect timeout unless
    the URL sets one."""
    extra: dict[str, Any] = {"application_name": application_name}
    if "connect_timeout" not in urlsplit(url).query:
        extra["connect_timeout"] = CONNECT_TIMEOUT_S
    return pg.connect(url, **extra)


def driver_reason(exc: BaseException, url: str) -> str:
    """A driver error's text on one line, with every spelling of the URL's passwords masked."""
    reason = " ".join(str(exc).split()) or type(exc).__name__
    for secret in url_passwords(url):
        reason = reason.replace(secret, MASK)
    return reason


class PostgresTokenStore:
    """A :class:`~outreach_assets.client.token_store.TokenStore` in one PostgreSQL row.

    Connections are opened per operation (a load, a save) or per ``lock()`` block, so a
    store survives a database restart and a fork, and holds no session while idle; inside
    a ``lock()`` block, the same thread's loads and saves use the lock's connection.
    """

    def __init__(
        self,
        url: str,
        token_url: str,
        client_id: str,
        org: str = "",
        lock_timeout_s: float = LOCK_TIMEOUT_S,
    ) -> None:
        self._url = url.strip()
        self._key = (token_url, client_id, org)
        self._lock_key = advisory_key(token_url, client_id, org)
        self._lock_timeout_s = lock_timeout_s
        self._local = threading.local()
        self._table_ready = False
        self._pg = load_driver()
        if self._pg is None:
            raise ConfigError(
                f"{env('token_store_path')}={self.location} is a PostgreSQL token store, which "
                "needs the psycopg2 driver: run `pip install 'outreach_assets[scale]'`, or set "
                f"{env('token_store_path')} to a file path"
            )

    @property
    def location(self) -> str:
        return mask_url(self._url)

    @property
    def url(self) -> str:
        """The connection URL as configured (password and all): for the quota ledger."""
        return self._url

    def load(self) -> StoredToken | None:
        with self._connection("read") as conn, self._errors("read"), conn.cursor() as cur:
            cur.execute(_SELECT, self._key)
            row = cur.fetchone()
        if row is None:
            return None
        refresh, access, issued_at, expires_at, source = row
        if not refresh or not access:
            return None
        return StoredToken(
            refresh_token=refresh,
            access_token=access,
            issued_at=float(issued_at),
            expires_at=float(expires_at),
            source_fingerprint=source,
        )

    def save(self, token: StoredToken) -> None:
        """Upsert the row; committed (autocommit) before this returns."""
        values = (
            *self._key,
            token.refresh_token,
            token.access_token,
            token.issued_at,
            token.expires_at,
            token.source_fingerprint,
        )
        with self._connection("write") as conn, self._errors("write"), conn.cursor() as cur:
            cur.execute(_UPSERT, values)

    def load_rejection(self) -> Rejection | None:
        """The remembered refusal; none while its table does not exist (no CREATE needed)."""
        with self._connection("read") as conn, self._errors("read"), conn.cursor() as cur:
            cur.execute("SELECT to_regclass(%s) IS NOT NULL", (REJECTIONS,))
            exists = cur.fetchone()
            if not (exists and exists[0]):
                return None
            cur.execute(_SELECT_REJECTION, self._key)
            row = cur.fetchone()
        return None if row is None else Rejection(str(row[0]), str(row[1]), float(row[2]))

    def save_rejection(self, rejection: Rejection | None) -> None:
        """Record or forget the refusal; the table is created when the first is recorded."""
        with self._connection("write") as conn, self._errors("write"):
            if rejection is None:
                if self.load_rejection() is not None:
                    with conn.cursor() as cur:
                        cur.execute(_DELETE_REJECTION, self._key)
                return
            self._ensure_table(conn, REJECTIONS, CREATE_REJECTIONS)
            row = (rejection.credentials_fingerprint, rejection.message, rejection.rejected_at)
            with conn.cursor() as cur:
                cur.execute(_UPSERT_REJECTION, (*self._key, *row))

    def check_writable(self) -> None:
        """Prove this role may write the row, without changing it: the same upsert in a
        transaction that is rolled back (for ``outreach-assets check``)."""
        with self._connection("write") as conn, self._errors("write"):
            conn.autocommit = False
            try:
                with conn.cursor() as cur:
                    cur.execute(_UPSERT, (*self._key, "", "", 0.0, 0.0, ""))
            finally:
                conn.rollback()
                conn.autocommit = True

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        if getattr(self._local, "conn", None) is not None:
            yield  # already held by this thread (a session lock is re-entrant anyway)
            return
        conn = self._connect("lock")
        try:
            self._acquire(conn)
            self._local.conn = conn
            try:
                yield
            finally:
                self._local.conn = None
                # Closing the session below releases the lock too, should this fail.
                with contextlib.suppress(Exception), conn.cursor() as cur:
                    cur.execute("SELECT pg_advisory_unlock(%s)", (self._lock_key,))
        finally:
            conn.close()

    # --- internals ---------------------------------------------------------------------

    def _acquire(self, conn: Any) -> None:
        with self._errors("lock"), conn.cursor() as cur:
            cur.execute("SET lock_timeout = %s", (self._lock_timeout(),))
            try:
                cur.execute("SELECT pg_advisory_lock(%s)", (self._lock_key,))
            except self._pg.errors.LockNotAvailable:
                # pg_locks shows a bigint advisory key as its two 32-bit halves.
                high, low = (self._lock_key >> 32) & 0xFFFFFFFF, self._lock_key & 0xFFFFFFFF
                raise AuthError(
                    f"another process has held the Outreach token store lock in "
                    f"{self.location} for more than {self._lock_timeout_s:.0f} s; if no other "
                    "run is refreshing a token, find the session holding it (SELECT pid FROM "
                    f"pg_locks WHERE locktype = 'advisory' AND classid = {high} AND objid = "
                    f"{low}) and end it with pg_terminate_backend(pid)"
                ) from None
            cur.execute("SET lock_timeout = 0")

    def _lock_timeout(self) -> str:
        """``lock_timeout`` in milliseconds; at least 1, as 0 would mean wait for ever."""
        return f"{max(1, int(self._lock_timeout_s * 1000))}ms"

    @contextlib.contextmanager
    def _connection(self, action: str) -> Iterator[Any]:
        held = getattr(self._local, "conn", None)
        if held is not None:
            yield held
            return
        conn = self._connect(action)
        try:
            yield conn
        finally:
            conn.close()

    def _connect(self, action: str) -> Any:
        """An autocommit connection (each statement commits on its own, so nothing stays
        open across the HTTP call), with the table in place."""
        with self._errors(action, connecting=True):
            conn = connect(self._pg, self._url, "outreach_assets token store")
        try:
            with self._errors(action):
                conn.autocommit = True
                with conn.cursor() as cur:
                    # Durable before save() returns, whatever the server's default.
                    cur.execute("SET synchronous_commit = on")
                if not self._table_ready:
                    self._ensure_table(conn, TABLE, CREATE_TABLE)
                    self._table_ready = True
        except BaseException:
            conn.close()
            raise
        return conn

    def _ensure_table(self, conn: Any, table: str, create: str) -> None:
        """Create the table unless it exists; needs no CREATE privilege once it does."""
        with conn.cursor() as cur:
            cur.execute("SELECT to_regclass(%s) IS NOT NULL", (table,))
            row = cur.fetchone()
            if row is not None and row[0]:
                return
            conn.autocommit = False
            try:
                cur.execute("SET LOCAL lock_timeout = %s", (self._lock_timeout(),))
                cur.execute("SELECT pg_advisory_xact_lock(%s)", (_CREATE_LOCK_KEY,))
                cur.execute(create)
                conn.commit()
            except BaseException:
                conn.rollback()
                raise
            finally:
                conn.autocommit = True

    @contextlib.contextmanager
    def _errors(self, action: str, *, connecting: bool = False) -> Iterator[None]:
        """Driver errors as a :class:`ConfigError` that names the setting, password-free."""
        try:
            yield
        except self._pg.Error as exc:
            reason = driver_reason(exc, self._url)
            var = env("token_store_path")
            if connecting:
                todo = (
                    f"check that the server is up and that {var} names the right host, port, "
                    "database and user (a password belongs in ~/.pgpass or PGPASSWORD)"
                )
            else:
                todo = (
                    f"grant the role SELECT, INSERT and UPDATE on {TABLE} (and CREATE on the "
                    f"schema for its first use), or set {var} to another database or a file path"
                )
            raise ConfigError(
                f"cannot {'connect to' if connecting else action} the Outreach token store "
                f"{self.location} ({reason}); {todo}"
            ) from None
