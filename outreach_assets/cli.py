"""The ``outreach-assets`` command: sandbox server, demo run and OAuth helpers.

Subcommands:
  sandbox        run the bundled Outreach-compatible server on 127.0.0.1
  demo           start the sandbox, sync every stream with the real client, show what landed
  auth url       print the authorize URL with every scope the catalog needs
  auth exchange  trade an authorization code for tokens and save them where runs find them

A mistake the user can fix (a bad argument, a missing variable, a refused authorization
code) prints one line, ``outreach-assets: error: <message>``, and exits with 2, as argparse
does for its own errors; a traceback means a bug.
"""

import argparse
import logging
import os
import shlex
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias

from outreach_assets.catalog import STREAMS, STREAMS_BY_NAME, all_scopes
from outreach_assets.client.errors import OutreachError
from outreach_assets.partitions import PartitionConfigError

if TYPE_CHECKING:
    from outreach_assets.client import ClientSettings, TokenResponse
    from outreach_assets.sandbox import SandboxConfig, SandboxServer

log = logging.getLogger("outreach_assets")

PROG = "outreach-assets"
EXIT_USAGE = 2  # argparse's exit code for a bad command line; used for every user error
Handler: TypeAlias = Callable[[argparse.Namespace], int]
SubParsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


class CommandError(Exception):
    """A problem the message alone lets the user fix; printed as one line, never a traceback."""


