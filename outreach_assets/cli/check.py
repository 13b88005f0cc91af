"""``outreach-assets check``: is this environment ready for a run? (in the spirit of ``dbt debug``)

A run that fails on its settings, its data folder or its credentials fails late, in a Dagster
step, after the UI was opened and a backfill queued. This command asks each question a run
would, in the order a run meets them, with the same code: the settings as the code location
reads them, the data folder as the assets probe it, the token store and the token endpoint
through the client's own token manager, and one record of every selected stream. Each
answer is one line, ``ok   <what>`` or ``FAIL <what>: <what to do>``; the exit status is 1
if any failed, so scripts and CI can gate on it.

Two promises: no secret (client secret, refresh or access token) is ever printed, since the
output ends up in terminals and CI logs; and checking costs the next run nothing, since the
token mint goes through the production refresh path, which saves a rotated refresh token
under the store's lock before anything else happens.
"""

import argparse
import logging
import os
import stat
import tempfile
from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Final

from outreach_assets.errors import OutreachError

if TYPE_CHECKING:
    from outreach_assets.catalog import Stream
    from outreach_assets.client import OutreachClient
    from outreach_assets.client.pg_token_store import PostgresTokenStore
    from outreach_assets.config import ClientSettings, DeploymentSettings

# A check should answer in seconds; a run may wait out a quota window, a check reports it.
CHECK_MAX_RATE_LIMIT_WAIT_S: Final = 60.0
PRIVATE_BITS: Final = stat.S_IRWXG | stat.S_IRWXO


@dataclass
class Report:
    """The lines printed so far and the tally for the summary."""

    out: Callable[[str], None] = print
    checks: int = 0
    failed: int = 0
    skipped: int = 0

    def ok(self, what: str) -> None:
        self.checks += 1
        self.out(f"ok   {what}")

    def fail(self, what: str, todo: str) -> None:
        self.checks += 1
        self.failed += 1
        self.out(f"FAIL {what}: {' '.join(todo.split())}")

    def info(self, what: str) -> None:
        """A line that is not a check: what the checks are based on."""
        self.out(f"     {what}")

    def skip(self, what: str, why: str) -> None:
        self.skipped += 1
        self.out(f"skip {what}: skipped ({why})")

    def summary(self) -> str:
        skipped = f", {self.skipped} skipped" if self.skipped else ""
        return f"{self.checks} checks, {self.failed} failed{skipped}"


def cmd_check(args: argparse.Namespace) -> int:
    """Check the settings of one org (``--org``, see ``config.orgs.choose_org``), each line
    naming the variables that org reads; OUTREACH_ORGS may come from the ``.env`` file."""
    from outreach_assets.config.orgs import choose_org
    from outreach_assets.resources import with_org_token_store

    # The .env line names the variables as written, so it is printed as it is.
    view = choose_org(environment_as_dagster_sees_it(Path.cwd(), Report()), args.org)
    view = with_org_token_store(view)  # the file the org's runs use
    report = Report(out=lambda line: print(view.rename(line)))
    if view.org:
        report.info(f"org {view.org}: OUTREACH_{view.org.upper()}_* variables, else OUTREACH_*")
    run_checks(view, report)
    print(report.summary())
    return 1 if report.failed else 0


def environment_as_dagster_sees_it(folder: Path, report: Report) -> dict[str, str]:
    """The process environment with ``folder/.env`` laid over it, as every ``dagster``
    command started in ``folder`` reads it (a ``.env`` value wins over the shell's), so the
    check judges the settings a run will have. Only the variables' names are printed."""
    from dotenv import dotenv_values

    path = folder / ".env"
    if not path.is_file():
        return dict(os.environ)
    loaded = {k: v for k, v in dotenv_values(path).items() if v is not None}
    names = ", ".join(sorted(loaded)) or "no variables"
    report.info(f"read {path} as Dagster does ({names})")
    return {**os.environ, **loaded}


def run_checks(environ: Mapping[str, str], report: Report) -> None:
    """Every check in order; a check whose inputs failed is reported as skipped."""
    client_settings = _client_settings(environ, report)
    deployment = _deployment_settings(environ, report)
    streams = _selected_streams(deployment, report) if deployment is not None else None

    if deployment is None:
        report.skip("data folder", "the deployment settings failed")
    else:
        _data_folder(deployment, report)

    if client_settings is None:
        for what in ("token store", "credentials", "streams"):
            report.skip(what, "the client settings failed")
        return
    settings = replace(
        client_settings,
        max_rate_limit_wait_s=min(
            client_settings.max_rate_limit_wait_s, CHECK_MAX_RATE_LIMIT_WAIT_S
        ),
    )
    if not _token_store(settings, report):
        report.skip("credentials", "the token store failed")
        report.skip("streams", "the token store failed")
        return

    from outreach_assets.client import OutreachClient

    with OutreachClient(settings, _quiet_logger()) as client:
        if not _credentials(client, report):
            report.skip("streams", "the credentials failed")
            return
        if streams is None:
            report.skip("streams", "the deployment settings failed")
            return
        for stream in streams:
            _stream(client, stream, report)


# --- settings ------------------------------------------------------------------------------


