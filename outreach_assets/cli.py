"""The ``outreach-assets`` command: sandbox server, demo run and OAuth helpers.

Subcommands:
  sandbox        run the bundled Outreach-compatible server on 127.0.0.1
  demo           start the sandbox, sync every stream with the real client, show what landed
  auth url       print the authorize URL with every scope the catalog needs
  auth exchange  trade an authorization code for a refresh token
"""

import argparse
import logging
import os
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from outreach_assets.catalog import STREAMS, all_scopes

if TYPE_CHECKING:
    from outreach_assets.sandbox import SandboxServer

log = logging.getLogger("outreach_assets")


def _sandbox_parser(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    p = sub.add_parser("sandbox", help="run the Outreach-compatible sandbox server")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0, help="0 picks a free port")
    p.add_argument("--records", type=int, default=1000, help="records per stream")
    p.add_argument(
        "--size", action="append", default=[], metavar="STREAM=N", help="per-stream record count"
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


def _parse_sizes(items: Sequence[str]) -> dict[str, int]:
    sizes: dict[str, int] = {}
    for item in items:
        name, _, count = item.partition("=")
        if not count.isdigit():
            raise SystemExit(f"--size expects STREAM=N, got {item!r}")
        sizes[name] = int(count)
    return sizes


def cmd_sandbox(args: argparse.Namespace) -> int:
    from outreach_assets.sandbox import SandboxConfig, serve_forever

    cfg = SandboxConfig(
        seed=args.seed,
        records=args.records,
        sizes=_parse_sizes(args.size),
        start=args.start,
        end=args.end or datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        latency_ms=args.latency_ms,
        rate_limit=args.rate_limit,
        rate_window_s=args.rate_window_s,
        access_token_ttl_s=args.access_token_ttl_s,
        rotate_refresh_tokens=args.rotate_refresh_tokens,
        token_throttle_s=args.token_throttle_s,
        error_rate={503: args.error_rate},
        max_body_bytes=args.max_body_bytes,
    )
    serve_forever(cfg, host=args.host, port=args.port)
    return 0


def _demo_parser(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    p = sub.add_parser(
        "demo", help="run outreach_sync_job against the bundled sandbox into local Parquet"
    )
    p.add_argument("--data-dir", default="data/outreach", help="where the Parquet files land")
    p.add_argument("--dagster-home", default=".dagster_home", help="the local Dagster instance")
    p.add_argument("--days", type=int, default=14, help="daily partitions to sync, up to today")
    p.add_argument("--records", type=int, default=300, help="sandbox records per stream")
    p.add_argument("--seed", type=int, default=0)


def cmd_demo(args: argparse.Namespace) -> int:
    """Run the real job, end to end, against a private sandbox; then show what landed.

    The sandbox and the project share nothing but HTTP on 127.0.0.1 and the OUTREACH_*
    variables a user would set, so this is the production path: definitions, resources,
    OAuth and token store, quota, one sweep per stream, Parquet files, checks, current state.
    """
    import dagster as dg

    from outreach_assets.definitions import build_defs
    from outreach_assets.sandbox import SandboxConfig, SandboxServer

    if args.days < 1:
        raise SystemExit("--days must be at least 1")
    today = datetime.now(UTC).date()
    first = today - timedelta(days=args.days - 1)
    data_dir = Path(args.data_dir).resolve()
    home = Path(args.dagster_home).resolve()
    home.mkdir(parents=True, exist_ok=True)
    cfg = SandboxConfig(
        seed=args.seed,
        records=args.records,
        start=f"{first.isoformat()}T00:00:00Z",
        end=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    )
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
        f"{elapsed:.1f} s with {requests} API requests. Browse it: "
        f"DAGSTER_HOME={home} dagster dev"
    )
    return 0 if result.success and not failures else 1


def _report(sb: "SandboxServer", data_dir: Path, checks: Sequence[Any]) -> int:
    """Print one line per stream: ground truth, rows landed, current state, checks."""
    import pyarrow.dataset as pads

    failed_checks = {e.asset_key.path[-1] for e in checks if not e.passed}
    print(f"{'stream':<20} {'sandbox':>8} {'landed':>8} {'current':>8} {'files':>6}  result")
    failures = 0
    for stream in STREAMS:
        truth = len(sb.truth(stream.name))
        folder = data_dir / stream.name
        landed = pads.dataset(folder).count_rows() if folder.exists() else 0
        files = len(list(folder.glob("*.parquet"))) if folder.exists() else 0
        current_dir = data_dir / f"{stream.name}_current"
        current = pads.dataset(current_dir).count_rows() if current_dir.exists() else 0
        ok = current == truth and stream.name not in failed_checks
        ok = ok and (landed == truth if stream.is_incremental else landed == truth * files)
        failures += not ok
        result = "ok" if ok else "MISMATCH"
        print(f"{stream.name:<20} {truth:>8} {landed:>8} {current:>8} {files:>6}  {result}")
    return failures


def _auth_parser(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    p = sub.add_parser("auth", help="get a refresh token for your Outreach app")
    auth = p.add_subparsers(dest="auth_command", required=True)
    url = auth.add_parser("url", help="print the authorize URL with every scope the streams need")
    url.add_argument("--state", default=None)
    url.add_argument("--authorize-url", default=None, help="default: Outreach's authorize page")
    ex = auth.add_parser("exchange", help="trade the ?code= from the redirect for a refresh token")
    ex.add_argument("--code", required=True)
    ex.add_argument(
        "--env-file", default=".env", help="file whose OUTREACH_REFRESH_TOKEN line is written"
    )


def cmd_auth(args: argparse.Namespace) -> int:
    from outreach_assets.client import authorize_url, exchange_code, settings_from_env
    from outreach_assets.client.settings import (
        DEFAULT_AUTHORIZE_URL,
        ENV_CLIENT_ID,
        ENV_REDIRECT_URI,
        ENV_REFRESH_TOKEN,
    )

    if args.auth_command == "url":
        missing = [v for v in (ENV_CLIENT_ID, ENV_REDIRECT_URI) if not os.environ.get(v)]
        if missing:
            raise SystemExit(f"set {' and '.join(missing)} first (your Outreach app's values)")
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
    tokens = exchange_code(settings_from_env(for_code_exchange=True), args.code, logger=log)
    if not tokens.refresh_token:
        raise SystemExit("Outreach answered without a refresh token; check the app's scopes")
    _write_env_line(Path(args.env_file), ENV_REFRESH_TOKEN, tokens.refresh_token)
    # The token itself is a secret: it goes to the file (mode 0600), never to the terminal.
    print(f"Refresh token saved as {ENV_REFRESH_TOKEN} in {args.env_file} (scopes: {tokens.scope})")
    return 0


def _write_env_line(path: Path, name: str, value: str) -> None:
    """Set ``name=value`` in a dotenv file, keeping its other lines; readable by owner only."""
    lines = path.read_text().splitlines() if path.exists() else []
    lines = [line for line in lines if not line.startswith(f"{name}=")] + [f"{name}={value}"]
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write("\n".join(lines) + "\n")
    os.replace(tmp, path)


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    parser = argparse.ArgumentParser(prog="outreach-assets", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    _sandbox_parser(sub)
    _demo_parser(sub)
    _auth_parser(sub)
    args = parser.parse_args(argv)
    handlers = {"sandbox": cmd_sandbox, "demo": cmd_demo, "auth": cmd_auth}
    return handlers[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
