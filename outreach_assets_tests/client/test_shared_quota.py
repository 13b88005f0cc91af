"""Processes spending one Outreach user's quota pool their view of it (``quota_ledger``).

Outreach counts requests per user; three processes that each pace only their own requests
would each send the window's "last" request. The real-HTTP case runs three processes against
one sandbox user and reads the sandbox's own count of every rate window.
"""

import dataclasses
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from outreach_assets.client.quota import QuotaLimiter, RateLimitInfo
from outreach_assets.client.quota_ledger import FileQuotaLedger, file_ledger_path
from outreach_assets_tests.support.clients import INCREMENTAL, ROOT, sandbox_settings

QUOTA = 0.5
RATE_LIMIT = 20
WORKERS = 3

# One worker: scan the stream page by page with the project's client, print what it found.
SCANNER = """
import json, os, sys
from outreach_assets.catalog import get_stream
from outreach_assets.client import OutreachClient
from outreach_assets.config import ClientSettings
from outreach_assets_tests.support.clients import ListLogger, scan_ids

settings = ClientSettings(**json.loads(os.environ["CHILD_SETTINGS"]))
with OutreachClient(settings, ListLogger()) as client:
    ids = scan_ids(client, get_stream(sys.argv[1]), page_size=int(sys.argv[2]))
    print(json.dumps({"ids": sorted(ids), "refreshes": client.stats.token_refreshes}))
"""


def _info(used: int, now: float) -> RateLimitInfo:
    return RateLimitInfo(limit=10, remaining=10 - used, reset_at=now + 60)


def test_limiters_sharing_a_ledger_count_each_others_requests_in_flight(tmp_path: Path) -> None:
    ledger_path = file_ledger_path(tmp_path / "tokens.json")
    first, second = (
        QuotaLimiter(QUOTA, 1.0, ledger=FileQuotaLedger(ledger_path, "user")) for _ in range(2)
    )
    assert first.try_acquire() is None
    first.release(_info(used=3, now=time.time()))  # 3 of 10 used: 5 allowed
    assert first.try_acquire() is None  # 3 used + 1 in flight
    assert second.try_acquire() is None  # + 1 in flight in the other limiter: 5
    wait = second.try_acquire()
    assert wait is not None and "(3 used, 2 in flight)" in wait.reason
    wait = first.try_acquire()
    assert wait is not None and "(3 used, 2 in flight)" in wait.reason
    second.release(_info(used=4, now=time.time()))  # its answer counts its own request
    wait = first.try_acquire()  # the other limiter's answer, and its own request in flight
    assert wait is not None and "(4 used, 1 in flight)" in wait.reason
    # A separate ledger (another user, or no ledger) is not held back by these.
    alone = QuotaLimiter(QUOTA, 1.0, ledger=FileQuotaLedger(ledger_path, "someone else"))
    assert alone.try_acquire() is None
    assert QuotaLimiter(QUOTA, 1.0).try_acquire() is None


def test_the_requests_of_a_process_that_died_expire(tmp_path: Path) -> None:
    ledger_path = file_ledger_path(tmp_path / "tokens.json")
    dead = QuotaLimiter(QUOTA, 1.0, ledger=FileQuotaLedger(ledger_path, "user"), lease_s=0.5)
    assert dead.try_acquire() is None
    dead.release(_info(used=4, now=time.time()))
    assert dead.try_acquire() is None  # 4 used + 1 in flight = 5: full; never released
    alive = QuotaLimiter(QUOTA, 1.0, ledger=FileQuotaLedger(ledger_path, "user"))
    assert alive.try_acquire() is not None
    time.sleep(0.6)
    assert alive.try_acquire() is None  # the dead holder's lease ran out
    assert os.stat(ledger_path).st_mode & 0o077 == 0


@pytest.mark.parametrize("store", ["file", "postgresql"])
def test_three_processes_on_one_user_keep_each_window_within_the_quota(
    sandbox_factory, tmp_path: Path, request: pytest.FixtureRequest, store: str
) -> None:
    """Every window the sandbox counted stays within quota_limit, every process lands the
    whole stream, and the three share one access token: through a token store file and its
    ledger beside it, or through a database store and its ledger table."""
    sb = sandbox_factory(
        sizes={INCREMENTAL.name: 120}, rate_limit=RATE_LIMIT, rate_window_s=2.0, latency_ms=10
    )
    location = str(tmp_path / "tokens.json")
    if store == "postgresql":
        location = request.getfixturevalue("postgres_server").create_database()
    settings = sandbox_settings(sb, Path("unused"), quota_limit=QUOTA, token_store_path=location)
    env = {**os.environ, "CHILD_SETTINGS": json.dumps(dataclasses.asdict(settings))}
    children = [
        subprocess.Popen(
            [sys.executable, "-c", SCANNER, INCREMENTAL.name, "10"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(WORKERS)
    ]
    results = []
    for child in children:
        out, err = child.communicate(timeout=120)
        assert child.returncode == 0, err[-3000:]
        results.append(json.loads(out))

    truth = sorted(sb.truth(INCREMENTAL.name))
    assert all(result["ids"] == truth for result in results)
    windows = sb.rate_windows()
    assert sum(w.used for w in windows) == sb.stats.api_requests == WORKERS * 12
    assert max(w.used for w in windows) <= QUOTA * RATE_LIMIT, [w.used for w in windows]
    assert sb.stats.rate_limited == 0
    assert sb.stats.token_mints == 1 == sum(result["refreshes"] for result in results)
