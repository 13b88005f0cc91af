"""What counts as a transient failure, and how long to back off before trying again."""

import random

import requests

# Raised by requests for timeouts, refused or dropped connections, and bodies cut short or
# mangled in transit (a Content-Length longer than what arrived raises ChunkedEncodingError).
TRANSPORT_ERRORS: tuple[type[Exception], ...] = (
    requests.exceptions.ConnectionError,
    requests.exceptions.Timeout,
    requests.exceptions.ChunkedEncodingError,
    requests.exceptions.ContentDecodingError,
)


def backoff_delay(attempt: int, base_s: float, cap_s: float) -> float:
    """Exponential backoff with full jitter for the ``attempt``-th retry (1-based).

    Full jitter spreads the retries of concurrent workers instead of letting them hit a
    recovering server in lockstep.
    """
    ceiling = min(cap_s, base_s * (2 ** max(0, attempt - 1)))
    return random.uniform(0.0, ceiling)


def describe_transport_error(exc: Exception) -> str:
    """A short, secret-free description: the class name and the innermost reason."""
    reason = exc.args[0] if exc.args else ""
    inner = getattr(reason, "reason", reason)
    text = str(inner) if inner else ""
    # urllib3 reasons embed the connection object's repr; keep only the readable tail.
    text = text.split(">: ", 1)[-1][:200]
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
