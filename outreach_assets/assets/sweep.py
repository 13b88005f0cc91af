"""One sweep of the API over a run's partition windows, routed into per-partition batches.

A backfill of 1,000 daily partitions must cost about one scan of the API, not 1,000: the
run asks Outreach once for the whole range (``[first.start, last.end]``, bounds inclusive
on the API side) and routes each converted page's rows into the window their cursor falls
in. The API's bounds are inclusive and it sometimes ignores the upper one or returns rows
out of order, so rows whose cursor lies outside the run's half-open range are dropped here
(they belong to partitions other runs fetch), whatever the server sent.

Full-snapshot streams have no cursor: the table fetched once is the content of every
partition of the run (it is what that table looked like when the period was synced).
"""

import contextlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from outreach_assets.catalog import Stream
from outreach_assets.client import OutreachClient
from outreach_assets.client.slices import fetch_pages
from outreach_assets.convert import (
    ArrowPageDecoder,
    ConversionStats,
    ConvertedPage,
    DecoderStats,
    arrow_schema,
)
from outreach_assets.storage import PartitionResult, PartitionWindow, Store
from outreach_assets.timestamps import to_micros


@dataclass
class SweepStats:
    """What one sweep did, for run metadata and logs."""

    pages: int = 0
    records: int = 0  # resources the API returned
    outside_range: int = 0  # rows dropped because their cursor is outside the run's windows
    rows_per_key: dict[str, int] = field(default_factory=dict)
    conversion: ConversionStats = field(default_factory=ConversionStats)
    page_sizes: set[int] = field(default_factory=set)
    decoder: DecoderStats | None = None  # pages read straight from bytes, and refusals


def sweep(
    client: OutreachClient,
    stream: Stream,
    windows: Sequence[PartitionWindow],
    stats: SweepStats,
    *,
    keep: frozenset[str] = frozenset(),
    extracted_at: datetime | None = None,
) -> Iterator[tuple[str, pa.RecordBatch]]:
    """Yield ``(partition_key, batch)`` for every page of the run, lazily.

    ``windows`` must be contiguous and ordered (a run's partition range). ``stats`` is
    filled in as the generator is consumed.
    """
    if not windows:
        return
    extracted = extracted_at or datetime.now(UTC)
    # Pages arrive converted, read straight from their bytes by the decoder (or, where it
    # refuses a page, converted by the client from the parsed resources).
    decoder = ArrowPageDecoder(stream, extracted, keep)
    if stream.cursor is None:
        pages = fetch_pages(client, stream, decoder=decoder)
    else:
        pages = fetch_pages(client, stream, windows[0].start, windows[-1].end, decoder=decoder)
    # Closing stops the fetching threads at once if the consumer fails or stops early.
    with contextlib.closing(pages):
        for page in pages:
            stats.pages += 1
            stats.records += page.count
            stats.page_sizes.add(page.page_size)
            converted: ConvertedPage | None = page.decoded
            del page  # not kept alive while the next one is awaited
            if converted is None:
                continue
            batch = converted.batch
            stats.conversion.merge(converted.stats)
            routed = (
                [(w.key, batch) for w in windows]
                if stream.cursor is None
                else route(batch, stream.cursor, windows, stats)
            )
            del converted, batch
            for key, part in routed:
                stats.rows_per_key[key] = stats.rows_per_key.get(key, 0) + part.num_rows
                yield key, part
    stats.decoder = decoder.stats


@dataclass(frozen=True)
class Landed:
    """What landing a run's windows wrote and cost."""

    results: list[PartitionResult]
    stats: SweepStats
    requests: int


def land(
    client: OutreachClient,
    store: Store,
    stream: Stream,
    windows: Sequence[PartitionWindow],
    keep: frozenset[str] = frozenset(),
) -> Landed:
    """Sweep ``windows`` (contiguous, ordered) and commit one file per window."""
    before = client.stats.requests
    stats = SweepStats()
    schema = arrow_schema(stream, keep)
    batches = sweep(client, stream, windows, stats, keep=keep)
    results = store.write_partitions(stream.name, schema, stream.cursor, windows, batches)
    return Landed(results, stats, client.stats.requests - before)


def route(
    batch: pa.RecordBatch, cursor: str, windows: Sequence[PartitionWindow], stats: SweepStats
) -> list[tuple[str, pa.RecordBatch]]:
    """Split a batch by the window each row's cursor falls in (vectorized)."""
    micros = pc.cast(batch.column(cursor), pa.int64()).to_numpy(zero_copy_only=False)
    valid = ~pc.is_null(batch.column(cursor)).to_numpy(zero_copy_only=False)
    starts = np.array([to_micros(w.start) for w in windows], dtype=np.int64)
    end = to_micros(windows[-1].end)
    inside = valid & (micros >= starts[0]) & (micros < end)
    stats.outside_range += int(len(micros) - inside.sum())
    slot = np.searchsorted(starts, micros, side="right") - 1
    if len(slot) and inside.all() and (slot == slot[0]).all():  # one window: no copy
        return [(windows[int(slot[0])].key, batch)]
    out = []
    for index in np.unique(slot[inside]):
        rows = np.flatnonzero(inside & (slot == index))
        out.append((windows[int(index)].key, batch.take(pa.array(rows))))
    return out
