"""The translator is the one place that names a stream's assets: override it and every
definition follows (assets, lineage, jobs, schedules, sensors)."""

from datetime import UTC, datetime

import dagster as dg
import pyarrow as pa

from outreach_assets.assets import OutreachTranslator
from outreach_assets.assets.translator import REPLICATION_TAG
from outreach_assets.catalog import STREAMS, Stream, get_stream
from outreach_assets.definitions import build_defs

ENV = {"OUTREACH_START_DATE": "2024-01-01"}


class RawTranslator(OutreachTranslator):
    """Keys under ``raw/outreach/...`` and one group per replication kind."""

    def get_asset_spec(self, stream: Stream, schema: pa.Schema) -> dg.AssetSpec:
        spec = super().get_asset_spec(stream, schema)
        return spec.replace_attributes(
            key=dg.AssetKey(["raw", "outreach", stream.name]),
            group_name=f"outreach_{stream.replication.value}",
        )


def test_default_keys_groups_kinds_and_tags() -> None:
    translator = OutreachTranslator()
    prospects = get_stream("prospects")
    assert translator.asset_key(prospects) == dg.AssetKey(["outreach", "prospects"])
    assert translator.current_asset_key(prospects) == dg.AssetKey(["outreach", "prospects_current"])
    defs = build_defs(ENV)
    spec = next(s for s in defs.resolve_all_asset_specs() if s.key.path[-1] == "prospects")
    assert spec.group_name == "outreach"
    assert spec.kinds == {"outreach", "parquet"}
    assert spec.tags[REPLICATION_TAG] == "incremental"
    assert spec.metadata["outreach/path"] == "/prospects"


def test_an_overridden_translator_renames_assets_lineage_jobs_and_automation() -> None:
    translator = RawTranslator()
    defs = build_defs(ENV, translator=translator)
    specs = {s.key: s for s in defs.resolve_all_asset_specs()}
    for stream in STREAMS:
        key = dg.AssetKey(["raw", "outreach", stream.name])
        assert specs[key].group_name == f"outreach_{stream.replication.value}"
        current = specs[dg.AssetKey(["outreach", f"{stream.name}_current"])]
        deletions = dg.AssetKey(["outreach", f"{stream.name}_deletions"])
        assert {dep.asset_key for dep in current.deps} == {key, deletions}
    # Only the current states and the custom fields keep the default keys (they were not
    # overridden).
    kept = {key.path[-1] for key in specs if key.path[0] == "outreach"}
    assert kept == {f"{s.name}_{t}" for s in STREAMS for t in ("current", "deletions")} | {
        "custom_fields"
    }

    sync = defs.resolve_job_def("outreach_sync_job")
    sweeps = {key for key in specs if key.path[-1].endswith("_deletions")}
    assert set(sync.asset_layer.selected_asset_keys) == set(specs) - sweeps
    close_out = defs.resolve_schedule_def("outreach_close_out")
    tick = dg.build_schedule_context(
        scheduled_execution_time=datetime(2024, 3, 2, 6, tzinfo=UTC),
        repository_def=defs.get_repository_def(),
    )
    (request,) = close_out.evaluate_tick(tick).run_requests or []
    assert set(request.asset_selection or []) == {
        dg.AssetKey(["raw", "outreach", s.name]) for s in STREAMS
    } | {translator.get_custom_fields_spec().key}
    change = defs.resolve_sensor_def("outreach_change_sensor")
    assert change.job_name is not None
    watched = defs.get_repository_def().get_job(change.job_name).asset_layer.selected_asset_keys
    assert watched and all(k.path[:2] == ["raw", "outreach"] for k in watched)
