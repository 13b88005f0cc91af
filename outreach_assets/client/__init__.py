"""HTTP client for the Outreach REST API v2: no Dagster and no converters in here.

Modules: ``http`` (``OutreachClient``: one scan, page by page), ``scan`` (a scan's state,
progress lines and stop), ``pagesize`` (the page size after 502/504s), ``bodies`` (reading
and validating bodies, error summaries),
``page`` (what a scan yields, and the protocols a caller's page form implements),
``pagination`` (URLs, and the guard against pages that go round in a circle),
``oauth`` (token endpoint, authorize URL, code exchange),
``token_store`` (tokens shared between processes, in a file), ``pg_token_store`` (in
PostgreSQL), ``stores`` (which one a setting names), ``tokens`` (the lazy token manager),
``quota`` (rate-limit headers and the limiter), ``quota_ledger`` and ``pg_quota_ledger``
(the limiter's view shared by processes, in a file or in PostgreSQL), ``retry``
(backoff), ``prefetch`` (pages fetched ahead in threads), ``slices`` (long scans split
into concurrent time slices), ``log`` (the logger interface and redaction). Settings live
in ``outreach_assets.config``, errors in ``outreach_assets.errors``.
"""

from outreach_assets.client.http import OutreachClient
from outreach_assets.client.log import LoggerLike
from outreach_assets.client.oauth import TokenResponse, authorize_url, exchange_code
from outreach_assets.client.page import DecodedPage, Page, PageDecoder, PageRows
from outreach_assets.client.quota import RateLimitInfo, parse_rate_limit_headers
from outreach_assets.client.scan import ClientStats
from outreach_assets.client.stores import open_token_store
from outreach_assets.client.token_store import (
    FileTokenStore,
    StoredToken,
    TokenStore,
    default_store_path,
)

__all__ = [
    "ClientStats",
    "DecodedPage",
    "FileTokenStore",
    "LoggerLike",
    "OutreachClient",
    "Page",
    "PageDecoder",
    "PageRows",
    "RateLimitInfo",
    "StoredToken",
    "TokenResponse",
    "TokenStore",
    "authorize_url",
    "default_store_path",
    "exchange_code",
    "open_token_store",
    "parse_rate_limit_headers",
]
