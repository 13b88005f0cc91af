"""Shared fixtures: Outreach sandbox servers over real HTTP on 127.0.0.1, a PostgreSQL
server and an S3 server (moto)."""

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from outreach_assets.sandbox import SandboxConfig, SandboxServer
from outreach_assets_tests.support.postgres import PostgresServer, PostgresUnavailable
from outreach_assets_tests.support.s3 import s3_base, s3_server

# The moto S3 server (session) and a bucket per test: registered once, here, so that every
# test folder shares one server.
__all__ = ["s3_base", "s3_server"]

# Small enough that a whole stream is a few pages, big enough for ties and null relationships.
SMALL_RECORDS = 40


@pytest.fixture
def sandbox_factory() -> Iterator[Callable[..., SandboxServer]]:
    """Start sandboxes with SandboxConfig keyword overrides; all are stopped at teardown."""
    started: list[SandboxServer] = []

    def make(**overrides: Any) -> SandboxServer:
        config = SandboxConfig(**{"records": SMALL_RECORDS, **overrides})
        server = SandboxServer(config).start()
        started.append(server)
        return server

    yield make
    for server in started:
        server.stop()


@pytest.fixture
def sandbox(sandbox_factory: Callable[..., SandboxServer]) -> SandboxServer:
    """A started sandbox with default behaviour and small streams."""
    return sandbox_factory()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A real PostgreSQL server on 127.0.0.1 for the whole session (trust auth, user
    ``postgres``); ``.create_database()`` gives a test its own empty database's URL.
    Skips, saying how to install it, where the server binaries are missing."""
    try:
        server = PostgresServer.start()
    except PostgresUnavailable as exc:
        pytest.skip(str(exc))
    with server:
        yield server
