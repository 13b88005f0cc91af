"""OUTREACH_STREAMS and OUTREACH_EXCLUDE_STREAMS decide what is defined, synced, scheduled
and probed: a stream left out exists nowhere in the definitions."""

from datetime import UTC, datetime

import dagster as dg

from outreach_assets.assets import OutreachTranslator
from outreach_assets.catalog import get_stream
from outreach_assets.definitions import build_defs

KEYS = OutreachTranslator()
ENV = {
    "OUTREACH_START_DATE": "2024-01-01",
    "OUTREACH_STREAMS": "prospects,calls,duties,audit_logs",
    "OUTREACH_EXCLUDE_STREAMS": "audit_logs",
}
CHOSEN = [get_stream(n) for n in ("calls", "duties", "prospects")]


def _keys(selection: set[dg.AssetKey]) -> set[str]:
    return {"/".join(key.path) for key in selection}


def test_only_the_selected_streams_are_defined_and_synced() -> None:
    defs = build_defs(ENV)
    defined = _keys({spec.key for spec in defs.resolve_all_asset_specs()})
    expected = {f"outreach/{s.name}" for s in CHOSEN}
    expected |= {f"outreach/{s.name}_current" for s in CHOSEN} | {"outreach/custom_fields"}
    deletions = {f"outreach/{s.name}_deletions" for s in CHOSEN}
    assert defined == expected | deletions
    sync = defs.resolve_job_def("outreach_sync_job")
    assert _keys(set(sync.asset_layer.selected_asset_keys)) == expected
    reconcile = defs.resolve_job_def("outreach_reconcile_job")
    assert _keys(set(reconcile.asset_layer.selected_asset_keys)) == deletions | {
        f"outreach/{s.name}_current" for s in CHOSEN
    }
    current = defs.resolve_job_def("outreach_current_state_job")
    assert _keys(set(current.asset_layer.selected_asset_keys)) == {
        f"outreach/{s.name}_current" for s in CHOSEN
    }


def test_only_the_selected_streams_are_scheduled_and_probed() -> None:
    defs = build_defs(ENV)
    tick = dg.build_schedule_context(
        scheduled_execution_time=datetime(2024, 3, 2, 6, tzinfo=UTC),
        repository_def=defs.get_repository_def(),
    )
    (close_out,) = (
        defs.resolve_schedule_def("outreach_close_out").evaluate_tick(tick).run_requests or []
    )
    assert _keys(set(close_out.asset_selection or [])) == {
        "outreach/calls",
        "outreach/duties",
        "outreach/prospects",
        "outreach/custom_fields",
    }
    (refresh,) = (
        defs.resolve_schedule_def("outreach_open_period_refresh").evaluate_tick(tick).run_requests
        or []
    )
    assert _keys(set(refresh.asset_selection or [])) == {"outreach/calls", "outreach/prospects"}
    sensor = defs.resolve_sensor_def("outreach_change_sensor")
    assert sensor.job_name is not None
    probed = defs.get_repository_def().get_job(sensor.job_name).asset_layer.selected_asset_keys
    assert _keys(set(probed)) == {"outreach/calls", "outreach/prospects"}
