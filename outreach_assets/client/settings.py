"""Client settings, their environment variables and the one function that validates them.

The environment variable names live here and nowhere else, so the resource, the CLI, the
sandbox demo and the error messages all agree. Validation is a table of per-field rules:
the Dagster resource checks each field as it is set (bad literals fail when the definitions
load) and :func:`validate_settings` checks the whole set again once ``EnvVar`` values have
been resolved at launch. Messages name the field, its environment variable and what is
allowed, and never echo a secret.
"""

import math
import os
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field, fields
from typing import Any
from urllib.parse import urlsplit

from outreach_assets.client.errors import OutreachConfigError

ENV_CLIENT_ID = "OUTREACH_CLIENT_ID"
ENV_CLIENT_SECRET = "OUTREACH_CLIENT_SECRET"
ENV_REDIRECT_URI = "OUTREACH_REDIRECT_URI"
ENV_REFRESH_TOKEN = "OUTREACH_REFRESH_TOKEN"
ENV_START_DATE = "OUTREACH_START_DATE"
ENV_PAGE_SIZE = "OUTREACH_PAGE_SIZE"
ENV_QUOTA_LIMIT = "OUTREACH_QUOTA_LIMIT"
ENV_API_BASE_URL = "OUTREACH_API_BASE_URL"
ENV_TOKEN_URL = "OUTREACH_TOKEN_URL"
ENV_TOKEN_STORE = "OUTREACH_TOKEN_STORE"
ENV_REQUEST_TIMEOUT_S = "OUTREACH_REQUEST_TIMEOUT_S"
ENV_MAX_RETRIES = "OUTREACH_MAX_RETRIES"
ENV_RETRY_BACKOFF_S = "OUTREACH_RETRY_BACKOFF_S"
ENV_MAX_BACKOFF_S = "OUTREACH_MAX_BACKOFF_S"
ENV_MAX_RATE_LIMIT_WAIT_S = "OUTREACH_MAX_RATE_LIMIT_WAIT_S"
ENV_RATE_LIMIT_BACKOFF_S = "OUTREACH_RATE_LIMIT_BACKOFF_S"
ENV_MIN_PAGE_SIZE = "OUTREACH_MIN_PAGE_SIZE"
ENV_USER_AGENT = "OUTREACH_USER_AGENT"
ENV_PREFETCH_PAGES = "OUTREACH_PREFETCH_PAGES"
ENV_MAX_CONCURRENT_SLICES = "OUTREACH_MAX_CONCURRENT_SLICES"

DEFAULT_API_BASE_URL = "https://api.outreach.io/api/v2"
DEFAULT_TOKEN_URL = "https://api.outreach.io/oauth/token"
DEFAULT_AUTHORIZE_URL = "https://api.outreach.io/oauth/authorize"
DEFAULT_USER_AGENT = "outreach-assets/0.1.0 (python-requests)"
MAX_PAGE_SIZE = 1000  # Outreach refuses page[size] above this
MAX_PREFETCH_PAGES = 8  # each page ahead is held in memory (a prospects page is ~7 MB of JSON)
# Each slice is one request in flight; requests' connection pool keeps 10 per host.
MAX_CONCURRENT_SLICES = 8

# Field name -> environment variable, for every setting.
FIELD_ENV_VARS: dict[str, str] = {
    "client_id": ENV_CLIENT_ID,
    "client_secret": ENV_CLIENT_SECRET,
    "redirect_uri": ENV_REDIRECT_URI,
    "refresh_token": ENV_REFRESH_TOKEN,
    "page_size": ENV_PAGE_SIZE,
    "quota_limit": ENV_QUOTA_LIMIT,
    "api_base_url": ENV_API_BASE_URL,
    "token_url": ENV_TOKEN_URL,
    "request_timeout_s": ENV_REQUEST_TIMEOUT_S,
    "max_retries": ENV_MAX_RETRIES,
    "retry_backoff_s": ENV_RETRY_BACKOFF_S,
    "max_backoff_s": ENV_MAX_BACKOFF_S,
    "max_rate_limit_wait_s": ENV_MAX_RATE_LIMIT_WAIT_S,
    "rate_limit_backoff_s": ENV_RATE_LIMIT_BACKOFF_S,
    "min_page_size": ENV_MIN_PAGE_SIZE,
    "user_agent": ENV_USER_AGENT,
    "token_store_path": ENV_TOKEN_STORE,
    "prefetch_pages": ENV_PREFETCH_PAGES,
    "max_concurrent_slices": ENV_MAX_CONCURRENT_SLICES,
}
REQUIRED_FIELDS = ("client_id", "client_secret", "redirect_uri", "refresh_token")
SECRET_FIELDS = frozenset({"client_secret", "refresh_token"})


