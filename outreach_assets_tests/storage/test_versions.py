"""Which version of an id wins: newest cursor, then the last seen; a null cursor loses."""

import numpy as np

from outreach_assets.storage.versions import NULL_CURSOR, has_duplicates, keep_mask


def test_keep_mask_prefers_the_newest_cursor_then_the_last_position() -> None:
    ids = np.array([1, 2, 1, 3, 2, 3], dtype=np.int64)
    cursors = np.array([9, 1, 5, 0, 1, NULL_CURSOR], dtype=np.int64)

    keep = keep_mask(ids, cursors)

    # id 1: cursor 9 beats a later 5; id 2: a tie goes to the later row; id 3: null loses.
    assert keep.tolist() == [True, False, False, True, True, False]


def test_keep_mask_without_cursors_keeps_the_last_occurrence() -> None:
    ids = np.array([4, 5, 4, 4], dtype=np.int64)

    assert keep_mask(ids, None).tolist() == [False, True, False, True]
    assert has_duplicates(ids) and not has_duplicates(np.array([3, 1, 2], dtype=np.int64))
