"""JSON:API resource objects rendered by splicing per-record values into cached fragments.

Serializing a 230-attribute prospect with `json.dumps` per record is far too slow for the
20,000 records/s target, so each attribute variant is serialized once (ASCII-only, so every
join and write stays on CPython's fast paths). A page is rendered column by column (all
`updatedAt` texts, then all `owner` relationships, ...) with list comprehensions, and each
record ends up as four byte chunks: its dynamic head, its shared variant, its to-one
relationships, its tail. The tail (to-many and links-only relationships, then `links.self`)
depends only on the record's id and its to-many pool position (relations.py), so each
position's tail is pre-rendered as the bytes between the id's occurrences and a record's
tail is one `id.join(...)`: its kilobytes are written once, never copied into a row.

A sparse fieldset (https://jsonapi.org/format/#fetching-sparse-fieldsets) is the same
machinery with fewer columns, cached fragments and tail members: a renderer is built per
fieldset, and a record of `fields[prospect]=updatedAt` is about 150 bytes (most of them its
self link) instead of kilobytes. A member whose fieldset selects nothing is left out
(`attributes`, `relationships`); the resource keeps `type`, `id` and `links.self`, which
are not fields.
"""

from collections.abc import Callable, Sequence

from outreach_assets.jsontext import compact
from outreach_assets.sandbox.data import StreamData, Variant
from outreach_assets.sandbox.isotime import format_ms
from outreach_assets.sandbox.relations import POOL, LinksOnly, ManySpec, RelSpec

_Column = Callable[[list[int], list[int]], list[str]]  # (indices, ids) -> one text per record
# Targets up to this size get their to-one texts rendered once (at most ~300 KB each).
_TEXT_TABLE_MAX = 4096
_JOIN_BELOW = 1024  # bytes of shared text a record, under which a page is sent joined
_ID = "\x00"  # where a tail template takes the record id: in no type name, path or URL


class Renderer:
    """Turns record indices of one stream into JSON bytes: every field, or ``fields`` only."""

    def __init__(
        self, data: StreamData, api_base: str, fields: frozenset[str] | None = None
    ) -> None:
        self._data = data
        stream = data.stream
        wanted: Callable[[str], bool] = (lambda _: True) if fields is None else fields.__contains__
        self.collection_url = f"{api_base}/{stream.path}"
        self._attribute_columns = [c for n, c in self._attribute_renderers() if wanted(n)]
        fragments = [_fragment(v, fields) for v in data.variants]
        relations = data.relations
        to_one = [r for r in relations.to_one if wanted(r.name)]
        to_many = [r for r in relations.to_many if wanted(r.name)]
        links_only = [r for r in relations.links_only if wanted(r.name)]
        # Full resources always carry both members, as they always have; sparse ones only
        # what their fieldset selects.
        attributes = fields is None or bool(self._attribute_columns or fragments[0])
        relationships = fields is None or bool(to_one or to_many or links_only)
        self._head = f'{{"type":"{stream.json_type}","id":'
        self._open = ',"attributes":{' if attributes else ""
        self._attribute_suffix = "," if fragments[0] else ""
        self._relationship_columns = [_to_one_column(r) for r in to_one]
        self._to_one_suffix = "," if to_many or links_only else ""
        # A variant's chunk closes the attributes, then the relationships object opens; the
        # shared attributes of a sparse fieldset may be none, and then one chunk serves all.
        between = ("}" if attributes else "") + (',"relationships":{' if relationships else "")
        self._variant_chunks = [(f + between).encode() for f in fragments]
        self._varies = len(set(fragments)) > 1
        url = self.collection_url
        tails = (
            _tail_pieces(to_many, links_only, k, api_base, url, relationships=relationships)
            for k in range(POOL if to_many else 1)
        )
        self._tails = [[piece.encode() for piece in pieces] for pieces in tails]
        # Records of a narrow fieldset are a few dozen bytes: one buffer a page is cheaper
        # to send than four small pieces a record; wide ones stay in pieces (no copy).
        widest = max(map(len, self._variant_chunks)) + max(sum(map(len, t)) for t in self._tails)
        self._joined = fields is not None and widest < _JOIN_BELOW

    def _attribute_renderers(self) -> list[tuple[str, _Column]]:
        """Columns of the spliced attributes by name, each text being `"name":value`."""
        data = self._data
        columns: list[tuple[str, _Column]] = []
        for array_, name in ((data.cur, data.cursor), (data.comp, data.companion)):
            if name is not None:
                columns.append((name, _timestamp_column(name, array_.__getitem__)))
        if "name" in data.spliced:
            label = data.label
            columns.append(
                ("name", lambda indices, ids: [f'"name":"{label} {rid}"' for rid in ids])
            )
        echoed = data.echoed
        if echoed is not None:
            key = f'"{echoed.name}Id":'
            columns.append(
                (
                    f"{echoed.name}Id",
                    lambda indices, ids: [f"{key}{t or 'null'}" for t in echoed.target_codes(ids)],
                )
            )
        return columns

    def extend(self, out: list[bytes], indices: list[int]) -> None:
        """Append the comma-separated resource objects of ``indices`` to ``out``.

        The caller holds the stream's lock and sends ``out`` with one gather-write, so a
        page of 1000 wide records is never joined into one buffer (a narrow one is).
        """
        pieces: list[bytes] = [] if self._joined else out
        ids = [i + 1 for i in indices]
        attributes = _rows(self._attribute_columns, indices, ids, suffix=self._attribute_suffix)
        to_one = _rows(self._relationship_columns, indices, ids, suffix=self._to_one_suffix)
        chunks, tails = self._variant_chunks, self._tails
        variants = self._data.variants_of(indices) if self._varies else [0] * len(ids)
        picks = self._data.relations.pool_indices(ids) if len(tails) > 1 else [0] * len(ids)
        head, open_ = self._head, self._open
        separator = ""
        for k, rid in enumerate(ids):
            pieces.append(f"{separator}{head}{rid}{open_}{attributes[k]}".encode())
            pieces.append(chunks[variants[k]])
            pieces.append(to_one[k].encode())
            pieces.append(str(rid).encode().join(tails[picks[k]]))
            separator = ","
        if pieces is not out:
            out.append(b"".join(pieces))

    def record(self, i: int) -> bytes:
        out: list[bytes] = []
        self.extend(out, [i])
        return b"".join(out)


