"""One-shot triggers: each declared once (sandbox/triggers.py) and reachable two ways, as a
`SandboxServer` method in this process and as `POST /_sandbox/<endpoint>` from another.

Tests and benchmarks in other processes depend on the second path behaving exactly like
the first, so every declared trigger is armed both ways here and must do the same thing.
"""

import dataclasses
import inspect
from typing import Any

import pytest
import requests

from outreach_assets.sandbox import SandboxServer
from outreach_assets.sandbox.triggers import TRIGGERS, Trigger
from outreach_assets_tests.support.wire import INCREMENTAL, admin, get, session_for

# Arguments unlike every default, so an endpoint or method that dropped one would show.
SAMPLES: dict[str, Any] = {"n": 2, "status": 502}
PROBES = 4  # API requests after arming: more than any sample arms


def _arguments(trigger: Trigger[...]) -> dict[str, Any]:
    missing = [p.name for p in trigger.params if p.name not in SAMPLES and p.required]
    assert not missing, f"add sample values for {missing} of {trigger.method} to SAMPLES"
    return {p.name: SAMPLES.get(p.name, p.default) for p in trigger.params}


def _outcomes(sb: SandboxServer, session: requests.Session) -> list[str]:
    """What the next API requests get: a status, or the error a client sees instead."""
    seen: list[str] = []
    for _ in range(PROBES):
        try:
            seen.append(str(get(session, sb, INCREMENTAL).status_code))
        except requests.RequestException as exc:
            seen.append(type(exc).__name__)
    return seen


def test_the_documented_triggers_are_declared_with_their_signatures():
    declared = {t.endpoint: (t.method, str(t.signature)) for t in TRIGGERS.values()}
    assert declared == {
        "fail_next": ("fail_next", "(n: int, status: int = 503) -> None"),
        "drop_next": ("drop_next", "(n: int) -> None"),
        "truncate_next": ("truncate_next", "(n: int) -> None"),
        "expire_tokens": ("expire_access_tokens", "() -> None"),
        "expire_after_requests": ("expire_after_requests", "(n: int) -> None"),
    }


def test_every_trigger_is_a_server_method_and_every_trigger_method_is_declared(sandbox):
    on_server = {name: v for name, v in vars(SandboxServer).items() if isinstance(v, Trigger)}
    assert {t.method: t for t in TRIGGERS.values()} == on_server
    for declared in TRIGGERS.values():
        method = getattr(sandbox, declared.method)
        assert inspect.signature(method) == declared.signature
        assert method.__doc__ == declared.__doc__ and method.__doc__


@pytest.mark.parametrize("endpoint", list(TRIGGERS))
def test_a_trigger_does_the_same_over_http_as_its_method(sandbox_factory, endpoint):
    declared = TRIGGERS[endpoint]
    arguments = _arguments(declared)
    untouched, by_method, by_http = (sandbox_factory() for _ in range(3))
    sessions = {sb: session_for(sb) for sb in (untouched, by_method, by_http)}
    getattr(by_method, declared.method)(**arguments)
    answer = admin(by_http, endpoint, **arguments)
    assert answer.status_code == 200 and answer.json() == {"ok": True}
    baseline, direct, remote = (_outcomes(sb, sessions[sb]) for sb in sessions)
    assert direct == remote
    assert direct != baseline == ["200"] * PROBES  # the trigger did something
    assert dataclasses.asdict(by_method.stats) == dataclasses.asdict(by_http.stats)


NUMERIC = [e for e, t in TRIGGERS.items() if any(p.kind is not str for p in t.params)]


@pytest.mark.parametrize("endpoint", NUMERIC)
def test_trigger_endpoints_refuse_bodies_their_parameters_cannot_take(sandbox, endpoint):
    declared = TRIGGERS[endpoint]
    required = [p.name for p in declared.params if p.required]
    if required:
        missing = admin(sandbox, endpoint)
        assert missing.status_code == 400 and missing.json() == {"error": repr(required[0])}
    numbers = {p.name: "not a number" for p in declared.params if p.kind is not str}
    wrong = admin(sandbox, endpoint, **{**_arguments(declared), **numbers})
    assert wrong.status_code == 400
    assert get(session_for(sandbox), sandbox, INCREMENTAL).status_code == 200  # nothing armed
