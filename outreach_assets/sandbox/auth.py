"""OAuth token endpoint and bearer-token checks, as Outreach behaves.

Authorization-code and refresh-token grants, short-lived bearer access tokens and scopes,
as https://developers.outreach.io/api/oauth/ describes them; throttled mints, rotation and
forced expiry are switches, so the client's handling of each can be tested.

Secrets are only ever compared: client secrets with `hmac.compare_digest`, tokens by their
SHA-256 digest (the dict key), so no token text is kept, logged or put in an error.
"""

import hashlib
import hmac
import json
import secrets
import threading
from dataclasses import dataclass

from outreach_assets.sandbox.config import SandboxConfig

# The sandbox serves one Outreach user; rate budgets and token throttles are keyed by user
# so a second one would only need a second lineage of refresh tokens.
USER = "sandbox-user"

_INVALID_GRANT = (
    "The provided authorization grant is invalid, expired, revoked, does not match the "
    "redirection URI used in the authorization request, or was issued to another client."
)


@dataclass(frozen=True)
class TokenResponse:
    status: int
    body: bytes
    content_type: str = "application/json; charset=utf-8"

    @property
    def minted(self) -> bool:
        return self.status == 200


@dataclass
class _AccessToken:
    user: str
    expires_at: float
    revoked: bool = False


@dataclass(frozen=True)
class AuthResult:
    """Who a bearer token belongs to, or the JSON:API error id explaining why nobody."""

    user: str | None
    error_id: str = ""


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


def _oauth_error(
    status: int, error: str, description: str, cfg: SandboxConfig | None = None
) -> TokenResponse:
    """A refusal in the form ``cfg.token_error_form`` names: OAuth's (RFC 6749 section 5.2,
    https://datatracker.ietf.org/doc/html/rfc6749#section-5.2), or the JSON:API error
    object the API uses, always 401 and with a camelCase id, as some Outreach gateways
    answer; the client must read both alike."""
    if cfg is not None and cfg.token_error_form == "jsonapi":
        words = error.split("_")
        error_id = words[0] + "".join(w.capitalize() for w in words[1:])
        title = " ".join(words).capitalize() + "."
        errors = [{"id": error_id, "title": title, "detail": description}]
        return TokenResponse(401, json.dumps({"errors": errors}).encode())
    body = json.dumps({"error": error, "error_description": description}).encode()
    return TokenResponse(status, body)


class TokenStore:
    """Refresh-token lineages, minted access tokens, the mint throttle and forced expiry."""

    def __init__(self, initial_refresh_token: str, all_scopes: list[str]) -> None:
        self._lock = threading.Lock()
        self._all_scopes = all_scopes
        self._refresh: dict[bytes, str] = {_digest(initial_refresh_token): USER}
        self._newest_refresh = {USER: initial_refresh_token}
        self._access: dict[bytes, _AccessToken] = {}
        self._last_mint: dict[str, float] = {}
        self._expire_countdown: int | None = None
        self._lose_mints = 0

    def current_refresh_token(self, user: str = USER) -> str:
        with self._lock:
            return self._newest_refresh[user]

    # --- /oauth/token ---------------------------------------------------------------------

    def grant(self, cfg: SandboxConfig, params: dict[str, str], now: float) -> TokenResponse:
        """Answer one token request; validation comes before the throttle, so a refused
        request never spends the caller's once-per-period mint."""
        client_ok = _same(params.get("client_id", ""), cfg.client_id) & _same(
            params.get("client_secret", ""), cfg.client_secret
        )
        if not client_ok:
            return _oauth_error(401, "invalid_client", "Client authentication failed.", cfg)
        grant_type = params.get("grant_type")
        with self._lock:
            if grant_type == "authorization_code":
                user, presented = self._check_code(cfg, params), None
            elif grant_type == "refresh_token":
                presented = params.get("refresh_token", "")
                user = self._refresh.get(_digest(presented))
            elif grant_type is None:
                return _oauth_error(400, "invalid_request", "grant_type is required.")
            else:
                return _oauth_error(400, "unsupported_grant_type", "Unsupported grant_type.")
            if user is None:
                return _oauth_error(400, "invalid_grant", _INVALID_GRANT, cfg)
            last = self._last_mint.get(user)
            if cfg.token_throttle_s > 0 and last is not None and now - last < cfg.token_throttle_s:
                return TokenResponse(429, b"Retry later\n", "text/plain; charset=utf-8")
            return self._mint(cfg, user, presented, now)

    def _check_code(self, cfg: SandboxConfig, params: dict[str, str]) -> str | None:
        code_ok = _same(params.get("code", ""), cfg.auth_code)
        redirect_ok = _same(params.get("redirect_uri", ""), cfg.redirect_uri)
        return USER if code_ok and redirect_ok else None

    def _mint(
        self, cfg: SandboxConfig, user: str, presented: str | None, now: float
    ) -> TokenResponse:
        access = "sbx-at-" + secrets.token_urlsafe(24)
        self._access[_digest(access)] = _AccessToken(user, now + cfg.access_token_ttl_s)
        if cfg.rotate_refresh_tokens:
            refresh = "sbx-rt-" + secrets.token_urlsafe(24)
            if presented is not None:
                del self._refresh[_digest(presented)]
            self._refresh[_digest(refresh)] = user
            self._newest_refresh[user] = refresh
        else:
            refresh = presented if presented is not None else self._newest_refresh[user]
        self._last_mint[user] = now
        scopes = cfg.scopes if cfg.scopes is not None else self._all_scopes
        body = {
            "access_token": access,
            "token_type": "bearer",
            "expires_in": int(cfg.access_token_ttl_s),
            "refresh_token": refresh,
            "scope": " ".join(scopes),
            "created_at": int(now),
        }
        return TokenResponse(200, json.dumps(body).encode())

    def lose_next_mints(self, n: int) -> None:
        with self._lock:
            self._lose_mints = max(0, n)

    def mint_lost(self) -> bool:
        """Whether this mint's answer is to be lost (counts one of ``lose_next_mints``)."""
        with self._lock:
            lost, self._lose_mints = self._lose_mints > 0, max(0, self._lose_mints - 1)
            return lost

    # --- bearer tokens on API requests ------------------------------------------------------

    def authenticate(self, authorization: str | None, now: float) -> AuthResult:
        with self._lock:
            self._count_down()
            scheme, _, token = (authorization or "").partition(" ")
            if scheme.lower() != "bearer" or not token:
                return AuthResult(None, "unauthorized")
            found = self._access.get(_digest(token.strip()))
            if found is None:
                return AuthResult(None, "unauthorized")
            if found.revoked or now >= found.expires_at:
                return AuthResult(None, "expiredAccessToken")
            return AuthResult(found.user)

    def _count_down(self) -> None:
        if self._expire_countdown is None:
            return
        if self._expire_countdown == 0:
            self._expire_countdown = None
            self._revoke_all()
        else:
            self._expire_countdown -= 1

    def expire_all(self) -> None:
        with self._lock:
            self._revoke_all()

    def _revoke_all(self) -> None:
        for token in self._access.values():
            token.revoked = True

    def expire_after(self, requests: int) -> None:
        """The next ``requests`` API requests pass; tokens issued by then expire after."""
        with self._lock:
            self._expire_countdown = max(0, requests)