def _rows(columns: list[_Column], indices: list[int], ids: list[int], *, suffix: str) -> list[str]:
    """Join the columns into one comma-separated text per record."""
    if not columns:
        return [""] * len(ids)
    rendered = [column(indices, ids) for column in columns]
    return [",".join(parts) + suffix for parts in zip(*rendered, strict=True)]


def _timestamp_column(name: str, get: Callable[[int], int]) -> _Column:
    prefix = f'"{name}":"'
    return lambda indices, ids: [f'{prefix}{format_ms(get(i))}"' for i in indices]


def _to_one_column(rel: RelSpec) -> _Column:
    present = f'"{rel.name}":{{"data":{{"type":"{rel.target}","id":'
    empty = f'"{rel.name}":{{"data":null}}'
    if rel.target_size <= _TEXT_TABLE_MAX:  # users, stages, teams...: one text per target
        texts = [empty, *(f"{present}{t}}}}}" for t in range(1, rel.target_size + 1))]
        return lambda indices, ids: [texts[code] for code in rel.target_codes(ids)]

    def render(indices: list[int], ids: list[int]) -> list[str]:
        return [f"{present}{t}}}}}" if t else empty for t in rel.target_codes(ids)]

    return render


def _fragment(variant: Variant, fields: frozenset[str] | None) -> str:
    """The variant's shared attributes as `"a":1,"b":"x"`, or those of ``fields`` only."""
    if fields is None:
        return variant.json_fragment
    return compact({k: v for k, v in variant.values.items() if k in fields})[1:-1]


def _tail_pieces(
    to_many: Sequence[ManySpec],
    links_only: Sequence[LinksOnly],
    k: int,
    api_base: str,
    collection_url: str,
    *,
    relationships: bool,
) -> list[str]:
    """What follows a record's to-one relationships, for pool position ``k``, as the texts
    around each occurrence of the record id: the to-many relationships
    (`{"data":[...],"links":{"related":...},"meta":{"count":n}}`, or `{"data":[...]}` without
    a link), the links-only ones (`{"links":{"related":...}}`), the end of `relationships`
    (when the resource has that member), then `links.self`."""
    members: list[str] = []
    for spec in to_many:
        ids = spec.pool[k]
        data = ",".join(f'{{"type":"{spec.target}","id":{i}}}' for i in ids)
        if spec.link is None:
            members.append(f'"{spec.name}":{{"data":[{data}]}}')
            continue
        related = f"{api_base}{spec.link.before}{_ID}{spec.link.after}"
        members.append(
            f'"{spec.name}":{{"data":[{data}],"links":{{"related":"{related}"}},'
            f'"meta":{{"count":{len(ids)}}}}}'
        )
    for rel in links_only:
        related = f"{api_base}{rel.link.before}{_ID}{rel.link.after}"
        members.append(f'"{rel.name}":{{"links":{{"related":"{related}"}}}}')
    close = "}" if relationships else ""
    tail = ",".join(members) + f'{close},"links":{{"self":"{collection_url}/{_ID}"}}}}'
    return tail.split(_ID)
