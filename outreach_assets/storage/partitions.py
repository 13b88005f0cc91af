"""What a run says about its partitions, going in and coming out: plain data, no I/O.

:class:`PartitionWindow` is what a run is asked to write; :class:`PartitionResult` is what
its committed file was checked to hold, for output metadata and asset checks.
"""

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class PartitionWindow:
    """One partition of a run: its key and its time window ``[start, end)`` in UTC."""

    key: str
    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        for bound in (self.start, self.end):
            if bound.tzinfo is None or bound.utcoffset() is None:
                raise ValueError(f"partition {self.key!r}: window bounds must be tz-aware")
        if self.end <= self.start:
            raise ValueError(f"partition {self.key!r}: window end must be after its start")


@dataclass(frozen=True)
class PartitionResult:
    """Facts about one committed partition file, for output metadata and asset checks."""

    key: str
    path: str
    rows: int
    bytes: int
    # Rows dropped because the same id appeared again with a newer (or equal, later-seen)
    # cursor; for full snapshots, because it appeared again at all.
    duplicates_removed: int
    min_cursor: datetime | None
    max_cursor: datetime | None
    ids_unique: bool
    # Rows whose cursor is outside [start, end), a null cursor included; 0 for snapshots.
    cursor_outside_window: int
    schema_matches: bool
