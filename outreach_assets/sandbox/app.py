"""Request -> response logic of the sandbox, independent of sockets.

Order of an API request, chosen to mirror a gateway in front of Outreach: latency, then
injected faults (they happen before the app, so they never spend the budget), then the
bearer token, the rate budget (a refused request spends nothing), routing, scope, and the
query itself; a page whose body exceeds `max_body_bytes` becomes the gateway's 502.
`/api/v2/types` (custom-field validations) takes the same path but needs no stream scope.
The harness's `/_sandbox/` endpoints are routed by the server (admin.py) and never get here.
"""

import copy
import json
import threading
import time
from collections.abc import Sequence
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from outreach_assets.catalog import Stream
from outreach_assets.jsontext import compact, loads_or_none
from outreach_assets.sandbox.auth import USER, TokenStore
from outreach_assets.sandbox.config import SandboxConfig
from outreach_assets.sandbox.customfields import CustomFields, custom_fields, types_body
from outreach_assets.sandbox.data import DataStore, StreamData
from outreach_assets.sandbox.execute import execute
from outreach_assets.sandbox.faults import FaultInjector
from outreach_assets.sandbox.messages import (
    JSON,
    JSONAPI,
    TEXT,
    Request,
    Response,
    json_response,
    jsonapi_error,
)
from outreach_assets.sandbox.query import (
    QueryError,
    broken_cursor,
    parse_list_query,
    requested_fields,
)
from outreach_assets.sandbox.ratelimit import (
    RateLimiter,
    RateState,
    limit_exceeded_body,
    rate_headers,
    retry_after,
)
from outreach_assets.sandbox.relations import RelationshipTruth
from outreach_assets.sandbox.render import Renderer
from outreach_assets.sandbox.stats import StatsRecorder

API_PREFIX = "/api/v2/"
TOKEN_PATH = "/oauth/token"
TYPES_PATH = "types"  # under API_PREFIX

_GATEWAY_TEXT = {502: b"Bad Gateway\n", 504: b"Gateway Timeout\n"}
# What a single sign-on portal in front of an API answers a request it has not let through.
_PORTAL_HTML = (
    b"<!DOCTYPE html>\n<html><head><title>Sign in</title></head>\n<body><h1>Sign in to "
    b'continue</h1><form method="post" action="/login"></form></body></html>\n'
)
HTML = "text/html; charset=utf-8"
_FAULT_ERROR_IDS = {500: "internalServerError", 503: "serviceUnavailable"}
# Renderers kept per (stream, fieldset); past this many, sparse ones are built afresh, so a
# client sending endless distinct `fields[...]` cannot grow the cache without bound.
_RENDERERS_MAX = 256


