"""Outreach's OAuth token endpoint: the authorize URL, code exchange and refresh grants.

The token endpoint is not part of the API quota and behaves differently from the API: it
answers a plain-text 429 ("Retry later") when a user mints more than one token a minute, and
``invalid_grant`` when a refresh token has died (14 days after it was minted, once 100 newer
tokens exist, or when revoked). Those cases get their own handling and messages here; the
request body (which holds the client secret and the refresh token) never appears in a log
line or an error.
"""

import re
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import quote, urlencode

import requests
import urllib3

from outreach_assets.client.log import LoggerLike, default_logger, redact
from outreach_assets.client.quota import parse_retry_after
from outreach_assets.client.retry import TRANSPORT_ERRORS, backoff_delay, describe_transport_error
from outreach_assets.config import env
from outreach_assets.config.client import DEFAULT_AUTHORIZE_URL, ClientSettings
from outreach_assets.errors import AuthError, CredentialsRejected
from outreach_assets.jsontext import loads_or_none

TOKEN_THROTTLE_WAIT_S = 60.0  # Outreach allows one token per user per minute
REAUTHORIZE_HOWTO = (
    "run `outreach-assets auth url`, open the URL and approve, then run "
    f"`outreach-assets auth exchange --code <code>`, which writes {env('refresh_token')} to .env "
    "and fills the token store"
)


@dataclass(frozen=True)
class TokenResponse:
    """The token endpoint's answer; tokens are hidden from ``repr``."""

    access_token: str = field(repr=False)
    expires_in: float
    refresh_token: str | None = field(default=None, repr=False)
    token_type: str = "bearer"
    scope: str = ""
    created_at: float | None = None

    @classmethod
    def from_json(cls, data: object) -> "TokenResponse | None":
        if not isinstance(data, dict):
            return None
        access = data.get("access_token")
        if not isinstance(access, str) or not access:
            return None
        refresh = data.get("refresh_token")
        created = data.get("created_at")
        try:
            expires_in = float(data.get("expires_in") or 7200)
        except (TypeError, ValueError):
            expires_in = 7200.0  # Outreach's documented lifetime
        return cls(
            access_token=access,
            expires_in=expires_in,
            refresh_token=refresh if isinstance(refresh, str) and refresh else None,
            token_type=str(data.get("token_type") or "bearer"),
            scope=str(data.get("scope") or ""),
            created_at=float(created) if isinstance(created, int | float) else None,
        )


def _was_sent(exc: Exception) -> bool:
    """Whether the request may have reached the token endpoint: not when the connection was
    never made (refused, connect timeout, TLS or proxy failure)."""
    never_connected = (
        requests.exceptions.ConnectTimeout,
        requests.exceptions.SSLError,
        requests.exceptions.ProxyError,
    )
    if isinstance(exc, never_connected):
        return False
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    return not isinstance(reason, urllib3.exceptions.NewConnectionError)


def read_token_error(body: object) -> tuple[str | None, str]:
    """The error code (snake_case) and description of a refused token request, in either
    form it comes in: OAuth's ``{"error": "invalid_grant", "error_description": ...}``
    (RFC 6749 section 5.2, https://datatracker.ietf.org/doc/html/rfc6749#section-5.2) or
    the API's JSON:API ``{"errors": [{"id": "invalidGrant", "title": ..., "detail": ...}]}``
    (https://jsonapi.org/format/#error-objects), so both are classified alike."""
    if not isinstance(body, dict):
        return None, ""
    code, text = body.get("error"), body.get("error_description")
    errors = body.get("errors")
    if not isinstance(code, str) and isinstance(errors, list) and errors:
        first = errors[0] if isinstance(errors[0], dict) else {}
        code = first.get("id") if isinstance(first.get("id"), str) else first.get("code")
        text = first.get("detail") or first.get("title")
    if not isinstance(code, str) or not code.strip():
        return None, str(text or "")
    snake = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", code.strip()).lower().replace("-", "_")
    return snake, str(text or "")


