"""A sandbox server in a process of its own, for the benchmark suite.

The materializing process must be measured alone: a sandbox in one of its threads would
add its serving CPU to the figures and compete for the GIL. The parent passes the config
as JSON, reads one JSON line (addresses and the ``OUTREACH_*`` variables), and stops the
server by closing our stdin.
"""

import json
import sys

from outreach_assets.sandbox import SandboxConfig, SandboxServer


def main() -> None:
    cfg = SandboxConfig(**json.loads(sys.argv[1]))
    with SandboxServer(cfg) as sandbox:
        ready = {"base_url": sandbox.base_url, "environment": sandbox.environment()}
        print(json.dumps(ready), flush=True)
        sys.stdin.read()  # until the parent closes the pipe


if __name__ == "__main__":
    main()
