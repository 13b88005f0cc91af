"""The PostgreSQL token store against a real PostgreSQL server and the sandbox over HTTP:
the row, the table's first creation, the cross-process lock, errors that name the setting
and never the password, re-authorization, and two processes sharing rotating tokens."""

import contextlib
import dataclasses
import itertools
import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import psycopg2
import pytest

from outreach_assets.cli import main
from outreach_assets.client import OutreachClient, StoredToken, exchange_code, open_token_store
from outreach_assets.client.pg_token_store import TABLE, PostgresTokenStore, mask_url
from outreach_assets.client.token_store import FileTokenStore, default_store_path, fingerprint
from outreach_assets.errors import AuthError, ConfigError
from outreach_assets_tests.support.clients import (
    INCREMENTAL,
    ROOT,
    ListLogger,
    sandbox_settings,
    scan_ids,
)
from outreach_assets_tests.support.postgres import PostgresServer

TOKEN_URL = "https://api.example.test/oauth/token"
TTL_S = 5  # the token lifetime
FRESH_FOR_S = TTL_S * 0.9  # StoredToken.is_fresh: refreshed 10% of the lifetime early
RUN_S = 14.0  # about three token lifetimes of two processes scanning

HOLDER = """
import sys
from outreach_assets.client.pg_token_store import PostgresTokenStore
store = PostgresTokenStore(sys.argv[1], sys.argv[2], "cid")
with store.lock():
    print("locked", flush=True)
    sys.stdin.readline()
"""

SCANNER = """
import json, os, sys, time
from outreach_assets.catalog import get_stream
from outreach_assets.client import OutreachClient
from outreach_assets.config import ClientSettings
settings = ClientSettings(**json.loads(os.environ["CHILD_SETTINGS"]))
deadline = time.time() + float(sys.argv[2])
scans = {}
with OutreachClient(settings) as client:
    while time.time() < deadline:
        pages = client.iter_pages(get_stream(sys.argv[1]), page_size=10)
        key = json.dumps(sorted(r["id"] for page in pages for r in page.records))
        scans[key] = scans.get(key, 0) + 1
    print(json.dumps({"scans": scans, "refreshes": client.stats.token_refreshes}))
"""


@pytest.fixture
def db(postgres_server: PostgresServer) -> str:
    """The URL of an empty database of this test's own."""
    return postgres_server.create_database()


def _token(tag: str = "a", source: str = "configured") -> StoredToken:
    now = time.time()
    return StoredToken(
        refresh_token=f"rt-{tag}",
        access_token=f"at-{tag}",
        issued_at=now,
        expires_at=now + 3600,
        source_fingerprint=fingerprint(source),
    )


def _rows(url: str, sql: str) -> list[tuple]:
    with contextlib.closing(psycopg2.connect(url)) as conn, conn.cursor() as cur:
        cur.execute(sql)
        return cur.fetchall()


def _dead_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port  # nothing listens once the socket is closed


def _holder(url: str) -> "subprocess.Popen[str]":
    """Another process holding the store's lock until a line arrives on its stdin."""
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, url, TOKEN_URL],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "locked"
    return proc


# --- the row and the table -------------------------------------------------------------


def test_a_saved_token_loads_back_from_its_own_row(db: str) -> None:
    store = PostgresTokenStore(db, TOKEN_URL, "cid")
    assert store.load() is None  # creates the table, holds no row yet
    with store.lock():
        store.save(_token("a"))
    store.save(_token("b"))  # an upsert: still one row
    loaded = PostgresTokenStore(db, TOKEN_URL, "cid").load()
    assert loaded is not None and loaded.refresh_token == "rt-b" and loaded.access_token == "at-b"
    assert loaded.source_fingerprint == fingerprint("configured")
    # One database, several apps and orgs: each key is a row of its own.
    other_org = PostgresTokenStore(db, TOKEN_URL, "cid", org="org-2")
    assert other_org.load() is None
    other_org.save(_token("c"))
    assert PostgresTokenStore(db, TOKEN_URL, "other-client").load() is None
    rows = _rows(db, f"SELECT client_id, org, refresh_token FROM {TABLE} ORDER BY org")
    assert rows == [("cid", "", "rt-b"), ("cid", "org-2", "rt-c")]


