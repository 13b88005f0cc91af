"""OAuth against the sandbox: lazy refresh, mid-scan expiry, rotation, sharing between
processes, and the errors a user sees when a token is refused."""

import contextlib
import dataclasses
import json
import os
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from outreach_assets.client import OutreachClient, StoredToken, exchange_code
from outreach_assets.client.token_store import FileTokenStore, fingerprint
from outreach_assets.config import ClientSettings
from outreach_assets.errors import AuthError
from outreach_assets_tests.support.clients import (
    INCREMENTAL,
    ROOT,
    ListLogger,
    make_client,
    sandbox_settings,
    scan_ids,
)

CHILD = """
import dataclasses, json, os, sys
from outreach_assets.catalog import get_stream
from outreach_assets.client import OutreachClient
from outreach_assets.config import ClientSettings
settings = ClientSettings(**json.loads(os.environ["CHILD_SETTINGS"]))
with OutreachClient(settings) as client:
    pages = client.iter_pages(get_stream(sys.argv[1]), page_size=int(sys.argv[2]))
    ids = [r["id"] for page in pages for r in page.records]
    print(json.dumps({"ids": ids, "stats": dataclasses.asdict(client.stats)}))
"""


def _child(settings: ClientSettings, page_size: int = 10) -> "subprocess.Popen[str]":
    """A separate Python process scanning INCREMENTAL with the given settings."""
    env = {**os.environ, "CHILD_SETTINGS": json.dumps(dataclasses.asdict(settings))}
    return subprocess.Popen(
        [sys.executable, "-c", CHILD, INCREMENTAL.name, str(page_size)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _result(proc: "subprocess.Popen[str]") -> dict:
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    return json.loads(out)


def _stored(path: Path) -> StoredToken:
    token = FileTokenStore(path).load()
    assert token is not None
    return token


def test_first_scan_mints_once_and_stores_the_token_privately(sandbox_factory, tmp_path):
    sb = sandbox_factory(sizes={INCREMENTAL.name: 30})
    client = make_client(sb, tmp_path)
    assert sorted(scan_ids(client, INCREMENTAL, page_size=10)) == sorted(sb.truth(INCREMENTAL.name))
    assert (sb.stats.token_mints, client.stats.token_refreshes) == (1, 1)
    store = tmp_path / "tokens.json"
    assert stat.S_IMODE(store.stat().st_mode) == 0o600
    token = _stored(store)
    assert token.source_fingerprint == fingerprint(sb.config.refresh_token)
    assert token.refresh_token == sb.current_refresh_token


def test_valid_token_is_reused_by_the_same_and_a_new_client(sandbox_factory, tmp_path):
    sb = sandbox_factory(sizes={INCREMENTAL.name: 5})
    first = make_client(sb, tmp_path)
    scan_ids(first, INCREMENTAL)
    scan_ids(first, INCREMENTAL)
    second = make_client(sb, tmp_path)
    scan_ids(second, INCREMENTAL)
    assert (sb.stats.token_requests, sb.stats.token_mints) == (1, 1)
    assert second.stats.token_refreshes == 0


def test_token_is_refreshed_before_it_expires(sandbox_factory, tmp_path):
    sb = sandbox_factory(sizes={INCREMENTAL.name: 5}, access_token_ttl_s=1)
    client = make_client(sb, tmp_path)
    scan_ids(client, INCREMENTAL)
    time.sleep(1.0)
    scan_ids(client, INCREMENTAL)
    assert sb.stats.token_mints == 2
    assert sb.stats.status_counts.get(401, 0) == 0  # refreshed ahead of expiry, not on 401


def test_expiry_in_the_middle_of_a_long_pagination(sandbox_factory, tmp_path):
    sb = sandbox_factory(sizes={INCREMENTAL.name: 60})
    logger = ListLogger()
    client = make_client(sb, tmp_path, logger)
    next(iter(client.iter_pages(INCREMENTAL, page_size=10)))  # holds a valid token now
    sb.expire_after_requests(3)
    ids = scan_ids(client, INCREMENTAL, page_size=10)
    assert sorted(ids) == sorted(sb.truth(INCREMENTAL.name))  # every record, exactly once
    assert sb.stats.status_counts.get(401) == 1
    assert sb.stats.token_mints == 2
    assert logger.matching("HTTP 401")


def test_two_401_in_a_row_is_a_clear_error(sandbox_factory, tmp_path):
    sb = sandbox_factory(sizes={INCREMENTAL.name: 5})
    client = make_client(sb, tmp_path)
    sb.fail_next(2, status=401)
    with pytest.raises(AuthError, match="401 twice in a row") as err:
        scan_ids(client, INCREMENTAL)
    assert INCREMENTAL.name in str(err.value)
    assert f"/{INCREMENTAL.path}" in str(err.value)


def test_rotated_refresh_token_is_picked_up_by_another_process(sandbox_factory, tmp_path):
    sb = sandbox_factory(sizes={INCREMENTAL.name: 20}, rotate_refresh_tokens=True)
    scan_ids(make_client(sb, tmp_path), INCREMENTAL)
    store = tmp_path / "tokens.json"
    rotated = _stored(store).refresh_token
    assert rotated == sb.current_refresh_token != sb.config.refresh_token
    sb.expire_access_tokens()  # the other process must mint, from the rotated token

    settings = sandbox_settings(sb, store)  # configured with the original refresh token
    result = _result(_child(settings))
    assert sorted(result["ids"]) == sorted(sb.truth(INCREMENTAL.name))
    assert result["stats"]["token_refreshes"] == 1
    assert sb.stats.token_mints == 2
    newest = _stored(store).refresh_token
    assert newest == sb.current_refresh_token != rotated


def test_two_processes_share_one_access_token(sandbox_factory, tmp_path):
    sb = sandbox_factory(sizes={INCREMENTAL.name: 30}, token_throttle_s=60)
    settings = sandbox_settings(sb, tmp_path / "tokens.json")
    children = [_child(settings), _child(settings)]
    results = [_result(child) for child in children]
    truth = sorted(sb.truth(INCREMENTAL.name))
    assert [sorted(r["ids"]) for r in results] == [truth, truth]
    assert sorted(r["stats"]["token_refreshes"] for r in results) == [0, 1]
    assert (sb.stats.token_requests, sb.stats.token_mints) == (1, 1)


def test_rejected_refresh_token_says_how_to_reauthorize(sandbox_factory, tmp_path):
    sb = sandbox_factory(sizes={INCREMENTAL.name: 5})
    bogus = "not-the-sandbox-refresh-token"
    client = make_client(sb, tmp_path, refresh_token=bogus)
    with pytest.raises(AuthError) as err:
        scan_ids(client, INCREMENTAL)
    message = str(err.value)
    for fragment in (
        "rejected the refresh token",
        "invalid_grant",
        "14 days",
        "100 newer tokens",
        "revoked",
        "outreach-assets auth url",
        "outreach-assets auth exchange --code",
        "OUTREACH_REFRESH_TOKEN",
        str(tmp_path / "tokens.json"),
    ):
        assert fragment in message
    assert bogus not in message
    assert sb.config.client_secret not in message


def test_throttled_token_endpoint_waits_within_the_budget(sandbox_factory, tmp_path):
    """Two token stores for one user (two machines without a shared store): the second mint
    within a minute gets Outreach's plain-text 429, which the client waits out (60 s, as
    the sandbox sends no Retry-After) unless that exceeds max_rate_limit_wait_s."""
    sb = sandbox_factory(sizes={INCREMENTAL.name: 5}, token_throttle_s=60)
    scan_ids(make_client(sb, tmp_path), INCREMENTAL)
    other = make_client(
        sb, tmp_path, token_store_path=tmp_path / "elsewhere.json", max_rate_limit_wait_s=30
    )
    with pytest.raises(AuthError, match="kept answering 429") as err:
        scan_ids(other, INCREMENTAL)
    assert "one per user per minute" in str(err.value)
    assert "shared token store" in str(err.value)
    assert (sb.stats.token_requests, sb.stats.token_mints) == (2, 1)


def test_wrong_client_secret_names_the_variables(sandbox_factory, tmp_path):
    sb = sandbox_factory(sizes={INCREMENTAL.name: 5})
    client = make_client(sb, tmp_path, client_secret="wrong-secret-value")
    with pytest.raises(AuthError, match="OUTREACH_CLIENT_SECRET") as err:
        scan_ids(client, INCREMENTAL)
    assert "wrong-secret-value" not in str(err.value)


def test_reauthorized_user_starts_from_the_configured_token(sandbox_factory, tmp_path):
    """A new refresh token (from `auth exchange`) replaces the store's lineage."""
    sb = sandbox_factory(sizes={INCREMENTAL.name: 5}, rotate_refresh_tokens=True)
    scan_ids(make_client(sb, tmp_path), INCREMENTAL)
    old_access = _stored(tmp_path / "tokens.json").access_token

    fresh = exchange_code(sandbox_settings(sb, tmp_path / "unused.json"), sb.config.auth_code)
    assert fresh.refresh_token and fresh.access_token not in repr(fresh)
    client = make_client(sb, tmp_path, refresh_token=fresh.refresh_token)
    scan_ids(client, INCREMENTAL)
    assert client.stats.token_refreshes == 1  # did not reuse the other lineage's access token
    token = _stored(tmp_path / "tokens.json")
    assert token.source_fingerprint == fingerprint(fresh.refresh_token)
    assert token.access_token != old_access


def test_bad_authorization_code_is_explained(sandbox_factory, tmp_path):
    sb = sandbox_factory()
    with pytest.raises(AuthError, match="authorization code") as err:
        exchange_code(sandbox_settings(sb, tmp_path / "t.json"), "stale-code-1234")
    assert "stale-code-1234" not in str(err.value)


class MemoryStore:
    """A TokenStore a deployment could back with a database; here a dict and a lock."""

    def __init__(self) -> None:
        self.token: StoredToken | None = None
        self.saves = 0

    @property
    def location(self) -> str:
        return "memory"

    def load(self) -> StoredToken | None:
        return self.token

    def save(self, token: StoredToken) -> None:
        self.token, self.saves = token, self.saves + 1

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        yield


def test_a_custom_token_store_can_be_plugged_in(sandbox_factory, tmp_path):
    sb = sandbox_factory(sizes={INCREMENTAL.name: 5})
    store = MemoryStore()
    settings = sandbox_settings(sb, tmp_path / "never-written.json")
    for _ in range(2):
        with OutreachClient(settings, ListLogger(), token_store=store) as client:
            scan_ids(client, INCREMENTAL)
    assert (store.saves, sb.stats.token_mints) == (1, 1)
    assert not (tmp_path / "never-written.json").exists()
