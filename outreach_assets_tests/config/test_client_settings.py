"""Settings validation, environment parsing and the authorize URL (no HTTP needed)."""

import dataclasses
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from outreach_assets.client import authorize_url
from outreach_assets.config import ClientSettings, client_settings_from_env, env, validate
from outreach_assets.config.client import knobs_from_env
from outreach_assets.errors import ConfigError

SECRET = "s3cr3t-client-secret"
REFRESH = "r3fr3sh-token-value"


def _settings(**overrides: Any) -> ClientSettings:
    base = ClientSettings(
        client_id="cid",
        client_secret=SECRET,
        redirect_uri="https://example.com/callback",
        refresh_token=REFRESH,
    )
    return dataclasses.replace(base, **overrides)


# One bad value per settings field, with a fragment the message must contain.
BAD_VALUES: list[tuple[str, object, str]] = [
    ("org", "Acme", "lowercase letters"),
    ("client_id", "", "non-empty"),
    ("client_secret", "", "non-empty"),
    ("client_secret", f"{SECRET}\n", "whitespace"),
    ("redirect_uri", "not a url", "http(s) URL"),
    ("refresh_token", "  ", "non-empty"),
    ("page_size", 5000, "from 1 to 1000"),
    ("page_size", 0, "from 1 to 1000"),
    ("page_size", True, "integer"),
    ("quota_limit", 0, "greater than 0 and at most 1"),
    ("quota_limit", 1.5, "at most 1"),
    ("quota_limit", float("nan"), "at most 1"),
    ("api_base_url", "ftp://x/api", "http(s) URL"),
    ("api_base_url", "https://x/api?x=1", "without query"),
    ("token_url", "", "http(s) URL"),
    ("request_timeout_s", 0, "greater than 0"),
    ("max_retries", -1, "from 0 to 100"),
    ("max_retries", 2.5, "integer"),
    ("retry_backoff_s", -0.1, "from 0 to 3600"),
    ("max_backoff_s", 0, "greater than 0"),
    ("max_rate_limit_wait_s", -1, "from 0 to 604800"),
    ("rate_limit_backoff_s", 0.5, "from 1 to 3600"),
    ("min_page_size", 0, "from 1 to 1000"),
    ("user_agent", "agent\r\nX-Injected: 1", "control characters"),
    ("token_store_path", "", "file path"),
    ("prefetch_pages", -1, "from 0 (fetch only when asked) to 8"),
    ("prefetch_pages", 9, "to 8"),
    ("max_concurrent_slices", 0, "from 1 (never slice a scan) to 8"),
    ("max_concurrent_slices", 2.0, "integer"),
]


def test_every_field_has_a_bad_value_case() -> None:
    assert {name for name, _, _ in BAD_VALUES} == {
        f.name for f in dataclasses.fields(ClientSettings)
    }


@pytest.mark.parametrize(("name", "value", "allowed"), BAD_VALUES)
def test_bad_value_names_field_env_var_and_rule(name: str, value: object, allowed: str) -> None:
    with pytest.raises(ConfigError) as err:
        validate(_settings(**{name: value}))
    message = str(err.value)
    assert message.startswith(f"{name} must be ")
    assert env(name) in message
    assert allowed in message
    assert SECRET not in message
    assert REFRESH not in message


def test_valid_settings_pass_and_echo_nothing_secret() -> None:
    settings = validate(_settings(page_size=1, quota_limit=1, token_store_path="/tmp/x"))
    assert settings.page_size == 1
    assert SECRET not in repr(settings)
    assert REFRESH not in repr(settings)


def test_knobs_from_env_parse_and_validate() -> None:
    env = {"OUTREACH_PAGE_SIZE": "250", "OUTREACH_QUOTA_LIMIT": "0.5", "OUTREACH_TOKEN_STORE": ""}
    # An empty variable means the default, like an unset one.
    assert knobs_from_env(env) == {"page_size": 250, "quota_limit": 0.5}
    assert knobs_from_env({"OUTREACH_PAGE_SIZE": " "}) == {}
    with pytest.raises(ConfigError, match=r"page_size .*got 'lots' from OUTREACH_PAGE_SIZE"):
        knobs_from_env({"OUTREACH_PAGE_SIZE": "lots"})
    with pytest.raises(ConfigError, match="OUTREACH_QUOTA_LIMIT"):
        knobs_from_env({"OUTREACH_QUOTA_LIMIT": "2"})


def test_settings_from_env_names_missing_variables() -> None:
    with pytest.raises(ConfigError) as err:
        client_settings_from_env({"OUTREACH_CLIENT_ID": "cid"})
    for var in ("OUTREACH_CLIENT_SECRET", "OUTREACH_REDIRECT_URI", "OUTREACH_REFRESH_TOKEN"):
        assert var in str(err.value)
    assert "OUTREACH_CLIENT_ID" not in str(err.value)


def test_settings_from_env_for_code_exchange_needs_no_refresh_token() -> None:
    env = {
        "OUTREACH_CLIENT_ID": "cid",
        "OUTREACH_CLIENT_SECRET": SECRET,
        "OUTREACH_REDIRECT_URI": "https://example.com/cb",
        "OUTREACH_PAGE_SIZE": "100",
    }
    settings = client_settings_from_env(env, for_code_exchange=True)
    assert (settings.client_id, settings.page_size, settings.refresh_token) == ("cid", 100, "")
    with pytest.raises(ConfigError, match="OUTREACH_REFRESH_TOKEN"):
        client_settings_from_env(env)


def test_authorize_url_encodes_scopes_and_redirect() -> None:
    url = authorize_url("cid", "https://example.com/cb?x=1", ["prospects.read", "users.read"])
    parts = urlsplit(url)
    assert (
        f"{parts.scheme}://{parts.netloc}{parts.path}" == "https://api.outreach.io/oauth/authorize"
    )
    query = parse_qs(parts.query)
    assert query == {
        "client_id": ["cid"],
        "redirect_uri": ["https://example.com/cb?x=1"],
        "response_type": ["code"],
        "scope": ["prospects.read users.read"],
    }
    assert "+" not in parts.query  # spaces as %20, which every OAuth server reads the same
