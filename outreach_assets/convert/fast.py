"""Page bodies -> Arrow record batches without a Python object per value (the fast path).

``json.loads`` + :func:`reference.to_record_batch` builds about 235 Python objects per wide
prospect and then reads them all back; inside a Dagster process the cyclic GC rescans the
big heap while they are allocated, so that path costs twice what it costs alone. Here
``pyarrow.json.read_json`` parses the whole body (one line, one block, one thread: the page
is one JSON object) against an explicit schema taken from the catalog, and everything after
that is vectorized Arrow compute.

The result must be exactly what ``to_record_batch`` makes of the same page (same schema,
values, ``_extra`` text and :class:`ConversionStats`), because pages that take the fast
path and pages that do not land in the same tables. So the decoder refuses (returns
``None``, and the client falls back to ``json.loads`` + ``to_record_batch`` for that page)
whenever it cannot guarantee that:

* ``read_json`` raises: malformed JSON, a value whose JSON type does not match the schema
  (it never coerces: ``"5"`` is no integer, ``3.0`` is no integer, ``5`` is no string),
  string or float ids (of resources, and in to-one and to-many relationships alike), a
  to-one ``data`` that is an array, a to-many ``data`` that is not an array or holds
  something other than objects, duplicate keys, and members whose JSON types differ
  between resources where ``read_json`` has to infer them.
* A value ``read_json`` accepts but the reference reads differently: a to-one ``data``
  object without an id, a to-many item that is ``null`` or has no id, a ``-0`` in a number
  column (``json.loads`` makes it ``0``), a timestamp or date the vectorized cast rejects
  (the reference then parses value by value); see ``fast_columns``.
* Unknown attributes, JSON columns and the ``data`` of unknown relationships that
  ``read_json`` inferred lossily (``fast_json``).
* Anything that is not one object holding a ``data`` array of objects of this stream's
  type with integer ids, and bodies that are not valid UTF-8 (``fast_read``).

So every malformed relationship takes the reference path, which moves it to ``_extra``.

Relationships (https://jsonapi.org/format/#document-resource-object-relationships): the
catalog's to-one ones are declared as ``{data: {type, id}}`` and its to-many ones as
``{data: [{type, id}]}``, so pages carrying ids stay here; ``links`` and ``meta`` members
are inferred and never read. Known links-only relationships are inferred and ignored, as
the reference ignores them. Relationships the catalog does not know are inferred, and
their ``data`` is written as JSON text and counted exactly as the reference does it for
every shape ``read_json`` keeps whole: a to-one or to-many ``data`` (``[]`` included), a
relationship that is not an object (its own ``data``), links, meta or null only (counted
as 0). The page is refused where the text could differ, as for unknown attributes:

* an unknown relationship that is an object in one resource and something else (not
  null) in another, or whose ``data`` is an object in one and an array in another
  (``read_json`` infers one type per member, and raises);
* a ``data`` whose objects leave out a member that is spelled ``null`` somewhere in the
  body (``read_json`` reads a missing member and ``null`` alike);
* whole numbers written as floats, and text ``read_json`` takes for a timestamp, in it.

Unknown attributes that ``read_json`` types as timestamps are declared as strings and the
page is read again; the decoder remembers them for the pages after.
"""

import functools
import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

import pyarrow as pa

from outreach_assets.catalog import FieldType, Stream
from outreach_assets.client.page import DecodedPage
from outreach_assets.convert.extra import extra_from_fragments
from outreach_assets.convert.fast_columns import (
    READ_TYPES,
    attribute_column,
    check_inferred,
    clash,
    relationship_ids,
    to_many_ids,
    unknown,
    unknown_relationships,
)
from outreach_assets.convert.fast_read import (
    ReadAsText,
    Refused,
    children,
    next_link_of,
    read_body,
    resources,
)
from outreach_assets.convert.layout import (
    ConversionStats,
    Layout,
    extracted_at_column,
    layout,
    require_aware,
)
from outreach_assets.convert.page import ConvertedPage
from outreach_assets.convert.reference import to_record_batch

# Relationship objects: a resource identifier, or an array of them, as ``data``; links and
# meta members are inferred and never read.
_IDENTIFIER: Final = pa.struct([pa.field("type", pa.string()), pa.field("id", pa.int64())])
_TO_ONE: Final = pa.struct([pa.field("data", _IDENTIFIER)])
_TO_MANY: Final = pa.struct([pa.field("data", pa.list_(_IDENTIFIER))])


@dataclass(frozen=True)
class _Plan:
    """Everything about reading one stream's pages that does not depend on the data."""

    read_schema: pa.Schema
    layout: Layout  # the output columns, the same as the reference converter's
    json_type: str
    declared: frozenset[str]  # attribute names in read_schema


@functools.lru_cache(maxsize=128)
def _plan(stream: Stream, keep: frozenset[str], as_text: frozenset[str]) -> _Plan:
    """Keyed on the whole (frozen) Stream, not its name: tests and callers build variants
    of catalog streams under the same name, and their pages need their own schemas."""
    columns = layout(stream, keep)  # also refuses a bad ``keep``
    # Every typed catalog attribute is declared, kept or not, so read_json never spends
    # inference on it; JSON attributes cannot be declared and are inferred.
    attributes: dict[str, pa.DataType] = {
        f.name: READ_TYPES[f.type] for f in stream.fields if f.type is not FieldType.JSON
    }
    attributes.update(dict.fromkeys((r.column for r in columns.relationships), pa.int64()))
    attributes.update(dict.fromkeys(as_text, pa.string()))
    item = pa.struct(
        [
            pa.field("type", pa.string()),
            pa.field("id", pa.int64()),
            pa.field("attributes", pa.struct(list(attributes.items()))),
            pa.field(
                "relationships",
                pa.struct(
                    [(r.name, _TO_ONE) for r in columns.relationships]
                    + [(r.name, _TO_MANY) for r in columns.to_many]
                ),
            ),
        ]
    )
    read_schema = pa.schema(
        [pa.field("data", pa.list_(item)), pa.field("links", pa.struct([("next", pa.string())]))]
    )
    return _Plan(read_schema, columns, stream.json_type, frozenset(attributes))