def test_save_is_committed_before_it_returns(db: str) -> None:
    """The rotated refresh token must be durable before the new access token is used,
    that is while the saving process still holds the lock."""
    store = PostgresTokenStore(db, TOKEN_URL, "cid")
    with store.lock():
        store.save(_token("rotated"))
        seen_elsewhere = PostgresTokenStore(db, TOKEN_URL, "cid").load()  # another session
        assert seen_elsewhere is not None and seen_elsewhere.refresh_token == "rt-rotated"


def test_the_table_is_created_once_under_concurrent_first_use(
    postgres_server: PostgresServer,
) -> None:
    """Plain concurrent CREATE TABLE IF NOT EXISTS fails on the catalog's unique index in
    most rounds of eight (measured: 7 of 10); the store serializes its creators."""

    def first_use(
        store: PostgresTokenStore, barrier: threading.Barrier, errors: list[BaseException]
    ) -> None:
        barrier.wait()
        try:
            store.save(_token(store.location))
        except BaseException as exc:
            errors.append(exc)

    for _ in range(5):
        url = postgres_server.create_database()
        stores = [PostgresTokenStore(url, TOKEN_URL, f"cid-{i}") for i in range(8)]
        barrier = threading.Barrier(len(stores))
        errors: list[BaseException] = []
        threads = [threading.Thread(target=first_use, args=(s, barrier, errors)) for s in stores]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert not errors, errors
        assert _rows(url, f"SELECT count(*) FROM pg_class WHERE relname = '{TABLE}'") == [(1,)]
        assert _rows(url, f"SELECT count(*) FROM {TABLE}") == [(8,)]


# --- the lock ----------------------------------------------------------------------------


def test_the_lock_excludes_another_process_until_it_lets_go(db: str) -> None:
    holder = _holder(db)
    try:
        waiting = PostgresTokenStore(db, TOKEN_URL, "cid", lock_timeout_s=1.0)
        started = time.monotonic()
        with pytest.raises(AuthError, match="another process has held"), waiting.lock():
            pass
        assert time.monotonic() - started >= 0.9
        # Another key is not blocked by it.
        with PostgresTokenStore(db, TOKEN_URL, "cid", org="x", lock_timeout_s=1.0).lock():
            pass
        stdin = holder.stdin
        assert stdin is not None

        def let_go() -> None:
            stdin.write("\n")
            stdin.flush()

        threading.Timer(1.0, let_go).start()
        started = time.monotonic()
        with PostgresTokenStore(db, TOKEN_URL, "cid", lock_timeout_s=30).lock():
            waited = time.monotonic() - started
        assert 0.9 <= waited < 30  # admitted once the holder let go, not before
    finally:
        holder.kill()
        holder.wait(timeout=10)


def test_a_process_killed_holding_the_lock_leaves_no_lock_behind(db: str) -> None:
    holder = _holder(db)
    holder.kill()
    holder.wait(timeout=10)
    started = time.monotonic()
    with PostgresTokenStore(db, TOKEN_URL, "cid", lock_timeout_s=20).lock():
        assert time.monotonic() - started < 10


def test_a_lock_timeout_says_what_to_do(db: str) -> None:
    url = db.replace("postgres@", "postgres:lock-pw-123@")  # trust auth ignores it
    first = PostgresTokenStore(url, TOKEN_URL, "cid")
    second = PostgresTokenStore(url, TOKEN_URL, "cid", lock_timeout_s=1.0)
    with first.lock(), pytest.raises(AuthError) as err, second.lock():
        pass
    message = str(err.value)
    for fragment in ("more than 1 s", "pg_locks", "pg_terminate_backend", mask_url(url)):
        assert fragment in message
    assert "lock-pw-123" not in message


# --- errors ------------------------------------------------------------------------------


