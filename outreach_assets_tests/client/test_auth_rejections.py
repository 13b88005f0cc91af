"""Refused credentials against the sandbox: both wordings of a refusal (OAuth's and
JSON:API's) are classified alike, and a definitive refusal is remembered in the token store
so that other clients and processes with the same credentials fail at once, without a
token request, until the credentials change."""

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from outreach_assets.client import OutreachClient, StoredToken, oauth
from outreach_assets.client.oauth import read_token_error
from outreach_assets.client.pg_token_store import PostgresTokenStore
from outreach_assets.client.token_store import (
    FileTokenStore,
    Rejection,
    credentials_fingerprint,
)
from outreach_assets.config import ClientSettings
from outreach_assets.errors import AuthError, CredentialsRejected
from outreach_assets.sandbox import SandboxServer
from outreach_assets_tests.client.test_tokens import MemoryStore
from outreach_assets_tests.support.clients import (
    INCREMENTAL,
    ROOT,
    ListLogger,
    make_client,
    sandbox_settings,
    scan_ids,
)
from outreach_assets_tests.support.postgres import PostgresServer

WRONG_SECRET = "wrong-secret-4f1e"
BOGUS_REFRESH = "bogus-refresh-9c2a"
CLIENT_MESSAGE = "rejected the client credentials"
GRANT_MESSAGE = "rejected the refresh token"
REMEMBERED = "no token was requested now"

CHILD = """
import json, os, sys
from outreach_assets.catalog import get_stream
from outreach_assets.client import OutreachClient
from outreach_assets.config import ClientSettings
from outreach_assets.errors import AuthError
settings = ClientSettings(**json.loads(os.environ["CHILD_SETTINGS"]))
try:
    with OutreachClient(settings) as client:
        list(client.iter_pages(get_stream(sys.argv[1])))
except AuthError as exc:
    print(str(exc))
    sys.exit(3)
"""


def _refusal(client: OutreachClient) -> str:
    with pytest.raises(CredentialsRejected) as err:
        scan_ids(client, INCREMENTAL)
    return str(err.value)


def _children(settings: ClientSettings, n: int) -> list[tuple[int, str, str]]:
    """``n`` processes scanning at once with ``settings``: (exit code, stdout, stderr)."""
    env = {**os.environ, "CHILD_SETTINGS": json.dumps(dataclasses.asdict(settings))}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", CHILD, INCREMENTAL.name],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(n)
    ]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=60)
        results.append((proc.returncode, out, err))
    return results


@pytest.mark.parametrize("form", ["oauth", "jsonapi"])
@pytest.mark.parametrize(
    "case",
    [
        ({"refresh_token": BOGUS_REFRESH}, GRANT_MESSAGE, CLIENT_MESSAGE),
        ({"client_secret": WRONG_SECRET}, CLIENT_MESSAGE, GRANT_MESSAGE),
    ],
    ids=["invalid_grant", "invalid_client"],
)
def test_both_forms_of_a_refusal_are_told_apart_alike(sandbox_factory, tmp_path, form, case):
    overrides, expected, not_expected = case
    sb = sandbox_factory(sizes={INCREMENTAL.name: 5}, token_error_form=form)
    message = _refusal(make_client(sb, tmp_path, **overrides))
    assert expected in message and not_expected not in message
    if expected == GRANT_MESSAGE:
        for fragment in ("outreach-assets auth url", "outreach-assets auth exchange --code"):
            assert fragment in message
        assert "invalid_grant" in message
    else:
        assert "OUTREACH_CLIENT_ID" in message and "OUTREACH_CLIENT_SECRET" in message
        assert "invalid_client" in message
    for secret in (WRONG_SECRET, BOGUS_REFRESH, sb.config.client_secret):
        assert secret not in message


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"error": "invalid_grant", "error_description": "dead"}, "invalid_grant"),
        ({"errors": [{"id": "invalidGrant", "title": "t", "detail": "dead"}]}, "invalid_grant"),
        ({"errors": [{"id": "invalidClient", "detail": "dead"}]}, "invalid_client"),
        ({"errors": [{"code": "unauthorized_client", "title": "dead"}]}, "unauthorized_client"),
        ({"error": "InvalidClient"}, "invalid_client"),
        ({"errors": []}, None),
        (["not", "an", "object"], None),
    ],
)
def test_every_spelling_of_an_error_code_reads_the_same(body, code):
    found, description = read_token_error(body)
    assert found == code
    if code is not None:
        assert description in ("dead", "")


