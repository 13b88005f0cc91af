"""The local store most storage tests write to, and the S3 server (moto) the object-store
tests write to."""

from pathlib import Path

import pytest

from outreach_assets.storage import ParquetStore
from outreach_assets_tests.support.s3 import s3_base, s3_server

__all__ = ["s3_base", "s3_server"]  # fixtures, registered by being imported here


@pytest.fixture
def store(tmp_path: Path) -> ParquetStore:
    return ParquetStore(str(tmp_path / "data"))
