"""The asset factory: every catalog stream becomes a partitioned asset and a current-state asset."""

import warnings
from collections.abc import Sequence

import dagster as dg

from outreach_assets.assets.current import build_current_asset
from outreach_assets.assets.custom_fields import build_custom_fields_asset
from outreach_assets.assets.deletions import build_deletions_asset
from outreach_assets.assets.stream import build_stream_asset
from outreach_assets.assets.translator import OutreachTranslator
from outreach_assets.catalog import Stream
from outreach_assets.config import DeploymentSettings


def build_assets(
    partitions_def: dg.TimeWindowPartitionsDefinition,
    settings: DeploymentSettings | None = None,
    translator: OutreachTranslator | None = None,
    streams: Sequence[Stream] | None = None,
) -> list[dg.AssetsDefinition]:
    """Every selected stream's partitioned, current-state and deletions assets, and the
    custom field definitions, with code references (``streams`` defaults to the settings'
    selection)."""
    settings = settings or DeploymentSettings()
    translator = translator or OutreachTranslator()
    streams = settings.selected_streams() if streams is None else streams
    assets = []
    # Single-run backfill policies and code references are flagged beta; they are deliberate
    # here, and 48 identical warnings at every code-location load would bury real ones.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.BetaWarning)
        for stream in streams:
            keep = settings.kept_columns(stream.name)
            assets.append(build_stream_asset(stream, partitions_def, keep, translator))
            assets.append(build_current_asset(stream, keep, translator))
            assets.append(build_deletions_asset(stream, partitions_def, settings, translator))
        assets.append(build_custom_fields_asset(translator))
        referenced = dg.with_source_code_references(assets)
    return [a for a in referenced if isinstance(a, dg.AssetsDefinition)]
