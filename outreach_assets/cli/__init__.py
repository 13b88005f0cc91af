"""The ``outreach-assets`` command: ``sandbox``, ``demo``, ``auth url``, ``auth exchange``,
``check``.

``main``: the parser and the one-line error report. ``demo``: the real sync job on a private
sandbox. ``auth``: from an Outreach app's settings to a refresh token. ``check``: whether a
setup is ready to run (settings, data folder, token store, credentials, scopes), one line
per check. ``support``: what the commands share.
"""

from outreach_assets.cli.main import build_parser, main

__all__ = ["build_parser", "main"]
