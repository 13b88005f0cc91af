"""The one place that maps a catalog stream to its Dagster assets' keys, groups and texts.

In the spirit of dagster-dlt's ``DagsterDltTranslator``
(https://github.com/dagster-io/dagster/blob/master/python_modules/libraries/dagster-dlt/dagster_dlt/translator.py):
the asset factory, the jobs and the automation all ask a translator, so a deployment that
wants other keys or groups overrides one method and everything follows::

    class MyTranslator(OutreachTranslator):
        def get_asset_spec(self, stream, schema):
            spec = super().get_asset_spec(stream, schema)
            return spec.replace_attributes(key=dg.AssetKey(["raw", "outreach", stream.name]))

    defs = build_defs(translator=MyTranslator())
"""

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import dagster as dg
import pyarrow as pa

from outreach_assets.assets.columns import column_schema
from outreach_assets.catalog import Stream
from outreach_assets.convert import arrow_schema

# A current-state table is rebuilt once any partition of its stream has landed and the
# stream has no run in flight. Not ``AutomationCondition.eager()``: eager also waits until no
# upstream partition is missing, which never holds while the history is not fully backfilled.
CURRENT_STATE_CONDITION = (
    dg.AutomationCondition.any_deps_updated().since_last_handled()
    & ~dg.AutomationCondition.any_deps_in_progress()
    & ~dg.AutomationCondition.in_progress()
).with_label("rebuild_after_stream_update")

REPLICATION_TAG = "outreach/replication"  # "incremental" or "full_snapshot", for selections
POOL = "outreach_api"  # every asset that calls Outreach shares this concurrency pool
RESOURCE_KEY = "outreach"  # the OutreachResource's key
IO_MANAGER_KEY = "io_manager"  # the OutreachIOManager's key


def asset_arguments(spec: dg.AssetSpec, columns: dg.TableSchema | None = None) -> dict[str, Any]:
    """What an ``@dg.asset`` decorator takes from a spec (the factory adds partitions,
    policies and checks, which are behaviour, not naming), with ``columns`` as the table's
    column schema when given."""
    metadata = dict(spec.metadata)
    if columns is not None:
        metadata["dagster/column_schema"] = columns
    return {
        "key": spec.key,
        "group_name": spec.group_name,
        "kinds": spec.kinds,
        "description": spec.description,
        "tags": spec.tags,
        "metadata": metadata,
        "deps": spec.deps,
        "automation_condition": spec.automation_condition,
    }


