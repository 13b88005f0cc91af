"""The Dagster code location: every definition of the project, wired to its resources."""

import json
import os
import sys
from collections.abc import Iterator, Mapping, Sequence

import dagster as dg

from outreach_assets.assets import (
    OutreachTranslator,
    build_assets,
    build_jobs,
    executor_for,
    partitions_def_for,
)
from outreach_assets.assets.partitions import partition_key_problem
from outreach_assets.automation import build_automation
from outreach_assets.config import (
    ClientSettings,
    ConfigError,
    DeploymentSettings,
    deployment_settings_from_env,
)
from outreach_assets.config.client import CREDENTIALS
from outreach_assets.config.declare import declared, missing_variables, parse
from outreach_assets.config.orgs import ORGS_ENV, OrgEnvironment, environments
from outreach_assets.resources import OutreachIOManager, outreach_resource_for
from outreach_assets.storage import check_data_dir

# Dagster CLI options whose value is a partition key, or a range ``first...last``.
_PARTITION_OPTIONS = ("--partition", "--partition-range")
# Run tags naming partition keys, given as ``dagster job execute --tags '{...}'``.
_PARTITION_TAGS = (
    "dagster/partition",
    "dagster/asset_partition_range_start",
    "dagster/asset_partition_range_end",
)


def build_defs(
    environ: Mapping[str, str] | None = None, translator: OutreachTranslator | None = None
) -> dg.Definitions:
    """Everything, configured from ``environ`` (default: the process environment).

    Credentials stay ``dg.EnvVar`` references resolved at launch; the partition start,
    cadence, data folder, kept columns and automation settings shape the definitions, so
    they are read now. ``translator`` names the assets (see ``assets.translator``).

    With ``OUTREACH_ORGS``, each org gets the same definitions from its own view of the
    environment (``config.orgs``) and the translator's copy for it (``for_org``): its own
    keys, names, pool, resource keys, data folder and token store. One code location keeps
    them in one UI and one daemon; the resource keys keep their runs apart.
    """
    env = os.environ if environ is None else environ
    translator = translator or OutreachTranslator()
    views = environments(env)
    if len(views) == 1 and not views[0].org:
        return _defs_of(views[0], translator)
    defs = [_defs_of(v, translator.for_org(v.org)) for v in views]
    if len({d.executor for d in defs}) > 1:  # Dagster's merge takes one executor only
        var = declared(DeploymentSettings)["step_processes"].env
        raise ConfigError(
            f"{ORGS_ENV}: the orgs' {var.removeprefix('OUTREACH_')} differ, but a code location "
            f"runs every org's steps with one executor; set only the shared {var}"
        )
    return dg.Definitions.merge(*defs)


def _defs_of(view: OrgEnvironment, translator: OutreachTranslator) -> dg.Definitions:
    """One org's definitions; a bad setting is said naming the org and the variable it read."""
    try:
        return _org_defs(view, translator)
    except ConfigError as exc:
        raise ConfigError(view.say(str(exc))) from None


def _org_defs(view: OrgEnvironment, translator: OutreachTranslator) -> dg.Definitions:
    """The definitions of one view of the environment (the only one without OUTREACH_ORGS)."""
    settings = deployment_settings_from_env(view)
    outreach = outreach_resource_for(view)
    partitions_def = partitions_def_for(settings)
    schedules, sensors = build_automation(partitions_def, settings, translator)
    executor = executor_for(settings.step_processes)
    return dg.Definitions(
        executor=executor,  # also for the asset jobs the UI and the CLI build
        assets=build_assets(partitions_def, settings, translator),
        jobs=build_jobs(translator, settings.selected_streams(), executor),
        schedules=schedules,
        sensors=sensors,
        resources={
            translator.resource_key: outreach,
            translator.io_manager_key: OutreachIOManager(base_dir=settings.data_dir),
        },
    )


