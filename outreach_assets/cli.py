"""The ``outreach-assets`` command: sandbox server, demo run and OAuth helpers.

Subcommands:
  sandbox        run the bundled Outreach-compatible server on 127.0.0.1
  demo           start the sandbox, sync every stream with the real client, show what landed
  auth url       print the authorize URL with every scope the catalog needs
  auth exchange  trade an authorization code for a refresh token
"""

import argparse
import json
import logging
import os
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from outreach_assets.catalog import STREAMS, Stream, all_scopes

if TYPE_CHECKING:
    from outreach_assets.client import OutreachClient

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
    p = sub.add_parser("demo", help="sync every stream from the bundled sandbox into local files")
    p.add_argument("--data-dir", default="data/outreach_demo", help="where the files land")
    p.add_argument("--records", type=int, default=300, help="sandbox records per stream")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--streams", default="", help="comma-separated stream names (default: all)")


def cmd_demo(args: argparse.Namespace) -> int:
    """Sync streams from a private sandbox with the production client and check the result.

    The sandbox and the client share nothing but HTTP on 127.0.0.1, so this is the real code
    path: OAuth refresh, token store, quota headers, cursor pages.
    """
    from outreach_assets.client import ClientSettings, OutreachClient
    from outreach_assets.sandbox import SandboxConfig, SandboxServer

    names = [n for n in args.streams.split(",") if n] or [s.name for s in STREAMS]
    streams = [s for s in STREAMS if s.name in names]
    unknown = set(names) - {s.name for s in streams}
    if unknown:
        raise SystemExit(f"unknown stream(s): {', '.join(sorted(unknown))}")
    out_dir = Path(args.data_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    cfg = SandboxConfig(seed=args.seed, records=args.records)
    with SandboxServer(cfg) as sb:
        settings = ClientSettings(
            client_id=cfg.client_id,
            client_secret=cfg.client_secret,
            redirect_uri=cfg.redirect_uri,
            refresh_token=cfg.refresh_token,
            api_base_url=sb.api_base_url,
            token_url=sb.token_url,
            token_store_path=str(out_dir / ".token_store.json"),
        )
        print(f"Sandbox at {sb.base_url}; writing to {out_dir}/")
        print(f"{'stream':<20} {'records':>8} {'pages':>6} {'expected':>9}  result")
        failures = 0
        started = time.monotonic()
        with OutreachClient(settings, log) as client:
            for stream in streams:
                got, pages = _sync_to_jsonl(client, stream, out_dir / f"{stream.name}.jsonl")
                truth = set(sb.truth(stream.name))
                ok = sorted(got) == sorted(truth)
                failures += not ok
                result = "ok" if ok else f"MISMATCH ({len(set(got) ^ truth)} ids differ)"
                print(f"{stream.name:<20} {len(got):>8} {pages:>6} {len(truth):>9}  {result}")
            stats = client.stats
        elapsed = time.monotonic() - started
        print(
            f"{stats.records} records in {stats.requests} requests "
            f"({stats.token_refreshes} token mint) in {elapsed:.1f} s; "
            f"{stats.retries} retries, {stats.rate_limit_waits} quota waits"
        )
    return 1 if failures else 0


def _sync_to_jsonl(client: "OutreachClient", stream: Stream, path: Path) -> tuple[list[int], int]:
    """Write every resource of a stream as one JSON line; return the ids and page count."""
    ids: list[int] = []
    pages = 0
    tmp = path.with_name(f".{path.name}.tmp")
    with tmp.open("w") as f:
        for page in client.iter_pages(stream):
            pages += 1
            for resource in page.records:
                ids.append(int(resource["id"]))
                f.write(json.dumps(resource, separators=(",", ":")) + "\n")
    os.replace(tmp, path)
    return ids, pages


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
