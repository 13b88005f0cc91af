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

from outreach_assets.client import LoggerLike, OutreachClient
from outreach_assets.config import ClientSettings, ConfigError, validate
from outreach_assets.config.client import CREDENTIALS, knobs_from_env
from outreach_assets.config.declare import check, declared

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
    env = os.environ if environ is None else environ
    credentials = {name: dg.EnvVar(declared(ClientSettings)[name].env) for name in CREDENTIALS}
    return OutreachResource(**credentials, **knobs_from_env(env))
