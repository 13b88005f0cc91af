"""The columns of a stream's table: one fixed Arrow schema per stream, from the catalog alone.

Every partition of a stream must be readable as one table (Parquet datasets, DuckDB globs,
the schema asset check), so the schema never depends on the data: an empty page, a page
where a column is all null and a page full of surprises all produce the same schema. Both
converters (``reference`` and ``fast``) build their batches on the :class:`Layout` made here,
and end them with the same :func:`extracted_at_column`.

Columns, in this order:

* ``id`` (int64, not null).
* Every catalog attribute, in catalog order, typed by :data:`ARROW_TYPES`, except those
  dropped by default and not kept, and those named like a to-one relationship column.
* ``<relationship>Id`` (int64) for every to-one relationship in the catalog, in order.
* ``<singular>Ids`` (list<int64>) for every to-many relationship with inline ids
  (``Stream.to_many``), in order: ``opportunities`` -> ``opportunityIds``. A JSON:API
  to-many relationship's ``data`` is an array of resource identifiers
  (https://jsonapi.org/format/#document-resource-object-relationships); the column keeps
  their ids in the API's order. Field metadata names the relationship, its target and
  ``outreach.cardinality: many``. A to-many column may not share its name with an
  attribute (the catalog entry is refused): unlike ``updaterId``, whose attribute and
  relationship hold the same kind of value, nothing says which of the two should win.
* ``_extra`` (string): a JSON object of everything that had no typed column, or null.
* ``_extracted_at`` (timestamp[us, UTC], not null): when the page was extracted.

Links-only relationships (``Stream.links_only``) get no column: their ids are the related
stream's own. Relationships the catalog does not know get none either; both converters keep
their ``data`` in ``_extra`` and count them in ``ConversionStats.unknown_relationships``.

:data:`SCHEMA_VERSION` 2 added the to-many columns; files of version 1 lack them, and the
storage layer reads a missing column as nulls.
"""

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Final

import pyarrow as pa

from outreach_assets.catalog import Field, FieldType, Relationship, Stream

SCHEMA_VERSION: Final = "2"
ID_COLUMN: Final = "id"
EXTRA_COLUMN: Final = "_extra"
EXTRACTED_AT_COLUMN: Final = "_extracted_at"

UTC_US: Final = pa.timestamp("us", tz="UTC")

ARROW_TYPES: Final[Mapping[FieldType, pa.DataType]] = MappingProxyType(
    {
        FieldType.STRING: pa.string(),
        FieldType.INTEGER: pa.int64(),
        FieldType.NUMBER: pa.float64(),
        FieldType.BOOLEAN: pa.bool_(),
        FieldType.TIMESTAMP: UTC_US,
        FieldType.DATE: pa.date32(),
        FieldType.STRING_LIST: pa.list_(pa.string()),
        FieldType.INT_LIST_LIST: pa.list_(pa.list_(pa.int64())),
        FieldType.JSON: pa.string(),
    }
)


@dataclass
class ConversionStats:
    """What a conversion had to route around, for the caller to log or put in metadata."""

    rows: int = 0
    # Wrong-typed values moved to ``_extra``, per field (``relationships.<name>`` for ids).
    moved_to_extra: dict[str, int] = field(default_factory=dict)
    # Attributes the catalog does not know, with the number of rows giving each a value.
    # Not the rows carrying the key: ``null`` and a missing key mean the same (Outreach
    # sends every attribute), and the Arrow fast path (``convert.fast``) cannot tell them
    # apart, so counting keys would send every page with such an attribute the slow way.
    unknown_attributes: dict[str, int] = field(default_factory=dict)
    # Clashing attributes that disagreed with their relationship and went to ``_extra``.
    clashes: int = 0
    # Relationships the catalog does not know (to-one or to-many), with the number of rows
    # whose relationship object had a ``data`` value (``[]`` is one); a name seen only with
    # links, meta or ``data: null`` is listed with 0, so a new relationship is noticed
    # before it carries ids.
    unknown_relationships: dict[str, int] = field(default_factory=dict)
    # Timestamps without a UTC offset, read as UTC, per field (Outreach always sends one).
    assumed_utc: dict[str, int] = field(default_factory=dict)

    def merge(self, other: "ConversionStats") -> None:
        """Add another batch's counts, so a partition made of many pages logs one summary."""
        self.rows += other.rows
        self.clashes += other.clashes
        _add(self.moved_to_extra, other.moved_to_extra)
        _add(self.unknown_attributes, other.unknown_attributes)
        _add(self.unknown_relationships, other.unknown_relationships)
        _add(self.assumed_utc, other.assumed_utc)


def _add(total: dict[str, int], counts: dict[str, int]) -> None:
    for name, count in counts.items():
        total[name] = total.get(name, 0) + count


