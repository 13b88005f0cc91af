"""Several Outreach organisations in one deployment: ``OUTREACH_ORGS`` and each org's view
of the environment.

Every setting is declared once, with its unprefixed variable (``config.client``,
``config.deployment``). An org's settings are the same settings read from other
variables, so an org does not get declarations of its own: :func:`org_environment` gives
a mapping in which each declared variable holds the value of ``OUTREACH_<ORG>_<NAME>``
when that is set, else of ``OUTREACH_<NAME>``. The existing readers, parsers, rules and
defaults then apply untouched, and :meth:`OrgEnvironment.say` rewrites their messages to
name the variable a value really came from.

Two settings do not simply fall back, because two orgs sharing them would mix their data:
an org without its own data folder gets the sub-folder ``<org>`` of ``OUTREACH_DATA_DIR``
(or of its default), and one without its own token store gets the file of
``OUTREACH_TOKEN_STORE`` in a sub-folder ``<org>`` (unset, the default store path names the
org, ``resources.outreach.with_org_token_store``). Values that two orgs share anyway
are refused (:func:`check_separate`), except a database token store, in which each org has
rows of its own, keyed by ``OUTREACH_ORG`` (set in each org's view).
"""

import os
import posixpath
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from outreach_assets.config.client import ClientSettings
from outreach_assets.config.declare import Rule, declared, from_environment_or_default, setting
from outreach_assets.config.deployment import DeploymentSettings
from outreach_assets.errors import ConfigError

ORGS_ENV: Final = "OUTREACH_ORGS"
PREFIX: Final = "OUTREACH_"
_ORG_NAME: Final = re.compile(r"[a-z0-9_]+")
# The settings an org reads from its own variables (every one but OUTREACH_ORGS).
ORG_SETTINGS_CLASSES: Final = (ClientSettings, DeploymentSettings)
# Settings whose fallback is the org's sub-folder of the shared value, not the value itself.
_PER_ORG_FOLDERS: Final = frozenset({"data_dir", "token_store_path"})


def parse_orgs(text: str) -> tuple[str, ...]:
    """``acme,globex`` -> ``("acme", "globex")``; names are checked, in one line each."""
    names = tuple(part.strip() for part in text.split(","))
    for name in names:
        if not _ORG_NAME.fullmatch(name):
            raise ConfigError(
                f"{ORGS_ENV}={text!r}: {name!r} is not an org name; use lowercase letters, "
                "digits and underscores, separated by commas (acme,globex)"
            )
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise ConfigError(f"{ORGS_ENV}={text!r}: {', '.join(twice)} named more than once")
    return names


def _is_org_list(value: object) -> bool:
    return (
        isinstance(value, tuple)
        and len(set(value)) == len(value)
        and all(isinstance(v, str) and _ORG_NAME.fullmatch(v) for v in value)
    )


@dataclass(frozen=True)
class OrgSettings:
    """The one setting that is not per org: which orgs there are."""

    orgs: tuple[str, ...] = setting(
        env=ORGS_ENV,
        default=(),
        parse=parse_orgs,
        rule=Rule(_is_org_list, "unique org names of lowercase letters, digits, underscores"),
        shown_default="unset: one org",
        help="Several Outreach orgs, comma-separated (`acme,globex`): each gets its own "
        "assets `outreach/<org>/...`, jobs, data folder and token store, read from "
        "`OUTREACH_<ORG>_<NAME>` variables that fall back to `OUTREACH_<NAME>` "
        '(see "Several Outreach orgs").',
    )


def org_variable(org: str, variable: str) -> str:
    """``OUTREACH_CLIENT_ID`` of org ``acme``: ``OUTREACH_ACME_CLIENT_ID``."""
    return f"{PREFIX}{org.upper()}_{variable.removeprefix(PREFIX)}"


def _variables() -> Iterator[tuple[type, str, str]]:
    """(settings class, setting name, unprefixed variable) of every per-org setting."""
    for cls in ORG_SETTINGS_CLASSES:
        for name, item in declared(cls).items():
            yield cls, name, item.env


def orgs_from_env(environ: Mapping[str, str]) -> tuple[str, ...]:
    """The orgs of ``OUTREACH_ORGS`` (empty: one org, today's names), refused in one line
    when two orgs' variables would be the same variable (``x`` reads OUTREACH_X_MIN_PAGE_SIZE
    as its min page size, ``x_min`` as its page size)."""
    orgs: tuple[str, ...] = from_environment_or_default(OrgSettings, "orgs", environ)
    owners = {var: f"the shared setting {var}" for _, _, var in _variables()}
    for org in orgs:
        for _, _, var in _variables():
            mine = org_variable(org, var)
            if mine in owners:
                raise ConfigError(
                    f"{ORGS_ENV}: org {org!r} would read {mine}, which is already "
                    f"{owners[mine]}; rename the org"
                )
            owners[mine] = f"org {org!r}'s {var.removeprefix(PREFIX)}"
    return orgs


