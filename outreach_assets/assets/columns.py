"""The column schema the Dagster UI shows for a table: types, and a description for each.

Descriptions come from the catalog (``catalog.descriptions``); a custom field that the
organisation labelled (``outreach/custom_fields``) is described by its label instead, so
``custom7`` reads as "Region" wherever it appears.
"""

import functools
from collections.abc import Mapping

import dagster as dg
import pyarrow as pa

from outreach_assets.catalog import Stream
from outreach_assets.catalog.descriptions import describe

_ARROW_TO_COLUMN_TYPE = {
    pa.types.is_int64: "int64",
    pa.types.is_float64: "float64",
    pa.types.is_boolean: "boolean",
    pa.types.is_string: "string",
    pa.types.is_timestamp: "timestamp[us, UTC]",
    pa.types.is_date32: "date",
}


def column_type(arrow_type: pa.DataType) -> str:
    for test, name in _ARROW_TO_COLUMN_TYPE.items():
        if test(arrow_type):
            return name
    return str(arrow_type)


def column_schema(
    stream: Stream, schema: pa.Schema, labels: Mapping[str, str] | None = None
) -> dg.TableSchema:
    """Every column of ``stream``'s table, typed and described; ``labels`` maps a custom
    field to the description its label makes."""
    if not labels:
        return _described(stream, schema)
    return dg.TableSchema(
        columns=[
            dg.TableColumn(
                f.name,
                column_type(f.type),
                description=labels.get(f.name) or describe(stream, f.name),
            )
            for f in schema
        ]
    )


@functools.lru_cache(maxsize=512)
def _described(stream: Stream, schema: pa.Schema) -> dg.TableSchema:
    """The label-free schema: the translator builds a stream's specs (and so this) for every
    key it is asked for, hundreds of times while the code location loads."""
    return dg.TableSchema(
        columns=[
            dg.TableColumn(f.name, column_type(f.type), description=describe(stream, f.name))
            for f in schema
        ]
    )
