"""`/_sandbox/...` endpoints: the SandboxServer methods, for tests and demos in other processes.

No auth, no faults, no rate budget and no stats: they are the test harness, not Outreach,
which is why the server routes them here before a request reaches the app. The one-shot
triggers come from `triggers.TRIGGERS`; the endpoints below are the rest of the harness.
"""

import dataclasses
import json
from collections.abc import Callable, Sequence
from typing import Any

from outreach_assets.sandbox.app import SandboxApp
from outreach_assets.sandbox.messages import Request, Response, json_response
from outreach_assets.sandbox.triggers import TRIGGERS, Trigger

ADMIN_PREFIX = "/_sandbox/"

_Action = Callable[[SandboxApp, dict[str, Any]], Any]
_Choice = Callable[[SandboxApp, str, int, Sequence[int] | None], list[int]]


def _choosing(change: _Choice) -> _Action:
    """`touch` and `delete`: ``{"stream", "count"}`` or ``{"stream", "ids": [...]}``, as the
    method takes them; the answer names the records changed, ``{"ids": [...]}``."""

    def action(app: SandboxApp, body: dict[str, Any]) -> Any:
        return {"ids": change(app, body["stream"], int(body.get("count", 5)), body.get("ids"))}

    return action


def _add(app: SandboxApp, body: dict[str, Any]) -> Any:
    return {"ids": app.add(body["stream"], int(body.get("count", 5)))}


def _configure(app: SandboxApp, body: dict[str, Any]) -> Any:
    app.configure(**body)
    return {"ok": True}


def _reset_stats(app: SandboxApp, body: dict[str, Any]) -> Any:
    app.reset_stats()
    return {"ok": True}


def _arming(declared: Trigger[...]) -> _Action:
    def action(app: SandboxApp, body: dict[str, Any]) -> Any:
        declared.arm_from_json(app, body)
        return {"ok": True}

    return action


_POST_ACTIONS: dict[str, _Action] = {
    "touch": _choosing(SandboxApp.touch),
    "add": _add,
    "delete": _choosing(SandboxApp.delete),
    "configure": _configure,
    "reset_stats": _reset_stats,
    **{endpoint: _arming(declared) for endpoint, declared in TRIGGERS.items()},
}


def handle_admin(app: SandboxApp, request: Request) -> Response:
    name = request.path.split("/", 2)[2]
    try:
        if request.method == "GET" and name == "stats":
            return json_response(200, app.stats.snapshot().to_json())
        if request.method == "GET" and name == "rate_windows":
            windows = app.limiter.history(app.config)
            return json_response(200, {"windows": [dataclasses.asdict(w) for w in windows]})
        if request.method == "GET" and name.startswith("truth/"):
            truth = app.truth(name.removeprefix("truth/"))
            return json_response(200, {str(k): v for k, v in truth.items()})
        if request.method == "GET" and name.startswith("relationships/"):
            related = app.relationships(name.removeprefix("relationships/"))
            return json_response(200, {str(k): v for k, v in related.items()})
        action = _POST_ACTIONS.get(name)
        if request.method != "POST" or action is None:
            return json_response(404, {"error": f"no sandbox admin endpoint {name!r}"})
        body = json.loads(request.body or b"{}")
        if not isinstance(body, dict):
            raise ValueError("the body must be a JSON object")
        return json_response(200, action(app, body))
    except (KeyError, ValueError, TypeError) as exc:
        return json_response(400, {"error": str(exc)})
