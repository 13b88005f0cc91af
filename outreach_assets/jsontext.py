"""JSON text as this project writes and reads it.

Two ways of writing: :func:`canonical` for text that lands in tables (``_extra``, JSON
columns), where the same value must always give the same text whichever converter made it;
:func:`compact` for bodies on the wire (the sandbox's pages), where key order is the
author's. Reading is lenient: a body that is not JSON is ``None``, never an exception,
because the callers (error reports, retries of cut-short bodies) have a better answer.
No dependency beyond the standard library: the sandbox uses this module too.
"""

import json
from typing import Any

_COMPACT = (",", ":")


def canonical(value: Any) -> str:
    """Compact, keys sorted, ASCII only: the text both converters put in tables."""
    return json.dumps(value, sort_keys=True, separators=_COMPACT)


def compact(value: Any) -> str:
    """Compact, keys in their given order."""
    return json.dumps(value, separators=_COMPACT)


def loads_or_none(content: bytes | str) -> Any:
    """The parsed value, or ``None`` for text that is not JSON (cut short, HTML, empty)."""
    try:
        return json.loads(content)
    except ValueError:
        return None
