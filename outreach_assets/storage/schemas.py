"""Stream schemas against what files and batches hold: comparison, conformance, messages.

Every file of a stream is written with the stream's exact Arrow schema (metadata included),
so that dataset readers see the folder as one table; these functions check that, explain a
mismatch, and bring files written under an older schema version to the current one.
"""

import pyarrow as pa

from outreach_assets.convert.layout import ID_COLUMN


def schemas_match(actual: pa.Schema, expected: pa.Schema) -> bool:
    """Same columns, types, nullability, field and schema metadata.

    A list's child field name is not compared: Arrow names it ``item``, while Parquet
    writers (pyarrow's default, for other readers' sake) store the spec's ``element``, so
    a file never reads back with Arrow's name.
    """
    return (
        actual.equals(expected, check_metadata=False)
        and (actual.metadata or {}) == (expected.metadata or {})
        and all(
            (a.metadata or {}) == (e.metadata or {}) for a, e in zip(actual, expected, strict=True)
        )
    )


def conform(batch: pa.RecordBatch, schema: pa.Schema) -> pa.RecordBatch:
    """``batch`` with exactly ``schema``: metadata attached, columns matched by name.

    Columns are cast where their type differs in any way, list child names included (see
    :func:`schemas_match`). Files written under an older schema version may lack a column
    (it reads as null) or have one type narrower (it is cast; an impossible cast raises).
    """
    arrays = []
    for f in schema:
        index = batch.schema.get_field_index(f.name)
        if index < 0:
            arrays.append(pa.nulls(batch.num_rows, type=f.type))
            continue
        array = batch.column(index)
        arrays.append(
            array if array.type.equals(f.type, check_metadata=True) else array.cast(f.type)
        )
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


def schema_difference(actual: pa.Schema, expected: pa.Schema) -> str:
    """The first difference between two schemas, short enough for an error message."""
    if actual.names != expected.names:
        return f"columns {actual.names[:5]}... instead of {expected.names[:5]}..."
    for got, want in zip(actual, expected, strict=True):
        if not got.equals(want):
            return f"column {want.name!r} is {got} instead of {want}"
    return "unknown difference"


def require_columns(schema: pa.Schema, cursor: str | None) -> None:
    """Fail before any I/O if ``schema`` lacks the id or cursor column deduplication needs."""
    for column in (ID_COLUMN, cursor):
        if column is not None and schema.get_field_index(column) < 0:
            raise ValueError(f"schema has no {column!r} column")
