"""The local store most storage tests write to (the S3 server's fixtures are the root
conftest's)."""

from pathlib import Path

import pytest

from outreach_assets.storage import ParquetStore


@pytest.fixture
def store(tmp_path: Path) -> ParquetStore:
    return ParquetStore(str(tmp_path / "data"))
