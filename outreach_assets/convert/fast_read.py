"""The fast decoder's first step: a page body read by ``pyarrow.json`` into one checked row.

``read_json`` is lenient where ``json.loads`` and the reference converter are not (it
copies invalid UTF-8, reads several values as several rows), so everything either of them
would refuse before converting a single value is refused here. The exceptions every step
of the fast path raises to step aside are defined here too.
"""

from io import BytesIO

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pj

from outreach_assets.client.pagination import next_link


class Refused(Exception):
    """The fast path cannot promise the reference result for this page; the text says why."""


class ReadAsText(Exception):
    """Unknown attributes read_json typed as timestamps: read the page again, as text."""

    def __init__(self, names: frozenset[str]) -> None:
        super().__init__(", ".join(sorted(names)))
        self.names = names


def read_body(body: bytes, schema: pa.Schema) -> pa.Table:
    """The body as one row of ``schema``; refused unless it is one JSON object in UTF-8."""
    _check_utf8(body)
    options = pj.ReadOptions(block_size=len(body) + 1, use_threads=False)
    parse = pj.ParseOptions(explicit_schema=schema, unexpected_field_behavior="infer")
    try:
        table = pj.read_json(BytesIO(body), read_options=options, parse_options=parse)
    except pa.ArrowException as exc:
        raise Refused(f"read_json: {str(exc)[:200]}") from None
    if table.num_rows != 1 or table.column("data").num_chunks != 1:
        raise Refused(f"body: {table.num_rows} JSON values instead of one object")
    return table


def _check_utf8(body: bytes) -> None:
    """read_json copies invalid UTF-8 into string arrays; json.loads would refuse the body.

    Pure ASCII is valid UTF-8, and checking for it takes under 1 ms per 7 MB page (JSON
    encoders that escape non-ASCII, like the sandbox's, send nothing else). Otherwise
    Arrow's validating cast of the body as one value takes about 20 ms on this VM;
    ``body.decode()`` takes as long and builds a string besides.
    """
    if body.isascii():
        return
    offsets = pa.array([0, len(body)], pa.int64()).buffers()[1]
    whole = pa.Array.from_buffers(pa.large_binary(), 1, [None, offsets, pa.py_buffer(body)])
    try:
        whole.cast(pa.large_string())
    except pa.ArrowInvalid:
        raise Refused("body: not UTF-8") from None


def resources(table: pa.Table, json_type: str) -> pa.StructArray:
    """The resource objects, checked the way to_record_batch checks them before it starts."""
    data = table.column("data").chunk(0)
    if data.null_count:
        raise Refused("body: no data array")  # the client's own check retries such a body
    items = data.flatten()
    if items.null_count:
        raise Refused("data: a resource is not an object")
    if pc.any(pc.not_equal(items.field("type"), json_type)).as_py():
        raise Refused(f"data: a resource is not of type {json_type!r}")
    if items.field("id").null_count:
        raise Refused("data: a resource without an id")
    return items


def children(struct: pa.StructArray) -> dict[str, pa.Array]:
    """A struct's fields by name, null wherever the struct itself is null."""
    return {f.name: child for f, child in zip(struct.type, struct.flatten(), strict=True)}


def next_link_of(table: pa.Table) -> str | None:
    """``links.next`` as the client reads it; only that member is converted (the rest of
    ``links`` was inferred, and is no business of ours)."""
    links = table.column("links").chunk(0)
    if links.null_count:
        return None
    return next_link({"links": {"next": children(links)["next"][0].as_py()}})
