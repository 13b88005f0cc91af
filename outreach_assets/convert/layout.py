"""The columns of a stream's table: one fixed Arrow schema per stream, from the catalog alone.

Every partition of a stream must be readable as one table (Parquet datasets, DuckDB globs,
the schema asset check), so the schema never depends on the data: an empty page, a page
where a column is all null and a page full of surprises all produce the same schema. Both
converters (``reference`` and ``fast``) build their batches on the :class:`Layout` made here,
and end them with the same :func:`extracted_at_column`.

Columns, in this order:

* ``id`` (int64, not null).
* Every catalog attribute, in catalog order, typed by :data:`ARROW_TYPES`, except those
  dropped by default and not kept, and those named like a relationship column.
* ``<relationship>Id`` (int64) for every to-one relationship in the catalog, in order.
* ``_extra`` (string): a JSON object of everything that had no typed column, or null.
* ``_extracted_at`` (timestamp[us, UTC], not null): when the page was extracted.
"""

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Final

import pyarrow as pa

from outreach_assets.catalog import Field, FieldType, Relationship, Stream

SCHEMA_VERSION: Final = "1"
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

    def merge(self, other: "ConversionStats") -> None:
        """Add another batch's counts, so a partition made of many pages logs one summary."""
        self.rows += other.rows
        self.clashes += other.clashes
        for name, count in other.moved_to_extra.items():
            self.moved_to_extra[name] = self.moved_to_extra.get(name, 0) + count
        for name, count in other.unknown_attributes.items():
            self.unknown_attributes[name] = self.unknown_attributes.get(name, 0) + count


@dataclass(frozen=True)
class Layout:
    """Everything about a stream's columns that does not depend on the data, built once."""

    fields: tuple[Field, ...]
    relationships: tuple[Relationship, ...]
    handled: frozenset[str]  # attribute names that are not "unknown"
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
        handled=frozenset({f.name for f in stream.fields} | columns),
        groups=groups,
        schema=pa.schema(schema_fields, metadata=metadata),
    )
