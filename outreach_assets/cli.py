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
from pathlib import Path

from outreach_assets.catalog import STREAMS, all_scopes

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
        **({"end": args.end} if args.end else {}),
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
