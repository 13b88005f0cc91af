"""``OutreachResource``: the Dagster face of :class:`~outreach_assets.client.OutreachClient`.

Its config fields are generated from the client's setting declarations
(``config.client.ClientSettings``), so a setting's default, rule and help text are written
once: the UI shows each field with its help and environment variable, and a bad literal is
refused by the same rule, with the same message, as a bad environment value.

Secrets arrive as ``dg.EnvVar`` (the UI then shows the variable's name, not the value) and
are resolved when a run launches; :meth:`OutreachResource.to_settings` checks them then.
"""

import dataclasses
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import dagster as dg
import pydantic
from pydantic import ConfigDict, PrivateAttr, ValidationInfo, field_validator

from outreach_assets.client import LoggerLike, OutreachClient, default_store_path
from outreach_assets.config import ClientSettings, ConfigError, env, validate
from outreach_assets.config.client import CREDENTIALS, knobs_from_env
from outreach_assets.config.declare import check, declared, from_environment_or_default
from outreach_assets.config.orgs import OrgEnvironment, single_environment

_INT_ENV_VAR = type(dg.EnvVar.int("_"))  # dagster's IntEnvVar class is not exported


def _config_fields() -> dict[str, Any]:
    """One pydantic field per client setting: its type, default and help, from the
    declaration (secrets are kept out of the model's repr)."""
    types = {f.name: f.type for f in dataclasses.fields(ClientSettings)}
    out: dict[str, Any] = {}
    for name, item in declared(ClientSettings).items():
        described = f"{item.setting.help} Environment variable: {item.env}."
        default = ... if item.required else item.default
        field = pydantic.Field(default=default, description=described, repr=not item.setting.secret)
        out[name] = (types[name], field)
    return out


if TYPE_CHECKING:  # the fields are made at import time, so type checkers see any field
    _ConfigFields: Any = dg.ConfigurableResource
else:
    _ConfigFields = pydantic.create_model(
        "_OutreachResourceFields", __base__=dg.ConfigurableResource, **_config_fields()
    )


class OutreachResource(_ConfigFields):
    """Reads Outreach list endpoints with OAuth, quota pacing, retries and cursor pages.

    Build it with :func:`outreach_resource_from_env`, or pass ``dg.EnvVar`` for the secrets;
    its fields are the settings of ``config.client.ClientSettings``.
    """

    # Pydantic would otherwise print every input (secrets included) in a validation error.
    model_config = ConfigDict(hide_input_in_errors=True)

    _client: OutreachClient | None = PrivateAttr(default=None)
    _logger: LoggerLike | None = PrivateAttr(default=None)

    @field_validator("*", mode="before")
    @classmethod
    def _check_field(cls, value: object, info: ValidationInfo) -> object:
        """Apply the setting's rule to a literal; EnvVars are checked once resolved."""
        if isinstance(value, dg.EnvVar | _INT_ENV_VAR) or info.field_name is None:
            return value
        check(ClientSettings, info.field_name, value)
        return value

    def to_settings(self) -> ClientSettings:
        """The client settings, resolving EnvVars when used outside a Dagster run."""
        values = {name: _resolve(name, getattr(self, name)) for name in declared(ClientSettings)}
        return validate(ClientSettings(**values))

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


def _resolve(name: str, value: object) -> Any:
    """The value of an EnvVar field (Dagster does this itself when it launches a run)."""
    if isinstance(value, dg.EnvVar):
        var, raw = value.env_var_name, value.get_value()
    elif isinstance(value, _INT_ENV_VAR):
        var, raw = value.name, os.environ.get(value.name)
    else:
        return value
    if raw is None:
        raise ConfigError(f"{name}: environment variable {var} is not set")
    if isinstance(value, _INT_ENV_VAR):
        try:
            return int(raw)
        except ValueError:
            raise ConfigError(
                f"{name}: environment variable {var} must hold an integer (got {raw!r})"
            ) from None
    return raw


def outreach_resource_from_env(environ: Mapping[str, str] | None = None) -> OutreachResource:
    """The resource as the project deploys it: credentials as EnvVars resolved at launch,
    optional settings read from the environment now (their defaults when unset)."""
    return outreach_resource_for(single_environment(os.environ if environ is None else environ))


def outreach_resource_for(view: OrgEnvironment) -> OutreachResource:
    """The resource of one org's view of the environment: each credential an EnvVar of the
    variable the org reads it from (``OUTREACH_ACME_CLIENT_SECRET``, or the shared
    ``OUTREACH_CLIENT_SECRET`` when only that is set at load), so the UI names that
    variable; the optional settings read from the view now."""
    credentials = {
        name: dg.EnvVar(view.source(declared(ClientSettings)[name].env)) for name in CREDENTIALS
    }
    return OutreachResource(**credentials, **knobs_from_env(with_org_token_store(view)))


def with_org_token_store(view: OrgEnvironment) -> OrgEnvironment:
    """An org without a token store setting gets the default file named by the org too.

    Two orgs authorized through one OAuth app (same token URL and client id) would
    otherwise share one file, and one org's rotated refresh token would replace the
    other's. The path is computed from the view, so the resource, ``check --org`` and
    ``auth exchange --org`` find the same file; a single org's view is left as it is.
    """
    var = env("token_store_path")
    if not view.org or view.get(var):
        return view
    token_url = from_environment_or_default(ClientSettings, "token_url", view)
    client_id = view.get(env("client_id"), "")
    return view.overriding(var, str(default_store_path(token_url, client_id, view.org)))
