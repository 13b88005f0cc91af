"""Facts read back from a partition file: what the asset checks see."""

from outreach_assets.storage import ParquetStore
from outreach_assets_tests.support.files import at, pbatch, purpose, window, write_purposes


def test_rows_outside_the_window_are_reported_not_dropped(store: ParquetStore) -> None:
    late = purpose(2, at(2, 0))  # exactly the window's end: outside, the end is exclusive
    no_cursor = purpose(3, at(1))
    del no_cursor["attributes"]["updatedAt"]
    (result,) = write_purposes(
        store, [window(1)], [("2024-03-01", pbatch(purpose(1, at(1)), late))]
    )
    assert (result.rows, result.cursor_outside_window) == (2, 1)

    (result,) = write_purposes(
        store, [window(1)], [("2024-03-01", pbatch(purpose(1, at(1)), no_cursor))]
    )
    assert (result.rows, result.cursor_outside_window) == (2, 1)
