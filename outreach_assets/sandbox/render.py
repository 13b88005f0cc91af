"""JSON:API resource objects rendered by splicing per-record values into cached fragments.

Serializing a 230-attribute prospect with `json.dumps` per record is far too slow for the
20,000 records/s target, so each attribute variant is serialized once (ASCII-only, so every
join and write stays on CPython's fast paths). A page is rendered column by column (all
`updatedAt` texts, then all `owner` relationships, ...) with list comprehensions, and each
record ends up as three byte chunks: its dynamic head, its shared variant, its tail.
"""

from collections.abc import Callable

from outreach_assets.sandbox.data import RelSpec, StreamData
from outreach_assets.sandbox.isotime import format_ms

_Column = Callable[[list[int], list[int]], list[str]]  # (indices, ids) -> one text per record


class Renderer:
    """Turns record indices of one stream into JSON bytes."""

    def __init__(self, data: StreamData, api_base: str) -> None:
        self._data = data
        stream = data.stream
        self.collection_url = f"{api_base}/{stream.path}"
        self._head = f'{{"type":"{stream.json_type}","id":'
        self._attribute_columns = self._attribute_renderers()
        self._relationship_columns = self._relationship_renderers(api_base)
        # The static variant always closes the attributes (it holds the extra attribute at
        # least), then the relationships object opens.
        self._variant_chunks = [
            v.json_fragment.encode() + b'},"relationships":{' for v in data.variants
        ]
        self._open_self = f'}},"links":{{"self":"{self.collection_url}/'

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
                lambda indices, ids: [
                    f"{key}{'null' if t is None else t}" for t in echoed.target_ids(ids)
                ]
            )
        return columns

    def _relationship_renderers(self, api_base: str) -> list[_Column]:
        columns = [_to_one_column(r) for r in self._data.relationships]
        for many in self._data.to_many:
            prefix = (
                f'"{many.name}":{{"links":{{"related":"{api_base}/{many.name}'
                f"?filter%5B{many.filter_rel}%5D%5Bid%5D="
            )
            columns.append(_to_many_column(prefix))
        return columns

    def extend(self, out: list[bytes], indices: list[int]) -> None:
        """Append the comma-separated resource objects of ``indices`` to ``out``.

        The caller holds the stream's lock and sends ``out`` with one gather-write, so a
        page of 1000 wide records is never joined into one buffer.
        """
        ids = [i + 1 for i in indices]
        attributes = _rows(self._attribute_columns, indices, ids, suffix=",")
        relationships = _rows(self._relationship_columns, indices, ids, suffix="")
        chunks = self._variant_chunks
        variants = self._data.variants_of(indices)
        head, open_self = self._head, self._open_self
        separator = ""
        for k, rid in enumerate(ids):
            out.append(f'{separator}{head}{rid},"attributes":{{{attributes[k]}'.encode())
            out.append(chunks[variants[k]])
            out.append(f'{relationships[k]}{open_self}{rid}"}}}}'.encode())
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

    def render(indices: list[int], ids: list[int]) -> list[str]:
        return [empty if t is None else f"{present}{t}}}}}" for t in rel.target_ids(ids)]

    return render


def _to_many_column(prefix: str) -> _Column:
    return lambda indices, ids: [f'{prefix}{rid}"}}}}' for rid in ids]