@dataclass(frozen=True, kw_only=True)
class ClientSettings:
    """Everything the client needs; plain data so it can be built without Dagster."""

    client_id: str
    client_secret: str = field(repr=False)
    redirect_uri: str
    refresh_token: str = field(repr=False)
    page_size: int = MAX_PAGE_SIZE
    quota_limit: float = 1.0
    api_base_url: str = DEFAULT_API_BASE_URL
    token_url: str = DEFAULT_TOKEN_URL
    request_timeout_s: float = 60.0
    max_retries: int = 6
    retry_backoff_s: float = 1.0
    max_backoff_s: float = 60.0
    # Outreach's window is an hour; a little more lets one full window pass plus the margin.
    max_rate_limit_wait_s: float = 3900.0
    # Wait after a 429 that says neither Retry-After nor when the window resets.
    rate_limit_backoff_s: float = 30.0
    min_page_size: int = 10
    user_agent: str = DEFAULT_USER_AGENT
    token_store_path: str | None = None
    # Pages fetched ahead of the one being converted, per scan: the next request's latency
    # overlaps the conversion. 0 fetches only when asked (and so never slices).
    prefetch_pages: int = 1
    # Upper bound on the disjoint time slices of one scan fetched at once. A scan is sliced
    # only where that costs almost no requests and fetching is the bottleneck (see
    # ``client/slices.py``); 1 never slices.
    max_concurrent_slices: int = 4


# --- per-field rules -----------------------------------------------------------------------


def _int_in(low: int, high: int) -> Callable[[object], bool]:
    def check(value: object) -> bool:
        return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high

    return check


def _number_in(low: float, high: float, *, above_low: bool = False) -> Callable[[object], bool]:
    """A finite int or float in ``[low, high]`` (or ``(low, high]`` with ``above_low``)."""

    def check(value: object) -> bool:
        if not isinstance(value, int | float) or isinstance(value, bool):
            return False
        number = float(value)
        if not math.isfinite(number) or number > high:
            return False
        return number > low if above_low else number >= low

    return check


def _is_text(value: object) -> bool:
    return isinstance(value, str) and value.strip() != ""


def _is_clean_text(value: object) -> bool:
    """Non-empty and no surrounding whitespace: a pasted token with a trailing newline is the
    usual cause of a baffling ``invalid_grant``."""
    return _is_text(value) and isinstance(value, str) and value == value.strip()


def _is_header_text(value: object) -> bool:
    return _is_text(value) and isinstance(value, str) and all(c >= " " for c in value)


def _is_http_url(value: object) -> bool:
    if not _is_clean_text(value) or not isinstance(value, str):
        return False
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def _is_base_url(value: object) -> bool:
    if not _is_http_url(value) or not isinstance(value, str):
        return False
    parts = urlsplit(value)
    return not parts.query and not parts.fragment


def _is_optional_text(value: object) -> bool:
    return value is None or _is_clean_text(value)


Rule = tuple[Callable[[object], bool], str]

_URL_ALLOWED = "an absolute http(s) URL without query or fragment, like "

_RULES: dict[str, Rule] = {
    "client_id": (_is_clean_text, "a non-empty string without surrounding whitespace"),
    "client_secret": (_is_clean_text, "a non-empty string without surrounding whitespace"),
    "redirect_uri": (_is_http_url, "an absolute http(s) URL registered with your Outreach app"),
    "refresh_token": (_is_clean_text, "a non-empty string without surrounding whitespace"),
    "page_size": (_int_in(1, MAX_PAGE_SIZE), "an integer from 1 to 1000"),
    "quota_limit": (
        _number_in(0, 1, above_low=True),
        "a number greater than 0 and at most 1 (the share of the hourly quota to use)",
    ),
    "api_base_url": (_is_base_url, _URL_ALLOWED + DEFAULT_API_BASE_URL),
    "token_url": (_is_base_url, _URL_ALLOWED + DEFAULT_TOKEN_URL),
    "request_timeout_s": (
        _number_in(0, 3600, above_low=True),
        "a number of seconds greater than 0 and at most 3600",
    ),
    "max_retries": (_int_in(0, 100), "an integer from 0 to 100"),
    "retry_backoff_s": (_number_in(0, 3600), "a number of seconds from 0 to 3600"),
    "max_backoff_s": (
        _number_in(0, 86400, above_low=True),
        "a number of seconds greater than 0 and at most 86400",
    ),
    "max_rate_limit_wait_s": (_number_in(0, 7 * 86400), "a number of seconds from 0 to 604800"),
    "rate_limit_backoff_s": (_number_in(1, 3600), "a number of seconds from 1 to 3600"),
    "min_page_size": (_int_in(1, MAX_PAGE_SIZE), "an integer from 1 to 1000"),
    "user_agent": (_is_header_text, "a non-empty string without control characters"),
    "token_store_path": (_is_optional_text, "unset or a file path"),
    "prefetch_pages": (
        _int_in(0, MAX_PREFETCH_PAGES),
        f"an integer from 0 (fetch only when asked) to {MAX_PREFETCH_PAGES}",
    ),
    "max_concurrent_slices": (
        _int_in(1, MAX_CONCURRENT_SLICES),
        f"an integer from 1 (never slice a scan) to {MAX_CONCURRENT_SLICES}",
    ),
}


