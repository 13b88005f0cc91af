"""A converted page: one Arrow batch in the stream's schema, and what converting it found.

It is the value the client's scan carries for each page (``client.page.PageRows``): the
slicer reads ids and cursors from it and trims it, without knowing it is Arrow.
"""

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from outreach_assets.convert.layout import ID_COLUMN, ConversionStats


@dataclass(frozen=True)
class ConvertedPage:
    batch: pa.RecordBatch
    stats: ConversionStats

    @property
    def rows(self) -> int:
        return self.batch.num_rows

    def keys(self, cursor: str) -> tuple[list[Any], list[int | None]]:
        """Ids, and ``cursor`` in ms since the epoch (None where null; all None for ``""``)."""
        ids = self.batch.column(ID_COLUMN).to_pylist()
        if not cursor:  # a full snapshot: no cursor column
            return ids, [None] * len(ids)
        micros = pc.cast(self.batch.column(cursor), pa.int64()).to_pylist()
        return ids, [None if m is None else m // 1000 for m in micros]

    def keep(self, mask: Sequence[bool]) -> "ConvertedPage":
        kept = self.batch.filter(pa.array(mask, type=pa.bool_()))
        return ConvertedPage(kept, replace(self.stats, rows=kept.num_rows))
