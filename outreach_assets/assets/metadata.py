"""What a stream asset's materialization records, and what its run log says."""

import json
from collections.abc import Sequence
from typing import Any

import dagster as dg

from outreach_assets.assets.sweep import SweepStats
from outreach_assets.catalog import Stream
from outreach_assets.storage import PartitionResult, PartitionWindow

# Dagster copies a range run's metadata onto every partition's materialization, so a
# per-partition map would grow with the square of the range (1,000 partitions: ~20 KB per
# event, ~1 GB of event log for a full backfill). Longer ranges log the counts instead.
MAX_PARTITIONS_IN_METADATA = 31


def run_metadata(
    stream: Stream,
    results: Sequence[PartitionResult],
    sweep_stats: SweepStats,
    requests: int,
) -> dict[str, Any]:
    """Output metadata; with a partition range every partition gets the run's figures."""
    rows = sum(r.rows for r in results)
    cursors = [c for r in results for c in (r.min_cursor, r.max_cursor) if c is not None]
    metadata: dict[str, Any] = {
        "rows_in_run": rows,
        "partitions_in_run": len(results),
        "bytes": sum(r.bytes for r in results),
        "requests": requests,
        "pages": sweep_stats.pages,
        "page_size": max(sweep_stats.page_sizes) if sweep_stats.page_sizes else None,
        "rows_outside_run_range": sweep_stats.outside_range,
        "duplicates_removed": sum(r.duplicates_removed for r in results),
    }
    if len(results) == 1:
        metadata["dagster/row_count"] = rows
        metadata["path"] = dg.MetadataValue.path(results[0].path)
    elif len(results) <= MAX_PARTITIONS_IN_METADATA:
        metadata["rows_per_partition"] = dg.MetadataValue.json({r.key: r.rows for r in results})
    if cursors and stream.cursor:
        metadata[f"min_{stream.cursor}"] = min(cursors).isoformat()
        metadata[f"max_{stream.cursor}"] = max(cursors).isoformat()
    conversion = sweep_stats.conversion
    moved = conversion.moved_to_extra
    if moved or conversion.unknown_attributes or conversion.unknown_relationships:
        metadata["values_moved_to__extra"] = dg.MetadataValue.json(moved)
        metadata["unknown_attributes"] = dg.MetadataValue.json(conversion.unknown_attributes)
        metadata["unknown_relationships"] = dg.MetadataValue.json(conversion.unknown_relationships)
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
    if len(results) > MAX_PARTITIONS_IN_METADATA:
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