def load_warnings(environ: Mapping[str, str], argv: Sequence[str] = ()) -> Iterator[str]:
    """What would make a run fail, found when the code location loads, one line each.

    None of these stops the load: ``dagster dev`` and ``dagster definitions validate`` must
    work without credentials, and a run worker may see a data folder the code server does
    not. Said now, they are the first line of a CLI command's output, ahead of Dagster's
    tracebacks, and before a run spends any request: missing or malformed credentials
    (which Dagster would otherwise report as a config error of the whole job), a data folder
    that cannot be written, and a partition key in ``argv`` that is not a partition: the
    ``--partition`` or ``--partition-range`` of ``dagster asset materialize``, or the
    partition tags of ``dagster job execute --tags`` (both load the location in their own
    process). With ``OUTREACH_ORGS``, each org's, naming the org and its variables.
    """
    for view in environments(environ):
        yield from (view.say(warning) for warning in _view_warnings(view, argv))


def _view_warnings(environ: Mapping[str, str], argv: Sequence[str]) -> Iterator[str]:
    """:func:`load_warnings` of one org's view of the environment."""
    missing = missing_variables(ClientSettings, environ, CREDENTIALS)
    if missing:
        verb, them = ("is", "it") if len(missing) == 1 else ("are", "them")
        yield (
            f"{', '.join(missing)} {verb} not set: runs that read Outreach fail until you "
            f"export {them} with your Outreach app's credentials (Dagster commands also read "
            "a .env file in the working directory)"
        )
    items = declared(ClientSettings)
    for name in CREDENTIALS:
        raw = environ.get(items[name].env) or ""
        if raw.strip():
            try:
                parse(ClientSettings, name, raw)
            except ConfigError as exc:
                yield str(exc)
    settings = deployment_settings_from_env(environ)
    try:
        check_data_dir(settings.data_dir, create=False)
    except ConfigError as exc:
        yield str(exc)
    partitions_def = partitions_def_for(settings)
    for key in _requested_partition_keys(argv):
        problem = partition_key_problem(partitions_def, key, settings.partition_cadence)
        if problem is not None:
            yield problem


def _requested_partition_keys(argv: Sequence[str]) -> list[str]:
    """The partition keys that ``argv`` names: a ``--partition`` or ``--partition-range``
    option (``dagster asset materialize``) or partition tags in a ``--tags`` JSON object
    (``dagster job execute``)."""
    keys = []
    for option, value in _option_values(argv):
        if option == "--partition-range":
            keys += [part for part in value.split("...") if part]
        elif option in _PARTITION_OPTIONS:
            keys += [value] if value else []
        else:
            keys += _tagged_partition_keys(value)
    return keys


def _option_values(argv: Sequence[str]) -> Iterator[tuple[str, str]]:
    """``(option, value)`` of each partition option or ``--tags`` (``--opt v``, ``--opt=v``)."""
    for i, arg in enumerate(argv):
        option, equals, value = arg.partition("=")
        if option in (*_PARTITION_OPTIONS, "--tags"):
            if not equals:
                value = argv[i + 1] if i + 1 < len(argv) else ""
            yield option, value


def _tagged_partition_keys(tags_json: str) -> list[str]:
    """The partition tags' values; anything that is not a JSON object is Dagster's to refuse."""
    try:
        tags = json.loads(tags_json)
    except ValueError:
        return []
    if not isinstance(tags, dict):
        return []
    return [str(tags[tag]) for tag in _PARTITION_TAGS if tags.get(tag)]


def _say(message: str) -> None:
    """One line on stderr, flushed at once so that it comes before Dagster's own output."""
    print(f"outreach_assets: {message}", file=sys.stderr, flush=True)


def _load() -> dg.Definitions:
    """The code location as Dagster loads it: a bad setting is said in one line first.

    Dagster reports a failed load as a traceback of 50 to 80 lines that ends with the
    ``ConfigError``; printing that one line first makes it the first thing a user reads in
    the output of every ``dagster`` command (and of ``dagster dev``'s code server). The
    error is still raised, so the load fails as before.
    """
    try:
        loaded = build_defs()
    except ConfigError as exc:
        _say(f"error: {exc}")
        raise
    for warning in load_warnings(os.environ, sys.argv):
        _say(f"warning: {warning}")
    return loaded


defs = _load()
