"""The client's settings, each declared once (see :mod:`outreach_assets.config.declare`).

Plain data, so the client can be built without Dagster; the Dagster resource's fields are
generated from these declarations (``resources.outreach``).
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar, Final

from outreach_assets.config import rules
from outreach_assets.config.declare import (
    declared,
    from_environment,
    missing_variables,
    setting,
    validate,
)
from outreach_assets.errors import ConfigError

DEFAULT_API_BASE_URL: Final = "https://api.outreach.io/api/v2"
DEFAULT_TOKEN_URL: Final = "https://api.outreach.io/oauth/token"
DEFAULT_AUTHORIZE_URL: Final = "https://api.outreach.io/oauth/authorize"
DEFAULT_USER_AGENT: Final = "outreach-assets/0.1.0 (python-requests)"
MAX_PAGE_SIZE: Final = 1000  # Outreach refuses page[size] above this
MAX_PREFETCH_PAGES: Final = 8  # each page ahead is held in memory (a prospects page is ~7 MB)
# Each slice is one request in flight; requests' connection pool keeps 10 per host.
MAX_CONCURRENT_SLICES: Final = 8


def _float(text: str) -> float:
    return float(text.strip())


def _int(text: str) -> int:
    return int(text.strip())


@dataclass(frozen=True, kw_only=True)
class ClientSettings:
    """Everything the client needs to read Outreach."""

    # Where else a value can come from, for messages (``declare.check``).
    ALSO_SET_BY: ClassVar[str] = "the resource's {name} field"

    client_id: str = setting(
        env="OUTREACH_CLIENT_ID",
        rule=rules.CLEAN_TEXT,
        help="Your Outreach OAuth app's client id.",
    )
    client_secret: str = setting(
        env="OUTREACH_CLIENT_SECRET",
        rule=rules.CLEAN_TEXT,
        secret=True,
        help="Its client secret; give the resource a dg.EnvVar, never a literal.",
    )
    redirect_uri: str = setting(
        env="OUTREACH_REDIRECT_URI",
        rule=rules.HTTP_URL,
        help="The redirect URI registered with the app (sent with token requests).",
    )
    refresh_token: str = setting(
        env="OUTREACH_REFRESH_TOKEN",
        rule=rules.CLEAN_TEXT,
        secret=True,
        help="A refresh token (`outreach-assets auth exchange`); rotated tokens are kept in "
        "the token store.",
    )
    page_size: int = setting(
        env="OUTREACH_PAGE_SIZE",
        default=MAX_PAGE_SIZE,
        parse=_int,
        rule=rules.int_in(1, MAX_PAGE_SIZE),
        help="Records per page (the catalog caps `mailings` and `templates` at 250).",
    )
    quota_limit: float = setting(
        env="OUTREACH_QUOTA_LIMIT",
        default=1.0,
        parse=_float,
        rule=rules.number_in(
            0,
            1,
            "a number greater than 0 and at most 1 (the share of the hourly quota to use)",
            above_low=True,
        ),
        help="Share of the per-user rate-limit window this project may use, 0 < q <= 1; "
        "requests wait for the window to reset beyond it.",
    )
    api_base_url: str = setting(
        env="OUTREACH_API_BASE_URL",
        default=DEFAULT_API_BASE_URL,
        rule=rules.base_url(DEFAULT_API_BASE_URL),
        help="API root; the sandbox and the tests point it at 127.0.0.1.",
    )
    token_url: str = setting(
        env="OUTREACH_TOKEN_URL",
        default=DEFAULT_TOKEN_URL,
        rule=rules.base_url(DEFAULT_TOKEN_URL),
        help="OAuth token endpoint.",
    )
    token_store_path: str | None = setting(
        env="OUTREACH_TOKEN_STORE",
        default=None,
        rule=rules.TOKEN_STORE,
        shown_default="under `$DAGSTER_HOME`, else `~/.outreach_assets`",
        help="The JSON file where processes share tokens, or a PostgreSQL database for "
        'processes on several machines (see "The token store").',
    )
    org: str = setting(
        env="OUTREACH_ORG",
        default="",
        rule=rules.ORG_NAME,
        shown_default="none",
        help="The org these settings are for, set for each org by `OUTREACH_ORGS`: it keys "
        "the org's tokens and quota in a token store that orgs share.",
    )
    request_timeout_s: float = setting(
        env="OUTREACH_REQUEST_TIMEOUT_S",
        default=60.0,
        parse=_float,
        rule=rules.number_in(
            0, 3600, "a number of seconds greater than 0 and at most 3600", above_low=True
        ),
        help="Connect and read timeout of one request, seconds.",
    )
    max_retries: int = setting(
        env="OUTREACH_MAX_RETRIES",
        default=6,
        parse=_int,
        rule=rules.int_in(0, 100),
        help="Retries of a request after 5xx, timeouts, dropped connections or broken bodies "
        "(429 waits do not count).",
    )
    retry_backoff_s: float = setting(
        env="OUTREACH_RETRY_BACKOFF_S",
        default=1.0,
        parse=_float,
        rule=rules.number_in(0, 3600, "a number of seconds from 0 to 3600"),
        help="Base of the exponential backoff with full jitter, seconds.",
    )
    max_backoff_s: float = setting(
        env="OUTREACH_MAX_BACKOFF_S",
        default=60.0,
        parse=_float,
        rule=rules.number_in(
            0, 86400, "a number of seconds greater than 0 and at most 86400", above_low=True
        ),
        help="Longest single backoff, seconds.",
    )
    # Outreach's window is an hour; a little more lets one full window pass plus the margin.
    max_rate_limit_wait_s: float = setting(
        env="OUTREACH_MAX_RATE_LIMIT_WAIT_S",
        default=3900.0,
        parse=_float,
        rule=rules.number_in(0, 7 * 86400, "a number of seconds from 0 to 604800"),
        help="Longest total wait for quota or 429s before one request gives up, seconds.",
    )
    rate_limit_backoff_s: float = setting(
        env="OUTREACH_RATE_LIMIT_BACKOFF_S",
        default=30.0,
        parse=_float,
        rule=rules.number_in(1, 3600, "a number of seconds from 1 to 3600"),
        help="Wait after a 429 that says neither Retry-After nor when the window resets, seconds.",
    )
    min_page_size: int = setting(
        env="OUTREACH_MIN_PAGE_SIZE",
        default=10,
        parse=_int,
        rule=rules.int_in(1, MAX_PAGE_SIZE),
        help="Floor when repeated 502/504 answers for a page halve the page size.",
    )
    user_agent: str = setting(
        env="OUTREACH_USER_AGENT",
        default=DEFAULT_USER_AGENT,
        rule=rules.HEADER_TEXT,
        help="User-Agent header sent to Outreach.",
    )
    # Pages fetched ahead of the one being converted, per scan: the next request's latency
    # overlaps the conversion. 0 fetches only when asked (and so never slices).
    prefetch_pages: int = setting(
        env="OUTREACH_PREFETCH_PAGES",
        default=1,
        parse=_int,
        rule=rules.int_in(
            0,
            MAX_PREFETCH_PAGES,
            f"an integer from 0 (fetch only when asked) to {MAX_PREFETCH_PAGES}",
        ),
        help="Pages each scan fetches ahead while the current one is converted and written "
        "(each is held in memory); 0 fetches inline and never slices.",
    )
    # Upper bound on the disjoint time slices of one scan fetched at once. A scan is sliced
    # only where that costs almost no requests and fetching is the bottleneck (see
    # ``client/slices.py``); 1 never slices.
    max_concurrent_slices: int = setting(
        env="OUTREACH_MAX_CONCURRENT_SLICES",
        default=4,
        parse=_int,
        rule=rules.int_in(
            1,
            MAX_CONCURRENT_SLICES,
            f"an integer from 1 (never slice a scan) to {MAX_CONCURRENT_SLICES}",
        ),
        help="Most time slices of one scan fetched at once. A scan is sliced only when its "
        "first pages predict at least 50 pages per extra slice and fetching is slower than "
        "converting; the run log says how many slices and why.",
    )


CREDENTIALS: Final = ("client_id", "client_secret", "redirect_uri", "refresh_token")
SECRETS: Final = frozenset(n for n, d in declared(ClientSettings).items() if d.setting.secret)


def client_settings_from_env(
    environ: Mapping[str, str], *, for_code_exchange: bool = False
) -> ClientSettings:
    """Validated settings from the environment alone (the CLI's path; no Dagster).

    ``for_code_exchange`` drops the refresh token from the required variables: trading an
    authorization code for the first refresh token is what it is needed for.
    """
    required = [n for n in CREDENTIALS if not (for_code_exchange and n == "refresh_token")]
    missing = missing_variables(ClientSettings, environ, required)
    if missing:
        raise ConfigError(
            f"missing environment variable(s): {', '.join(missing)}; export them with your "
            "Outreach app's credentials (Dagster commands also read a .env file in the "
            "working directory)"
        )
    values = from_environment(ClientSettings, environ)
    values.setdefault("refresh_token", "")
    settings = ClientSettings(**values)
    return validate(settings, skip=("refresh_token",) if for_code_exchange else ())


def knobs_from_env(environ: Mapping[str, str]) -> dict[str, object]:
    """The optional (non-credential) settings set in the environment, parsed and checked."""
    names = [n for n in declared(ClientSettings) if n not in CREDENTIALS]
    return from_environment(ClientSettings, environ, names=names)
