"""The quota ledger (``quota_ledger``) in the database of a PostgreSQL token store.

Processes on several machines that share a database token store spend one Outreach user's
quota, so they pool their rate-limit view in the same database: one row per ledger key in
``outreach_assets_quota``, read and rewritten under its row lock in a short transaction,
twice per API request: one ``INSERT ... ON CONFLICT DO UPDATE ... RETURNING`` makes the row if
missing, locks it and reads it, then one ``UPDATE`` writes it. Unlike the token store's
advisory lock, nothing slow happens while this lock is held, so a plain row lock in one
transaction is the simple fit.

One connection per ledger, opened on first use and opened again after an error; the
limiter using the ledger serializes its threads, so the connection is never shared.
"""

import contextlib
import json
from collections.abc import Iterator
from typing import Any, Final

from outreach_assets.client.pg_token_store import connect, driver_reason, load_driver, mask_url
from outreach_assets.config import env
from outreach_assets.errors import ConfigError

TABLE: Final = "outreach_assets_quota"
LOCK_TIMEOUT_MS: Final = 60_000
CREATE_TABLE: Final = f"""
CREATE TABLE IF NOT EXISTS {TABLE} (
    ledger_key text PRIMARY KEY,
    state text NOT NULL DEFAULT '{{}}',
    updated_at timestamptz NOT NULL DEFAULT now()
)"""
# One round trip: insert the row if missing, else take its row lock (the no-op update), and
# return its state either way (https://www.postgresql.org/docs/current/sql-insert.html).
_LOCK_ROW: Final = (
    f"INSERT INTO {TABLE} (ledger_key) VALUES (%s) ON CONFLICT (ledger_key) "
    "DO UPDATE SET ledger_key = EXCLUDED.ledger_key RETURNING state"
)
# Concurrent CREATE TABLE IF NOT EXISTS can collide in the catalog; creators queue here.
_CREATE_LOCK_KEY: Final = 0x6F75747265616368  # "outreach"


class PostgresQuotaLedger:
    """A :class:`~outreach_assets.client.quota_ledger.QuotaLedger` in one PostgreSQL row."""

    def __init__(self, url: str, key: str) -> None:
        self._url = url.strip()
        self._key = key
        self._conn: Any = None
        # Built from a PostgresTokenStore on the same URL, which refused to exist without it.
        self._pg = load_driver()

    @property
    def location(self) -> str:
        return f"{mask_url(self._url)} ({TABLE})"

    @contextlib.contextmanager
    def transact(self) -> Iterator[dict[str, object]]:
        conn = self._connection()
        try:
            with conn.cursor() as cur:
                cur.execute(_LOCK_ROW, (self._key,))  # the row, made if missing, locked
                row = cur.fetchone()
                state = _parse(row[0] if row else "{}")
                yield state
                cur.execute(
                    f"UPDATE {TABLE} SET state = %s, updated_at = now() WHERE ledger_key = %s",
                    (json.dumps(state), self._key),
                )
            conn.commit()
        except self._pg.Error as exc:
            self._drop()
            raise self._error(exc) from None
        except BaseException:
            with contextlib.suppress(Exception):
                conn.rollback()
            raise

    def close(self) -> None:
        self._drop()

    def _connection(self) -> Any:
        if self._conn is not None and not self._conn.closed:
            return self._conn
        conn = None
        try:
            conn = connect(self._pg, self._url, "outreach_assets quota ledger")
            with conn.cursor() as cur:
                cur.execute(f"SET lock_timeout = {LOCK_TIMEOUT_MS}")
                cur.execute("SELECT to_regclass(%s) IS NOT NULL", (TABLE,))
                row = cur.fetchone()
                if not (row and row[0]):
                    cur.execute("SELECT pg_advisory_xact_lock(%s)", (_CREATE_LOCK_KEY,))
                    cur.execute(CREATE_TABLE)
            conn.commit()
        except self._pg.Error as exc:
            if conn is not None:
                conn.close()
            raise self._error(exc) from None
        self._conn = conn
        return conn

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.close()

    def _error(self, exc: Exception) -> ConfigError:
        return ConfigError(
            f"cannot use the Outreach quota ledger in {self.location} "
            f"({driver_reason(exc, self._url)}); it lives beside the token store "
            f"{env('token_store_path')}: grant the role SELECT, INSERT and UPDATE on {TABLE} "
            "(and CREATE on the schema for its first use)"
        )


def _parse(text: str) -> dict[str, object]:
    try:
        data = json.loads(text)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}
