"""Records Outreach deleted: the ids a complete id sweep no longer returned.

Outreach hard-deletes records and no list endpoint says so, so a deletion is known only by
its absence from a complete sweep of a stream's ids. Each one is kept as a tombstone: the
id, when the sweep first missed it, and the newest cursor we held for it. A current state
built with tombstones leaves those ids out, and so does every later build, full or merged,
whatever older partition files still hold an older version; a version newer than the
tombstone's cursor (Outreach does not reuse ids, so only a sweep that was wrong could cause
one) brings the record back.
"""

from dataclasses import dataclass
from typing import Final

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from outreach_assets.convert.layout import ID_COLUMN, UTC_US
from outreach_assets.storage.versions import NULL_CURSOR

DELETED_AT: Final = "deleted_at"
LAST_CURSOR: Final = "last_cursor"
SCHEMA: Final = pa.schema(
    [
        pa.field(ID_COLUMN, pa.int64(), nullable=False),
        pa.field(DELETED_AT, UTC_US, nullable=False),
        pa.field(LAST_CURSOR, UTC_US),
    ]
)


@dataclass(frozen=True)
class Tombstones:
    """Deleted ids (sorted) and the newest cursor held for each, in microseconds."""

    ids: np.ndarray
    last_micros: np.ndarray

    @classmethod
    def empty(cls) -> "Tombstones":
        return cls(np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64))

    @classmethod
    def from_table(cls, table: pa.Table) -> "Tombstones":
        ids = np.asarray(table[ID_COLUMN].to_numpy(), dtype=np.int64)
        micros = pc.fill_null(pc.cast(table[LAST_CURSOR], pa.int64()), NULL_CURSOR)
        last = np.asarray(micros.to_numpy(), dtype=np.int64)
        order = np.argsort(ids, kind="stable")
        return cls(ids[order], last[order])

    def __len__(self) -> int:
        return len(self.ids)

    def alive(self, ids: np.ndarray, micros: np.ndarray | None) -> np.ndarray:
        """Which of these versions may stand: those of ids without a tombstone, and those
        newer than the tombstone's cursor (``micros`` None, a snapshot: no version is)."""
        if not len(self.ids):
            return np.ones(len(ids), dtype=bool)
        slot = np.clip(np.searchsorted(self.ids, ids), 0, len(self.ids) - 1)
        buried = self.ids[slot] == ids
        if micros is None:
            return ~buried
        return ~buried | (micros > self.last_micros[slot])
