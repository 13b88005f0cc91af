"""``outreach/custom_fields``: what an organisation's custom fields mean, in one request.

Outreach's ``GET /api/v2/types`` lists, per object type with custom fields (account,
opportunity, prospect, product, purchase, ...), the ``customN`` fields an admin defined:
their label, validation type, whether they are required, and their options or currency
(https://developers.outreach.io/api/reference/overview/, "Custom field types"). This asset
lands them as one table, and the stream assets read it to describe their ``customN``
columns by label. It needs no scope of its own; its one request is part of every sync run.
"""

from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any, Final

import dagster as dg
import pyarrow as pa
import pyarrow.compute as pc

from outreach_assets.assets.bound import io_manager_of, outreach_keys, outreach_of
from outreach_assets.assets.translator import OutreachTranslator, asset_arguments
from outreach_assets.convert import EXTRA_COLUMN, EXTRACTED_AT_COLUMN
from outreach_assets.convert.layout import UTC_US
from outreach_assets.jsontext import canonical
from outreach_assets.storage import Store

TABLE: Final = "custom_fields"
TYPES_PATH: Final = "types"
_KNOWN_KEYS: Final = frozenset({"type", "label", "required", "definition"})

COLUMNS: Final = (
    (
        "object_type",
        pa.string(),
        "The JSON:API type the field belongs to (prospect, account, ...).",
    ),
    ("field", pa.string(), "The attribute, custom1 to custom150."),
    ("label", pa.string(), "The name the organisation gave the field."),
    ("validation_type", pa.string(), "string, inclusion (a pick list), date, numerical, ..."),
    ("required", pa.bool_(), "Whether Outreach requires a value."),
    ("definition", pa.string(), "Options of a pick list or the currency, as JSON text."),
    (EXTRA_COLUMN, pa.string(), "Anything else the API said about the field, as JSON text."),
    (EXTRACTED_AT_COLUMN, UTC_US, "When the definitions were fetched."),
)
SCHEMA: Final = pa.schema([pa.field(name, kind) for name, kind, _ in COLUMNS])


def custom_fields_table(records: list[dict[str, Any]], extracted_at: datetime) -> pa.Table:
    """One row per (object type, custom field) of a ``/types`` answer, sorted."""
    rows = sorted(_rows(records), key=lambda row: (row["object_type"], _field_number(row)))
    for row in rows:
        row[EXTRACTED_AT_COLUMN] = extracted_at.astimezone(UTC)
    return pa.Table.from_pylist(rows, schema=SCHEMA)


def _rows(records: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for record in records:
        meta = record.get("meta")
        validations = meta.get("validations") if isinstance(meta, dict) else None
        if not isinstance(validations, dict):
            continue
        for field, given in validations.items():
            spec = given if isinstance(given, dict) else {"definition": given}
            rest = {k: v for k, v in spec.items() if k not in _KNOWN_KEYS}
            definition = spec.get("definition")
            yield {
                "object_type": str(record.get("type")),
                "field": str(field),
                "label": _text(spec.get("label")),
                "validation_type": _text(spec.get("type")),
                "required": _flag(spec.get("required")),
                "definition": None if definition is None else canonical(definition),
                EXTRA_COLUMN: canonical(rest) if rest else None,
            }


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _flag(value: object) -> bool | None:
    return value if isinstance(value, bool) else None


def _field_number(row: Mapping[str, Any]) -> tuple[int, str]:
    """custom2 before custom10."""
    digits = "".join(c for c in row["field"] if c.isdigit())
    return (int(digits) if digits else 0, row["field"])


def custom_field_labels(store: Store, object_type: str) -> dict[str, str]:
    """``customN`` -> a description made of its label, for one object type; empty when the
    definitions have not landed (the catalog's own descriptions then apply)."""
    path = store.table_path(TABLE)
    if not store.exists(path):
        return {}
    table = store.read_file(path)
    rows = table.filter(pc.equal(table["object_type"], object_type)).to_pylist()
    return {
        row["field"]: f"{row['label']} (custom field {row['field']}, {row['validation_type']})"
        for row in rows
        if row["label"]
    }


def build_custom_fields_asset(translator: OutreachTranslator | None = None) -> dg.AssetsDefinition:
    translator = translator or OutreachTranslator()
    spec = translator.get_custom_fields_spec()
    described = dg.TableSchema(
        columns=[dg.TableColumn(n, str(k), description=d) for n, k, d in COLUMNS]
    )

    @dg.asset(
        **asset_arguments(spec, described),
        pool=translator.pool,
        required_resource_keys=outreach_keys(translator),
        io_manager_key=translator.io_manager_key,
    )
    def _custom_fields(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        io_manager_of(context, translator).ready_store()  # before the request: see ready_store
        records = outreach_of(context, translator).get_client().get_collection(TYPES_PATH)
        table = custom_fields_table(records, datetime.now(UTC))
        labelled = pc.sum(pc.is_valid(table["label"])).as_py() or 0
        context.log.info(
            f"{spec.key.to_user_string()}: {table.num_rows} custom fields defined on "
            f"{len(records)} object types, {labelled} labelled"
        )
        return dg.MaterializeResult(value=table, metadata={"object_types": len(records)})

    return _custom_fields