class SandboxApp:
    """The sandbox's state and its HTTP semantics; the server only moves bytes."""

    def __init__(self, streams: Sequence[Stream], config: SandboxConfig) -> None:
        self.config = config
        self._config_lock = threading.Lock()
        self.data = DataStore(streams, config)
        self.tokens = TokenStore(config.refresh_token, sorted({s.scope for s in streams}))
        self.limiter = RateLimiter()
        self.faults = FaultInjector(config.seed)
        self.stats = StatsRecorder()
        self.api_base = ""
        self._renderers: dict[tuple[str, frozenset[str] | None], Renderer] = {}
        self._custom_fields = custom_fields(streams, config.seed)
        self._types_body = compact(types_body(self._custom_fields)).encode()

    def set_base_url(self, base_url: str) -> None:
        self.api_base = base_url + API_PREFIX.rstrip("/")
        self._renderers.clear()

    def configure(self, **changes: Any) -> None:
        """Swap in a changed config; requests already running keep the one they read."""
        with self._config_lock:
            self.config = self.config.replace(**changes)

    def truth(self, stream_name: str) -> dict[int, str]:
        return self.data.get(stream_name).truth()

    def relationships(self, stream_name: str) -> dict[int, RelationshipTruth]:
        return self.data.get(stream_name).relationship_truth()

    def custom_fields(self) -> CustomFields:
        return copy.deepcopy(self._custom_fields)

    def touch(
        self, stream_name: str, count: int = 5, ids: Sequence[int] | None = None
    ) -> list[int]:
        return self.data.get(stream_name).touch(count, ids, _now_ms())

    def add(self, stream_name: str, count: int = 5) -> list[int]:
        return self.data.get(stream_name).add(count, _now_ms())

    def delete(
        self, stream_name: str, count: int = 5, ids: Sequence[int] | None = None
    ) -> list[int]:
        return self.data.get(stream_name).delete(count, ids)

    def reset_stats(self) -> None:
        self.stats.reset()

    def handle(self, request: Request) -> Response:
        if request.path.startswith(API_PREFIX):
            return self._api(request)
        if request.path == TOKEN_PATH:
            return self._token(request)
        return self._not_found()

    # --- /oauth/token -------------------------------------------------------------------

    def _token(self, request: Request) -> Response:
        cfg = self.config
        self.stats.request(request.path, api=False)
        _sleep(cfg)
        if request.method != "POST":
            response = json_response(
                405, {"error": "invalid_request", "error_description": "Use POST."}
            )
        else:
            response = self._grant(cfg, request)
        self.stats.answered(response.status)
        return response

    def _grant(self, cfg: SandboxConfig, request: Request) -> Response:
        params = _token_params(request)
        if params is None:
            return json_response(
                400, {"error": "invalid_request", "error_description": "Bad body."}
            )
        answer = self.tokens.grant(cfg, params, time.time())
        if answer.minted:
            self.stats.add(token_mints=1)
            if self.tokens.mint_lost():
                return Response(0, drop=True)
        return Response(answer.status, answer.body, answer.content_type)

    # --- /api/v2 ------------------------------------------------------------------------

    def _api(self, request: Request) -> Response:
        cfg = self.config
        self.stats.request(request.path, api=True)
        _sleep(cfg)
        fault = self.faults.decide(cfg)
        if fault.drop:
            self.stats.add(dropped=1)
            return Response(0, drop=True)
        if fault.status is not None:
            response = self._injected(fault.status, cfg)
        elif fault.body is not None:
            response = _wrong_body(fault.body, cfg)
        else:
            response = self._serve(request, cfg)
        if fault.truncate:
            response.truncate = True
            self.stats.add(truncated=1)
        self.stats.answered(response.status)
        return response

    def _injected(self, status: int, cfg: SandboxConfig) -> Response:
        now = time.time()
        state = self.limiter.peek(USER, cfg, now)
        headers = rate_headers(state, cfg, now)
        if status == 429:
            return self._limited(state, cfg, now)
        if status in _GATEWAY_TEXT:
            return Response(status, _GATEWAY_TEXT[status], TEXT, headers)
        if status == 401:
            return jsonapi_error(
                401, "expiredAccessToken", "The access token expired.", headers=headers
            )
        error_id = _FAULT_ERROR_IDS.get(status, f"http{status}")
        return jsonapi_error(status, error_id, "Injected sandbox fault.", headers=headers)

    def _limited(self, state: RateState, cfg: SandboxConfig, now: float) -> Response:
        headers = rate_headers(RateState(state.limit, state.limit, state.reset_at), cfg, now)
        if cfg.retry_after_on_429:
            headers.append(("Retry-After", retry_after(state, now)))
        return Response(429, limit_exceeded_body(state), JSONAPI, headers)

    def _serve(self, request: Request, cfg: SandboxConfig) -> Response:
        now = time.time()
        auth = self.tokens.authenticate(request.headers.get("authorization"), now)
        if auth.user is None:
            headers = rate_headers(self.limiter.peek(USER, cfg, now), cfg, now)
            detail = "The access token is missing, invalid or expired."
            return jsonapi_error(401, auth.error_id, detail, headers=headers)
        state = self.limiter.hit(auth.user, cfg, now)
        if not state.allowed:
            self.stats.add(rate_limited=1)
            return self._limited(state, cfg, now)
        response = self._route(request, cfg)
        response.headers.extend(rate_headers(state, cfg, now))
        return response

    def _route(self, request: Request, cfg: SandboxConfig) -> Response:
        segments = request.path[len(API_PREFIX) :].split("/")
        if segments == [TYPES_PATH] and request.method == "GET":
            return Response(200, self._types_body, JSONAPI)
        stream = self.data.stream_for_path(segments[0])
        if stream is None or len(segments) > 2 or request.method != "GET":
            return self._not_found()
        if cfg.scopes is not None and not {stream.scope, f"{stream.path}.all"} & set(cfg.scopes):
            detail = f"Your authorization does not include the required scope '{stream.scope}'."
            return jsonapi_error(403, "unauthorizedOauthScope", detail)
        data = self.data.get(stream.name)
        pairs = parse_qsl(request.query, keep_blank_values=True)
        if len(segments) == 2:
            return self._single(data, segments[1], dict(pairs))
        return self._list(data, pairs, cfg)

    def _not_found(self) -> Response:
        detail = "The request path does not match any known resource endpoints."
        return jsonapi_error(404, "routeNotFound", detail)

    def _renderer(self, data: StreamData, params: dict[str, str]) -> Renderer:
        """The stream's renderer for the request's sparse fieldset (or every field)."""
        key = (data.stream.name, requested_fields(params, data.stream.json_type))
        renderer = self._renderers.get(key)
        if renderer is None:
            renderer = Renderer(data, self.api_base, key[1])
            if len(self._renderers) < _RENDERERS_MAX or key[1] is None:
                self._renderers[key] = renderer
        return renderer

    def _single(self, data: StreamData, raw_id: str, params: dict[str, str]) -> Response:
        renderer = self._renderer(data, params)
        with data.lock:
            record_id = int(raw_id) if raw_id.isdigit() else 0
            if not data.exists(record_id):
                detail = f"Could not find '{data.stream.json_type}' with ID '{raw_id}'."
                return jsonapi_error(404, "resourceNotFound", detail)
            record = renderer.record(record_id - 1)
        links = json.dumps({"self": f"{renderer.collection_url}/{record_id}"}).encode()
        self.stats.add(records_served=1)
        return Response(200, b'{"data":' + record + b',"links":' + links + b"}", JSONAPI)

    def _list(self, data: StreamData, pairs: list[tuple[str, str]], cfg: SandboxConfig) -> Response:
        params = dict(pairs)
        renderer = self._renderer(data, params)
        chunks = [b'{"data":[']
        with data.lock:
            try:
                query = parse_list_query(params, data, cfg.page_size_max)
            except QueryError as exc:
                return jsonapi_error(400, exc.error_id, exc.detail)
            result = execute(query, data)
            renderer.extend(chunks, result.indices)
        meta: dict[str, Any] = {}
        if result.count is not None:
            meta = {"count": result.count, "count_truncated": False}
        tail = {"meta": meta}
        if result.indices:  # Outreach omits `links` entirely on an empty result
            nxt = broken_cursor(result.next_cursor, params.get("page[after]"), cfg)
            tail["links"] = _links(renderer.collection_url, pairs, nxt)
            if cfg.next_link_origin and "next" in tail["links"]:
                tail["links"]["next"] = _elsewhere(tail["links"]["next"], cfg.next_link_origin)
        chunks.append(b"]," + compact(tail).encode()[1:])
        response = Response(200, content_type=JSONAPI, chunks=chunks)
        if cfg.max_body_bytes is not None and response.length > cfg.max_body_bytes:
            return Response(502, _GATEWAY_TEXT[502], TEXT)
        self.stats.add(records_served=len(result.indices))
        return response