def _shown(name: str, value: object) -> str:
    """How a rejected value appears in a message: secrets are described, never shown."""
    if name in SECRET_FIELDS:
        if isinstance(value, str):
            return "an empty value" if not value.strip() else "a value with surrounding whitespace"
        return f"a {type(value).__name__}"
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def check_field(name: str, value: object) -> None:
    """Raise :class:`OutreachConfigError` if ``value`` is not allowed for setting ``name``."""
    check, allowed = _RULES[name]
    if not check(value):
        env = FIELD_ENV_VARS[name]
        raise OutreachConfigError(
            f"{name} must be {allowed} (got {_shown(name, value)}); "
            f"set {env} or the resource's {name} field"
        )


def validate_settings(settings: ClientSettings, *, skip: Collection[str] = ()) -> ClientSettings:
    """Check every setting (except those in ``skip``); return the settings for chaining."""
    for f in fields(settings):
        if f.name not in skip:
            check_field(f.name, getattr(settings, f.name))
    return settings


# --- environment ---------------------------------------------------------------------------

_INT_FIELDS = frozenset(
    {"page_size", "max_retries", "min_page_size", "prefetch_pages", "max_concurrent_slices"}
)
_FLOAT_FIELDS = frozenset(
    {"quota_limit", "request_timeout_s", "retry_backoff_s", "max_backoff_s"}
    | {"max_rate_limit_wait_s", "rate_limit_backoff_s"}
)


def _parse_env(name: str, raw: str) -> object:
    env = FIELD_ENV_VARS[name]
    try:
        if name in _INT_FIELDS:
            return int(raw.strip())
        if name in _FLOAT_FIELDS:
            return float(raw.strip())
    except ValueError:
        _, allowed = _RULES[name]
        raise OutreachConfigError(
            f"{name} must be {allowed} (got {raw!r} from {env}); fix {env}"
        ) from None
    if name == "token_store_path":
        return raw.strip() or None
    return raw


def knobs_from_env(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The optional (non-secret) settings that are set in the environment, parsed and checked.

    Unset variables are left out, so the dataclass or resource defaults apply.
    """
    env = os.environ if environ is None else environ
    out: dict[str, Any] = {}
    for name, var in FIELD_ENV_VARS.items():
        if name in REQUIRED_FIELDS or var not in env:
            continue
        value = _parse_env(name, env[var])
        check_field(name, value)
        out[name] = value
    return out


def settings_from_env(
    environ: Mapping[str, str] | None = None, *, for_code_exchange: bool = False
) -> ClientSettings:
    """Build validated settings from the environment alone (the CLI's path; no Dagster).

    ``for_code_exchange`` drops the refresh token from the required variables: trading an
    authorization code for the first refresh token is what it is needed for.
    """
    env = os.environ if environ is None else environ
    required = [n for n in REQUIRED_FIELDS if not (for_code_exchange and n == "refresh_token")]
    missing = [FIELD_ENV_VARS[n] for n in required if not env.get(FIELD_ENV_VARS[n])]
    if missing:
        raise OutreachConfigError(
            f"missing environment variable(s): {', '.join(missing)}; export them with your "
            "Outreach app's credentials (Dagster commands also read a .env file in the "
            "working directory)"
        )
    settings = ClientSettings(
        client_id=env[ENV_CLIENT_ID],
        client_secret=env[ENV_CLIENT_SECRET],
        redirect_uri=env[ENV_REDIRECT_URI],
        refresh_token=env.get(ENV_REFRESH_TOKEN, ""),
        **knobs_from_env(env),
    )
    skip = ("refresh_token",) if for_code_exchange else ()
    return validate_settings(settings, skip=skip)
