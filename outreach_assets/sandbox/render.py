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
"""

from collections.abc import Callable

from outreach_assets.sandbox.data import StreamData
from outreach_assets.sandbox.isotime import format_ms
from outreach_assets.sandbox.relations import POOL, Relations, RelSpec

_Column = Callable[[list[int], list[int]], list[str]]  # (indices, ids) -> one text per record
# Targets up to this size get their to-one texts rendered once (at most ~300 KB each).
_TEXT_TABLE_MAX = 4096
_ID = "\x00"  # where a tail template takes the record id: in no type name, path or URL


class Renderer:
    """Turns record indices of one stream into JSON bytes."""

    def __init__(self, data: StreamData, api_base: str) -> None:
        self._data = data
        stream = data.stream
        self.collection_url = f"{api_base}/{stream.path}"
        self._head = f'{{"type":"{stream.json_type}","id":'
        self._attribute_columns = self._attribute_renderers()
        relations = data.relations
        self._relationship_columns = [_to_one_column(r) for r in relations.to_one]
        self._to_one_suffix = "," if relations.to_many or relations.links_only else ""
        # The static variant always closes the attributes (it holds the extra attribute at
        # least), then the relationships object opens.
        self._variant_chunks = [
            v.json_fragment.encode() + b'},"relationships":{' for v in data.variants
        ]
        positions = POOL if relations.to_many else 1
        self._tails = [
            [piece.encode() for piece in _tail_pieces(relations, k, api_base, self.collection_url)]
            for k in range(positions)
        ]

    def _attribute_renderers(self) -> list[_Column]:
        """Columns of the spliced attributes, each text being `"name":value`."""
        data = self._data
        columns: list[_Column] = []
        for array_, name in ((data.cur, data.cursor), (data.comp, data.companion)):
            if name is not None:
                columns.append(_timestamp_column(name, array_.__getitem__))
        if "name" in data.spliced:
            label = data.label
            columns.append(lambda indices, ids: [f'"name":"{label} {rid}"' for rid in ids])
        echoed = data.echoed
        if echoed is not None:
            key = f'"{echoed.name}Id":'
            columns.append(
                lambda indices, ids: [f"{key}{t or 'null'}" for t in echoed.target_codes(ids)]
            )
        return columns

    def extend(self, out: list[bytes], indices: list[int]) -> None:
        """Append the comma-separated resource objects of ``indices`` to ``out``.

        The caller holds the stream's lock and sends ``out`` with one gather-write, so a
        page of 1000 wide records is never joined into one buffer.
        """
        ids = [i + 1 for i in indices]
        attributes = _rows(self._attribute_columns, indices, ids, suffix=",")
        to_one = _rows(self._relationship_columns, indices, ids, suffix=self._to_one_suffix)
        chunks, tails = self._variant_chunks, self._tails
        variants = self._data.variants_of(indices)
        picks = self._data.relations.pool_indices(ids) if len(tails) > 1 else [0] * len(ids)
        head = self._head
        separator = ""
        for k, rid in enumerate(ids):
            out.append(f'{separator}{head}{rid},"attributes":{{{attributes[k]}'.encode())
            out.append(chunks[variants[k]])
            out.append(to_one[k].encode())
            out.append(str(rid).encode().join(tails[picks[k]]))
            separator = ","

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


def _tail_pieces(relations: Relations, k: int, api_base: str, collection_url: str) -> list[str]:
    """What follows a record's to-one relationships, for pool position ``k``, as the texts
    around each occurrence of the record id: the to-many relationships
    (`{"data":[...],"links":{"related":...},"meta":{"count":n}}`, or `{"data":[...]}` without
    a link), the links-only ones (`{"links":{"related":...}}`), then `links.self`."""
    members: list[str] = []
    for spec in relations.to_many:
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
    for rel in relations.links_only:
        related = f"{api_base}{rel.link.before}{_ID}{rel.link.after}"
        members.append(f'"{rel.name}":{{"links":{{"related":"{related}"}}}}')
    tail = ",".join(members) + f'}},"links":{{"self":"{collection_url}/{_ID}"}}}}'
    return tail.split(_ID)
