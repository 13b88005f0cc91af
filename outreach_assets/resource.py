"""``OutreachResource``: the Dagster face of :class:`~outreach_assets.client.OutreachClient`.

Secrets arrive as ``dg.EnvVar`` (the UI then shows the variable's name, not the value) and
are resolved when a run launches. Every field is checked by the client package's own rules
as soon as it is set, so a bad literal fails when the definitions load and a bad
environment value fails at launch, both with a message naming the field and its variable.
"""

import os
from collections.abc import Iterator, Mapping
from dataclasses import fields
from datetime import datetime
from typing import Any

import dagster as dg
from pydantic import ConfigDict, Field, PrivateAttr, ValidationInfo, field_validator

from outreach_assets.catalog import Stream
from outreach_assets.client import (
    ClientSettings,
    OutreachClient,
    OutreachConfigError,
    Page,
    validate_settings,
)
from outreach_assets.client.log import LoggerLike
from outreach_assets.client.settings import (
    ENV_CLIENT_ID,
    ENV_CLIENT_SECRET,
    ENV_REDIRECT_URI,
    ENV_REFRESH_TOKEN,
    FIELD_ENV_VARS,
    check_field,
    knobs_from_env,
)

_DEFAULTS: dict[str, Any] = {f.name: f.default for f in fields(ClientSettings)}
_INT_ENV_VAR = type(dg.EnvVar.int("_"))  # dagster's IntEnvVar class is not exported


def _env_hint(name: str) -> str:
    return f"Environment variable: {FIELD_ENV_VARS[name]}."


