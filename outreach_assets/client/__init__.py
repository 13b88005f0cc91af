"""HTTP client for the Outreach REST API v2 (no Dagster in here; see ``resource.py``).

Modules: ``settings`` (settings, env var names, validation), ``errors``, ``oauth`` (token
endpoint, authorize URL, code exchange), ``token_store`` (tokens shared between processes),
``tokens`` (the lazy token manager), ``quota`` (rate-limit headers and the limiter),
``retry`` (backoff), ``pagination`` (URLs), ``http`` (``OutreachClient``).
"""

from outreach_assets.client.errors import (
    OutreachAPIError,
    OutreachAuthError,
    OutreachConfigError,
    OutreachError,
    OutreachRateLimitError,
    ScanCancelled,
)
from outreach_assets.client.http import ClientStats, OutreachClient, Page
from outreach_assets.client.log import LoggerLike
from outreach_assets.client.oauth import TokenResponse, authorize_url, exchange_code
from outreach_assets.client.pagination import format_cursor_time
from outreach_assets.client.quota import RateLimitInfo, parse_rate_limit_headers
from outreach_assets.client.settings import (
    ClientSettings,
    settings_from_env,
    validate_settings,
)
from outreach_assets.client.token_store import (
    FileTokenStore,
    StoredToken,
    TokenStore,
    default_store_path,
)

__all__ = [
    "ClientSettings",
    "ClientStats",
    "FileTokenStore",
    "LoggerLike",
    "OutreachAPIError",
    "OutreachAuthError",
    "OutreachClient",
    "OutreachConfigError",
    "OutreachError",
    "OutreachRateLimitError",
    "Page",
    "RateLimitInfo",
    "ScanCancelled",
    "StoredToken",
    "TokenResponse",
    "TokenStore",
    "authorize_url",
    "default_store_path",
    "exchange_code",
    "format_cursor_time",
    "parse_rate_limit_headers",
    "settings_from_env",
    "validate_settings",
]