def page_read_schema(stream: Stream, keep: frozenset[str] = frozenset()) -> pa.Schema:
    """The schema ``read_json`` reads a whole page of ``stream`` into: other JSON readers
    are measured against the same target (``benchmarks/parse_ceiling.py``)."""
    return _plan(stream, frozenset(keep), frozenset()).read_schema


# --- the decoder ---------------------------------------------------------------------------


@dataclass
class DecoderStats:
    """How many pages took the fast path; refusals counted by kind, and the last one's
    reason in full, so a stream that keeps falling back says why."""

    decoded: int = 0
    refused: int = 0
    last_refusal: str = ""
    reasons: dict[str, int] = field(default_factory=dict)


class ArrowPageDecoder:
    """One stream's pages -> :class:`ConvertedPage`, for ``OutreachClient.iter_pages(decoder=)``.

    Thread-safe: slices of one scan may share it. It learns which unknown attributes hold
    timestamp-like text, so only the first page showing one is read twice.
    """

    def __init__(
        self, stream: Stream, extracted_at: datetime, keep: frozenset[str] = frozenset()
    ) -> None:
        require_aware(extracted_at)
        self.stream = stream
        self.keep = frozenset(keep)
        self.extracted_at = extracted_at
        _plan(stream, self.keep, frozenset())  # a bad ``keep`` fails here, not on page 1
        self._as_text: frozenset[str] = frozenset()
        self._lock = threading.Lock()
        self._stats = DecoderStats()

    @property
    def stats(self) -> DecoderStats:
        with self._lock:
            return DecoderStats(
                self._stats.decoded,
                self._stats.refused,
                self._stats.last_refusal,
                dict(self._stats.reasons),
            )

    def decode(self, body: bytes) -> DecodedPage[ConvertedPage] | None:
        """The page as ``to_record_batch`` would make it, or ``None`` (refused)."""
        as_text = self._as_text
        try:
            try:
                page = _decode_page(self.stream, body, self.extracted_at, self.keep, as_text)
            except ReadAsText as more:
                as_text = as_text | more.names
                page = _decode_page(self.stream, body, self.extracted_at, self.keep, as_text)
        except ReadAsText as again:
            self._refuse(f"inferred: {again} read as timestamps even when declared")
            return None
        except Refused as refusal:
            self._refuse(str(refusal))
            return None
        except pa.ArrowException as exc:  # a check the fast path lacks: refuse, never guess
            self._refuse(f"arrow: {type(exc).__name__}: {str(exc)[:200]}")
            return None
        with self._lock:
            self._stats.decoded += 1
            self._as_text |= as_text
        return page

    def convert(self, records: list[dict[str, Any]]) -> ConvertedPage:
        return ConvertedPage(*to_record_batch(self.stream, records, self.extracted_at, self.keep))

    def _refuse(self, reason: str) -> None:
        kind = reason.split(":", 1)[0]
        with self._lock:
            self._stats.refused += 1
            self._stats.last_refusal = reason
            self._stats.reasons[kind] = self._stats.reasons.get(kind, 0) + 1


def _decode_page(
    stream: Stream,
    body: bytes,
    extracted_at: datetime,
    keep: frozenset[str] = frozenset(),
    as_text: frozenset[str] = frozenset(),
) -> DecodedPage[ConvertedPage]:
    """One JSON:API list body -> what ``to_record_batch`` makes of its ``data``.

    Raises ``Refused`` (or ``ReadAsText``) instead of ever returning something else.
    """
    plan = _plan(stream, frozenset(keep), as_text)
    table = read_body(body, plan.read_schema)
    items = resources(table, plan.json_type)
    rows = len(items)
    attributes = children(items.field("attributes"))
    relationships = children(items.field("relationships"))
    check_inferred(attributes, plan.declared)
    stats = ConversionStats(rows=rows)
    extra: list[tuple[str, pa.Array]] = []
    arrays = [items.field("id")]
    arrays += [attribute_column(f.name, f.type, attributes, rows, body) for f in plan.layout.fields]
    for rel in plan.layout.relationships:
        ids = relationship_ids(rel.name, relationships[rel.name])
        clashing = clash(attributes[rel.column], ids, stats)
        if clashing is not None:
            extra.append((rel.column, clashing))
        arrays.append(ids)
    arrays += [to_many_ids(rel.name, relationships[rel.name]) for rel in plan.layout.to_many]
    extra += unknown(attributes, plan.layout.handled, stats, body)
    extra += unknown_relationships(relationships, plan.layout.known_relationships, stats, body)
    arrays.append(extra_from_fragments(extra, rows))
    arrays.append(extracted_at_column(extracted_at, rows))
    batch = pa.RecordBatch.from_arrays(arrays, schema=plan.layout.schema)
    return DecodedPage(ConvertedPage(batch, stats), rows, next_link_of(table))
