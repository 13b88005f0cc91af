"""The current state: the newest version of each id across a stream's partitions."""

from outreach_assets.storage import ParquetStore
from outreach_assets_tests.support.files import (
    DUTIES,
    DUTY_SCHEMA,
    SCHEMA,
    at,
    batch,
    duty,
    pbatch,
    purpose,
    window,
    write_purposes,
)


def test_current_state_takes_the_newest_version_of_each_id(store: ParquetStore) -> None:
    windows = [window(1), window(2), window(3)]
    write_purposes(
        store,
        windows,
        [
            ("2024-03-01", pbatch(purpose(1, at(1), "v1"), purpose(2, at(1, 9), "early"))),
            ("2024-03-02", pbatch(purpose(1, at(2), "v2"), purpose(3, at(2)))),
            ("2024-03-03", pbatch(purpose(2, at(1, 9), "tie, later partition"))),
        ],
    )

    reader = store.current_state("call_purposes", SCHEMA, "updatedAt")

    assert reader.schema.equals(SCHEMA, check_metadata=True)
    table = reader.read_all()
    names = dict(zip(table["id"].to_pylist(), table["name"].to_pylist(), strict=True))
    assert names == {1: "v2", 2: "tie, later partition", 3: "p3"}
    empty = store.current_state("nothing_yet", SCHEMA, "updatedAt").read_all()
    assert empty.num_rows == 0 and empty.schema.equals(SCHEMA)


def test_current_state_of_a_full_snapshot_is_the_latest_partition(store: ParquetStore) -> None:
    for day, ids in ((1, [1, 2, 3]), (2, [2, 4])):
        rows = batch(DUTIES, [duty(i) for i in ids])
        store.write_partitions(
            "duties", DUTY_SCHEMA, None, [window(day)], iter([(window(day).key, rows)])
        )

    table = store.current_state("duties", DUTY_SCHEMA, None).read_all()

    assert table["id"].to_pylist() == [2, 4]


def test_merge_current_updates_the_previous_state_with_new_partitions(
    store: ParquetStore,
) -> None:
    write_purposes(
        store,
        [window(1), window(2)],
        [
            ("2024-03-01", pbatch(purpose(1, at(1), "v1"), purpose(2, at(1), "kept"))),
            ("2024-03-02", pbatch(purpose(3, at(2), "v1"))),
        ],
    )
    previous = store.table_path("call_purposes_current")
    store.write_table(previous, store.current_state("call_purposes", SCHEMA, "updatedAt"))
    write_purposes(
        store,
        [window(3)],
        [("2024-03-03", pbatch(purpose(1, at(3), "v2"), purpose(4, at(3), "new")))],
    )

    reader = store.merge_current("call_purposes", SCHEMA, "updatedAt", previous, ["2024-03-03"])

    table = reader.read_all()
    names = dict(zip(table["id"].to_pylist(), table["name"].to_pylist(), strict=True))
    assert names == {1: "v2", 2: "kept", 3: "v1", 4: "new"}
    assert table.schema.equals(SCHEMA, check_metadata=True)
