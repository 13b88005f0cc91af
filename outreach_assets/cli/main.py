"""The ``outreach-assets`` command: sandbox server, demo run and OAuth helpers.

Subcommands:
  sandbox        run the bundled Outreach-compatible server on 127.0.0.1
  demo           start the sandbox, sync every stream with the real client, show what landed
  auth url       print the authorize URL with every scope the catalog needs
  auth exchange  trade an authorization code for tokens and save them where runs find them
  check          prove the settings, data folder, token store, credentials and scopes work

A mistake the user can fix (a bad argument, a missing variable, a refused authorization
code) prints one line, ``outreach-assets: error: <message>``, and exits with 2, as argparse
does for its own errors; a traceback means a bug.

``check`` reports its own failures as ``FAIL`` lines and exits with 1 instead: finding
them is its purpose, not a mistake in how it was called.

This module parses the command line, runs the small sandbox command and turns user errors
into that line; the demo's, auth's and check's work lives in ``cli.demo``, ``cli.auth`` and
``cli.check``, and what they share in ``cli.support``.
"""

import argparse
import logging
from collections.abc import Callable, Sequence
from typing import TypeAlias

from outreach_assets.catalog import STREAMS_BY_NAME, all_scopes
from outreach_assets.cli.auth import cmd_auth_exchange, cmd_auth_url
from outreach_assets.cli.check import cmd_check
from outreach_assets.cli.demo import cmd_demo
from outreach_assets.cli.support import PROG, CommandError, log, sandbox_config
from outreach_assets.config import env
from outreach_assets.errors import OutreachError
from outreach_assets.timestamps import utc_now_text

EXIT_USAGE = 2  # argparse's exit code for a bad command line; used for every user error
Handler: TypeAlias = Callable[[argparse.Namespace], int]
SubParsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


# --- argument types ------------------------------------------------------------------------


def _stream_size(text: str) -> tuple[str, int]:
    """``--size STREAM=N``: checked here so a typo in a stream name is not silently ignored."""
    name, sep, count = text.partition("=")
    if not sep or not count.isdigit():
        raise argparse.ArgumentTypeError(f"expected STREAM=N with a whole number N, got {text!r}")
    if name not in STREAMS_BY_NAME:
        raise argparse.ArgumentTypeError(
            f"unknown stream {name!r}; streams: {', '.join(sorted(STREAMS_BY_NAME))}"
        )
    return name, int(count)


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {text!r}")
    return value


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"expected a port from 0 to 65535, got {text!r}")
    return value


# --- sandbox -------------------------------------------------------------------------------


def _sandbox_parser(sub: SubParsers) -> None:
    p = sub.add_parser(
        "sandbox",
        help="run the Outreach-compatible sandbox server",
        description="Serve an Outreach API v2 look-alike (OAuth, JSON:API pages, rate limits, "
        "faults, deterministic data) on 127.0.0.1 until Ctrl-C. Point the project at it with "
        "the OUTREACH_* variables it prints.",
    )
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=_port, default=0, help="0 picks a free port")
    p.add_argument("--records", type=int, default=1000, help="records per stream")
    p.add_argument(
        "--size",
        type=_stream_size,
        action="append",
        default=[],
        metavar="STREAM=N",
        help="record count of one stream (repeatable)",
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--latency-ms", type=float, default=0.0)
    p.add_argument("--rate-limit", type=int, default=10000, help="requests per window")
    p.add_argument("--rate-window-s", type=float, default=3600.0)
    p.add_argument("--access-token-ttl-s", type=int, default=7200)
    p.add_argument("--rotate-refresh-tokens", action="store_true")
    p.add_argument("--token-throttle-s", type=float, default=0.0)
    p.add_argument("--error-rate", type=float, default=0.0, help="probability of a 503 per request")
    p.add_argument("--max-body-bytes", type=int, default=None, help="502 above this page size")
    p.add_argument("--start", default="2023-01-01T00:00:00Z", help="first cursor timestamp")
    p.add_argument("--end", default=None, help="last cursor timestamp (default: now)")
    p.set_defaults(handler=cmd_sandbox)


def cmd_sandbox(args: argparse.Namespace) -> int:
    from outreach_assets.sandbox import serve_forever

    cfg = sandbox_config(
        seed=args.seed,
        records=args.records,
        sizes=dict(args.size),
        start=args.start,
        end=args.end or utc_now_text(),
        latency_ms=args.latency_ms,
        rate_limit=args.rate_limit,
        rate_window_s=args.rate_window_s,
        access_token_ttl_s=args.access_token_ttl_s,
        rotate_refresh_tokens=args.rotate_refresh_tokens,
        token_throttle_s=args.token_throttle_s,
        error_rate={503: args.error_rate},
        max_body_bytes=args.max_body_bytes,
    )
    try:
        serve_forever(cfg, host=args.host, port=args.port)
    except OSError as exc:  # the address is taken or not ours
        raise CommandError(
            f"cannot serve on {args.host}:{args.port}: {exc.strerror or exc}"
        ) from exc
    return 0


# --- demo ----------------------------------------------------------------------------------


def _demo_parser(sub: SubParsers) -> None:
    p = sub.add_parser(
        "demo",
        help="run outreach_sync_job against the bundled sandbox into local Parquet",
        description="Start a private sandbox, run the real outreach_sync_job over the last "
        "--days daily partitions in one run (production client, token store, quota, checks, "
        "current state), print what landed next to the sandbox's ground truth, and print "
        "the command that opens the Dagster UI on the same data and run history; with "
        "--ui, serve that UI on the still running sandbox until Ctrl-C.",
    )
    p.add_argument("--data-dir", default="data/outreach", help="where the Parquet files land")
    p.add_argument("--dagster-home", default=".dagster_home", help="the local Dagster instance")
    p.add_argument(
        "--days", type=_positive_int, default=14, help="daily partitions to sync, up to today"
    )
    p.add_argument("--records", type=int, default=300, help="sandbox records per stream")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--ui",
        action="store_true",
        help="then keep the sandbox up and serve the Dagster UI on it (dagster dev) until "
        "Ctrl-C, so Materialize, backfills, the sensor and the schedules work",
    )
    p.add_argument("--host", default="127.0.0.1", help="the UI's address (with --ui)")
    p.add_argument("--port", type=_port, default=3000, help="the UI's port (with --ui)")
    p.set_defaults(handler=cmd_demo)


