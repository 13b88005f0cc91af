"""One-shot fault triggers, each declared once, with the admin endpoint and method made from it.

A trigger arms something that fires on later API requests: the next ``n`` answers fail, the
access tokens expire. Tests in the sandbox's own process call it as a `SandboxServer`
method; tests and benchmarks in other processes POST ``/_sandbox/<endpoint>`` with the same
arguments as a JSON object. Both paths run the one effect function declared below, and
both read its parameters (names, types, defaults) from that function's signature, so the
two ways in cannot disagree and a new trigger is one decorated function here plus the
behaviour it arms (in `faults.py` or `auth.py`).
"""

import functools
import inspect
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Concatenate, Generic, ParamSpec, Protocol, cast, overload

from outreach_assets.sandbox.auth import TokenStore
from outreach_assets.sandbox.faults import FaultInjector

P = ParamSpec("P")

# What a JSON value of a parameter is converted with; bool is left out on purpose, since
# bool("false") is True and a flag would silently arm the wrong way.
_KINDS: tuple[type, ...] = (int, float, str)
REQUIRED: Any = inspect.Parameter.empty


class Armable(Protocol):
    """What triggers act on (a `SandboxApp`); a protocol, so this module needs no app."""

    @property
    def faults(self) -> FaultInjector: ...

    @property
    def tokens(self) -> TokenStore: ...


class TriggerOwner(Protocol):
    """A class whose attributes are triggers (`SandboxServer`): it names what they arm."""

    def _trigger_target(self) -> Armable: ...


@dataclass(frozen=True)
class Param:
    """One argument of a trigger, as both its method and its endpoint take it."""

    name: str
    kind: type
    default: Any = REQUIRED

    @property
    def required(self) -> bool:
        return self.default is REQUIRED

    def read(self, body: Mapping[str, Any]) -> Any:
        """The argument from an admin request's JSON object; KeyError names a missing one."""
        if self.name in body:
            return self.kind(body[self.name])
        if self.required:
            raise KeyError(self.name)
        return self.default


class Trigger(Generic[P]):
    """A declared trigger; as a class attribute of a `TriggerOwner` it is also a method.

    The method keeps the effect's typed signature (without the target), so a caller's
    type checker and ``inspect.signature`` see ``fail_next(n: int, status: int = 503)``.
    """

    def __init__(self, endpoint: str, effect: Callable[Concatenate[Armable, P], None]) -> None:
        self.endpoint = endpoint  # POST /_sandbox/<endpoint>
        self.method = effect.__name__  # the SandboxServer method
        self.effect = effect
        self.__doc__ = effect.__doc__
        signature = inspect.signature(effect)
        self.signature = signature.replace(parameters=list(signature.parameters.values())[1:])
        self.params = _params(effect, self.signature)

    def __set_name__(self, owner: type, name: str) -> None:
        if name != self.method:
            raise TypeError(f"trigger {self.method!r} is bound as {owner.__name__}.{name}")

    def __repr__(self) -> str:
        return f"<trigger {self.method}{self.signature}, POST /_sandbox/{self.endpoint}>"

    def arm_from_json(self, target: Armable, body: Mapping[str, Any]) -> None:
        """Run the effect with the arguments an admin request carries (extra keys ignored)."""
        effect: Callable[..., None] = self.effect
        effect(target, **{p.name: p.read(body) for p in self.params})

    @overload
    def __get__(self, obj: None, owner: type | None = None) -> "Trigger[P]": ...

    @overload
    def __get__(self, obj: TriggerOwner, owner: type | None = None) -> Callable[P, None]: ...

    def __get__(
        self, obj: TriggerOwner | None, owner: type | None = None
    ) -> "Trigger[P] | Callable[P, None]":
        if obj is None:
            return self
        target, effect = obj._trigger_target(), self.effect

        def method(*args: P.args, **kwargs: P.kwargs) -> None:
            effect(target, *args, **kwargs)

        functools.update_wrapper(method, effect)
        cast(Any, method).__signature__ = self.signature  # help() shows no target argument
        return method


TRIGGERS: dict[str, Trigger[...]] = {}  # endpoint -> trigger, in declaration order


def trigger(endpoint: str) -> Callable[[Callable[Concatenate[Armable, P], None]], Trigger[P]]:
    """Declare the decorated function as the trigger served at ``POST /_sandbox/<endpoint>``."""

    def declare(effect: Callable[Concatenate[Armable, P], None]) -> Trigger[P]:
        if endpoint in TRIGGERS:
            raise ValueError(f"two triggers at /_sandbox/{endpoint}")
        declared = Trigger(endpoint, effect)
        TRIGGERS[endpoint] = declared
        return declared

    return declare


def _params(effect: Callable[..., None], signature: inspect.Signature) -> tuple[Param, ...]:
    """Refused at import, so a trigger whose arguments JSON cannot carry never ships."""
    hints = typing.get_type_hints(effect)
    params: list[Param] = []
    for p in signature.parameters.values():
        kind = hints.get(p.name)
        if kind not in _KINDS or p.kind is not inspect.Parameter.POSITIONAL_OR_KEYWORD:
            raise TypeError(f"trigger {effect.__name__}: {p.name} must be a plain int/float/str")
        params.append(Param(p.name, kind, p.default))
    return tuple(params)


# --- the triggers ------------------------------------------------------------------------


@trigger("fail_next")
def fail_next(target: Armable, n: int, status: int = 503) -> None:
    """The next ``n`` API requests answer ``status`` (5xx, 429, 401...) instead of data.

    How a test makes a retry, a backoff or a token refresh happen exactly when it wants.
    """
    target.faults.fail_next(n, status)


@trigger("drop_next")
def drop_next(target: Armable, n: int) -> None:
    """The next ``n`` API requests get their connection closed without an answer."""
    target.faults.drop_next(n)


@trigger("truncate_next")
def truncate_next(target: Armable, n: int) -> None:
    """The next ``n`` API answers announce their full length but send only half the body."""
    target.faults.truncate_next(n)


@trigger("expire_tokens")
def expire_access_tokens(target: Armable) -> None:
    """Every access token issued so far is expired now, as if its TTL had run out."""
    target.tokens.expire_all()


@trigger("expire_after_requests")
def expire_after_requests(target: Armable, n: int) -> None:
    """The next ``n`` API requests pass; then the tokens issued by then expire.

    Expiry in the middle of a walk, at a request count the test chooses.
    """
    target.tokens.expire_after(n)
