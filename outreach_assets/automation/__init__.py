"""When the stream assets refresh, and what each trigger costs in API requests.

``periods``: which partition a moment means. ``schedules``: the close-out and the open-period
refresh. ``change_sensor`` (with its probe, ``change_probe``): runs only for streams that
changed. ``current_state``: the current-state rebuilds. ``assembly``: all of them, configured.
"""

from outreach_assets.automation.assembly import build_automation

__all__ = ["build_automation"]
