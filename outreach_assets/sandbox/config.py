"""The sandbox's knobs: data shape, OAuth behaviour, rate limits and faults.

One frozen dataclass so a running server swaps the whole config atomically on
``configure`` and every request reads one consistent snapshot.
"""

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any

from outreach_assets.sandbox.isotime import parse_ms, within_key_range

RESET_HEADER_FORMS = ("epoch", "seconds", "none")
TOKEN_ERROR_FORMS = ("oauth", "jsonapi")
# Attribute bodies are shared: every record takes one of this many seeded variants
# (sandbox/data.py), so data knobs that vary attributes count variants, not records.
VARIANTS = 32

# The data is generated once from these, so changing them on a running server would make
# the served records disagree with `truth`; a new server is the honest way to change them.
DATA_FIELDS = frozenset(
    {
        "seed",
        "records",
        "sizes",
        "start",
        "end",
        "refresh_token",
        "wrong_type_variants",
        "unknown_relationships",
    }
)

# Lookup tables: an organisation has a handful of stages, roles or task priorities, not as
# many as it has prospects. Unless `sizes` names one, each holds this many records, or
# `records` if that is fewer (so `records=0` still means empty streams everywhere).
LOOKUP_SIZES: dict[str, int] = {
    "call_dispositions": 9,
    "call_purposes": 6,
    "duties": 12,
    "mail_aliases": 15,
    "opportunity_stages": 8,
    "personas": 7,
    "products": 20,
    "profiles": 5,
    "roles": 14,
    "rulesets": 4,
    "stages": 10,
    "task_dispositions": 11,
    "task_priorities": 3,
    "task_purposes": 6,
    "webhooks": 4,
}


def _default_error_rate() -> dict[int, float]:
    return {500: 0.0, 503: 0.0}