def test_the_password_is_masked_in_the_location_and_in_errors(
    postgres_server: PostgresServer,
) -> None:
    password, other = "s3cret/pw", "q-pass-987"
    url = (
        f"postgresql://postgres:s3cret%2Fpw@127.0.0.1:{postgres_server.port}/no_such_db"
        f"?password={other}&sslmode=disable"
    )
    store = open_token_store(url, TOKEN_URL, "cid")
    assert store.location == (
        f"postgresql://postgres:***@127.0.0.1:{postgres_server.port}/no_such_db"
        "?password=***&sslmode=disable"
    )
    with pytest.raises(ConfigError) as err:
        store.load()
    message = str(err.value)
    assert 'database "no_such_db" does not exist' in message
    assert "OUTREACH_TOKEN_STORE" in message
    for secret in (password, "s3cret%2Fpw", other):
        assert secret not in message and secret not in repr(store)


def test_an_unreachable_server_is_a_config_error_naming_the_setting() -> None:
    url = f"postgresql://app:pw-42@127.0.0.1:{_dead_port()}/tokens"
    store = open_token_store(url, TOKEN_URL, "cid")
    for action in (store.load, lambda: store.save(_token()), store.lock().__enter__):
        with pytest.raises(ConfigError) as err:
            action()
        message = str(err.value)
        assert "cannot connect to the Outreach token store" in message
        assert "OUTREACH_TOKEN_STORE" in message and "pw-42" not in message