class OrgEnvironment(Mapping[str, str]):
    """The environment as one org's settings see it: every declared variable resolved for
    the org, everything else as given. ``org`` is empty for a single-org deployment, whose
    view is the environment itself."""

    def __init__(self, org: str, values: Mapping[str, str], sources: Mapping[str, str]):
        self.org = org
        self._values = dict(values)
        self._sources = dict(sources)  # unprefixed variable -> the variable it is read from

    def __getitem__(self, key: str) -> str:
        return self._values[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def source(self, variable: str) -> str:
        """The variable that ``variable`` is read from for this org: the org's own when it is
        set (or when neither is), else the shared one."""
        return self._sources.get(variable, variable)

    def overriding(self, variable: str, value: str) -> "OrgEnvironment":
        """This view with ``variable`` set to ``value`` (a value computed for the org)."""
        return OrgEnvironment(self.org, {**self._values, variable: value}, self._sources)

    def rename(self, message: str) -> str:
        """``message`` naming the variables this org reads, instead of the shared ones."""
        return re.sub(r"\bOUTREACH_[A-Z0-9_]+\b", lambda m: self.source(m.group(0)), message)

    def say(self, message: str) -> str:
        """``message`` renamed and led by the org, for a line among other orgs' lines."""
        return f"org {self.org}: {self.rename(message)}" if self.org else message

    def own(self, variable: str) -> str:
        """The org's own name of ``variable``, whether set or not: where to write a value."""
        return org_variable(self.org, variable) if self.org else variable


def single_environment(environ: Mapping[str, str]) -> OrgEnvironment:
    """The view of a deployment without ``OUTREACH_ORGS``: the environment unchanged."""
    return OrgEnvironment("", environ, {})


def org_environment(environ: Mapping[str, str], org: str) -> OrgEnvironment:
    """Org ``org``'s view of ``environ`` (see the module's docstring)."""
    values, sources = dict(environ), {}
    for cls, name, var in _variables():
        own = org_variable(org, var)
        chosen = own if _is_set(environ, own) or not _is_set(environ, var) else var
        sources[var] = chosen
        if name in _PER_ORG_FOLDERS and not _is_set(environ, own):
            given = _is_set(environ, var)
            shared = environ[var] if given else from_environment_or_default(cls, name, {})
            if shared is not None:
                values[var] = _org_folder(shared, org, file=name == "token_store_path")
            continue
        if _is_set(environ, chosen):
            values[var] = environ[chosen]
        else:
            values.pop(var, None)
    org_var = declared(ClientSettings)["org"].env
    values[org_var], sources[org_var] = org, ORGS_ENV  # the org is its own, whatever is set
    return OrgEnvironment(org, values, sources)


def _is_set(environ: Mapping[str, str], var: str) -> bool:
    return bool((environ.get(var) or "").strip())


def _org_folder(shared: str, org: str, *, file: bool) -> str:
    """``data/outreach`` -> ``data/outreach/acme``; a file ``t/tokens.json`` ->
    ``t/acme/tokens.json``. Joined with ``/``, which local paths and fsspec URLs share. A
    token store that is a URL (a database) is kept: orgs share it, each in rows of its own
    (the client keys them by ``OUTREACH_ORG``, which each org's view sets).
    """
    if not file:
        return f"{shared.rstrip('/')}/{org}"
    if _is_url(shared):
        return shared
    head, tail = posixpath.split(shared.replace(os.sep, "/"))
    return posixpath.join(head, org, tail)


def _is_url(value: str) -> bool:
    scheme, sep, _ = value.partition("://")
    return bool(sep) and len(scheme) > 1  # "C:\\..." has a one-letter "scheme"


def environments(environ: Mapping[str, str]) -> list[OrgEnvironment]:
    """One view per org of ``OUTREACH_ORGS``, or the single view without it."""
    orgs = orgs_from_env(environ)
    if not orgs:
        return [single_environment(environ)]
    views = [org_environment(environ, org) for org in orgs]
    check_separate(views)
    return views


def check_separate(views: Sequence[OrgEnvironment]) -> None:
    """Refuse two orgs with the same data folder or token store: their files would mix."""
    for cls, name in ((DeploymentSettings, "data_dir"), (ClientSettings, "token_store_path")):
        var = declared(cls)[name].env
        seen: dict[str, OrgEnvironment] = {}
        for view in views:
            value = view.get(var)
            if value is None or (name == "token_store_path" and _is_url(value)):
                continue  # a database store keys each org's rows by the org
            other = seen.setdefault(value, view)
            if other is not view:
                raise ConfigError(
                    f"orgs {other.org} and {view.org} would share files: both read {var} as "
                    f"{value!r} ({other.source(var)}, {view.source(var)}); give each its own"
                )


def choose_org(environ: Mapping[str, str], org: str | None) -> OrgEnvironment:
    """The view a command with ``--org`` reads: the named org's, or the only org's.

    Without ``OUTREACH_ORGS`` there is one org and ``--org`` is refused (it would read
    variables nothing else reads). With it, ``--org`` is required once there are two orgs:
    guessing would authorize or check the wrong organisation.
    """
    orgs = orgs_from_env(environ)
    if not orgs:
        if org is not None:
            raise ConfigError(f"--org {org} needs {ORGS_ENV} (unset: there is one org)")
        return single_environment(environ)
    if org is None:
        if len(orgs) > 1:
            raise ConfigError(f"{ORGS_ENV} names {', '.join(orgs)}: choose one with --org")
        org = orgs[0]
    if org not in orgs:
        raise ConfigError(f"--org {org}: not in {ORGS_ENV} ({', '.join(orgs)})")
    return org_environment(environ, org)
