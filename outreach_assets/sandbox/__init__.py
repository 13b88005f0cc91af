"""An Outreach-compatible HTTP sandbox for tests, the demo and benchmarks.

Written from Outreach's API documentation (https://developers.outreach.io/api/) and the
JSON:API specification (https://jsonapi.org/format/), not from the client, so the two check
each other. `SandboxServer(SandboxConfig(...))` is a context manager serving on 127.0.0.1;
`serve_forever` runs one in the foreground for the CLI.
"""

from outreach_assets.sandbox.config import SandboxConfig
from outreach_assets.sandbox.server import SandboxServer, serve_forever
from outreach_assets.sandbox.stats import SandboxStats

__all__ = ["SandboxConfig", "SandboxServer", "SandboxStats", "serve_forever"]