# Errors whose message is written for the user (see client/errors.py); anything else is a bug.
USER_ERRORS: tuple[type[Exception], ...] = (CommandError, OutreachError, PartitionConfigError)


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

    cfg = _sandbox_config(
        seed=args.seed,
        records=args.records,
        sizes=dict(args.size),
        start=args.start,
        end=args.end or _now_text(),
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


def _sandbox_config(**fields: Any) -> "SandboxConfig":
    """Build a sandbox config; its range and count checks become one-line errors."""
    from outreach_assets.sandbox import SandboxConfig

    try:
        return SandboxConfig(**fields)
    except ValueError as exc:
        raise CommandError(f"invalid sandbox settings: {exc}") from exc


def _now_text() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- demo ----------------------------------------------------------------------------------


def _demo_parser(sub: SubParsers) -> None:
    p = sub.add_parser(
        "demo",
        help="run outreach_sync_job against the bundled sandbox into local Parquet",
        description="Start a private sandbox, run the real outreach_sync_job over the last "
        "--days daily partitions in one run (production client, token store, quota, checks, "
        "current state), print what landed next to the sandbox's ground truth, and print "
        "the command that opens the Dagster UI on the same data and run history.",
    )
    p.add_argument("--data-dir", default="data/outreach", help="where the Parquet files land")
    p.add_argument("--dagster-home", default=".dagster_home", help="the local Dagster instance")
    p.add_argument(
        "--days", type=_positive_int, default=14, help="daily partitions to sync, up to today"
    )
    p.add_argument("--records", type=int, default=300, help="sandbox records per stream")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(handler=cmd_demo)


def cmd_demo(args: argparse.Namespace) -> int:
    """Run the real job, end to end, against a private sandbox; then show what landed.

    The sandbox and the project share nothing but HTTP on 127.0.0.1 and the OUTREACH_*
    variables a user would set, so this is the production path: definitions, resources,
    OAuth and token store, quota, one sweep per stream, Parquet files, checks, current state.
    """
    import dagster as dg

    from outreach_assets.definitions import build_defs
    from outreach_assets.sandbox import SandboxServer

    today = datetime.now(UTC).date()
    first = today - timedelta(days=args.days - 1)
    data_dir = Path(args.data_dir).resolve()
    home = Path(args.dagster_home).resolve()
    cfg = _sandbox_config(
        seed=args.seed,
        records=args.records,
        start=f"{first.isoformat()}T00:00:00Z",
        end=_now_text(),
    )
    home.mkdir(parents=True, exist_ok=True)
    instance_yaml = home / "dagster.yaml"
    if not instance_yaml.exists():
        # A local demo instance: SQLite storage in this folder (Dagster's default), no usage
        # telemetry; without the file Dagster warns that it is missing.
        instance_yaml.write_text("telemetry:\n  enabled: false\n")
    with SandboxServer(cfg) as sb:
        env = {
            **sb.environment(),
            "OUTREACH_START_DATE": first.isoformat(),
            "OUTREACH_DATA_DIR": str(data_dir),
            "OUTREACH_TOKEN_STORE": str(home / "outreach_tokens.json"),
            "DAGSTER_HOME": str(home),
        }
        os.environ.update(env)
        job = build_defs(env).resolve_job_def("outreach_sync_job")
        print(f"Sandbox at {sb.base_url}; syncing {first}..{today} into {data_dir}/")
        started = time.monotonic()
        with dg.DagsterInstance.get() as instance:
            result = job.execute_in_process(
                instance=instance,
                tags={
                    "dagster/asset_partition_range_start": first.isoformat(),
                    "dagster/asset_partition_range_end": today.isoformat(),
                },
                raise_on_error=False,
                # INFO keeps the progress lines (pages, records, rate, quota waits) readable.
                run_config={"loggers": {"console": {"config": {"log_level": "INFO"}}}},
            )
        elapsed = time.monotonic() - started
        failures = _report(sb, data_dir, result.get_asset_check_evaluations())
        requests = sb.stats.api_requests
    print(
        f"run {result.run_id[:8]} {'succeeded' if result.success else 'FAILED'} in "
        f"{elapsed:.1f} s with {requests} API requests. Browse the run and the assets:"
    )
    print(ui_command(home, data_dir, first.isoformat()))
    return 0 if result.success and not failures else 1


def ui_command(home: Path, data_dir: Path, start_date: str) -> str:
    """The shell command that opens the Dagster UI on the demo's instance and files.

    The partitions start where the demo's did, so the UI shows the demo's days (not a
    partition per day since the default start date) and finds the files it wrote; the
    module form loads the project from any directory. The sandbox is gone by then, so the
    UI browses; new runs need real OUTREACH_* credentials.
    """
    env = {
        "DAGSTER_HOME": str(home),
        "OUTREACH_DATA_DIR": str(data_dir),
        "OUTREACH_START_DATE": start_date,
    }
    dagster = Path(sys.executable).with_name("dagster")
    program = [str(dagster)] if dagster.exists() else [sys.executable, "-m", "dagster"]
    assignments = " ".join(f"{name}={shlex.quote(value)}" for name, value in env.items())
    return f"{assignments} {shlex.join([*program, 'dev', '-m', 'outreach_assets.definitions'])}"


def _report(sb: "SandboxServer", data_dir: Path, checks: Sequence[Any]) -> int:
    """Print one line per stream: ground truth, rows landed, partitions, current state, checks."""
    import pyarrow.dataset as pads

    failed_checks = {e.asset_key.path[-1] for e in checks if not e.passed}
    print(f"{'stream':<20} {'sandbox':>8} {'landed':>8} {'partitions':>10} {'current':>8}  result")
    failures = 0
    for stream in STREAMS:
        truth = len(sb.truth(stream.name))
        folder = data_dir / stream.name
        landed = pads.dataset(folder).count_rows() if folder.exists() else 0
        partitions = len(list(folder.glob("*.parquet"))) if folder.exists() else 0  # one file each
        current_dir = data_dir / f"{stream.name}_current"
        current = pads.dataset(current_dir).count_rows() if current_dir.exists() else 0
        ok = current == truth and stream.name not in failed_checks
        ok = ok and (landed == truth if stream.is_incremental else landed == truth * partitions)
        failures += not ok
        result = "ok" if ok else "MISMATCH"
        print(f"{stream.name:<20} {truth:>8} {landed:>8} {partitions:>10} {current:>8}  {result}")
    return failures


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
        description=f"Print the URL to open in a browser. Needs OUTREACH_CLIENT_ID and "
        f"OUTREACH_REDIRECT_URI; asks for the {len(all_scopes())} read scopes the streams need.",
    )
    url.add_argument("--state", default=None, help="opaque value echoed back to the redirect")
    url.add_argument("--authorize-url", default=None, help="default: Outreach's authorize page")
    url.set_defaults(handler=cmd_auth_url)
    ex = auth.add_parser(
        "exchange",
        help="trade the ?code= from the redirect for tokens",
        description="Trade the authorization code for tokens at the token URL. The refresh "
        "token is written to --env-file (mode 0600) as OUTREACH_REFRESH_TOKEN and both tokens "
        "go to the token store, so the first run needs no new token. Needs "
        "OUTREACH_CLIENT_ID, OUTREACH_CLIENT_SECRET and OUTREACH_REDIRECT_URI.",
    )
    ex.add_argument("--code", required=True, help="the code parameter of the redirect URL")
    ex.add_argument(
        "--env-file", default=".env", help="file whose OUTREACH_REFRESH_TOKEN line is written"
    )
    ex.add_argument(
        "--print-token",
        action="store_true",
        help="also print the refresh token (it is a secret: mind your terminal's scrollback)",
    )
    ex.set_defaults(handler=cmd_auth_exchange)


def cmd_auth_url(args: argparse.Namespace) -> int:
    from outreach_assets.client import authorize_url
    from outreach_assets.client.settings import (
        DEFAULT_AUTHORIZE_URL,
        ENV_CLIENT_ID,
        ENV_REDIRECT_URI,
    )

    missing = [v for v in (ENV_CLIENT_ID, ENV_REDIRECT_URI) if not os.environ.get(v)]
    if missing:
        raise CommandError(f"set {' and '.join(missing)} first (your Outreach app's values)")
    print(
        authorize_url(
            os.environ[ENV_CLIENT_ID],
            os.environ[ENV_REDIRECT_URI],
            all_scopes(),
            base=args.authorize_url or DEFAULT_AUTHORIZE_URL,
            state=args.state,
        )
    )
    return 0


