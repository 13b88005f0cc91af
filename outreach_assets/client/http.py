"""``OutreachClient``: authenticated, quota-aware, retrying reads of Outreach list endpoints.

Each request goes: wait for quota -> get an access token -> GET -> read the quota headers ->
decide. 200 with a JSON:API body is a page; 401 refreshes the token once and retries; 429
waits (Retry-After, else the window reset, else ``rate_limit_backoff_s``) without using up
the retry budget; 5xx, timeouts, dropped connections and cut-short bodies are retried with
exponential backoff and full jitter, up to ``max_retries`` (a 502/504 that repeats for a
page halves the page size: ``pagesize``); a whole 200 body that is no JSON:API page, and any
other status, fail at once. ``iter_pages`` is a generator: one page at a time in memory.

A caller that turns pages into something else (Arrow batches) can hand ``iter_pages`` a
:class:`PageDecoder`: it reads each 200 body straight from its bytes, so a wide page never
becomes a list of dicts. A body it refuses goes through ``json.loads`` and the decoder's own
conversion of the parsed records, so every body is still validated (cut short is retried)
and ``links.next`` is followed with the same checks either way.
"""

import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime
from types import TracebackType
from typing import Any, Final, overload

import requests

from outreach_assets.catalog import Stream
from outreach_assets.client.bodies import (
    Body,
    accept,
    error_summary,
    fill_page,
    read_body,
    refusal,
    refused_twice,
    wrong_content,
)
from outreach_assets.client.log import LoggerLike, default_logger
from outreach_assets.client.oauth import TokenEndpoint
from outreach_assets.client.page import Page, PageDecoder, R
from outreach_assets.client.pagesize import SHRINK_STATUSES, PageSizer
from outreach_assets.client.pagination import (
    CycleGuard,
    first_page_url,
    page_size_of,
    url_path,
    with_page_size,
)
from outreach_assets.client.quota import (
    QuotaLimiter,
    RateLimitInfo,
    delay_after_429,
    parse_rate_limit_headers,
)
from outreach_assets.client.retry import TRANSPORT_ERRORS, backoff_delay, describe_transport_error
from outreach_assets.client.scan import ClientStats, Scan
from outreach_assets.client.stores import open_quota_ledger, open_token_store
from outreach_assets.client.token_store import TokenStore
from outreach_assets.client.tokens import TokenManager
from outreach_assets.config import ClientSettings, validate
from outreach_assets.config.client import MAX_PAGE_SIZE
from outreach_assets.config.declare import check
from outreach_assets.errors import RateLimitError, RetriableAPIError

JSON_API: Final = "application/vnd.api+json"


