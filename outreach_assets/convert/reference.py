"""The reference converter: parsed JSON:API resources -> Arrow batches in the fixed schema.

Every partition of a stream must be readable as one table (Parquet datasets, DuckDB globs,
the schema asset check), so the schema comes from the catalog alone and never from the data:
an empty page, a page where a column is all null and a page full of surprises all produce
the same schema. Values that do not fit it are never coerced and never dropped: they go to
the ``_extra`` JSON column, and the returned :class:`ConversionStats` says how many did.

Columns, in this order:

* ``id`` (int64, not null).
* Every catalog attribute, in catalog order, typed by :data:`ARROW_TYPES`.
* ``<relationship>Id`` (int64) for every to-one relationship in the catalog, in catalog
  order. It is null when the relationship object is missing, is ``null``, has
  ``"data": null``, or carries only ``links`` and/or ``meta`` (singer-io crashed on
  meta-only objects).
* ``<singular>Ids`` (list<int64>) for every to-many relationship with inline ids
  (``Stream.to_many``), in catalog order: the ids of its ``data`` array in the API's order,
  ``[]`` for ``"data": []``, null in the same cases as a to-one id.
* Ids given as decimal strings (the JSON:API spec types ids as strings) are accepted in
  both kinds of relationship column because the conversion is lossless.
* ``_extra`` (string): a JSON object (sorted keys, compact) of everything that had no typed
  column, null when there was nothing. Keys are attribute names, plus
  ``relationships.<name>`` for a malformed or unknown relationship (the dot keeps it apart
  from every attribute name, since JSON:API member names cannot contain one).
* ``_extracted_at`` (timestamp[us, UTC], not null): the caller's extraction time, the same
  for the whole batch.

Rules for values that do not fit:

* Unknown attributes (not in the catalog) go to ``_extra`` under their own name, so nothing
  is lost when Outreach adds a field; ``null`` values carry nothing and are not stored.
  Every unknown name seen is listed in ``ConversionStats.unknown_attributes`` with the
  number of rows that gave it a value (so an attribute that is always null shows as 0).
* Unknown relationships (not in ``Stream.known_relationships``: to-one, to-many or
  links-only), of either cardinality, go to ``_extra`` as their ``data`` under
  ``relationships.<name>`` wherever ``data`` is not null (``[]`` is a value);
  ``ConversionStats.unknown_relationships`` lists every unknown name seen with the number
  of rows that gave it ``data`` (0 for one seen with links, meta or null ``data`` only).
  Known links-only relationships give nothing.
* Wrong-typed values: the typed column gets null for that row and the original value goes
  to ``_extra`` under the field's name; ``ConversionStats.moved_to_extra`` counts them per
  field. No silent coercion: ``"True"`` is not a boolean, ``"us-west"`` is not ``True``,
  ``5`` is not the string ``"5"``, ``3.7`` is not the integer 3 (``3.0`` is accepted as 3),
  a string is not a list of its characters. Integers are accepted in NUMBER columns.
* A malformed relationship (a to-one ``data`` that is not an object with an integer id; a
  to-many ``data`` that is not an array, or has an item that is not an object with an
  integer id) is moved the same way: its column gets null for that row and its original
  ``data`` goes to ``_extra`` under ``relationships.<name>``, counted in ``moved_to_extra``
  under that key (``convert.relationships`` has the details).
* TIMESTAMP accepts any ISO-8601 date-time Python's ``datetime.fromisoformat`` reads
  (Outreach's ``2024-02-16T19:30:18.000Z``, other offsets, no fractional seconds) and
  normalizes it to UTC; sub-microsecond digits are truncated. A value without an offset is
  taken as UTC, Outreach's documented zone, and a bare date as midnight UTC (the catalog
  types ``sequence_steps.date`` as TIMESTAMP so that both of its shapes fit).
* DATE accepts ``YYYY-MM-DD``; a date-time is accepted only when it is exactly midnight
  UTC, because then taking its date part loses nothing. Anything else is wrong-typed.
* JSON columns hold any JSON value as compact, key-sorted JSON text, so they never reject.

Attribute/relationship name clashes (prospects ``updaterId``, events ``mailingId``, mailboxes
``userId``; see the catalog): the relationship wins the ``<relationship>Id`` column, as in
singer-io since v0.8.0. The attribute is dropped when it is null or names the same id; any
other value is kept in ``_extra`` under the attribute's name and counted in
``ConversionStats.clashes``. A catalog field with such a name gets no column of its own.

Attributes in ``Stream.dropped_by_default`` (``prospects.contactHistogram``: many
destinations cannot store an array of arrays) are left out of the schema and their values
discarded, not put in ``_extra``, unless named in ``keep``; ``keep`` may only name such
attributes, so a typo fails loudly instead of silently dropping the column.

Speed: conversion is columnar, with no per-value Python work on the normal path. The
columns of one type are gathered row by row (the order json.loads allocated the values in,
so memory is read in order), converted with one vectorized call from ``convert.values`` and
made column-major with one ``take``. Only when a type's fast conversion fails do its columns
go one by one, and only a column that still fails is checked value by value.
"""

