"""``python -m outreach_assets.cli``: the same as the ``outreach-assets`` command."""

import sys

from outreach_assets.cli.main import main

sys.exit(main())