class OutreachClient:
    """Reads Outreach list endpoints. Thread-safe: scans may run in parallel threads."""

    def __init__(
        self,
        settings: ClientSettings,
        logger: LoggerLike | None = None,
        *,
        token_store: TokenStore | None = None,
        session: requests.Session | None = None,
    ) -> None:
        self.settings = validate(settings)
        self._log = logger or default_logger()
        self._own_session = session is None
        self._session = session or requests.Session()
        store = token_store or open_token_store(
            settings.token_store_path, settings.token_url, settings.client_id, settings.org
        )
        endpoint = TokenEndpoint(settings, self._session, self._log, store.location)
        self._tokens = TokenManager(settings, endpoint, store, self._log, self._count_mint)
        self._limiter = QuotaLimiter(
            settings.quota_limit,
            settings.rate_limit_backoff_s,
            ledger=open_quota_ledger(store, settings),
            lease_s=2 * settings.request_timeout_s + 60,  # a request's connect and read
        )
        self._stats = ClientStats()
        self._stats_lock = threading.Lock()

    # --- lifecycle and counters ----------------------------------------------------------

    @property
    def stats(self) -> ClientStats:
        """A snapshot of the counters."""
        with self._stats_lock:
            return replace(self._stats)

    @property
    def logger(self) -> LoggerLike:
        """Where the client logs; helpers of a scan log there too, so one run log has it all."""
        return self._log

    @property
    def token_store_location(self) -> str:
        return self._tokens.store_location

    def mint_access_token(self) -> None:
        """Ask the token endpoint for a new access token even if a valid one is cached, to
        prove the credentials; see :meth:`TokenManager.mint_now`."""
        self._tokens.mint_now()

    def close(self) -> None:
        self._limiter.close()
        if self._own_session:
            self._session.close()

    def __enter__(self) -> "OutreachClient":
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"OutreachClient(api_base_url={self.settings.api_base_url!r})"

    def _count_mint(self) -> None:
        with self._stats_lock:
            self._stats.token_refreshes += 1

    def _count(self, scan: Scan, *, sent: int = 0, waited_s: float | None = None) -> None:
        with self._stats_lock:
            self._stats.requests += sent
            scan.requests += sent
            if waited_s is not None:
                self._stats.rate_limit_waits += 1
                self._stats.waited_s += waited_s
                scan.waits += 1
                scan.waited_s += waited_s

    # --- pagination ----------------------------------------------------------------------

    @overload
    def iter_pages(
        self,
        stream: Stream,
        start: datetime | None = None,
        end: datetime | None = None,
        *,
        page_size: int | None = None,
        decoder: None = None,
        cancel: threading.Event | None = None,
        ids_only: bool = False,
    ) -> Iterator[Page[Any]]: ...

    @overload
    def iter_pages(
        self,
        stream: Stream,
        start: datetime | None = None,
        end: datetime | None = None,
        *,
        page_size: int | None = None,
        decoder: PageDecoder[R],
        cancel: threading.Event | None = None,
    ) -> Iterator[Page[R]]: ...

    def iter_pages(
        self,
        stream: Stream,
        start: datetime | None = None,
        end: datetime | None = None,
        *,
        page_size: int | None = None,
        decoder: PageDecoder[R] | None = None,
        cancel: threading.Event | None = None,
        ids_only: bool = False,
    ) -> Iterator[Page[R]] | Iterator[Page[Any]]:
        """Every page of ``stream`` (records with ``start <= cursor <= end`` if incremental).

        ``ids_only`` asks for every record's id and cursor alone, sorted by id (see
        :func:`~outreach_assets.client.pagination.first_page_url`): an id sweep.

        Follows ``links.next`` until there is none. Records updated during the scan may show
        up twice (keyset pagination); callers dedupe on ``id``. With a ``decoder``, every
        page carries its value in ``Page.decoded`` (see :class:`PageDecoder`).

        Setting ``cancel`` (from any thread) stops the scan: a wait for quota, after a 429 or
        before a retry ends at once, no further request is sent, and the generator raises
        :class:`ScanCancelled`. A request already on the wire is not cut short: it ends
        within ``request_timeout_s`` (per connect and per read), like any other.
        """
        if page_size is not None:
            check(ClientSettings, "page_size", page_size)
        size = min(page_size or self.settings.page_size, stream.max_page_size, MAX_PAGE_SIZE)
        scan = Scan(
            stream.name,
            size,
            min(self.settings.min_page_size, size),
            self._log,
            scope=stream.scope,
            cancel=cancel if cancel is not None else threading.Event(),
        )
        sizer = PageSizer(scan, size)
        guard = CycleGuard(stream, self.settings.api_base_url, ids_only=ids_only)
        url: str | None = first_page_url(guard.base, stream, size, start, end, ids_only=ids_only)
        while url is not None:
            if page_size_of(url) not in (None, scan.page_size):
                url = with_page_size(url, scan.page_size)  # links.next has the last page's
            started = time.monotonic()
            body, url = self._fetch(url, scan, decoder, sizer)
            converting = time.monotonic()
            head: Page[R] = Page([], scan.pages + 1, url_path(url), scan.page_size, 0.0)
            page = fill_page(body, decoder, head)
            done = time.monotonic()
            page = replace(
                page, elapsed_s=done - started, decode_s=body.decode_s + done - converting
            )
            scan.pages += 1
            scan.records += page.count
            with self._stats_lock:
                self._stats.pages += 1
                self._stats.records += page.count
            url = guard.follow(page, body.next_link, url, scan.pages)  # before it is handed over
            sizer.page_served(more=url is not None)
            yield page
            scan.report()
        scan.report(final=True)

    def get_collection(self, path: str) -> list[dict[str, Any]]:
        """The ``data`` of one GET of ``path``, an unpaged collection such as ``types``: one
        request, with the same token, quota, retries and errors as a page."""
        scan = Scan(path, page_size=0, min_page_size=0, log=self._log)
        url = f"{self.settings.api_base_url.rstrip('/')}/{path}"
        body, _ = self._fetch(url, scan, None, PageSizer(scan, 0))
        return body.records or []

    # --- one request, with everything that can go wrong ----------------------------------

    def _fetch(
        self, url: str, scan: Scan, decoder: PageDecoder[Any] | None, sizer: PageSizer
    ) -> tuple[Body, str]:
        """GET one page; returns the validated body and the URL finally used."""
        failures = 0
        waited = 0.0
        refused = False  # the previous response was a 401
        while True:
            if scan.cancel.is_set():
                raise scan.stopped(f"before GET {url_path(url)}")
            waited += self._wait_for_quota(scan, url, waited)
            token, result = self._attempt(scan, url)
            if isinstance(result, str):
                failures = self._retry(scan, url, failures, result)
                refused = False
                continue
            resp, content = result
            status = resp.status_code
            if status == 401:
                if refused:
                    raise refused_twice(scan.stream, url_path(url))
                refused = True
                self._tokens.refuse(token)
                self._log.info(
                    f"{scan.stream}: HTTP 401 on GET {url_path(url)}; "
                    "refreshing the access token and retrying"
                )
                continue
            refused = False
            if status == 200:
                decoding = time.monotonic()
                body = accept(content, decoder, resp.headers)
                if isinstance(body, Body):
                    return replace(body, decode_s=time.monotonic() - decoding), url
                if not body.cut_short:
                    raise wrong_content(body, content, scan, url_path(url), self._secrets(token))
                failures = self._retry(scan, url, failures, body.why)
            elif status == 429:
                reason = f"HTTP 429 {self._error_summary(resp, token)}"
                waited += self._wait_after_429(resp, scan, url, waited=waited, reason=reason)
            elif status >= 500:
                if status in SHRINK_STATUSES:
                    url = self._shrink(url, sizer, status)
                failure = f"HTTP {status} {self._error_summary(resp, token)}"
                failures = self._retry(scan, url, failures, failure)
            else:
                secrets = self._secrets(token)
                raise refusal(status, resp.content, scan, url_path(url), secrets)

    def _attempt(self, scan: Scan, url: str) -> tuple[str, tuple[requests.Response, bytes] | str]:
        """One GET in a reserved quota slot: the token used and the response with its whole
        body, or a description of the transport failure. The slot is released whatever
        happens."""
        info: RateLimitInfo | None = None
        try:
            token = self._tokens.access_token()
            self._count(scan, sent=1)
            try:
                resp = self._session.get(
                    url,
                    headers=self._headers(token),
                    timeout=self.settings.request_timeout_s,
                    stream=True,
                )
                content = read_body(resp)
            except TRANSPORT_ERRORS as exc:
                return token, describe_transport_error(exc)
            if resp.status_code != 429:  # a 429's own wait replaces what its headers say
                info = parse_rate_limit_headers(resp.headers, time.time())
            return token, (resp, content)
        finally:
            self._limiter.release(info)

    def _headers(self, token: str) -> dict[str, str]:
        return {
            "Authorization": f"Bearer {token}",
            "Accept": JSON_API,
            "Content-Type": JSON_API,
            "User-Agent": self.settings.user_agent,
        }

    def _retry(self, scan: Scan, url: str, failures: int, failure: str) -> int:
        """Back off before the next attempt, or raise once ``max_retries`` is used up."""
        failures += 1
        s = self.settings
        if failures > s.max_retries:
            raise RetriableAPIError(
                f"Outreach request for stream {scan.stream!r} failed after {failures} attempts "
                f"(GET {url_path(url)}, page {scan.pages + 1}); last failure: {failure}",
                stream=scan.stream,
                url_path=url_path(url),
                attempts=failures,
            )
        delay = backoff_delay(failures, s.retry_backoff_s, s.max_backoff_s)
        self._log.warning(
            f"{scan.stream}: GET {url_path(url)} failed ({failure}); "
            f"retry {failures} of {s.max_retries} in {delay:.1f} s"
        )
        with self._stats_lock:
            self._stats.retries += 1
        scan.pause(delay, "a retry backoff")
        return failures

    def _shrink(self, url: str, sizer: PageSizer, status: int) -> str:
        """Count a 502/504 for this page; ``url`` with a halved size if it repeated."""
        if page_size_of(url) is None or not sizer.gateway_failure(status):
            return url  # one document, not a page, or a first 502/504 that may be random
        with self._stats_lock:
            self._stats.page_size_reductions += 1
        return with_page_size(url, sizer.scan.page_size)

    # --- waiting ---------------------------------------------------------------------------

    def _wait_for_quota(self, scan: Scan, url: str, waited: float) -> float:
        """Block until the limiter reserves a request; returns the seconds waited."""
        total = 0.0
        while (wait := self._limiter.try_acquire()) is not None:
            self._check_wait_budget(scan, url, waited + total + wait.seconds, wait.reason)
            self._log.info(f"{scan.stream}: {wait.reason}")
            self._sleep_counted(scan, wait.seconds, "a quota wait")
            total += wait.seconds
        return total

    def _wait_after_429(
        self,
        resp: requests.Response,
        scan: Scan,
        url: str,
        *,
        waited: float,
        reason: str,
    ) -> float:
        now = time.time()
        delay, source = delay_after_429(resp.headers, now, self.settings.rate_limit_backoff_s)
        self._check_wait_budget(scan, url, waited + delay, reason)
        self._log.warning(
            f"{scan.stream}: {reason} on GET {url_path(url)}; waiting {delay:.1f} s ({source})"
        )
        self._limiter.pause_until(now + delay)
        self._sleep_counted(scan, delay, "the wait after an HTTP 429")
        return delay

    def _check_wait_budget(self, scan: Scan, url: str, total: float, reason: str) -> None:
        budget = self.settings.max_rate_limit_wait_s
        if total > budget:
            raise RateLimitError(
                f"stream {scan.stream!r} (GET {url_path(url)}) would wait {total:.0f} s for the "
                f"rate limit, more than max_rate_limit_wait_s={budget:g}; last reason: {reason}",
                status=429,
                stream=scan.stream,
                url_path=url_path(url),
            )

    def _sleep_counted(self, scan: Scan, seconds: float, during: str) -> None:
        """A rate-limit wait, counted as what it really took (a cancelled one is shorter)."""
        started = time.monotonic()
        try:
            scan.pause(seconds, during)
        finally:
            self._count(scan, waited_s=time.monotonic() - started)

    # --- errors ----------------------------------------------------------------------------

    def _secrets(self, token: str) -> tuple[str, ...]:
        """What an error body must never echo: the token sent, and the credentials."""
        return (token, self.settings.client_secret, self.settings.refresh_token)

    def _error_summary(self, resp: requests.Response, token: str) -> str:
        return error_summary(resp.content, self._secrets(token))