@dataclass(frozen=True)
class Layout:
    """Everything about a stream's columns that does not depend on the data, built once."""

    fields: tuple[Field, ...]
    relationships: tuple[Relationship, ...]  # to-one, a <name>Id column each
    to_many: tuple[Relationship, ...]  # to-many with inline ids, a <singular>Ids column each
    handled: frozenset[str]  # attribute names that are not "unknown"
    known_relationships: frozenset[str]  # relationship names that are not "unknown"
    groups: tuple[tuple[FieldType, tuple[str, ...]], ...]  # field names per type, no JSON
    schema: pa.Schema


def arrow_schema(stream: Stream, keep: frozenset[str] = frozenset()) -> pa.Schema:
    """The stream's fixed Arrow schema; ``keep`` names dropped-by-default attributes to keep."""
    return layout(stream, frozenset(keep)).schema


def require_aware(extracted_at: datetime) -> None:
    """Refuse a naive extraction time: guessing its zone would shift every row's stamp."""
    if extracted_at.tzinfo is None or extracted_at.utcoffset() is None:
        raise ValueError("extracted_at must be timezone-aware")


def extracted_at_column(extracted_at: datetime, rows: int) -> pa.Array:
    """The ``_extracted_at`` column: one instant for the whole page, stored in UTC."""
    return pa.repeat(pa.scalar(extracted_at.astimezone(UTC), type=UTC_US), rows)


@functools.cache
def layout(stream: Stream, keep: frozenset[str] = frozenset()) -> Layout:
    """Cached per (frozen) stream and ``keep``: every page of a scan shares one layout."""
    dropped = set(stream.dropped_by_default)
    if not keep <= dropped:
        raise ValueError(
            f"keep={sorted(keep)} for stream {stream.name!r}: only attributes it drops by "
            f"default can be kept ({sorted(dropped) or 'none'})"
        )
    _check_relationships(stream)
    columns = {r.column for r in stream.relationships}
    fields = tuple(
        f
        for f in stream.fields
        if f.name not in columns and (f.name not in dropped or f.name in keep)
    )
    groups = tuple(
        (kind, names)
        for kind in FieldType
        if kind is not FieldType.JSON and (names := tuple(f.name for f in fields if f.type is kind))
    )
    schema_fields = [
        pa.field(ID_COLUMN, pa.int64(), nullable=False),
        *(
            pa.field(f.name, ARROW_TYPES[f.type], metadata={"outreach.type": f.type.value})
            for f in fields
        ),
        *(
            pa.field(
                r.column,
                pa.int64(),
                metadata={"outreach.relationship": r.name, "outreach.target": r.target},
            )
            for r in stream.relationships
        ),
        *(
            pa.field(
                r.column,
                pa.list_(pa.int64()),
                metadata={
                    "outreach.relationship": r.name,
                    "outreach.target": r.target,
                    "outreach.cardinality": "many",
                },
            )
            for r in stream.to_many
        ),
        pa.field(EXTRA_COLUMN, pa.string(), metadata={"outreach.type": FieldType.JSON.value}),
        pa.field(EXTRACTED_AT_COLUMN, UTC_US, nullable=False),
    ]
    metadata = {
        "outreach.stream": stream.name,
        "outreach.json_type": stream.json_type,
        "outreach.schema_version": SCHEMA_VERSION,
    }
    return Layout(
        fields=fields,
        relationships=stream.relationships,
        to_many=stream.to_many,
        handled=frozenset({f.name for f in stream.fields} | columns),
        known_relationships=stream.known_relationships,
        groups=groups,
        schema=pa.schema(schema_fields, metadata=metadata),
    )


def _check_relationships(stream: Stream) -> None:
    """Refuse a catalog entry whose to-many column would collide with another column, or
    that lists a relationship twice (which of its shapes would the data be read as?).

    A to-one column named like an attribute has a rule (the relationship wins, the
    attribute goes to ``_extra`` where it differs); a to-many one has none, so such an entry
    must be fixed in the catalog rather than resolved here. Two to-many relationships that
    singularize alike (``childs``, ``child``) would also make one column of two.
    """
    names = [r.name for r in (*stream.relationships, *stream.to_many)] + list(stream.links_only)
    if len(names) != len(set(names)):
        twice = sorted({n for n in names if names.count(n) > 1})
        raise ValueError(f"stream {stream.name!r} lists the relationship(s) {twice} twice")
    taken = {f.name: "attribute" for f in stream.fields}
    taken |= {r.column: f"to-one relationship {r.name!r}" for r in stream.relationships}
    taken |= dict.fromkeys((ID_COLUMN, EXTRA_COLUMN, EXTRACTED_AT_COLUMN), "column")
    for r in stream.to_many:
        other = taken.get(r.column)
        if other is not None:
            raise ValueError(
                f"stream {stream.name!r}: to-many relationship {r.name!r} makes the column "
                f"{r.column!r}, which is already the {other} {r.column!r}; rename one of "
                "them in the catalog"
            )
        taken[r.column] = f"to-many relationship {r.name!r}"