import functools
import itertools
import operator
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from outreach_assets.catalog import Field, FieldType, Stream
from outreach_assets.convert.extra import RowExtras, extra_from_dicts, put_extra
from outreach_assets.convert.layout import (
    ARROW_TYPES,
    ConversionStats,
    Layout,
    extracted_at_column,
    layout,
    require_aware,
)
from outreach_assets.convert.relationships import (
    to_many_column,
    to_one_column,
    unknown_relationships,
)
from outreach_assets.convert.values import (
    ARROW_ERRORS,
    BAD,
    CHECKS,
    FAST,
    Rejected,
    as_id,
)
from outreach_assets.timestamps import lacks_zone


def to_record_batch(
    stream: Stream,
    resources: Sequence[Mapping[str, Any]],
    extracted_at: datetime,
    keep: frozenset[str] = frozenset(),
) -> tuple[pa.RecordBatch, ConversionStats]:
    """Flatten one page (or any list) of parsed JSON:API resources of ``stream``.

    Raises ``ValueError`` only for input that cannot make a row at all: a resource of another
    JSON:API type (the wrong endpoint's data must not land in this table), one without an
    integer id, or non-object ``attributes``/``relationships``; and for a naive
    ``extracted_at``.
    """
    columns = layout(stream, frozenset(keep))
    require_aware(extracted_at)
    _check_types(stream, resources)
    stats = ConversionStats(rows=len(resources))
    extra: RowExtras = [None] * len(resources)
    attrs = _members(resources, "attributes")
    rel_maps = _members(resources, "relationships")
    seen = set().union(*attrs)

    arrays = [_id_column(stream, resources)]
    arrays += _attribute_columns(columns, attrs, extra, stats)
    for rel in columns.relationships:
        ids, column = to_one_column(rel.name, rel_maps, extra, stats)
        if rel.column in seen:
            _apply_clash(rel.column, ids, attrs, extra, stats)
        arrays.append(column)
    arrays += [to_many_column(rel.name, rel_maps, extra, stats) for rel in columns.to_many]
    for name in sorted(seen - columns.handled):
        _move_unknown(name, attrs, extra, stats)
    unknown_relationships(rel_maps, columns.known_relationships, extra, stats)
    arrays.append(extra_from_dicts(extra))
    arrays.append(extracted_at_column(extracted_at, len(resources)))
    return pa.RecordBatch.from_arrays(arrays, schema=columns.schema), stats


def _check_types(stream: Stream, resources: Sequence[Mapping[str, Any]]) -> None:
    # Airbyte once shipped sequenceStates as sequence_steps, a one-word typo in its source
    # (https://github.com/airbytehq/airbyte/issues/29247): refuse the wrong type's data.
    wrong = {r.get("type") for r in resources} - {stream.json_type, None}
    if wrong:
        raise ValueError(
            f"stream {stream.name!r} expects JSON:API type {stream.json_type!r}, got "
            + ", ".join(sorted(map(repr, wrong))[:5])
        )


def _members(resources: Sequence[Mapping[str, Any]], key: str) -> list[dict[str, Any]]:
    """The ``attributes`` or ``relationships`` object of each resource, ``{}`` when absent."""
    out: list[Any] = [r.get(key) for r in resources]
    if set(map(type, out)) <= {dict}:
        return out
    for i, member in enumerate(out):
        if type(member) is dict:
            continue
        if member is None:
            out[i] = {}
        elif isinstance(member, Mapping):
            out[i] = dict(member)
        else:
            raise ValueError(
                f"resource #{i} (id {resources[i].get('id')!r}): {key!r} is "
                f"{type(member).__name__}, not a JSON object"
            )
    return out


def _id_column(stream: Stream, resources: Sequence[Mapping[str, Any]]) -> pa.Array:
    raw = [r.get("id") for r in resources]
    if set(map(type, raw)) <= {int}:
        try:
            return pa.array(raw, type=pa.int64())
        except ARROW_ERRORS:
            pass
    ids = [as_id(v) for v in raw]
    for i, v in enumerate(ids):
        if v is None:
            raise ValueError(
                f"stream {stream.name!r}: resource #{i} has no integer id ({raw[i]!r:.40})"
            )
    return pa.array(ids, type=pa.int64())