def _client_settings(environ: Mapping[str, str], report: Report) -> "ClientSettings | None":
    from outreach_assets.config import client_settings_from_env, env

    try:
        settings = client_settings_from_env(environ)
    except OutreachError as exc:
        report.fail("client settings", str(exc))
        return None
    report.ok(f"client settings ({env('api_base_url')}={settings.api_base_url})")
    return settings


def _deployment_settings(environ: Mapping[str, str], report: Report) -> "DeploymentSettings | None":
    from outreach_assets.config import deployment_settings_from_env

    try:
        settings = deployment_settings_from_env(environ)
    except OutreachError as exc:
        report.fail("deployment settings", str(exc))
        return None
    report.ok(
        f"deployment settings ({settings.partition_cadence} partitions from "
        f"{settings.start_date:%Y-%m-%d})"
    )
    return settings


def _selected_streams(
    settings: "DeploymentSettings", report: Report
) -> "tuple[Stream, ...] | None":
    try:
        streams = settings.selected_streams()
    except OutreachError as exc:
        report.fail("stream selection", str(exc))
        return None
    report.ok(f"stream selection ({len(streams)} streams)")
    return streams


# --- files ---------------------------------------------------------------------------------


def _data_folder(settings: "DeploymentSettings", report: Report) -> None:
    from outreach_assets.storage import check_data_dir

    try:
        state = check_data_dir(settings.data_dir)
    except OutreachError as exc:
        report.fail("data folder", str(exc))
        return
    if state is None:
        report.ok(f"data folder {settings.data_dir} (remote: left to its filesystem)")
        return
    created = ", created" if state.created else ""
    report.ok(f"data folder {state.path} ({_size(state.free_bytes)} free{created})")


def _token_store(settings: "ClientSettings", report: Report) -> bool:
    """Readable, writable where ``save`` writes (a temp file beside it), private to us.

    A token store others can read hands them a live refresh token, hence a failure, not a
    warning. A database store is read, locked and written in a rolled-back transaction;
    who may read its table is the database's GRANTs, which the check cannot judge.
    """
    from outreach_assets.client import FileTokenStore, open_token_store
    from outreach_assets.client.pg_token_store import PostgresTokenStore
    from outreach_assets.config import env

    try:
        opened = open_token_store(
            settings.token_store_path, settings.token_url, settings.client_id, settings.org
        )
    except OutreachError as exc:
        report.fail("token store", str(exc))
        return False
    if isinstance(opened, PostgresTokenStore):
        return _database_token_store(opened, report)
    assert isinstance(opened, FileTokenStore)
    store = opened
    path = store.path
    what = f"token store {path}"
    try:
        token = store.load()
        with store.lock():  # creates the folder (0700) as a run would
            pass
        with tempfile.NamedTemporaryFile(dir=path.parent, prefix=f".{path.name}.check-"):
            pass
    except OSError as exc:
        report.fail(
            what,
            f"cannot write in {path.parent} ({exc.strerror or exc}); set "
            f"{env('token_store_path')} to a writable file path",
        )
        return False
    except OutreachError as exc:
        report.fail(what, str(exc))
        return False
    if not path.exists():
        report.ok(f"{what} (no token yet; the first mint creates it, mode 0600)")
        return True
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & PRIVATE_BITS:
        report.fail(
            what,
            f"mode {mode:04o} lets other users read a live refresh token; run `chmod 600 {path}`",
        )
        return False
    held = "holds a token" if token is not None else "holds no readable token"
    report.ok(f"{what} (mode {mode:04o}, {held})")
    return True


def _database_token_store(store: "PostgresTokenStore", report: Report) -> bool:
    """Connect, read the row, take the refresh lock, prove the row writable (rolled back)."""
    from outreach_assets.client.pg_token_store import TABLE

    what = f"token store {store.location}"
    try:
        token = store.load()
        with store.lock():
            store.check_writable()
    except OutreachError as exc:
        report.fail(what, str(exc))
        return False
    held = "holds a token" if token is not None else "no token yet; the first mint writes it"
    report.ok(f"{what} (table {TABLE}: readable, writable, lockable; {held})")
    return True


# --- Outreach ------------------------------------------------------------------------------


def _credentials(client: "OutreachClient", report: Report) -> bool:
    try:
        client.mint_access_token()
    except OutreachError as exc:
        report.fail("credentials", str(exc))
        return False
    report.ok(
        "credentials (a new access token was minted; the token store holds the newest "
        "refresh token)"
    )
    return True


def _stream(client: "OutreachClient", stream: "Stream", report: Report) -> None:
    """One request of one record: proves the scope at the cost of one request."""
    what = f"stream {stream.name} (scope {stream.scope})"
    pages = client.iter_pages(stream, page_size=1)
    try:
        page = next(pages, None)
    except OutreachError as exc:
        report.fail(what, str(exc))
        return
    finally:
        if isinstance(pages, Generator):
            pages.close()
    count = page.count if page is not None else 0
    report.ok(f"{what}: {'readable' if count else 'readable, no records yet'}")


# --- helpers -------------------------------------------------------------------------------


def _quiet_logger() -> logging.Logger:
    """The client's progress lines (a mint, a one-page scan) would drown the check lines;
    its warnings (retries, waits) still explain a slow check."""
    logger = logging.getLogger("outreach_assets.check")
    logger.setLevel(logging.WARNING)
    return logger


def _size(n: int) -> str:
    size = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024:
            return f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} TB"
