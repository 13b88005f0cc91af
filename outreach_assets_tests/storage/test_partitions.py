"""Partition windows refuse what would shift or empty a run's window."""

from datetime import UTC, datetime

import pytest

from outreach_assets.storage import PartitionWindow
from outreach_assets_tests.support.files import DAY0


def test_windows_must_be_aware_and_ordered() -> None:
    with pytest.raises(ValueError, match="tz-aware"):
        PartitionWindow("k", datetime(2024, 3, 1), datetime(2024, 3, 2, tzinfo=UTC))
    with pytest.raises(ValueError, match="after"):
        PartitionWindow("k", DAY0, DAY0)
