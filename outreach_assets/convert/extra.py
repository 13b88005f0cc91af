"""The ``_extra`` column: a compact, key-sorted JSON object per row, or null when empty.

Both converters must write the very same text for the same leftovers, because their pages
land in the same tables. The reference converter collects leftovers per row in dicts
(:func:`put_extra`, :func:`extra_from_dicts`); the fast decoder has them as one column of
JSON texts per key (:func:`extra_from_fragments`). Either way the text is what
``jsontext.canonical`` writes of the row's object.
"""

from collections.abc import Sequence
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from outreach_assets.jsontext import canonical

# One row's leftovers by key, None until the row has any (most rows never do).
RowExtras = list[dict[str, Any] | None]


def put_extra(extra: RowExtras, row: int, key: str, value: Any) -> None:
    """Keep ``value`` under ``key`` in the row's object, making the object on first use."""
    bucket = extra[row]
    if bucket is None:
        bucket = extra[row] = {}
    bucket[key] = value


def extra_from_dicts(extra: RowExtras) -> pa.Array:
    """The column from per-row dicts; a page with no leftovers costs no JSON encoding."""
    if not any(extra):
        return pa.nulls(len(extra), type=pa.string())
    return pa.array([None if e is None else canonical(e) for e in extra], type=pa.string())


def extra_from_fragments(entries: Sequence[tuple[str, pa.Array]], rows: int) -> pa.Array:
    """The column from ``(key, JSON text or null)`` columns, without a Python object per row.

    Each value becomes a ``,"key":value`` fragment, the fragments are concatenated in key
    order with nulls as empty text (so the keys come out sorted, as ``canonical`` sorts
    them), and the first comma is cut. ``binary_join_element_wise``'s ``skip`` mode would be
    simpler but drops rows whose fragments are all null (pyarrow 26), so it is not used.
    """
    if not entries:
        return pa.nulls(rows, pa.string())
    fragments = [
        pc.binary_join_element_wise("," + canonical(key) + ":", texts, "")
        for key, texts in sorted(entries, key=lambda entry: entry[0])
    ]
    joined = pc.binary_join_element_wise(
        *fragments, "", null_handling="replace", null_replacement=""
    )
    inner = pc.utf8_slice_codeunits(joined, 1)
    objects = pc.binary_join_element_wise("{", inner, "}", "")
    return pc.if_else(pc.equal(joined, ""), pa.scalar(None, pa.string()), objects)
