"""How many records per second the sandbox serves: prospects, 1000 per page, real HTTP.

The sandbox runs in its own process (one core for the server, as in the requirement) and
this script walks the whole stream with a plain `requests.Session`, following
`links.next`. The headline figure ("served") reads each body with one `raw.read()` and
decodes only its small `links` tail, so it measures the server rather than the client:
requests' default 10 KB `iter_content` loop and `json.loads` of 7 MB pages cost more CPU
than rendering them. Walks through `response.content` and `response.json()` are printed
for context (the JSON one over the first pages only, it is slow).

Run from the repository root::

    .venv/bin/python -m benchmarks.sandbox_serving [--records 100000] [--page-size 1000]
"""

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests

from outreach_assets.sandbox import SandboxConfig

REPO = Path(__file__).resolve().parent.parent
_LISTENING = "Outreach sandbox listening on "
_SERVER_CODE = (
    "import sys\n"
    "from outreach_assets.sandbox import SandboxConfig, serve_forever\n"
    "serve_forever(SandboxConfig(records=10, sizes={sys.argv[1]: int(sys.argv[2])}))\n"
)


def start_server(stream: str, records: int) -> tuple[subprocess.Popen[str], str]:
    """Start `serve_forever` in a child process and read its base URL from stdout."""
    env = {**os.environ, "PYTHONPATH": f"{REPO}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    proc = subprocess.Popen(
        [sys.executable, "-c", _SERVER_CODE, stream, str(records)],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith(_LISTENING):
            return proc, line[len(_LISTENING) :].strip()
    proc.wait()
    raise RuntimeError(f"sandbox exited with {proc.returncode} before listening")


def authorized_session(base_url: str) -> requests.Session:
    cfg = SandboxConfig()  # the server runs with the default credentials
    form = {
        "grant_type": "refresh_token",
        "client_id": cfg.client_id,
        "client_secret": cfg.client_secret,
        "refresh_token": cfg.refresh_token,
    }
    answer = requests.post(f"{base_url}/oauth/token", data=form, timeout=30)
    answer.raise_for_status()
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {answer.json()['access_token']}"
    session.headers["Accept"] = "application/vnd.api+json"
    return session


def next_link_from_tail(body: bytes) -> str | None:
    """`links` is the body's last member; decode only it (and check the body ends right)."""
    start = body.rfind(b'"links":{"first"')
    if start < 0:
        return None
    links: dict[str, str] = json.loads(b"{" + body[start:])["links"]
    return links.get("next")


def read_page(session: requests.Session, url: str, mode: str) -> tuple[int, str | None, int]:
    """GET one page; return (records, next url, body bytes) the way ``mode`` says."""
    if mode == "json":
        response = session.get(url, timeout=60)
        response.raise_for_status()
        payload = response.json()
        return len(payload["data"]), payload.get("links", {}).get("next"), len(response.content)
    response = session.get(url, timeout=60, stream=(mode == "served"))
    response.raise_for_status()
    body = response.raw.read() if mode == "served" else response.content
    records = body.count(b'"links":{"self":"')  # exactly one per resource object
    return records, next_link_from_tail(body), len(body)


def measure(session: requests.Session, first_url: str, mode: str, limit: int, total: int) -> float:
    """Follow links.next from ``first_url`` until the end or ``limit`` records.

    A walk that reaches the end must have seen exactly ``total`` records, or the figure
    would be for a broken server.
    """
    url: str | None = first_url
    records = pages = size = 0
    started = time.perf_counter()
    while url is not None and records < limit:
        count, url, length = read_page(session, url, mode)
        records, pages, size = records + count, pages + 1, size + length
    elapsed = time.perf_counter() - started
    if url is None and records != total:
        raise RuntimeError(f"walked {records} records, the stream has {total}")
    print(
        f"{mode:>8}: {records / elapsed:>9,.0f} records/s ({records:,} records, {pages} pages, "
        f"{elapsed:.2f} s, {size / elapsed / 1e6:.0f} MB/s)"
    )
    return records / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stream", default="prospects")
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--page-size", type=int, default=1000)
    parser.add_argument("--json-records", type=int, default=20_000)
    args = parser.parse_args()
    proc, base_url = start_server(args.stream, args.records)
    try:
        session = authorized_session(base_url)
        path = f"{base_url}/api/v2/{args.stream}"
        session.get(f"{path}?page%5Bsize%5D=1", timeout=300).raise_for_status()  # build data
        first = f"{path}?page%5Bsize%5D={args.page_size}&count=false&sort=updatedAt"
        print(f"sandbox serving {args.stream}: {args.records:,} records, page {args.page_size}")
        total = args.records
        measure(session, first, "served", total, total)
        measure(session, first, "content", total, total)
        measure(session, first, "json", min(args.json_records, total), total)
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)


if __name__ == "__main__":
    main()
