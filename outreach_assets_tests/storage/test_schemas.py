"""Stream schemas against what files hold: exact comparison, list columns read back."""

import pyarrow as pa

from outreach_assets.catalog import get_stream
from outreach_assets.convert import arrow_schema
from outreach_assets.storage import ParquetStore
from outreach_assets.storage.schemas import schemas_match
from outreach_assets_tests.support.files import DUTY_SCHEMA, SCHEMA, at, batch, window


def test_schema_comparison_checks_metadata_and_types() -> None:
    assert schemas_match(SCHEMA, SCHEMA)
    assert not schemas_match(SCHEMA.with_metadata({}), SCHEMA)
    name = SCHEMA.get_field_index("name")
    assert not schemas_match(SCHEMA.set(name, pa.field("name", pa.string())), SCHEMA)
    assert not schemas_match(SCHEMA.set(name, pa.field("name", pa.large_string())), SCHEMA)
    assert not schemas_match(DUTY_SCHEMA, SCHEMA)


def test_list_columns_match_the_schema_and_read_back_exactly(store: ParquetStore) -> None:
    calls = get_stream("calls")
    schema = arrow_schema(calls)
    tagged = {"type": "call", "id": 1, "attributes": {"tags": ["a", "b"], "updatedAt": at(1)}}
    pairs = iter([("2024-03-01", batch(calls, [tagged]))])

    (result,) = store.write_partitions("calls", schema, "updatedAt", [window(1)], pairs)

    assert result.schema_matches
    table = store.current_state("calls", schema, "updatedAt").read_all()
    assert table["tags"].to_pylist() == [["a", "b"]]
    for array, expected in zip(table.columns, schema, strict=True):
        assert array.type.equals(expected.type, check_metadata=True), expected.name