def test_a_wrong_secret_costs_one_token_request_for_every_client(sandbox_factory, tmp_path):
    """Five clients (a run's steps in one process) on one store: one ask, five failures."""
    sb = sandbox_factory(sizes={INCREMENTAL.name: 5})
    logger = ListLogger()
    messages = [
        _refusal(make_client(sb, tmp_path, logger, client_secret=WRONG_SECRET)) for _ in range(5)
    ]
    assert sb.stats.token_requests == 1
    first = messages[0]
    assert CLIENT_MESSAGE in first and REMEMBERED not in first
    assert all(m.startswith(first) and REMEMBERED in m for m in messages[1:])
    store_text = (tmp_path / "tokens.json").read_text()
    assert "rejection" in store_text
    haystack = "\n".join([*messages, store_text, logger.text()])
    assert WRONG_SECRET not in haystack and sb.config.client_secret not in haystack


def test_fixing_the_secret_works_on_the_next_client(sandbox_factory, tmp_path):
    sb = sandbox_factory(sizes={INCREMENTAL.name: 5})
    _refusal(make_client(sb, tmp_path, client_secret=WRONG_SECRET))
    good = make_client(sb, tmp_path)
    assert sorted(scan_ids(good, INCREMENTAL)) == sorted(sb.truth(INCREMENTAL.name))
    assert (sb.stats.token_requests, sb.stats.token_mints) == (2, 1)
    store = FileTokenStore(tmp_path / "tokens.json")
    assert store.load_rejection() is None  # a later client is not refused by stale memory
    assert isinstance(store.load(), StoredToken)


def test_a_dead_refresh_token_is_remembered_until_a_new_one_is_set(sandbox_factory, tmp_path):
    sb = sandbox_factory(sizes={INCREMENTAL.name: 5})
    for _ in range(3):
        assert GRANT_MESSAGE in _refusal(make_client(sb, tmp_path, refresh_token=BOGUS_REFRESH))
    assert sb.stats.token_requests == 1
    scan_ids(make_client(sb, tmp_path), INCREMENTAL)  # the configured token changed back
    assert sb.stats.token_requests == 2
    assert BOGUS_REFRESH not in (tmp_path / "tokens.json").read_text()


def test_check_asks_again_despite_a_remembered_refusal(sandbox_factory, tmp_path):
    """``outreach-assets check`` (mint_now) is the user asking: it never answers from memory."""
    sb = sandbox_factory(sizes={INCREMENTAL.name: 5})
    _refusal(make_client(sb, tmp_path, client_secret=WRONG_SECRET))
    with pytest.raises(CredentialsRejected) as err:
        make_client(sb, tmp_path, client_secret=WRONG_SECRET).mint_access_token()
    assert REMEMBERED not in str(err.value)
    assert sb.stats.token_requests == 2


def test_two_processes_with_a_wrong_secret_make_one_token_request(sandbox_factory, tmp_path):
    sb = sandbox_factory(sizes={INCREMENTAL.name: 5})
    settings = sandbox_settings(sb, tmp_path / "tokens.json", client_secret=WRONG_SECRET)
    results = _children(settings, 2)
    assert [code for code, _, _ in results] == [3, 3], results
    outs = sorted(out for _, out, _ in results)
    assert sum(REMEMBERED in out for out in outs) == 1
    assert all(CLIENT_MESSAGE in out for out in outs)
    assert sb.stats.token_requests == 1
    everything = "".join(out + err for _, out, err in results)
    assert WRONG_SECRET not in everything