def _org_option(p: argparse.ArgumentParser) -> None:
    """``--org NAME``: the org of OUTREACH_ORGS whose variables to read (see
    ``config.orgs.choose_org``: required when there are several, refused without any)."""
    p.add_argument(
        "--org",
        default=None,
        metavar="NAME",
        help="the org of OUTREACH_ORGS to read (OUTREACH_<NAME>_* variables, else "
        "OUTREACH_*); required when OUTREACH_ORGS names several, refused when it is unset",
    )


# --- auth ----------------------------------------------------------------------------------


def _auth_parser(sub: SubParsers) -> None:
    p = sub.add_parser(
        "auth",
        help="get a refresh token for your Outreach app",
        description="Authorize your Outreach app once: 'auth url' prints the page to approve, "
        "'auth exchange --code CODE' trades the code from the redirect for tokens.",
    )
    auth = p.add_subparsers(dest="auth_command", required=True, metavar="SUBCOMMAND")
    url = auth.add_parser(
        "url",
        help="print the authorize URL with every scope the streams need",
        description=f"Print the URL to open in a browser. Needs {env('client_id')} and "
        f"{env('redirect_uri')}; asks for the read scope of every stream {env('streams')} and "
        f"{env('exclude_streams')} select ({len(all_scopes())} scopes for all of them).",
    )
    url.add_argument("--state", default=None, help="opaque value echoed back to the redirect")
    url.add_argument("--authorize-url", default=None, help="default: Outreach's authorize page")
    _org_option(url)
    url.set_defaults(handler=cmd_auth_url)
    ex = auth.add_parser(
        "exchange",
        help="trade the ?code= from the redirect for tokens",
        description="Trade the authorization code for tokens at the token URL. The refresh "
        f"token is written to --env-file (mode 0600) as {env('refresh_token')} and both tokens "
        "go to the token store, so the first run needs no new token. Needs "
        f"{env('client_id')}, {env('client_secret')} and {env('redirect_uri')}.",
    )
    ex.add_argument("--code", required=True, help="the code parameter of the redirect URL")
    ex.add_argument(
        "--env-file", default=".env", help=f"file whose {env('refresh_token')} line is written"
    )
    ex.add_argument(
        "--print-token",
        action="store_true",
        help="also print the refresh token (it is a secret: mind your terminal's scrollback)",
    )
    _org_option(ex)
    ex.set_defaults(handler=cmd_auth_exchange)


# --- check ---------------------------------------------------------------------------------


def _check_parser(sub: SubParsers) -> None:
    p = sub.add_parser(
        "check",
        help="check the settings, data folder, token store, credentials and stream scopes",
        description="Read the OUTREACH_* variables as the code location does and check, one "
        "line each: every setting, the data folder, the token store, the credentials (a real "
        "token request, whatever is cached) and one record of every selected stream (its "
        "scope). Prints no secret; exits with 1 if any check failed.",
    )
    _org_option(p)
    p.set_defaults(handler=cmd_check)


# --- main ----------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Outreach.io into partitioned Parquet with Dagster: the bundled sandbox "
        "server, a demo run on it, the OAuth steps that give you a refresh token, and a check "
        "that a setup is ready to run.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _sandbox_parser(sub)
    _demo_parser(sub)
    _auth_parser(sub)
    _check_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    # Our own progress at INFO; libraries (alembic, urllib3...) only when they warn.
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(message)s")
    log.setLevel(logging.INFO)
    handler: Handler = args.handler
    try:
        return handler(args)
    except OutreachError as exc:  # written for the user (errors.py); anything else is a bug
        message = " ".join(str(exc).split())  # one line, whatever the exception held
        parser.exit(EXIT_USAGE, f"{PROG}: error: {message}\n")
