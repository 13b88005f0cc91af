"""The sandbox's OAuth: grants, client checks, rotation, the mint throttle, token lifetime,
bearer checks and scopes, as https://developers.outreach.io/api/oauth/ describes them."""

import time

import requests

from outreach_assets.catalog import STREAMS
from outreach_assets_tests.support.wire import (
    INCREMENTAL,
    OTHER,
    error_id,
    get,
    mint,
    session_for,
    token_form,
)


def test_refresh_grant_accepts_form_and_json_bodies(sandbox):
    form = mint(sandbox)
    as_json = requests.post(sandbox.token_url, json=token_form(sandbox), timeout=10)
    for answer in (form, as_json):
        assert answer.status_code == 200
        body = answer.json()
        assert set(body) == {
            "access_token",
            "token_type",
            "expires_in",
            "refresh_token",
            "scope",
            "created_at",
        }
        assert body["token_type"] == "bearer" and body["expires_in"] == 7200
        assert body["refresh_token"] == sandbox.config.refresh_token  # no rotation by default
        assert set(body["scope"].split()) == {s.scope for s in STREAMS}
        assert abs(body["created_at"] - time.time()) < 5
    assert form.json()["access_token"] != as_json.json()["access_token"]


def test_authorization_code_grant_checks_code_and_redirect_uri(sandbox):
    cfg = sandbox.config
    good = {
        "grant_type": "authorization_code",
        "code": cfg.auth_code,
        "redirect_uri": cfg.redirect_uri,
        "client_id": cfg.client_id,
        "client_secret": cfg.client_secret,
    }
    assert requests.post(sandbox.token_url, data=good, timeout=10).status_code == 200
    for bad in ({"code": "nope"}, {"redirect_uri": "http://127.0.0.1/elsewhere"}):
        answer = requests.post(sandbox.token_url, data={**good, **bad}, timeout=10)
        assert answer.status_code == 400 and answer.json()["error"] == "invalid_grant"


def test_token_endpoint_errors(sandbox):
    answer = mint(sandbox, refresh_token="not-a-token")
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_grant"
    answer = mint(sandbox, client_secret="wrong")
    assert answer.status_code == 401 and answer.json()["error"] == "invalid_client"
    answer = mint(sandbox, grant_type="password")
    assert answer.status_code == 400 and answer.json()["error"] == "unsupported_grant_type"
    assert "not-a-token" not in answer.text and "wrong" not in answer.text
    assert sandbox.stats.token_requests == 3 and sandbox.stats.token_mints == 0


def test_rotation_issues_a_new_refresh_token_and_invalidates_the_old(sandbox_factory):
    sb = sandbox_factory(rotate_refresh_tokens=True)
    first = sb.current_refresh_token
    answer = mint(sb, refresh_token=first)
    second = answer.json()["refresh_token"]
    assert second != first and sb.current_refresh_token == second
    assert mint(sb, refresh_token=first).json()["error"] == "invalid_grant"
    third = mint(sb, refresh_token=second).json()["refresh_token"]
    assert third not in (first, second) and sb.current_refresh_token == third


def test_throttle_allows_one_mint_per_period_with_plain_text_429(sandbox_factory):
    sb = sandbox_factory(token_throttle_s=0.4, rotate_refresh_tokens=True)
    assert mint(sb).status_code == 200
    token_before = sb.current_refresh_token
    throttled = mint(sb)
    assert throttled.status_code == 429 and throttled.text == "Retry later\n"
    assert throttled.headers["Content-Type"].startswith("text/plain")
    assert sb.current_refresh_token == token_before  # a refused mint spends nothing
    time.sleep(0.45)
    assert mint(sb).status_code == 200
    assert sb.stats.status_counts[429] == 1 and sb.stats.token_mints == 2


def test_access_tokens_expire_after_their_ttl(sandbox_factory):
    sb = sandbox_factory(access_token_ttl_s=0.5)
    session = session_for(sb)
    assert get(session, sb, INCREMENTAL).status_code == 200
    time.sleep(0.55)
    answer = get(session, sb, INCREMENTAL)
    assert answer.status_code == 401 and error_id(answer) == "expiredAccessToken"


def test_api_needs_a_valid_bearer_token(sandbox):
    missing = requests.get(f"{sandbox.api_base_url}/{INCREMENTAL.path}", timeout=10)
    garbage = requests.get(
        f"{sandbox.api_base_url}/{INCREMENTAL.path}",
        headers={"Authorization": "Bearer forged"},
        timeout=10,
    )
    for answer in (missing, garbage):
        assert answer.status_code == 401 and error_id(answer) == "unauthorized"
        assert "X-RateLimit-Limit" in answer.headers


def test_secrets_stay_out_of_reprs_and_the_server_logs_nothing(sandbox_factory, capfd):
    sb = sandbox_factory(client_secret="s3cr3t-value", refresh_token="rt-value-123")
    assert "s3cr3t-value" not in repr(sb.config) and "rt-value-123" not in repr(sb.config)
    session = session_for(sb)
    assert get(session, sb, INCREMENTAL).status_code == 200
    assert mint(sb, refresh_token="wrong").status_code == 400
    out, err = capfd.readouterr()
    assert out == "" and err == ""


def test_missing_scope_is_403_naming_it(sandbox_factory):
    sb = sandbox_factory(scopes=[INCREMENTAL.scope])
    assert mint(sb).json()["scope"] == INCREMENTAL.scope
    session = session_for(sb)
    assert get(session, sb, INCREMENTAL).status_code == 200
    answer = get(session, sb, OTHER)
    assert answer.status_code == 403 and error_id(answer) == "unauthorizedOauthScope"
    assert OTHER.scope in answer.json()["errors"][0]["detail"]
