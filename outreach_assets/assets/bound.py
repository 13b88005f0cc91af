"""The resources an asset or sensor of one org uses, looked up by that org's keys.

Dagster binds a typed resource parameter by the parameter's name, and a parameter's name
is fixed when the function is written; several orgs need the same function under other
resource keys (``outreach_acme``, ``io_manager_acme``). So the definitions declare the keys
(``required_resource_keys``) and fetch the resources here, checked for their type.
"""

import dagster as dg

from outreach_assets.assets.translator import OutreachTranslator
from outreach_assets.resources import OutreachIOManager, OutreachResource

Context = dg.AssetExecutionContext | dg.SensorEvaluationContext


def outreach_keys(translator: OutreachTranslator) -> set[str]:
    """What an asset or sensor that calls Outreach and reads the files requires."""
    return {translator.resource_key, translator.io_manager_key}


def outreach_of(context: Context, translator: OutreachTranslator) -> OutreachResource:
    """The org's ``OutreachResource``."""
    found = getattr(context.resources, translator.resource_key)
    if not isinstance(found, OutreachResource):
        raise TypeError(f"resource {translator.resource_key!r} is not an OutreachResource")
    return found


def io_manager_of(context: Context, translator: OutreachTranslator) -> OutreachIOManager:
    """The org's ``OutreachIOManager`` (its files)."""
    found = getattr(context.resources, translator.io_manager_key)
    if not isinstance(found, OutreachIOManager):
        raise TypeError(f"resource {translator.io_manager_key!r} is not an OutreachIOManager")
    return found
