"""What a catalog entry says about a stream: its endpoint, replication, fields, relationships.

The entries themselves are tables in the sibling modules, one per area of Outreach.
"""

from dataclasses import dataclass
from enum import StrEnum


class FieldType(StrEnum):
    """The value types a catalog field can have; ``convert.layout`` maps each to an Arrow type."""

    STRING = "string"
    INTEGER = "integer"
    NUMBER = "number"
    BOOLEAN = "boolean"
    TIMESTAMP = "timestamp"  # ISO-8601 date-time, always UTC with 'Z' from Outreach
    DATE = "date"  # ISO-8601 calendar date
    STRING_LIST = "string_list"  # array<string>
    INT_LIST_LIST = "int_list_list"  # array<array<integer>> (prospects.contactHistogram)
    JSON = "json"  # free-form object or array of objects (events.payload, users.duties)


class Replication(StrEnum):
    """How a stream is read: by a time cursor, or as a whole table each time."""

    INCREMENTAL = "incremental"
    FULL_SNAPSHOT = "full_snapshot"


@dataclass(frozen=True)
class Field:
    """One attribute of a JSON:API resource."""

    name: str
    type: FieldType


@dataclass(frozen=True)
class Relationship:
    """A to-one relationship, flattened to a ``<name>Id`` column.

    ``target`` is the JSON:API type it points at (``owner`` -> ``user``), which the sandbox
    uses to keep relationships consistent between streams.
    """

    name: str
    target: str

    @property
    def column(self) -> str:
        return f"{self.name}Id"


@dataclass(frozen=True)
class Stream:
    """One Outreach list endpoint and everything needed to extract it."""

    name: str  # asset name, snake_case: "call_dispositions"
    path: str  # API path under /api/v2, camelCase: "callDispositions"
    json_type: str  # JSON:API resource type: "callDisposition"
    replication: Replication
    cursor: str | None  # filterable + sortable timestamp attribute; None for full snapshots
    fields: tuple[Field, ...]  # attributes, excluding the resource id
    relationships: tuple[Relationship, ...] = ()  # to-one only
    max_page_size: int = 1000  # lower where big bodies make Outreach answer 502
    # Attributes dropped unless the user opts in (prospects.contactHistogram, as Mage's
    # Outreach source does: array-of-arrays columns break many destinations).
    dropped_by_default: tuple[str, ...] = ()
    description: str = ""

    @property
    def scope(self) -> str:
        """The OAuth scope that grants read access to this stream."""
        return f"{self.path}.read"

    @property
    def is_incremental(self) -> bool:
        return self.replication is Replication.INCREMENTAL

    def field(self, name: str) -> Field:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(f"stream {self.name!r} has no field {name!r}")


def fields(
    *,
    s: str = "",
    i: str = "",
    n: str = "",
    b: str = "",
    ts: str = "",
    d: str = "",
    sl: str = "",
    j: str = "",
    ill: str = "",
    custom: int = 0,
) -> tuple[Field, ...]:
    """Build a field tuple from space-separated names per type.

    Keys: s=string, i=integer, n=number, b=boolean, ts=timestamp, d=date, sl=string list,
    j=JSON, ill=list of integer lists; ``custom`` adds ``custom1..customN`` strings.
    """
    spec = (
        (s, FieldType.STRING),
        (i, FieldType.INTEGER),
        (n, FieldType.NUMBER),
        (b, FieldType.BOOLEAN),
        (ts, FieldType.TIMESTAMP),
        (d, FieldType.DATE),
        (sl, FieldType.STRING_LIST),
        (j, FieldType.JSON),
        (ill, FieldType.INT_LIST_LIST),
    )
    out = [Field(name, t) for names, t in spec for name in names.split()]
    out += [Field(f"custom{k}", FieldType.STRING) for k in range(1, custom + 1)]
    return tuple(sorted(out, key=lambda f: f.name))


def rels(spec: str) -> tuple[Relationship, ...]:
    """Build relationships from ``"owner:user account:account"``."""
    out = []
    for item in spec.split():
        name, target = item.split(":")
        out.append(Relationship(name, target))
    return tuple(out)
