"""Settings declared once: each is a dataclass field that carries its whole description.

A field made with :func:`setting` knows its environment variable, its default, how to parse
the variable's text, the rule a value must pass (and how to say what is allowed) and the
help text. Everything else derives from those fields: reading the environment
(:func:`from_environment`), validation and its messages (:func:`check`, :func:`validate`),
the Dagster resource's fields (``resources.outreach``) and the README's configuration table
(:func:`markdown_table`). The same idea as dlt's REST API source, whose configuration is
declared once, as types (https://github.com/dlt-hub/dlt/blob/devel/dlt/sources/rest_api/typing.py).

Two rules hold for every setting: an unset or empty variable means the default (or, for a
required setting, that it is missing), and a message never shows a secret's value.
"""

import dataclasses
import functools
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Final, TypeVar

from outreach_assets.errors import ConfigError

_KEY: Final = "outreach_assets.setting"
_SHOWN_CHARS: Final = 80

T = TypeVar("T")


@dataclass(frozen=True)
class Rule:
    """What a value must be: a check, and the words that tell the user what passes it."""

    check: Callable[[Any], bool]
    allowed: str  # completes "<name> must be ..."


@dataclass(frozen=True)
class Setting:
    """Everything about one setting except its name and type, which its field gives."""

    env: str
    help: str
    rule: Rule
    parse: Callable[[str], Any]
    secret: bool = False
    shown_default: str | None = None  # for the README, where the default is no plain value


def setting(
    *,
    env: str,
    help: str,
    rule: Rule,
    parse: Callable[[str], Any] = str,
    default: Any = dataclasses.MISSING,
    secret: bool = False,
    shown_default: str | None = None,
) -> Any:
    """A dataclass field declaring one setting; without a ``default`` it is required."""
    meta = {_KEY: Setting(env, help, rule, parse, secret, shown_default)}
    return dataclasses.field(default=default, repr=not secret, metadata=meta)


@dataclass(frozen=True)
class Declared:
    """A setting with the name and default its field gives it."""

    name: str
    setting: Setting
    default: Any = dataclasses.MISSING

    @property
    def required(self) -> bool:
        return self.default is dataclasses.MISSING

    @property
    def env(self) -> str:
        return self.setting.env


@functools.cache
def declared(cls: type) -> dict[str, Declared]:
    """The settings a dataclass declares, by field name, in declaration order."""
    out = {}
    for f in dataclasses.fields(cls):
        spec = f.metadata.get(_KEY)
        if isinstance(spec, Setting):
            out[f.name] = Declared(f.name, spec, f.default)
    return out


def check(cls: type, name: str, value: object) -> None:
    """Raise :class:`ConfigError` unless ``value`` passes setting ``name``'s rule."""
    item = declared(cls)[name]
    if not item.setting.rule.check(value):
        also = getattr(cls, "ALSO_SET_BY", "")
        where = f" or {also.format(name=name)}" if also else ""
        raise ConfigError(
            f"{name} must be {item.setting.rule.allowed} (got {_shown(item, value)}); "
            f"set {item.env}{where}"
        )


def validate(obj: T, *, skip: Collection[str] = ()) -> T:
    """Check every declared setting of a dataclass instance; returns it for chaining."""
    cls: type = type(obj)
    for name in declared(cls):
        if name not in skip:
            check(cls, name, getattr(obj, name))
    return obj


def parse(cls: type, name: str, raw: str) -> Any:
    """The value of setting ``name`` from its variable's text, checked."""
    item = declared(cls)[name]
    try:
        value = item.setting.parse(raw)
    except ConfigError as exc:  # the parser's own words; make sure they name the variable
        if item.env in str(exc):
            raise
        raise ConfigError(f"{item.env}: {exc}") from None
    except (ValueError, TypeError):
        raise ConfigError(
            f"{name} must be {item.setting.rule.allowed} (got {_shown(item, raw)} from "
            f"{item.env}); fix {item.env}"
        ) from None
    check(cls, name, value)
    return value


def from_environment(
    cls: type, environ: Mapping[str, str], *, names: Collection[str] | None = None
) -> dict[str, Any]:
    """The settings of ``cls`` (or just ``names``) whose variable is set and not empty,
    parsed and checked; unset ones are left out, so the field defaults apply."""
    out = {}
    for name, item in declared(cls).items():
        raw = environ.get(item.env)
        if (names is None or name in names) and raw is not None and raw.strip():
            out[name] = parse(cls, name, raw)
    return out


def from_environment_or_default(cls: type, name: str, environ: Mapping[str, str]) -> Any:
    """One setting from its variable, else its default (for a setting read on its own)."""
    values = from_environment(cls, environ, names=(name,))
    return values[name] if name in values else declared(cls)[name].default


def missing_variables(cls: type, environ: Mapping[str, str], names: Collection[str]) -> list[str]:
    """The variables of settings ``names`` that are unset or empty."""
    items = declared(cls)
    return [items[n].env for n in names if not (environ.get(items[n].env) or "").strip()]


def markdown_rows(cls: type) -> Iterator[str]:
    """One README table row per setting: variable, required or default, meaning."""
    for item in declared(cls).values():
        if item.required:
            default = "required"
        elif item.setting.shown_default is not None:
            default = item.setting.shown_default
        else:
            default = f"`{_readme_value(item.default)}`"
        allowed = item.setting.rule.allowed
        yield f"| `{item.env}` | {default} | {item.setting.help} Allowed: {allowed}. |"


def markdown_table(classes: Collection[type]) -> str:
    """The README's configuration table, from the declarations of ``classes``."""
    rows = [row for cls in classes for row in markdown_rows(cls)]
    return "\n".join(["| Variable | Default | Meaning |", "| --- | --- | --- |", *rows])


def _readme_value(value: object) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def _shown(item: Declared, value: object) -> str:
    """How a rejected value appears in a message: secrets are described, never shown."""
    if item.setting.secret:
        if isinstance(value, str):
            return "an empty value" if not value.strip() else "a value with surrounding whitespace"
        return f"a {type(value).__name__}"
    text = repr(value)
    return text if len(text) <= _SHOWN_CHARS else text[: _SHOWN_CHARS - 3] + "..."
