"""Small call-purpose and duty pages and partition windows, for the storage-side tests."""

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from outreach_assets.catalog import Stream, get_stream
from outreach_assets.convert import arrow_schema, to_record_batch
from outreach_assets.storage import ParquetStore, PartitionResult, PartitionWindow

PURPOSES = get_stream("call_purposes")  # incremental on updatedAt
DUTIES = get_stream("duties")  # full snapshot, cursor None
EXTRACTED_AT = datetime(2024, 3, 5, tzinfo=UTC)


DAY0 = datetime(2024, 3, 1, tzinfo=UTC)


def window(day: int) -> PartitionWindow:
    start = DAY0 + timedelta(days=day - 1)
    return PartitionWindow(f"2024-03-{day:02d}", start, start + timedelta(days=1))


def at(day: int, hour: int = 12) -> str:
    return f"2024-03-{day:02d}T{hour:02d}:00:00.000Z"


def purpose(rid: int, updated: str, name: str = "") -> dict[str, Any]:
    """A callPurpose resource shaped like the API's ."""
    return {
        "type": "callPurpose",
        "id": rid,
        "attributes": {"name": name or f"p{rid}", "order": rid, "updatedAt": updated},
        "relationships": {"creator": {"data": {"type": "user", "id": 7}}},
    }


def duty(rid: int, name: str = "") -> dict[str, Any]:
    attributes = {"symbolicName": name or f"d{rid}", "dutyType": "x"}
    return {"type": "duty", "id": rid, "attributes": attributes}


def batch(stream: Stream, resources: list[dict[str, Any]]) -> pa.RecordBatch:
    return to_record_batch(stream, resources, EXTRACTED_AT)[0]


def pbatch(*resources: dict[str, Any]) -> pa.RecordBatch:
    return batch(PURPOSES, list(resources))


SCHEMA = arrow_schema(PURPOSES)
DUTY_SCHEMA = arrow_schema(DUTIES)


def write_purposes(
    store: ParquetStore, windows: list[PartitionWindow], pairs: list[tuple[str, pa.RecordBatch]]
) -> list[PartitionResult]:
    """One run of call-purpose pages through ``store``, with the stream's real schema."""
    return store.write_partitions("call_purposes", SCHEMA, "updatedAt", windows, iter(pairs))


def column(path: str, name: str) -> list[Any]:
    return pq.read_table(path, columns=[name])[name].to_pylist()


def all_files(directory: Path) -> list[str]:
    """Every file name under ``directory``, hidden temporary files included."""
    return sorted(p.name for p in directory.rglob("*") if p.is_file())
