"""What the subcommands share: the program's name and logger, and the user-error type."""

import logging
from typing import TYPE_CHECKING, Any

from outreach_assets.errors import FatalError

if TYPE_CHECKING:
    from outreach_assets.sandbox import SandboxConfig

log = logging.getLogger("outreach_assets")

PROG = "outreach-assets"


class CommandError(FatalError):
    """A problem the message alone lets the user fix; printed as one line, never a traceback.

    Every :class:`~outreach_assets.errors.OutreachError` is printed the same way; this one is
    for what only the command line can get wrong (an argument, a file, a port).
    """


def sandbox_config(**fields: Any) -> "SandboxConfig":
    """Build a sandbox config; its range and count checks become one-line errors."""
    from outreach_assets.sandbox import SandboxConfig

    try:
        return SandboxConfig(**fields)
    except ValueError as exc:
        raise CommandError(f"invalid sandbox settings: {exc}") from exc
