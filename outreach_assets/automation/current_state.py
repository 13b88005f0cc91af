"""The current-state automation: rebuild ``<stream>_current`` after its stream lands.

It evaluates the current-state assets' automation condition (``assets.translator``) and
makes no API calls, so it is on by default.
"""

from collections.abc import Sequence

import dagster as dg

from outreach_assets.assets import OutreachTranslator
from outreach_assets.catalog import STREAMS, Stream

CURRENT_STATE_SENSOR = "outreach_current_state_automation"


def current_state_automation_sensor(
    translator: OutreachTranslator | None = None, streams: Sequence[Stream] = STREAMS
) -> dg.AutomationConditionSensorDefinition:
    """Evaluates the current-state tables' condition; on by default (no API calls)."""
    translator = translator or OutreachTranslator()
    return dg.AutomationConditionSensorDefinition(
        translator.name(CURRENT_STATE_SENSOR),
        target=translator.current_selection(streams),
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=translator.describe(
            "Rebuild a stream's current-state table from its files after any of its "
            "partitions lands (reads files only; no Outreach requests)."
        ),
    )