class OutreachResource(dg.ConfigurableResource):
    """Reads Outreach list endpoints with OAuth, quota pacing, retries and cursor pages.

    Build it with :func:`outreach_resource_from_env` or pass ``dg.EnvVar`` for the secrets.
    """

    # Pydantic would otherwise print every input (secrets included) in a validation error.
    model_config = ConfigDict(hide_input_in_errors=True)

    client_id: str = Field(
        description=f"OAuth client id of your Outreach app. {_env_hint('client_id')}"
    )
    client_secret: str = Field(
        repr=False,
        description="OAuth client secret; pass dg.EnvVar, never a literal. "
        + _env_hint("client_secret"),
    )
    redirect_uri: str = Field(
        description="Redirect URI registered with the app (sent with token requests). "
        + _env_hint("redirect_uri")
    )
    refresh_token: str = Field(
        repr=False,
        description="Refresh token from `outreach-assets auth exchange`; rotated tokens are "
        "kept in the token store. " + _env_hint("refresh_token"),
    )
    page_size: int = Field(
        default=_DEFAULTS["page_size"],
        description="Records per page, 1..1000 (lower per stream where the catalog says so). "
        + _env_hint("page_size"),
    )
    quota_limit: float = Field(
        default=_DEFAULTS["quota_limit"],
        description="Share of the per-user hourly request quota this project may use, in "
        "(0, 1]; requests wait for the window to reset beyond it. " + _env_hint("quota_limit"),
    )
    api_base_url: str = Field(
        default=_DEFAULTS["api_base_url"],
        description="API root; the sandbox and tests point it at 127.0.0.1. "
        + _env_hint("api_base_url"),
    )
    token_url: str = Field(
        default=_DEFAULTS["token_url"],
        description="OAuth token endpoint. " + _env_hint("token_url"),
    )
    request_timeout_s: float = Field(
        default=_DEFAULTS["request_timeout_s"],
        description="Connect and read timeout of one request, seconds. "
        + _env_hint("request_timeout_s"),
    )
    max_retries: int = Field(
        default=_DEFAULTS["max_retries"],
        description="Retries of a request after 5xx, timeouts, dropped connections or broken "
        "bodies (429 waits do not count). " + _env_hint("max_retries"),
    )
    retry_backoff_s: float = Field(
        default=_DEFAULTS["retry_backoff_s"],
        description="Base of the exponential backoff with full jitter, seconds. "
        + _env_hint("retry_backoff_s"),
    )
    max_backoff_s: float = Field(
        default=_DEFAULTS["max_backoff_s"],
        description="Longest single backoff, seconds. " + _env_hint("max_backoff_s"),
    )
    max_rate_limit_wait_s: float = Field(
        default=_DEFAULTS["max_rate_limit_wait_s"],
        description="Longest total wait for quota or 429s before one request gives up, "
        "seconds. " + _env_hint("max_rate_limit_wait_s"),
    )
    rate_limit_backoff_s: float = Field(
        default=_DEFAULTS["rate_limit_backoff_s"],
        description="Wait after a 429 that carries neither Retry-After nor a reset time, "
        "seconds (at least 1). " + _env_hint("rate_limit_backoff_s"),
    )
    min_page_size: int = Field(
        default=_DEFAULTS["min_page_size"],
        description="Floor when 502/504 answers halve the page size. " + _env_hint("min_page_size"),
    )
    user_agent: str = Field(
        default=_DEFAULTS["user_agent"],
        description="User-Agent header sent to Outreach. " + _env_hint("user_agent"),
    )
    token_store_path: str | None = Field(
        default=_DEFAULTS["token_store_path"],
        description="JSON file where processes share tokens; default under $DAGSTER_HOME "
        "(or ~/.outreach_assets). " + _env_hint("token_store_path"),
    )
    prefetch_pages: int = Field(
        default=_DEFAULTS["prefetch_pages"],
        description="Pages each scan fetches ahead while the current one is converted and "
        "written, 0..8 (each is held in memory); 0 fetches only when asked and never slices. "
        + _env_hint("prefetch_pages"),
    )
    max_concurrent_slices: int = Field(
        default=_DEFAULTS["max_concurrent_slices"],
        description="Most disjoint time slices of one scan fetched at once, 1..8. A scan is "
        "sliced only where its first pages predict at least 50 pages per extra slice (so the "
        "requests stay within 2% of the minimum) and fetching a page is slower than "
        "converting one. 1 never slices. " + _env_hint("max_concurrent_slices"),
    )

    _client: OutreachClient | None = PrivateAttr(default=None)
    _logger: LoggerLike | None = PrivateAttr(default=None)

    @field_validator("*", mode="before")
    @classmethod
    def _check_field(cls, value: object, info: ValidationInfo) -> object:
        """Apply the client's rule for this field; EnvVars are checked once resolved."""
        if isinstance(value, dg.EnvVar | _INT_ENV_VAR) or info.field_name is None:
            return value
        check_field(info.field_name, value)
        return value

    def to_settings(self) -> ClientSettings:
        """The client settings, resolving EnvVars when used outside a Dagster run."""
        values = {f.name: _resolve(f.name, getattr(self, f.name)) for f in fields(ClientSettings)}
        return validate_settings(ClientSettings(**values))

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        self._logger = context.log
        self._client = OutreachClient(self.to_settings(), context.log)

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def get_client(self, logger: LoggerLike | None = None) -> OutreachClient:
        """The client of this execution, or (outside Dagster) one built on first use.

        ``logger`` is used when the client is built; inside a run it is ``context.log``.
        """
        if self._client is None:
            self._client = OutreachClient(self.to_settings(), logger or self._logger)
        return self._client

    def iter_pages(
        self,
        stream: Stream,
        start: datetime | None = None,
        end: datetime | None = None,
        *,
        page_size: int | None = None,
    ) -> Iterator[Page]:
        """See :meth:`OutreachClient.iter_pages`."""
        return self.get_client().iter_pages(stream, start, end, page_size=page_size)


def _resolve(name: str, value: object) -> Any:
    """The value of an EnvVar field (Dagster does this itself when it launches a run)."""
    if isinstance(value, dg.EnvVar):
        var, raw = value.env_var_name, value.get_value()
    elif isinstance(value, _INT_ENV_VAR):
        var, raw = value.name, os.environ.get(value.name)
    else:
        return value
    if raw is None:
        raise OutreachConfigError(f"{name}: environment variable {var} is not set")
    if isinstance(value, _INT_ENV_VAR):
        try:
            return int(raw)
        except ValueError:
            raise OutreachConfigError(
                f"{name}: environment variable {var} must hold an integer (got {raw!r})"
            ) from None
    return raw


def outreach_resource_from_env(environ: Mapping[str, str] | None = None) -> OutreachResource:
    """The resource as the project deploys it: credentials as EnvVars resolved at launch,
    optional knobs read from the environment now (their defaults when unset)."""
    return OutreachResource(
        client_id=dg.EnvVar(ENV_CLIENT_ID),
        client_secret=dg.EnvVar(ENV_CLIENT_SECRET),
        redirect_uri=dg.EnvVar(ENV_REDIRECT_URI),
        refresh_token=dg.EnvVar(ENV_REFRESH_TOKEN),
        **knobs_from_env(os.environ if environ is None else environ),
    )