def cmd_auth_exchange(args: argparse.Namespace) -> int:
    """Trade the code, then put the tokens where the resource looks for them.

    The refresh token goes to the env file the user loads; the access token and refresh token
    go to the token store under the fingerprint of that same refresh token, so the first run
    with it reuses the access token instead of minting one (Outreach allows one a minute,
    and each mint counts towards the 100 after which a refresh token dies).
    """
    from outreach_assets.client import exchange_code, settings_from_env
    from outreach_assets.client.settings import ENV_REFRESH_TOKEN

    settings = settings_from_env(for_code_exchange=True)
    env_file = Path(args.env_file)
    _check_writable(env_file)  # before the exchange: a code works once
    issued_at = time.time()
    tokens = exchange_code(settings, args.code, logger=log)
    if not tokens.refresh_token:
        raise CommandError("Outreach answered without a refresh token; check the app's scopes")
    refresh_token = tokens.refresh_token
    store = _save_tokens(settings, tokens, refresh_token, issued_at)
    _write_env_line(env_file, ENV_REFRESH_TOKEN, refresh_token)
    scopes = f" (scopes: {tokens.scope})" if tokens.scope else ""
    print(f"Authorized{scopes}. {ENV_REFRESH_TOKEN} written to {env_file} (mode 0600).")
    if store is not None:
        print(f"Access and refresh tokens saved to the token store {store}.")
    print(f"{env_file} needs these lines ({ENV_REFRESH_TOKEN} is there already):")
    for line in env_lines(os.environ, refresh_token, store, show_token=args.print_token):
        print(line)
    return 0


def _save_tokens(
    settings: "ClientSettings", tokens: "TokenResponse", refresh_token: str, issued_at: float
) -> str | None:
    """Write the fresh tokens to the store the client will use; returns its location.

    The refresh token is already in the env file, so a store that cannot be written costs
    one token mint on the first run, not the authorization: warn and carry on.
    """
    from outreach_assets.client import (
        FileTokenStore,
        OutreachConfigError,
        StoredToken,
        default_store_path,
    )
    from outreach_assets.client.token_store import fingerprint

    path = settings.token_store_path or default_store_path(settings.token_url, settings.client_id)
    store = FileTokenStore(path)
    token = StoredToken(
        refresh_token=refresh_token,
        access_token=tokens.access_token,
        issued_at=issued_at,
        expires_at=issued_at + tokens.expires_in,
        source_fingerprint=fingerprint(refresh_token),
    )
    try:
        with store.lock():
            store.save(token)
    except OutreachConfigError as exc:
        print(f"{PROG}: warning: {exc}; the first run will mint a new token", file=sys.stderr)
        return None
    return store.location


def env_lines(
    environ: Mapping[str, str], refresh_token: str, store: str | None, *, show_token: bool
) -> list[str]:
    """The ``.env`` lines for the client: settings in full, secrets as placeholders.

    Required settings always, optional ones when set. The token store's path is spelled
    out so runs find the tokens whatever their ``DAGSTER_HOME`` (``dagster dev`` without one
    uses a temporary folder).
    """
    from outreach_assets.client.settings import FIELD_ENV_VARS, REQUIRED_FIELDS, SECRET_FIELDS

    lines = []
    for name, var in FIELD_ENV_VARS.items():
        if name == "refresh_token":
            value = refresh_token if show_token else "<written to the env file; see --print-token>"
        elif name in SECRET_FIELDS:
            value = f"<your {name.replace('_', ' ')}>"
        elif name == "token_store_path" and store is not None:
            value = store
        elif name in REQUIRED_FIELDS or environ.get(var):
            value = environ.get(var, "")
        else:
            continue
        lines.append(f"{var}={value}")
    return lines


def _check_writable(path: Path) -> None:
    if path.is_dir() or not os.access(path.parent, os.W_OK | os.X_OK):
        raise CommandError(f"cannot write --env-file {path}: not a file in a writable folder")


def _write_env_line(path: Path, name: str, value: str) -> None:
    """Set ``name=value`` in a dotenv file, keeping its other lines; readable by owner only."""
    lines = path.read_text().splitlines() if path.exists() else []
    lines = [line for line in lines if not line.startswith(f"{name}=")] + [f"{name}={value}"]
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write("\n".join(lines) + "\n")
    os.replace(tmp, path)


# --- main ----------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Outreach.io into partitioned Parquet with Dagster: the bundled sandbox "
        "server, a demo run on it, and the OAuth steps that give you a refresh token.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _sandbox_parser(sub)
    _demo_parser(sub)
    _auth_parser(sub)
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
    except USER_ERRORS as exc:
        message = " ".join(str(exc).split())  # one line, whatever the exception held
        parser.exit(EXIT_USAGE, f"{PROG}: error: {message}\n")


if __name__ == "__main__":
    sys.exit(main())
