"""A run with a wrong client secret asks the token endpoint once, whatever its steps.

The token store remembers a definitive refusal (``client.tokens``), so the second and every
later step of the run fails at once with the same message instead of minting again.
"""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import pytest

from outreach_assets.definitions import build_defs
from outreach_assets.sandbox import SandboxServer

STREAMS = ("calls", "prospects", "accounts", "users")


def test_a_wrong_secret_costs_one_token_request_for_the_whole_run(
    sandbox_factory: Callable[..., SandboxServer],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    first = (datetime.now(UTC).date() - timedelta(days=1)).isoformat()
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    sb = sandbox_factory(records=10, start=f"{first}T00:00:00Z", end=now)
    env = {
        **sb.environment(),
        "OUTREACH_CLIENT_SECRET": "not-the-secret",
        "OUTREACH_START_DATE": first,
        "OUTREACH_STREAMS": ",".join(STREAMS),
        "OUTREACH_DATA_DIR": str(tmp_path / "data"),
        "OUTREACH_TOKEN_STORE": str(tmp_path / "tokens" / "store.json"),
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    defs = build_defs(env)
    streams = [
        a
        for a in defs.assets or []
        if isinstance(a, dg.AssetsDefinition) and a.key.path[-1] in STREAMS
    ]
    sb.reset_stats()

    with dg.DagsterInstance.ephemeral() as instance:
        result = dg.materialize(
            streams,
            resources=defs.resources,
            instance=instance,
            partition_key=first,
            raise_on_error=False,
        )

    assert not result.success
    failures = [e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_FAILURE]
    assert len(failures) == len(STREAMS)
    errors = [e.step_failure_data.error for e in failures if e.step_failure_data]
    messages = {error.message for error in errors if error is not None}
    assert messages and all("OUTREACH_CLIENT_SECRET" in m for m in messages), messages
    assert sb.stats.token_requests == 1  # before the store remembered refusals: one per step
    assert sb.stats.api_requests == 0
    assert "not-the-secret" not in (tmp_path / "tokens" / "store.json").read_text()
