"""What the subcommand modules share with :mod:`outreach_assets.cli`.

Kept out of cli.py because ``python -m outreach_assets.cli`` runs it as ``__main__``: a command
module importing cli.py would load a second copy whose ``CommandError`` is a different class,
and ``main()`` would print a traceback instead of the one-line error.
"""

import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from outreach_assets.sandbox import SandboxConfig

log = logging.getLogger("outreach_assets")

PROG = "outreach-assets"


class CommandError(Exception):
    """A problem the message alone lets the user fix; printed as one line, never a traceback."""


def sandbox_config(**fields: Any) -> "SandboxConfig":
    """Build a sandbox config; its range and count checks become one-line errors."""
    from outreach_assets.sandbox import SandboxConfig

    try:
        return SandboxConfig(**fields)
    except ValueError as exc:
        raise CommandError(f"invalid sandbox settings: {exc}") from exc


def now_text() -> str:
    """Now, in the form the sandbox's ``--start``/``--end`` take: the default end of its data."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
