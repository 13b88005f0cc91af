"""The three data checks of every stream asset, computed on the files as they are committed.

They are blocking: a bad partition stops the current-state rebuild in the same run. Each is
evaluated once per run over every partition the run wrote; failing partitions are named.
"""

from collections.abc import Sequence

import dagster as dg

from outreach_assets.storage import PartitionResult

CHECK_IDS_UNIQUE = "ids_unique"
CHECK_CURSOR_IN_WINDOW = "cursor_in_window"
CHECK_SCHEMA = "schema_matches_catalog"
_SHOWN_FAILURES = 50

_DESCRIPTIONS = {
    CHECK_IDS_UNIQUE: "No id appears twice within a partition (the newest version is kept).",
    CHECK_CURSOR_IN_WINDOW: "Every row's cursor lies inside its partition's time window.",
    CHECK_SCHEMA: "Every partition file has exactly the catalog's schema.",
}


def check_specs(key: dg.AssetKey) -> list[dg.AssetCheckSpec]:
    return [
        dg.AssetCheckSpec(name, asset=key, blocking=True, description=description)
        for name, description in _DESCRIPTIONS.items()
    ]


def check_results(results: Sequence[PartitionResult]) -> list[dg.AssetCheckResult]:
    """The three checks over every partition the run wrote; failing keys are named."""

    def result(name: str, bad: list[str], what: str) -> dg.AssetCheckResult:
        return dg.AssetCheckResult(
            check_name=name,
            passed=not bad,
            metadata={
                "partitions_checked": len(results),
                "failing_partitions": bad[:_SHOWN_FAILURES],
            },
            description=f"{len(bad)} partition(s) {what}" if bad else None,
        )

    return [
        result(CHECK_IDS_UNIQUE, [r.key for r in results if not r.ids_unique], "repeat an id"),
        result(
            CHECK_CURSOR_IN_WINDOW,
            [r.key for r in results if r.cursor_outside_window],
            "hold rows whose cursor is outside the partition window",
        ),
        result(
            CHECK_SCHEMA,
            [r.key for r in results if not r.schema_matches],
            "differ from the catalog's schema",
        ),
    ]
