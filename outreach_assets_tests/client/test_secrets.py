"""No secret (client secret, refresh or access token) in logs, errors or reprs, in
succeeding and failing flows alike."""

import logging
from pathlib import Path

import pytest

from outreach_assets.client import OutreachClient, StoredToken
from outreach_assets.client.token_store import FileTokenStore
from outreach_assets.errors import OutreachError
from outreach_assets_tests.support.clients import (
    INCREMENTAL,
    SNAPSHOT,
    ListLogger,
    make_client,
    sandbox_settings,
    scan_ids,
)


def _tokens_in(store: Path) -> set[str]:
    token = FileTokenStore(store).load()
    return set() if token is None else {token.refresh_token, token.access_token}


def test_secrets_never_reach_logs_errors_or_reprs(sandbox_factory, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    sb = sandbox_factory(sizes={INCREMENTAL.name: 30}, rotate_refresh_tokens=True)
    store = tmp_path / "tokens.json"
    logger = ListLogger()
    secrets = {sb.config.client_secret, sb.config.refresh_token, "wrong-secret-xyz"}
    texts: list[str] = []

    def attempt(client: OutreachClient, stream=INCREMENTAL) -> None:
        try:
            scan_ids(client, stream, page_size=10)
        except OutreachError as exc:
            texts.extend([str(exc), repr(exc)])
        secrets.update(_tokens_in(store))
        texts.append(repr(client))

    good = make_client(sb, tmp_path, logger, max_retries=1)
    attempt(good)  # mint, success
    sb.expire_after_requests(1)
    attempt(good)  # 401 mid-scan, refresh (rotates the refresh token), success
    sb.fail_next(1, status=429)
    sb.configure(rate_window_s=1.0)
    attempt(good)  # 429 wait
    sb.fail_next(5, status=503)
    attempt(good)  # retries exhausted
    sb.fail_next(2, status=401)
    attempt(good)  # 401 twice
    sb.configure(scopes=[SNAPSHOT.scope])
    sb.expire_access_tokens()
    attempt(good)  # 403 missing scope (after a refresh)
    attempt(make_client(sb, tmp_path, logger, refresh_token="bogus-refresh-123"))
    attempt(make_client(sb, tmp_path, logger, client_secret="wrong-secret-xyz"))
    # The default logger (logging.getLogger) path too.
    attempt(OutreachClient(sandbox_settings(sb, store)))

    settings = sandbox_settings(sb, store)
    token = FileTokenStore(store).load()
    assert isinstance(token, StoredToken)
    texts += [repr(settings), str(settings), repr(token), logger.text(), caplog.text]
    assert len(secrets) >= 6  # client secret, 2+ refresh tokens, 2+ access tokens, ...
    assert sb.stats.token_mints >= 3
    haystack = "\n".join(texts)
    assert "minted an Outreach access token" in haystack  # the logs were captured
    assert "unauthorizedOauthScope" in haystack and "invalid_grant" in haystack
    leaked = [s for s in secrets if s in haystack]
    assert leaked == []


@pytest.mark.parametrize("field", ["client_secret", "refresh_token"])
def test_settings_repr_hides_secrets(tmp_path, sandbox, field):
    settings = sandbox_settings(sandbox, tmp_path / "t.json")
    assert getattr(settings, field) not in repr(settings)