def test_old_store_files_still_load_and_keep_their_tokens(tmp_path):
    """A file written before rejections were remembered (version 1, no "rejection" key)."""
    path = tmp_path / "old.json"
    old = {
        "version": 1,
        "refresh_token": "rt",
        "access_token": "at",
        "issued_at": 1.0,
        "expires_at": 2.0,
        "source_fingerprint": "fp",
        "updated_at": 1.0,
    }
    path.write_text(json.dumps(old))
    store = FileTokenStore(path)
    assert store.load_rejection() is None
    token = store.load()
    assert token is not None and token.access_token == "at"
    store.save_rejection(Rejection("cf", "refused", 3.0))
    assert store.load() == token  # recording a refusal keeps the tokens
    store.save(dataclasses.replace(token, access_token="at2"))
    assert store.load_rejection() == Rejection("cf", "refused", 3.0)
    store.save_rejection(None)
    assert store.load_rejection() is None and json.loads(path.read_text())["version"] == 1


def test_a_custom_store_remembers_refusals_in_its_process(sandbox_factory, tmp_path):
    sb = sandbox_factory(sizes={INCREMENTAL.name: 5})
    settings = sandbox_settings(sb, tmp_path / "unused.json", client_secret=WRONG_SECRET)
    store = MemoryStore()
    for _ in range(3):
        with (
            OutreachClient(settings, ListLogger(), token_store=store) as client,
            pytest.raises(CredentialsRejected),
        ):
            scan_ids(client, INCREMENTAL)
    assert sb.stats.token_requests == 1
    good = dataclasses.replace(settings, client_secret=sb.config.client_secret)
    with OutreachClient(good, ListLogger(), token_store=store) as client:
        scan_ids(client, INCREMENTAL)
    assert sb.stats.token_requests == 2


def test_a_bare_401_without_an_error_code_is_not_remembered(sandbox_factory, tmp_path):
    """Without a code the refusal may be a proxy's: raised, but asked again next time."""
    sb = sandbox_factory(sizes={INCREMENTAL.name: 5})
    fp = credentials_fingerprint(sb.config.client_id, WRONG_SECRET, sb.config.refresh_token)
    assert WRONG_SECRET not in fp and len(fp) == 64  # what a store keeps: no secret in it
    with pytest.raises(AuthError):
        OutreachClient(
            sandbox_settings(sb, tmp_path / "t.json", token_url=sb.api_base_url + "/prospects"),
            ListLogger(),
        ).mint_access_token()
    assert FileTokenStore(tmp_path / "t.json").load_rejection() is None


def test_the_database_store_remembers_a_refusal_for_every_client(
    sandbox_factory, postgres_server: PostgresServer, tmp_path: Path
) -> None:
    sb: SandboxServer = sandbox_factory(sizes={INCREMENTAL.name: 5})
    db = postgres_server.create_database()
    unused = tmp_path / "unused.json"
    wrong = sandbox_settings(sb, unused, client_secret=WRONG_SECRET, token_store_path=db)
    for _ in range(3):
        _refusal(OutreachClient(wrong, ListLogger()))
    assert sb.stats.token_requests == 1
    store = PostgresTokenStore(db, sb.token_url, sb.config.client_id)
    rejection = store.load_rejection()
    assert rejection is not None and WRONG_SECRET not in rejection.message
    scan_ids(OutreachClient(sandbox_settings(sb, unused, token_store_path=db)), INCREMENTAL)
    assert sb.stats.token_requests == 2 and store.load_rejection() is None


def test_a_retry_after_a_lost_mint_never_meets_the_throttle(sandbox_factory, tmp_path, monkeypatch):
    """The endpoint minted but the answer was lost: the retry waits the throttle's period out
    first, instead of asking at once and getting the one-token-a-minute 429 (here a 1-second
    throttle stands in for Outreach's minute)."""
    monkeypatch.setattr(oauth, "TOKEN_THROTTLE_WAIT_S", 1.0)
    sb = sandbox_factory(sizes={INCREMENTAL.name: 5}, token_throttle_s=1.0)
    sb.lose_next_mints(1)
    logger = ListLogger()
    client = make_client(sb, tmp_path, logger)
    assert sorted(scan_ids(client, INCREMENTAL)) == sorted(sb.truth(INCREMENTAL.name))
    assert (sb.stats.token_requests, sb.stats.token_mints) == (2, 2)
    assert sb.stats.status_counts.get(429, 0) == 0
    assert logger.matching("so the retry is not throttled")