def test_without_the_driver_the_project_imports_and_the_error_says_what_to_install() -> None:
    code = (
        "import sys; sys.modules['psycopg2'] = None\n"
        "import outreach_assets.client, outreach_assets.cli\n"
        "from outreach_assets.client import open_token_store\n"
        "try:\n"
        "    open_token_store('postgres://u:pw-77@db:5432/t', 'https://t', 'cid')\n"
        "except Exception as exc:\n"
        "    print(type(exc).__name__, exc)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("ConfigError OUTREACH_TOKEN_STORE=postgres://u:***@db:5432/t")
    assert "pip install 'outreach_assets[scale]'" in done.stdout and "pw-77" not in done.stdout


def test_the_setting_picks_the_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    default = open_token_store(None, TOKEN_URL, "cid")
    assert isinstance(default, FileTokenStore)
    assert default.path == default_store_path(TOKEN_URL, "cid")
    assert default_store_path(TOKEN_URL, "cid", "org-2") != default.path  # orgs apart
    chosen = open_token_store(str(tmp_path / "t.json"), TOKEN_URL, "cid")
    assert isinstance(chosen, FileTokenStore) and chosen.path == tmp_path / "t.json"
    for url in ("postgresql://u@h/db", "postgres://u@h:5433/db?sslmode=require"):
        assert isinstance(open_token_store(url, TOKEN_URL, "cid"), PostgresTokenStore)
    with pytest.raises(ConfigError, match=r"OUTREACH_TOKEN_STORE=redis://u:\*\*\*@h/0"):
        open_token_store("redis://u:pw@h/0", TOKEN_URL, "cid")


# --- with the sandbox --------------------------------------------------------------------


def test_a_reauthorized_user_starts_from_the_configured_token(sandbox_factory, db, tmp_path):
    sb = sandbox_factory(sizes={INCREMENTAL.name: 5}, rotate_refresh_tokens=True)
    settings = sandbox_settings(sb, tmp_path / "unused.json", token_store_path=db)
    with OutreachClient(settings, ListLogger()) as client:
        scan_ids(client, INCREMENTAL)
    store = open_token_store(db, sb.token_url, settings.client_id)
    old = store.load()
    assert old is not None and old.refresh_token == sb.current_refresh_token

    fresh = exchange_code(settings, sb.config.auth_code)
    assert fresh.refresh_token
    logger = ListLogger()
    reauthorized = dataclasses.replace(settings, refresh_token=fresh.refresh_token)
    with OutreachClient(reauthorized, logger) as client:
        scan_ids(client, INCREMENTAL)
        assert client.stats.token_refreshes == 1  # did not reuse the old lineage's token
    token = store.load()
    assert token is not None and token.source_fingerprint == fingerprint(fresh.refresh_token)
    assert token.access_token != old.access_token
    assert logger.matching("differs from the one the token store")
    assert sb.stats.status_counts.get(400, 0) == 0


def _scanner(settings_json: str) -> "subprocess.Popen[str]":
    return subprocess.Popen(
        [sys.executable, "-c", SCANNER, INCREMENTAL.name, str(RUN_S)],
        cwd=ROOT,
        env={**os.environ, "CHILD_SETTINGS": settings_json},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_two_processes_share_rotating_five_second_tokens(sandbox_factory, db, tmp_path):
    """Both processes land the sandbox's truth on every scan, no refresh token is refused,
    and every mint was needed: a new one only once the last had stopped being fresh."""
    sb = sandbox_factory(
        sizes={INCREMENTAL.name: 30},
        rotate_refresh_tokens=True,
        access_token_ttl_s=TTL_S,
        latency_ms=20,  # the token endpoint too: a wide window for a refresh race
    )
    settings = sandbox_settings(sb, tmp_path / "unused.json", token_store_path=db)
    children = [_scanner(json.dumps(dataclasses.asdict(settings))) for _ in range(2)]
    store = open_token_store(db, sb.token_url, settings.client_id)
    issued: set[float] = set()  # every saved mint, as seen by polling the row
    while any(child.poll() is None for child in children):
        with contextlib.suppress(ConfigError):  # the table may not exist yet
            token = store.load()
            if token is not None:
                issued.add(token.issued_at)
        time.sleep(0.05)
    results = []
    for child in children:
        out, err = child.communicate(timeout=30)
        assert child.returncode == 0, err[-3000:]
        results.append(json.loads(out))

    truth = json.dumps(sorted(sb.truth(INCREMENTAL.name)))
    assert [list(r["scans"]) for r in results] == [[truth], [truth]]  # every scan, exactly
    assert min(sum(r["scans"].values()) for r in results) > 20  # both really kept scanning
    stats = sb.stats
    refused = {s: n for s, n in stats.status_counts.items() if s in (400, 401, 429)}
    assert not refused  # no invalid_grant, no expired token used, no throttled mint
    minted = stats.token_mints
    assert minted == stats.token_requests == sum(r["refreshes"] for r in results)
    assert len(issued) == minted  # each mint saved, none overwritten unseen
    gaps = [b - a for a, b in itertools.pairwise(sorted(issued))]
    assert all(FRESH_FOR_S - 0.01 <= gap < FRESH_FOR_S + 2.5 for gap in gaps), gaps
    assert RUN_S / TTL_S <= minted <= RUN_S / FRESH_FOR_S + 2, minted
    final = store.load()
    assert final is not None and final.refresh_token == sb.current_refresh_token


def test_check_accepts_a_database_store_and_fails_an_unreachable_one(
    sandbox_factory, db, tmp_path, monkeypatch, capsys
):
    monkeypatch.chdir(tmp_path)
    for name in [n for n in os.environ if n.startswith("OUTREACH_")] + ["DAGSTER_HOME"]:
        monkeypatch.delenv(name, raising=False)
    sb = sandbox_factory()
    for name, value in sb.environment().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("OUTREACH_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("OUTREACH_STREAMS", "prospects")
    monkeypatch.setenv("OUTREACH_TOKEN_STORE", db.replace("postgres@", "postgres:chk-pw@"))

    assert main(["check"]) == 0
    lines = capsys.readouterr().out.splitlines()
    (line,) = [x for x in lines if x.startswith("ok   token store ")]
    assert "postgres:***@" in line and "readable, writable, lockable" in line
    stored = open_token_store(db, sb.token_url, sb.config.client_id).load()
    assert stored is not None and stored.refresh_token == sb.current_refresh_token

    monkeypatch.setenv("OUTREACH_TOKEN_STORE", f"postgresql://u:chk-pw@127.0.0.1:{_dead_port()}/x")
    assert main(["check"]) == 1
    output = capsys.readouterr().out
    (line,) = [x for x in output.splitlines() if x.startswith("FAIL token store ")]
    assert "OUTREACH_TOKEN_STORE" in line and "chk-pw" not in output