# --- attributes --------------------------------------------------------------------------


def _attribute_columns(
    layout: Layout,
    attrs: list[dict[str, Any]],
    extra: RowExtras,
    stats: ConversionStats,
) -> list[pa.Array]:
    """One array per catalog attribute; a column only goes alone when its group fails."""
    # Look attributes up with the key objects of the data itself: json.loads shares one
    # object per key across a document, so lookups hit on identity instead of comparing text.
    own_keys = {key: key for key in attrs[0]} if attrs else {}
    converted: dict[str, pa.Array] = {}
    for kind, names in layout.groups:
        keys = tuple(own_keys.get(name, name) for name in names)
        converted.update(_convert_group(kind, keys, attrs))
    arrays = []
    for f in layout.fields:
        arr = converted.get(f.name)
        if arr is None:
            arr = _convert_column(f, [a.get(f.name) for a in attrs], extra, stats)
        arrays.append(arr)
    return arrays


def _convert_group(
    kind: FieldType, names: tuple[str, ...], attrs: list[dict[str, Any]]
) -> dict[str, pa.Array]:
    """Convert all of a type's columns at once, or none (``{}``) if any value does not fit.

    Reading the values row by row follows the order json.loads allocated them in, and one
    ``pa.array`` call plus one ``take`` (to make the row-major values column-major) is
    much cheaper than a call per column or pyarrow's dict-to-struct conversion.
    """
    rows = len(attrs)
    try:
        if len(names) == 1:
            flat = list(map(operator.itemgetter(names[0]), attrs))
        else:
            flat = list(itertools.chain.from_iterable(map(operator.itemgetter(*names), attrs)))
    except KeyError:  # some resource lacks an attribute (sparse fieldsets): slower, same result
        flat = [a.get(name) for a in attrs for name in names]
    try:
        arr = FAST[kind](flat)
    except (Rejected, *ARROW_ERRORS):
        return {}
    if isinstance(arr, pa.ChunkedArray):  # over 2 GiB of text in one group
        return {}
    if len(names) > 1:
        arr = arr.take(_transpose_indices(rows, len(names)))
    return {name: arr.slice(i * rows, rows) for i, name in enumerate(names)}


@functools.lru_cache(maxsize=64)
def _transpose_indices(rows: int, width: int) -> pa.Array:
    """The ``take`` indices that turn a row-major rows x width array into column runs."""
    starts = pa.array(range(0, rows * width, width), type=pa.int64())
    return pa.concat_arrays([pc.add(starts, column) for column in range(width)])


def _convert_column(
    f: Field, values: list[Any], extra: RowExtras, stats: ConversionStats
) -> pa.Array:
    if f.type is not FieldType.JSON:
        try:
            return FAST[f.type](values)
        except (Rejected, *ARROW_ERRORS):
            pass
    check = CHECKS[f.type]
    timestamps = f.type is FieldType.TIMESTAMP  # the fast cast refuses zone-less ones
    out: list[Any] = []
    moved = zoneless = 0
    for i, value in enumerate(values):
        converted = None if value is None else check(value)
        if converted is BAD:
            put_extra(extra, i, f.name, value)
            moved += 1
            converted = None
        elif timestamps and converted is not None and lacks_zone(value):
            zoneless += 1
        out.append(converted)
    if moved:
        stats.moved_to_extra[f.name] = stats.moved_to_extra.get(f.name, 0) + moved
    if zoneless:
        stats.assumed_utc[f.name] = stats.assumed_utc.get(f.name, 0) + zoneless
    return pa.array(out, type=ARROW_TYPES[f.type])


# --- clashes, unknown attributes --------------------------------------------------------


def _apply_clash(
    column: str,
    ids: list[int | None],
    attrs: list[dict[str, Any]],
    extra: RowExtras,
    stats: ConversionStats,
) -> None:
    """Keep a same-named attribute only where it says something the relationship does not."""
    for i, attributes in enumerate(attrs):
        value = attributes.get(column)
        if value is None or (ids[i] is not None and as_id(value) == ids[i]):
            continue
        put_extra(extra, i, column, value)
        stats.clashes += 1


def _move_unknown(
    name: str,
    attrs: list[dict[str, Any]],
    extra: RowExtras,
    stats: ConversionStats,
) -> None:
    valued = 0
    for i, attributes in enumerate(attrs):
        value = attributes.get(name)
        if value is not None:
            valued += 1
            put_extra(extra, i, name, value)
    stats.unknown_attributes[name] = stats.unknown_attributes.get(name, 0) + valued
