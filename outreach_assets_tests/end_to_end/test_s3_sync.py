"""A real sync with ``OUTREACH_DATA_DIR=s3://bucket/prefix``: the files land on S3.

The project's ``outreach_sync_job`` runs over the sandbox's whole range for an incremental
and a full-snapshot stream, with nothing but the user's variables: ``OUTREACH_DATA_DIR``
and the standard AWS ones pointing botocore at moto's server on 127.0.0.1
(``support/s3.py``). The bucket is then copied down and judged by the same checks as the
local sync's files (``test_sync_job.py``) against the sandbox's truth.
"""

from collections.abc import Callable
from pathlib import Path

import dagster as dg
import fsspec
import pytest

from outreach_assets.catalog import STREAMS_BY_NAME
from outreach_assets.definitions import build_defs
from outreach_assets.sandbox import SandboxServer
from outreach_assets_tests.end_to_end.test_sync_job import (
    _current_problems,
    _days,
    _listing_problems,
    _partition_problems,
    _project_env,
    _start_sandbox,
)
from outreach_assets_tests.support.s3 import S3Server

STREAMS = [STREAMS_BY_NAME["calls"], STREAMS_BY_NAME["duties"]]  # incremental, snapshot


def test_sync_job_lands_a_range_on_s3_as_the_sandbox_holds_it(
    sandbox_factory: Callable[..., SandboxServer],
    s3_server: S3Server,
    s3_base: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert STREAMS[0].cursor and STREAMS[1].cursor is None
    keys = _days()
    sb = _start_sandbox(sandbox_factory, keys[0], records=30)
    env = {
        **_project_env(sb, keys[0], tmp_path),
        "OUTREACH_DATA_DIR": s3_base,
        "OUTREACH_STREAMS": ",".join(s.name for s in STREAMS),
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    truth = {s.name: sb.truth(s.name) for s in STREAMS}

    with dg.DagsterInstance.ephemeral() as instance:
        result = (
            build_defs(env)
            .resolve_job_def("outreach_sync_job")
            .execute_in_process(
                instance=instance,
                tags={
                    "dagster/asset_partition_range_start": keys[0],
                    "dagster/asset_partition_range_end": keys[-1],
                },
            )
        )

    assert result.success
    bucket = s3_base.removeprefix("s3://").split("/", 1)[0]
    assert s3_server.uploads(bucket) == []
    assert not (tmp_path / "data").exists()  # nothing went to a local folder instead
    copy = tmp_path / "copy"
    fsspec.filesystem("s3").get(f"{bucket}/data/", str(copy), recursive=True)
    problems = []
    for stream in STREAMS:
        problems += _listing_problems(copy, stream, keys)
        problems += _partition_problems(copy, stream, keys, truth[stream.name])
        problems += _current_problems(copy, stream, truth[stream.name])
    assert not problems
    stored = s3_server.keys(bucket)
    assert f"data/{STREAMS[0].name}/{keys[0]}.parquet" in stored
    assert not [k for k in stored if k.rsplit("/", 1)[-1].startswith(".")]