def authorize_url(
    client_id: str,
    redirect_uri: str,
    scopes: Iterable[str],
    base: str = DEFAULT_AUTHORIZE_URL,
    state: str | None = None,
) -> str:
    """The URL a user opens to grant access; scopes are space-separated, URL-encoded."""
    params = {
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "response_type": "code",
        "scope": " ".join(scopes),
    }
    if state:
        params["state"] = state
    return f"{base}?{urlencode(params, quote_via=quote)}"


class TokenEndpoint:
    """POSTs grants to ``token_url`` with bounded retries and throttle waits."""

    def __init__(
        self,
        settings: ClientSettings,
        session: requests.Session,
        logger: LoggerLike,
        store_location: str | None = None,
    ) -> None:
        self._settings = settings
        self._session = session
        self._log = logger
        self._store_location = store_location

    def refresh(self, refresh_token: str) -> TokenResponse:
        form = self._base_form() | {"grant_type": "refresh_token", "refresh_token": refresh_token}
        return self._post(form, secrets=(refresh_token,))

    def exchange_code(self, code: str) -> TokenResponse:
        form = self._base_form() | {"grant_type": "authorization_code", "code": code}
        return self._post(form, secrets=(code,))

    def _base_form(self) -> dict[str, str]:
        s = self._settings
        return {
            "client_id": s.client_id,
            "client_secret": s.client_secret,
            "redirect_uri": s.redirect_uri,
        }

    def _post(self, form: dict[str, str], secrets: tuple[str, ...]) -> TokenResponse:
        s = self._settings
        secrets = (*secrets, s.client_secret)
        failures = 0
        waited = 0.0
        while True:
            try:
                resp = self._session.post(
                    s.token_url,
                    data=form,
                    headers={"Accept": "application/json", "User-Agent": s.user_agent},
                    timeout=s.request_timeout_s,
                )
            except TRANSPORT_ERRORS as exc:
                failures = self._backoff(failures, describe_transport_error(exc))
                if _was_sent(exc):
                    waited += self._wait_out_lost_mint(waited)
                continue
            if resp.status_code == 200:
                token = TokenResponse.from_json(loads_or_none(resp.content))
                if token is not None:
                    return token
                failures = self._backoff(failures, "HTTP 200 without an access_token")
                waited += self._wait_out_lost_mint(waited)
            elif resp.status_code == 429:
                waited += self._wait_throttle(resp, waited)
            elif resp.status_code >= 500:
                failures = self._backoff(failures, f"HTTP {resp.status_code}")
                if resp.status_code != 503:  # 503: not served (RFC 9110 section 15.6.4)
                    waited += self._wait_out_lost_mint(waited)
            else:
                raise self._client_error(resp, form["grant_type"], secrets)

    def _wait_out_lost_mint(self, waited: float) -> float:
        """Before retrying an attempt that may have minted a token whose answer we lost (a
        timeout once sent, a 200 without a token, a gateway's 5xx), wait the minute out:
        the retry would otherwise meet the one-token-a-minute throttle, a 429 we caused."""
        budget = self._settings.max_rate_limit_wait_s
        if waited + TOKEN_THROTTLE_WAIT_S > budget:
            raise AuthError(
                f"the Outreach token endpoint {self._settings.token_url} may have minted a "
                "token whose answer was lost; a retry must wait a minute (one token per user "
                f"per minute), beyond max_rate_limit_wait_s={budget:g}"
            )
        self._log.warning(
            "the Outreach token endpoint may have minted a token whose answer was lost; "
            f"waiting {TOKEN_THROTTLE_WAIT_S:.0f} s so the retry is not throttled"
        )
        time.sleep(TOKEN_THROTTLE_WAIT_S)
        return TOKEN_THROTTLE_WAIT_S

    def _backoff(self, failures: int, failure: str) -> int:
        s = self._settings
        failures += 1
        if failures > s.max_retries:
            raise AuthError(
                f"the Outreach token endpoint {s.token_url} failed "
                f"{failures} times; last failure: {failure}"
            )
        delay = backoff_delay(failures, s.retry_backoff_s, s.max_backoff_s)
        self._log.warning(
            f"Outreach token endpoint failed ({failure}); retry {failures} of "
            f"{s.max_retries} in {delay:.1f} s"
        )
        time.sleep(delay)
        return failures

    def _wait_throttle(self, resp: requests.Response, waited: float) -> float:
        """Wait out the one-token-a-minute throttle; returns the seconds waited."""
        retry_after = parse_retry_after(resp.headers.get("Retry-After"), time.time())
        delay = max(1.0, TOKEN_THROTTLE_WAIT_S if retry_after is None else retry_after)
        budget = self._settings.max_rate_limit_wait_s
        if waited + delay > budget:
            raise AuthError(
                f"the Outreach token endpoint kept answering 429 (too many tokens requested; "
                f"one per user per minute) for {waited:.0f} s, beyond max_rate_limit_wait_s="
                f"{budget:g}; are many processes refreshing without a shared token store?"
            )
        self._log.warning(
            "Outreach token endpoint throttled us (HTTP 429: one token per user per minute); "
            f"waiting {delay:.0f} s"
        )
        time.sleep(delay)
        return delay

    def _client_error(
        self, resp: requests.Response, grant: str, secrets: tuple[str, ...]
    ) -> AuthError:
        error, description = read_token_error(loads_or_none(resp.content))
        detail = redact(f"{error or 'no error code'}: {description}".strip(": "), secrets)
        status = resp.status_code
        if error == "invalid_grant" and grant == "refresh_token":
            return CredentialsRejected(self._invalid_refresh_message(status, detail), error)
        if error == "invalid_grant":
            return AuthError(
                f"Outreach rejected the authorization code (HTTP {status} {detail}); codes are "
                "short-lived and single-use: run `outreach-assets auth url` again and exchange "
                f"the new code at once, with the same {env('redirect_uri')} as the authorize URL"
            )
        if error == "unauthorized_client":
            return CredentialsRejected(
                f"Outreach does not allow this app the {grant} grant (HTTP {status} {detail}); "
                f"check the app at Outreach and that {env('client_id')} names it, then "
                f"re-authorize: {REAUTHORIZE_HOWTO}",
                error,
            )
        if error == "invalid_client" or status == 401:
            message = (
                f"Outreach rejected the client credentials (HTTP {status} {detail}); check "
                f"{env('client_id')} and {env('client_secret')} against your Outreach app"
            )
            # A 401 without invalid_client may come from a proxy: not proof enough to remember.
            return (
                CredentialsRejected(message, error)
                if error == "invalid_client"
                else AuthError(message)
            )
        return AuthError(
            f"the Outreach token endpoint {self._settings.token_url} answered HTTP {status} "
            f"({detail}) to a {grant} grant"
        )

    def _invalid_refresh_message(self, status: int, detail: str) -> str:
        store = (
            f"; the token store {self._store_location} keeps the newest refresh token and "
            "is reset automatically when you set a new one"
            if self._store_location
            else ""
        )
        return (
            f"Outreach rejected the refresh token (HTTP {status} {detail}): it expired "
            "(14 days after it was issued), was superseded by 100 newer tokens, or was "
            f"revoked. To get a new one, {REAUTHORIZE_HOWTO}{store}"
        )


def exchange_code(
    settings: ClientSettings,
    code: str,
    *,
    session: requests.Session | None = None,
    logger: LoggerLike | None = None,
) -> TokenResponse:
    """Trade an authorization code for tokens (``outreach-assets auth exchange``).

    ``settings.refresh_token`` is not used; build the settings with
    ``settings_from_env(for_code_exchange=True)`` when there is no refresh token yet.
    """
    own = session is None
    http = requests.Session() if session is None else session
    try:
        return TokenEndpoint(settings, http, logger or default_logger()).exchange_code(code)
    finally:
        if own:
            http.close()
