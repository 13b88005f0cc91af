"""The fast decoder's output columns, each made from what ``read_json`` read, in Arrow compute.

Every function here returns the column the reference converter would have built, or raises
``Refused`` where it cannot be sure of that. Attributes named like a to-one relationship
column (prospects' ``updaterId``), attributes the catalog does not know (the sandbox's
``sandboxNote``) and the ``data`` of relationships it does not know become
``(key, JSON text)`` columns for ``extra.extra_from_fragments``.
"""

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from outreach_assets.catalog import FieldType
from outreach_assets.convert.fast_json import json_texts
from outreach_assets.convert.fast_read import ReadAsText, Refused, children
from outreach_assets.convert.layout import ARROW_TYPES, ConversionStats
from outreach_assets.convert.relationships import ID_LISTS, extra_key

# How read_json reads each typed catalog attribute. Timestamps and dates come as text and
# get the reference converter's own Arrow cast afterwards (read_json refuses date32 from
# text, and its own timestamp parsing costs about a third of the whole read).
READ_TYPES: Final[Mapping[FieldType, pa.DataType]] = MappingProxyType(
    {kind: ARROW_TYPES[kind] for kind in FieldType if kind is not FieldType.JSON}
    | {FieldType.TIMESTAMP: pa.string(), FieldType.DATE: pa.string()}
)
_CASTS: Final[Mapping[FieldType, pa.DataType]] = MappingProxyType(
    {kind: ARROW_TYPES[kind] for kind in (FieldType.TIMESTAMP, FieldType.DATE)}
)


def attribute_column(
    name: str, kind: FieldType, attributes: dict[str, pa.Array], rows: int, body: bytes
) -> pa.Array:
    values = attributes.get(name)
    if values is None:  # a JSON attribute no resource of the page carries
        return pa.nulls(rows, pa.string())
    if kind is FieldType.JSON:
        return json_texts(values, name, body)
    target = _CASTS.get(kind)
    if target is not None:
        try:
            return pc.cast(values, target)
        except pa.ArrowException:
            raise Refused(f"cast: {name} has a value the reference parses one by one") from None
    if kind is FieldType.NUMBER:
        _check_no_negative_zero(name, values)
    return values


def _check_no_negative_zero(name: str, values: pa.Array) -> None:
    """``-0`` is the integer 0 to json.loads but -0.0 to read_json; refuse either way."""
    zeros = pc.equal(values, 0.0)
    if pc.any(zeros).as_py() and np.signbit(pc.filter(values, zeros).to_numpy()).any():
        raise Refused(f"number: {name} holds a negative zero")


def relationship_ids(name: str, relationship: pa.StructArray) -> pa.Array:
    """The ``<name>Id`` column; null for a missing object, ``data: null``, links/meta only."""
    data = children(relationship)["data"]
    ids = children(data)["id"]
    if pc.any(pc.and_(data.is_valid(), ids.is_null())).as_py():
        raise Refused(f"relationships: {name} has data without an id")
    return ids


def to_many_ids(name: str, relationship: pa.StructArray) -> pa.Array:
    """The ``<singular>Ids`` column: each ``data`` array's ids, ``[]`` for an empty one,
    null for a missing object, ``data: null``, links/meta only."""
    data = children(relationship)["data"]
    items = data.flatten()  # the items of the arrays that are not null
    if items.null_count:
        raise Refused(f"relationships: {name} has an item that is not an object")
    if children(items)["id"].null_count:
        raise Refused(f"relationships: {name} has an item without an id")
    # The offsets index the whole child array, so the ids are taken from all of it:
    # flatten() starts at the first offset and leaves out the items of null arrays.
    ids = children(data.values)["id"]
    return pa.ListArray.from_arrays(data.offsets, ids, type=ID_LISTS, mask=data.is_null())


def clash(values: pa.Array, ids: pa.Array, stats: ConversionStats) -> pa.Array | None:
    """The attribute named like a relationship column, where it says something else."""
    if values.null_count == len(values):
        return None
    differs = pc.fill_null(pc.not_equal(values, ids), True)
    kept = pc.and_(values.is_valid(), differs)
    count = pc.sum(kept).as_py() or 0
    if not count:
        return None
    stats.clashes += count
    return pc.cast(pc.if_else(kept, values, pa.scalar(None, pa.int64())), pa.string())


def check_inferred(attributes: dict[str, pa.Array], declared: frozenset[str]) -> None:
    """Unknown or JSON attributes read_json typed as timestamps lost their text: have the
    page read again with them declared as strings."""
    dated = frozenset(
        name
        for name, values in attributes.items()
        if name not in declared and pa.types.is_timestamp(values.type)
    )
    if dated:
        raise ReadAsText(dated)


def unknown(
    attributes: dict[str, pa.Array], handled: frozenset[str], stats: ConversionStats, body: bytes
) -> list[tuple[str, pa.Array]]:
    """``_extra`` fragments of the attributes the catalog does not know, counted per name as
    the reference counts them: rows with a value (``null`` and a missing key are alike)."""
    out = []
    for name in sorted(set(attributes) - handled):
        values = attributes[name]
        valued = len(values) - values.null_count
        stats.unknown_attributes[name] = valued
        if valued:
            out.append((name, json_texts(values, name, body)))
    return out


def unknown_relationships(
    relationships: dict[str, pa.Array],
    known: frozenset[str],
    stats: ConversionStats,
    body: bytes,
) -> list[tuple[str, pa.Array]]:
    """``_extra`` fragments of the ``data`` of relationships the catalog does not know,
    counted per name as the reference counts them: rows whose ``data`` is not null.

    Their ``data`` was inferred, so it goes through ``fast_json`` like an unknown attribute
    (refused where the text cannot be recovered). A relationship that is not an object is
    its own ``data``, as in the reference; ``data: null`` and a missing ``data`` are alike.
    """
    out = []
    for name in sorted(set(relationships) - known):
        values = relationships[name]
        if pa.types.is_struct(values.type):
            values = children(values).get("data", pa.nulls(len(values)))
        valued = len(values) - values.null_count
        stats.unknown_relationships[name] = valued
        if valued:
            key = extra_key(name)
            out.append((key, json_texts(values, key, body)))
    return out
