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
    """A relationship whose ids come inline, flattened to one column.

    A to-one relationship (``owner``) becomes ``<name>Id`` (int64, null when empty); a
    to-many one (``assignedUsers``) becomes ``<singular>Ids`` (list<int64>, the ids in the
    API's order, ``[]`` for ``data: []``). ``target`` is the JSON:API type it points at
    (``owner`` -> ``user``), which the sandbox uses to keep relationships consistent between
    streams; a polymorphic relationship names its most common target.
    """

    name: str
    target: str
    many: bool = False

    @property
    def column(self) -> str:
        return f"{singular(self.name)}Ids" if self.many else f"{self.name}Id"


def singular(name: str) -> str:
    """``opportunities`` -> ``opportunity``, ``emailAddresses`` -> ``emailAddress``,
    ``mailboxes`` -> ``mailbox``, ``assignedUsers`` -> ``assignedUser``."""
    if name.endswith("ies"):
        return name[:-3] + "y"
    if name.endswith(("sses", "xes", "ches", "shes")):
        return name[:-2]
    return name.removesuffix("s")


@dataclass(frozen=True)
class Stream:
    """One Outreach list endpoint and everything needed to extract it."""

    name: str  # asset name, snake_case: "call_dispositions"
    path: str  # API path under /api/v2, camelCase: "callDispositions"
    json_type: str  # JSON:API resource type: "callDisposition"
    replication: Replication
    cursor: str | None  # filterable + sortable timestamp attribute; None for full snapshots
    fields: tuple[Field, ...]  # attributes, excluding the resource id
    relationships: tuple[Relationship, ...] = ()  # to-one: a <name>Id column each
    to_many: tuple[Relationship, ...] = ()  # to-many with ids inline: a <singular>Ids column each
    # Relationships that carry only ``links.related`` (no ids inline): known, so never
    # reported as unknown, and given no column (the ids are the related stream's own).
    links_only: tuple[str, ...] = ()
    max_page_size: int = 1000  # lower where big bodies make Outreach answer 502
    # Attributes dropped unless the user opts in (prospects.contactHistogram, as Mage's
    # Outreach source does: array-of-arrays columns break many destinations).
    dropped_by_default: tuple[str, ...] = ()
    description: str = ""

    def __hash__(self) -> int:
        # Streams key caches that are asked once per column; the generated hash would walk
        # every field of the stream each time. Equal streams have equal names.
        return hash(self.name)

    @property
    def scope(self) -> str:
        """The OAuth scope that grants read access to this stream."""
        return f"{self.path}.read"

    @property
    def is_incremental(self) -> bool:
        return self.replication is Replication.INCREMENTAL

    @property
    def known_relationships(self) -> frozenset[str]:
        """Every relationship name the catalog knows for this stream, with ids or without."""
        return frozenset(
            {r.name for r in (*self.relationships, *self.to_many)} | set(self.links_only)
        )

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
    """To-one relationships from ``"owner:user account:account"``."""
    return _relationships(spec, many=False)


def many(spec: str) -> tuple[Relationship, ...]:
    """To-many relationships with inline ids, from ``"assignedUsers:user teams:team"``."""
    return _relationships(spec, many=True)


def links(spec: str) -> tuple[str, ...]:
    """Links-only relationship names, from ``"batches calls tasks"``."""
    return tuple(spec.split())


def _relationships(spec: str, *, many: bool) -> tuple[Relationship, ...]:
    out = []
    for item in spec.split():
        name, target = item.split(":")
        out.append(Relationship(name, target, many=many))
    return tuple(out)