@dataclass(frozen=True)
class OutreachTranslator:
    """Specs of a stream's two assets: its partitions, and its current state.

    ``org`` names one of several Outreach orgs (``OUTREACH_ORGS``; see :meth:`for_org`): it
    goes into every key, name, pool and resource key, and is empty for a single org, whose
    names stay as they always were.
    """

    key_prefix: str = "outreach"
    group_name: str = "outreach"
    org: str = ""

    def for_org(self, org: str) -> "OutreachTranslator":
        """This translator (a subclass stays itself) for org ``org``: keys
        ``<prefix>/<org>/...`` and group ``<group>_<org>``."""
        return dataclasses.replace(self, org=org, group_name=f"{self.group_name}_{org}")

    def key(self, name: str) -> dg.AssetKey:
        """``<prefix>/<name>``, or ``<prefix>/<org>/<name>``."""
        return dg.AssetKey([self.key_prefix, *([self.org] if self.org else []), name])

    def _suffixed(self, base: str, separator: str) -> str:
        return f"{base}{separator}{self.org}" if self.org else base

    def name(self, base: str) -> str:
        """A job's, schedule's or sensor's name: ``outreach_sync_job__acme`` for an org
        (suffixed, so each kind still sorts together and keeps its single-org prefix)."""
        return self._suffixed(base, "__")

    def describe(self, text: str) -> str:
        """A description that names the org, so two orgs' look-alike definitions differ."""
        return f"Outreach org `{self.org}`: {text}" if self.org else text

    @property
    def pool(self) -> str:
        """The concurrency pool of the assets that call Outreach. One per org: the API's
        quota belongs to the Outreach user an org authorizes as, so orgs do not share one
        budget and one org's backfill must not hold back another's steps."""
        return self._suffixed(POOL, "_")

    @property
    def resource_key(self) -> str:
        """The key of the org's ``OutreachResource`` (``outreach``, ``outreach_acme``)."""
        return self._suffixed(RESOURCE_KEY, "_")

    @property
    def io_manager_key(self) -> str:
        """The key of the org's IO manager (``io_manager``, ``io_manager_acme``)."""
        return self._suffixed(IO_MANAGER_KEY, "_")

    def get_asset_spec(self, stream: Stream, schema: pa.Schema) -> dg.AssetSpec:
        """The partitioned stream asset ``<prefix>/<stream>``."""
        replication = (
            f"incremental on `{stream.cursor}`" if stream.cursor else "full snapshot per period"
        )
        return dg.AssetSpec(
            key=self.key(stream.name),
            group_name=self.group_name,
            kinds={"outreach", "parquet"},
            # The custom field definitions describe the stream's customN columns, so a run
            # with both lands them first.
            deps=[self.get_custom_fields_spec().key],
            description=self.describe(
                f"{stream.description}\n\nOutreach `/{stream.path}`, {replication}."
            ),
            tags={REPLICATION_TAG: stream.replication.value},
            metadata={
                "dagster/column_schema": column_schema(stream, schema),
                "outreach/path": f"/{stream.path}",
                "outreach/cursor": stream.cursor or "none (full snapshot)",
                "outreach/scope": stream.scope,
            },
        )

    def get_current_asset_spec(self, stream: Stream, schema: pa.Schema) -> dg.AssetSpec:
        """The current-state asset ``<prefix>/<stream>_current``, downstream of the stream."""
        source = self.get_asset_spec(stream, schema).key
        what = (
            f"one row per id with the newest `{stream.cursor}`"
            if stream.cursor
            else "the latest snapshot"
        )
        return dg.AssetSpec(
            key=self.key(f"{stream.name}_current"),
            group_name=self.group_name,
            kinds={"parquet"},
            deps=[source, self.get_deletions_spec(stream, schema).key],
            description=self.describe(
                f"Current state of `{source.to_user_string()}`: {what}, without the records "
                "Outreach deleted."
            ),
            tags={REPLICATION_TAG: stream.replication.value},
            metadata={"dagster/column_schema": column_schema(stream, schema)},
            automation_condition=CURRENT_STATE_CONDITION,
        )

    # Shortcuts for the parts that only need keys (jobs, schedules, sensors).

    def asset_key(self, stream: Stream) -> dg.AssetKey:
        return self.get_asset_spec(stream, arrow_schema(stream)).key

    def get_deletions_spec(self, stream: Stream, schema: pa.Schema) -> dg.AssetSpec:
        """``<prefix>/<stream>_deletions``: the records of the stream Outreach deleted."""
        return dg.AssetSpec(
            key=self.key(f"{stream.name}_deletions"),
            group_name=self.group_name,
            kinds={"outreach", "parquet"},
            description=self.describe(
                f"Records of `{self.get_asset_spec(stream, schema).key.to_user_string()}` "
                "that Outreach deleted: the ids a complete id sweep no longer returned, when it "
                "first missed them and the last cursor held. The sweep also re-syncs partitions "
                "whose records changed without being landed."
            ),
            tags={REPLICATION_TAG: stream.replication.value},
        )

    def get_custom_fields_spec(self) -> dg.AssetSpec:
        """``<prefix>/custom_fields``: the labels and types of the custom fields."""
        return dg.AssetSpec(
            key=self.key("custom_fields"),
            group_name=self.group_name,
            kinds={"outreach", "parquet"},
            description=self.describe(
                "The organisation's custom fields (customN) per object type: label, "
                "validation type, whether required, options. Outreach `/types`, one request."
            ),
        )

    def current_asset_key(self, stream: Stream) -> dg.AssetKey:
        return self.get_current_asset_spec(stream, arrow_schema(stream)).key

    def selection(self, streams: Sequence[Stream]) -> dg.AssetSelection:
        """The stream assets of ``streams``: the target of a trigger."""
        return dg.AssetSelection.assets(*(self.asset_key(s) for s in streams))

    def current_selection(self, streams: Sequence[Stream]) -> dg.AssetSelection:
        return dg.AssetSelection.assets(*(self.current_asset_key(s) for s in streams))

    def deletions_selection(self, streams: Sequence[Stream]) -> dg.AssetSelection:
        keys = (self.get_deletions_spec(s, arrow_schema(s)).key for s in streams)
        return dg.AssetSelection.assets(*keys)
