"""The reference converter's relationships: to-one ids, to-many id lists, unknown ones.

A JSON:API relationship object (https://jsonapi.org/format/#document-resource-object-relationships)
holds ``data`` (a resource identifier or null for a to-one relationship, an array of them
for a to-many one), ``links`` and ``meta``; only ``data`` says anything about this row.

* To-one (``Stream.relationships``): ``<name>Id`` is the identifier's id, null when the
  object is missing or ``null``, has ``"data": null``, or carries only ``links`` and/or
  ``meta``.
* To-many (``Stream.to_many``): ``<singular>Ids`` is the list of the identifiers' ids in
  the API's order (duplicates kept), ``[]`` for ``"data": []``, and null in the same cases
  as a to-one id.
* Ids given as decimal strings (the spec types ids as strings) are accepted: the
  conversion is lossless. Anything else is malformed and never coerced: a to-one ``data``
  that is not an object with an integer id, a to-many ``data`` that is not an array, an
  item that is not an object with an integer id, a relationship that is not an object.
  The row's column is null, the original ``data`` goes to ``_extra`` under
  ``relationships.<name>``, and ``ConversionStats.moved_to_extra`` counts it under that key.
* Relationships the catalog does not know (not in ``Stream.known_relationships``), of
  either cardinality: their ``data`` goes to ``_extra`` under ``relationships.<name>``
  wherever it is not null (``[]`` is a value), and ``ConversionStats.unknown_relationships``
  lists each name seen with the number of rows that gave it one. Known links-only
  relationships give nothing.

A relationship that is not an object (``"owner": 5``) is its own ``data`` here, so that it
is kept rather than dropped.

Well-formed pages take a few comprehensions and one type check per column; only a column
where that fails is read value by value.
"""

import itertools
import operator
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Final

import pyarrow as pa

from outreach_assets.convert.extra import RowExtras, put_extra
from outreach_assets.convert.layout import ConversionStats
from outreach_assets.convert.values import ARROW_ERRORS, INTS, as_id

ID_LISTS: Final = pa.list_(pa.int64())
_NO_RELATIONSHIP: Final[Mapping[str, Any]] = MappingProxyType({})
_LISTS: Final[frozenset[type]] = frozenset({list, type(None)})
_SHAPE_ERRORS: Final = (AttributeError, TypeError, KeyError, *ARROW_ERRORS)
_ID: Final = operator.itemgetter("id")


def extra_key(name: str) -> str:
    """The ``_extra`` key of a relationship: the dot keeps it apart from every attribute
    name, since JSON:API member names cannot contain one."""
    return f"relationships.{name}"


def to_one_column(
    name: str, rel_maps: list[dict[str, Any]], extra: RowExtras, stats: ConversionStats
) -> tuple[list[int | None], pa.Array]:
    """The ``<name>Id`` values and column."""
    try:
        # Missing, links-only and meta-only relationship objects all have no "data": no id.
        datas = [m.get(name, _NO_RELATIONSHIP).get("data") for m in rel_maps]
        ids = [None if d is None else d["id"] for d in datas]
        if set(map(type, ids)) <= INTS:
            return ids, pa.array(ids, type=pa.int64())
    except _SHAPE_ERRORS:
        pass
    ids = []
    for i, data in enumerate(_datas(name, rel_maps)):
        rid = None if data is None else _one_id(data)
        if data is not None and rid is None:
            _move(extra, stats, i, name, data)
        ids.append(rid)
    return ids, pa.array(ids, type=pa.int64())


def to_many_column(
    name: str, rel_maps: list[dict[str, Any]], extra: RowExtras, stats: ConversionStats
) -> pa.Array:
    """The ``<singular>Ids`` column."""
    try:
        datas = [m.get(name, _NO_RELATIONSHIP).get("data") for m in rel_maps]
        if set(map(type, datas)) <= _LISTS:
            # One flat list of ids and the offsets of each row's run: no Python list per
            # row, and one conversion instead of pyarrow's nested-list one.
            ids = list(map(_ID, itertools.chain.from_iterable(filter(None, datas))))
            if set(map(type, ids)) <= {int}:
                ends = itertools.accumulate(map(len, [d or () for d in datas]), initial=0)
                offsets = pa.array(list(ends), type=pa.int32())
                mask = pa.array([d is None for d in datas]) if None in datas else None
                values = pa.array(ids, type=pa.int64())
                return pa.ListArray.from_arrays(offsets, values, type=ID_LISTS, mask=mask)
    except _SHAPE_ERRORS:
        pass
    out: list[list[int] | None] = []
    for i, rels in enumerate(rel_maps):
        obj = rels.get(name)
        data = _data(obj)
        row_ids = _id_list(data) if type(obj) is dict else None  # a bare array is no object
        if data is not None and row_ids is None:
            _move(extra, stats, i, name, data)
        out.append(row_ids)
    return pa.array(out, type=ID_LISTS)


def unknown_relationships(
    rel_maps: list[dict[str, Any]],
    known: frozenset[str],
    extra: RowExtras,
    stats: ConversionStats,
) -> None:
    """Keep the ``data`` of relationships the catalog does not know, and count them."""
    for name in sorted(set().union(*rel_maps) - known):
        valued = 0
        for i, data in enumerate(_datas(name, rel_maps)):
            if data is not None:
                valued += 1
                put_extra(extra, i, extra_key(name), data)
        stats.unknown_relationships[name] = stats.unknown_relationships.get(name, 0) + valued


def _data(obj: Any) -> Any:
    """A relationship's ``data``; a relationship that is not an object stands for its own."""
    return obj.get("data") if type(obj) is dict else obj


def _datas(name: str, rel_maps: list[dict[str, Any]]) -> list[Any]:
    return [_data(rels.get(name)) for rels in rel_maps]


def _one_id(data: Any) -> int | None:
    return as_id(data.get("id")) if type(data) is dict else None


def _id_list(data: Any) -> list[int] | None:
    """The ids of a to-many ``data``, or None unless every item has one."""
    if type(data) is not list:
        return None
    ids = []
    for item in data:
        rid = _one_id(item)
        if rid is None:
            return None
        ids.append(rid)
    return ids


def _move(extra: RowExtras, stats: ConversionStats, row: int, name: str, data: Any) -> None:
    key = extra_key(name)
    put_extra(extra, row, key, data)
    stats.moved_to_extra[key] = stats.moved_to_extra.get(key, 0) + 1
