"""What a stream asset's materializations record, and what its run log says.

A range run writes one materialization per partition. Each carries that partition's own
facts (rows, file, bytes, cursor range); the run's figures (requests, pages, what the sweep
routed around) and the column schema with custom-field labels ride on the run's last
partition only, the one the UI shows as the asset's latest materialization. Metadata given
to the whole output would be copied onto every partition: a three-year backfill would store
the column schema 1,095 times per stream and show run totals on partitions that hold a few
rows.
"""

import json
from collections.abc import Sequence
from typing import Any

import dagster as dg

from outreach_assets.assets.sweep import SweepStats
from outreach_assets.catalog import Stream
from outreach_assets.storage import PartitionResult, PartitionWindow

# Past this many partitions the run log lists only the non-empty ones.
MAX_PARTITIONS_LISTED = 31


def partition_metadata(stream: Stream, result: PartitionResult) -> dict[str, Any]:
    """One partition's own facts, as its materialization shows them."""
    metadata: dict[str, Any] = {
        "dagster/row_count": result.rows,
        "path": dg.MetadataValue.path(result.path),
        "bytes": result.bytes,
        "duplicates_removed": result.duplicates_removed,
    }
    if stream.cursor and result.min_cursor is not None and result.max_cursor is not None:
        metadata[f"min_{stream.cursor}"] = result.min_cursor.isoformat()
        metadata[f"max_{stream.cursor}"] = result.max_cursor.isoformat()
    return metadata


def run_metadata(
    results: Sequence[PartitionResult], sweep_stats: SweepStats, requests: int
) -> dict[str, Any]:
    """The run's figures, for the last partition's materialization."""
    metadata: dict[str, Any] = {
        "rows_in_run": sum(r.rows for r in results),
        "partitions_in_run": len(results),
        "run_range": f"{results[0].key}..{results[-1].key}",
        "requests": requests,
        "pages": sweep_stats.pages,
        "page_size": max(sweep_stats.page_sizes) if sweep_stats.page_sizes else None,
        "rows_outside_run_range": sweep_stats.outside_range,
    }
    conversion = sweep_stats.conversion
    moved = conversion.moved_to_extra
    if moved or conversion.unknown_attributes or conversion.unknown_relationships:
        metadata["values_moved_to__extra"] = dg.MetadataValue.json(moved)
        metadata["unknown_attributes"] = dg.MetadataValue.json(conversion.unknown_attributes)
        metadata["unknown_relationships"] = dg.MetadataValue.json(conversion.unknown_relationships)
    if conversion.assumed_utc:
        metadata["timestamps_without_zone"] = dg.MetadataValue.json(conversion.assumed_utc)
    return metadata


def log_run(
    log: dg.DagsterLogManager,
    stream: Stream,
    *,
    windows: Sequence[PartitionWindow],
    results: Sequence[PartitionResult],
    stats: SweepStats,
    requests: int,
) -> None:
    """The run log's summary of one stream's sweep, and what it had to route around."""
    span = f"{windows[0].key}..{windows[-1].key}"
    log.info(
        f"{stream.name} {span}: {stats.records} records in {stats.pages} pages ({requests} "
        f"requests) -> {len(results)} partition file(s), {sum(r.rows for r in results)} rows"
    )
    if len(results) > MAX_PARTITIONS_LISTED:
        nonempty = {r.key: r.rows for r in results if r.rows}
        log.info(f"{stream.name}: rows per non-empty partition: {json.dumps(nonempty)}")
    decoder = stats.decoder
    if decoder is not None and decoder.refused:
        log.info(
            f"{stream.name}: {decoder.refused} of {decoder.refused + decoder.decoded} "
            f"pages went the slower way (json.loads, then conversion) instead of being "
            f"read straight into Arrow: {json.dumps(decoder.reasons)}; last: "
            f"{decoder.last_refusal}"
        )
    if stats.conversion.moved_to_extra:
        log.warning(
            f"{stream.name}: values of an unexpected type were kept in _extra instead of "
            f"their column: {json.dumps(stats.conversion.moved_to_extra)}"
        )
    if stats.conversion.assumed_utc:
        log.warning(
            f"{stream.name}: timestamps without a UTC offset were read as UTC (Outreach "
            f"sends one on every timestamp): {json.dumps(stats.conversion.assumed_utc)}"
        )