@dataclass(frozen=True)
class SandboxConfig:
    """Everything a sandbox run can vary: the comments below and README.md's "The sandbox"
    section say what each field does; Outreach's API docs (https://developers.outreach.io/api/)
    say what the real API does."""

    seed: int = 0
    # Records per stream, except lookup tables (LOOKUP_SIZES); `sizes` sets any stream's
    # count by name, lookup tables included.
    records: int = 100
    sizes: dict[str, int] = field(default_factory=dict)
    start: str = "2023-01-01T00:00:00Z"
    end: str = "2024-01-01T00:00:00Z"
    # What Outreach sends does not always have the type its schema says (a number may come
    # as a string), and the client must keep such values rather than fail or coerce them.
    # In this many of the VARIANTS attribute variants, the stream's drift attribute (its
    # first INTEGER attribute not spliced per record, see StreamData.drifted) is sent as its
    # decimal string, "1763" instead of 1763, so about wrong_type_variants/VARIANTS of the
    # records carry it. Streams without such an attribute are unaffected.
    wrong_type_variants: int = 0
    # The client must keep relationships the catalog does not know rather than drop them.
    # When True, every record of every stream also carries the to-one `sandboxOwner`
    # (`{"data": {"type": "user", "id": n}}`, or `{"data": null}` for about one in ten) and
    # the to-many `sandboxTags` (`{"data": [{"type": "tag", "id": n}, ...]}`, 0 to 5 ids);
    # `SandboxServer.relationships` reports them with the catalog's ones.
    unknown_relationships: bool = False
    client_id: str = "sandbox-client-id"
    # Sandbox values, but still kept out of reprs so the habit holds everywhere.
    client_secret: str = field(default="sandbox-client-secret", repr=False)
    redirect_uri: str = "http://127.0.0.1/callback"
    refresh_token: str = field(default="sandbox-refresh-token", repr=False)
    auth_code: str = field(default="sandbox-auth-code", repr=False)
    scopes: list[str] | None = None
    access_token_ttl_s: float = 7200
    rotate_refresh_tokens: bool = False
    token_throttle_s: float = 0.0
    # How /oauth/token words a refusal: "oauth" as RFC 6749 section 5.2 has it
    # ({"error": "invalid_grant"}, 400; invalid_client 401), or "jsonapi" as the API words
    # its errors (401 with {"errors": [{"id": "invalidGrant", "title": ..., "detail": ...}]}).
    token_error_form: str = "oauth"
    rate_limit: int = 10000
    rate_window_s: float = 3600.0
    remaining_two_values: bool = False
    reset_header: str = "epoch"
    rate_headers: bool = True
    retry_after_on_429: bool = True
    latency_ms: float = 0.0
    error_rate: dict[int, float] = field(default_factory=_default_error_rate)
    drop_rate: float = 0.0
    truncate_rate: float = 0.0
    # Whole 200 answers that are no JSON:API page, as a login portal or a proxy in front of
    # the API gives (drawn from an RNG of their own, so the faults above replay as before):
    # `html_rate` of the API requests get an HTML page as text/html, `not_jsonapi_rate` get
    # `not_jsonapi_body` (JSON, `{"ok": true}` unless set, e.g. `[1, 2]`) as application/json.
    html_rate: float = 0.0
    not_jsonapi_rate: float = 0.0
    not_jsonapi_body: str = '{"ok": true}'
    # Set to `scheme://host:port`, every links.next points at that origin instead of the
    # sandbox's (same path and query): a page leading a client's bearer token elsewhere.
    next_link_origin: str | None = None
    max_body_bytes: int | None = None
    page_size_max: int = 1000
    # Pagination that goes round in a circle (query.py, `broken_cursor`). With
    # `alternate_next_links`, links.next alternates between two links from the second page
    # on: page 3's points back at page 2, page 4's at page 3, and so on for ever.
    alternate_next_links: bool = False
    # With `stuck_cursors`, every page after the first answers with a fresh cursor (a text
    # never sent before) that still points where the request's pointed: the same records
    # come back on every page, for ever.
    stuck_cursors: bool = False

    def __post_init__(self) -> None:
        # JSON (the /_sandbox/configure endpoint) can only carry string keys.
        rates = {int(k): float(v) for k, v in self.error_rate.items()}
        object.__setattr__(self, "error_rate", rates)
        self._validate()

    def _validate(self) -> None:
        if self.records < 0 or any(n < 0 for n in self.sizes.values()):
            raise ValueError("record counts must be >= 0")
        start_ms, end_ms = self.start_ms, self.end_ms
        if start_ms >= end_ms:
            raise ValueError("start must be before end")
        if not (within_key_range(start_ms) and within_key_range(end_ms)):
            raise ValueError("start and end must lie within about 34 years of 2020")
        if self.reset_header not in RESET_HEADER_FORMS:
            raise ValueError(f"reset_header must be one of {RESET_HEADER_FORMS}")
        if self.token_error_form not in TOKEN_ERROR_FORMS:
            raise ValueError(f"token_error_form must be one of {TOKEN_ERROR_FORMS}")
        if self.rate_limit < 1 or self.rate_window_s <= 0:
            raise ValueError("rate_limit must be >= 1 and rate_window_s > 0")
        if not 0 <= self.wrong_type_variants <= VARIANTS:
            raise ValueError(f"wrong_type_variants must be between 0 and {VARIANTS}")
        if self.page_size_max < 1:
            raise ValueError("page_size_max must be >= 1")
        try:
            json.loads(self.not_jsonapi_body)
        except ValueError:
            raise ValueError("not_jsonapi_body must be JSON") from None
        probabilities = [self.drop_rate, self.truncate_rate, *self.error_rate.values()]
        probabilities += [self.html_rate, self.not_jsonapi_rate]
        if any(not 0.0 <= p <= 1.0 for p in probabilities):
            raise ValueError("fault rates are probabilities between 0 and 1")

    @property
    def start_ms(self) -> int:
        return parse_ms(self.start)

    @property
    def end_ms(self) -> int:
        return parse_ms(self.end)

    def size_of(self, stream_name: str) -> int:
        """`sizes` if it names the stream, else `records`, capped for lookup tables."""
        if stream_name in self.sizes:
            return self.sizes[stream_name]
        return min(self.records, LOOKUP_SIZES.get(stream_name, self.records))

    def replace(self, **changes: Any) -> "SandboxConfig":
        """Return a copy with runtime-changeable fields changed; data fields are refused."""
        unknown = set(changes) - {f.name for f in dataclasses.fields(self)}
        if unknown:
            raise ValueError(f"unknown sandbox config fields: {sorted(unknown)}")
        fixed = set(changes) & DATA_FIELDS
        if fixed:
            raise ValueError(f"fields fixed when the server starts: {sorted(fixed)}")
        return dataclasses.replace(self, **changes)