def _links(url: str, pairs: list[tuple[str, str]], next_cursor: str | None) -> dict[str, str]:
    """Absolute links that carry every original parameter, as Outreach's do."""
    kept = [(k, v) for k, v in pairs if k != "page[after]"]
    links = {"first": f"{url}?{urlencode(kept)}" if kept else url}
    if next_cursor is not None:
        links["next"] = f"{url}?{urlencode([*kept, ('page[after]', next_cursor)])}"
    return links


def _wrong_body(kind: str, cfg: SandboxConfig) -> Response:
    """A whole 200 that is no JSON:API page (`html_rate`, `not_jsonapi_rate`)."""
    if kind == "html":
        return Response(200, _PORTAL_HTML, HTML)
    return Response(200, cfg.not_jsonapi_body.encode(), JSON)


def _elsewhere(link: str, origin: str) -> str:
    """`link` with its scheme and host:port replaced by `origin`'s (`next_link_origin`)."""
    moved = urlsplit(origin)
    return urlunsplit(urlsplit(link)._replace(scheme=moved.scheme, netloc=moved.netloc))


def _token_params(request: Request) -> dict[str, str] | None:
    """Form bodies, as standard OAuth 2.0 has them (Outreach's token endpoint follows it:
    https://developers.outreach.io/api/oauth/), and JSON bodies, since clients send both."""
    content_type = request.headers.get("content-type", "")
    text = request.body.decode("utf-8", errors="replace")
    if "json" in content_type:
        payload = loads_or_none(text or "{}")
        if not isinstance(payload, dict):
            return None
        return {str(k): str(v) for k, v in payload.items() if v is not None}
    return dict(parse_qsl(text, keep_blank_values=True))


def _sleep(cfg: SandboxConfig) -> None:
    if cfg.latency_ms > 0:
        time.sleep(cfg.latency_ms / 1000)


def _now_ms() -> int:
    return int(time.time() * 1000)
