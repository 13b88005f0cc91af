"""The logger interface the client writes to, and secret redaction for messages.

The client is used both inside Dagster (``context.log``) and from plain Python (the CLI,
benchmarks), so it accepts anything with the four usual methods instead of importing
either logging framework's types. Messages are always fully formatted by the client:
Dagster's log manager and ``logging.Logger`` treat extra ``%`` arguments differently.
"""

import logging
from collections.abc import Iterable
from typing import Protocol

REDACTED = "[redacted]"


class LoggerLike(Protocol):
    """A ``logging.Logger``, Dagster's ``context.log``, or anything shaped like them."""

    def debug(self, msg: str, /) -> None: ...

    def info(self, msg: str, /) -> None: ...

    def warning(self, msg: str, /) -> None: ...

    def error(self, msg: str, /) -> None: ...


def default_logger() -> LoggerLike:
    return logging.getLogger("outreach_assets.client")


def redact(text: str, secrets: Iterable[str | None]) -> str:
    """Replace every occurrence of a secret in ``text``.

    Used on text that comes from the server (error bodies), which we do not control and
    which could echo back what we sent.
    """
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, REDACTED)
    return text
