"""A real, throwaway PostgreSQL server on 127.0.0.1 for tests, from Debian's server binaries.

Tests of code that talks to PostgreSQL (the database token store, a Postgres-backed Dagster
instance) must run against the real server: its locks, its catalog races and its error
messages are what the code has to get right, and no fake reproduces them.

Usage::

    server = PostgresServer.start()          # or the session fixture ``postgres_server``
    url = server.create_database()           # a fresh, empty database per test
    # -> "postgresql://postgres@127.0.0.1:<port>/<name>"
    server.url("postgres"), server.host, server.port, server.user
    server.stop()                            # stops the server and deletes its files

The server is ``initdb``'d into a fresh temporary folder with trust authentication on
127.0.0.1 only (no password; the user is ``postgres``), listens on a free port, keeps its
unix socket in that folder, and runs with ``fsync`` off: durability across an OS crash is
not under test, speed is. ``initdb`` refuses to run as root
(https://www.postgresql.org/docs/current/app-initdb.html), so under root (as on CI) the
binaries run as the ``postgres`` system user, in a folder made with ``tempfile.mkdtemp``
and handed to that user (pytest's ``tmp_path`` is not readable by other users).

Debian's ``postgresql`` package rather than a pip wheel that bundles a server: ``.ci/run``
installs it with ``apt-get`` as it does Chromium, it is the server a Debian host runs in
production, and its binaries (``initdb``, ``pg_ctl``, ``psql``) are the documented ones
instead of a wheel's private copy whose version lags the distribution's security updates.

When the binaries are missing, :class:`PostgresUnavailable` says how to install them; the
fixture turns that into a skip.
"""

import contextlib
import itertools
import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import Any

PG_ROOT = Path("/usr/lib/postgresql")
START_TIMEOUT_S = 60
_names = itertools.count(1)


class PostgresUnavailable(RuntimeError):
    """No usable PostgreSQL server binaries (or no ``postgres`` user to run them as root)."""


def server_bin_dir() -> Path:
    """The newest ``/usr/lib/postgresql/<version>/bin`` that has ``initdb`` and ``pg_ctl``."""
    found = [
        p.parent
        for p in PG_ROOT.glob("*/bin/initdb")
        if (p.parent / "pg_ctl").exists() and p.parent.parent.name.isdigit()
    ]
    if not found:
        raise PostgresUnavailable(
            f"no PostgreSQL server binaries under {PG_ROOT}/<version>/bin; "
            "run `apt-get install postgresql` to run the PostgreSQL tests"
        )
    return max(found, key=lambda p: int(p.parent.name))


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class PostgresServer:
    """One running PostgreSQL server; see the module docstring for the API."""

    host = "127.0.0.1"
    user = "postgres"  # the superuser initdb creates; trust auth, so no password

    def __init__(self, root: Path, bin_dir: Path, port: int, run_as: dict[str, Any]) -> None:
        self.root = root  # the temporary folder: data/, the log and the unix socket
        self.bin_dir = bin_dir
        self.port = port
        self._run_as = run_as  # subprocess keyword arguments that drop root, or {}

    @classmethod
    def start(cls) -> "PostgresServer":
        """initdb into a new temporary folder and start the server; raises
        :class:`PostgresUnavailable` when the binaries (or the postgres user) are missing."""
        bin_dir = server_bin_dir()
        root = Path(tempfile.mkdtemp(prefix="outreach-pg-"))
        run_as: dict[str, Any] = {}
        try:
            if os.geteuid() == 0:
                try:
                    pw = pwd.getpwnam("postgres")
                except KeyError:
                    raise PostgresUnavailable(
                        "running as root, and there is no `postgres` user to run the server "
                        "as; run `apt-get install postgresql`, which creates it"
                    ) from None
                os.chown(root, pw.pw_uid, pw.pw_gid)
                run_as = {"user": pw.pw_uid, "group": pw.pw_gid, "extra_groups": []}
            server = cls(root, bin_dir, 0, run_as)
            server._initdb()
            server._start_on_a_free_port()
        except BaseException:
            shutil.rmtree(root, ignore_errors=True)
            raise
        return server

    # --- what tests use ----------------------------------------------------------------

    def url(self, dbname: str = "postgres") -> str:
        """A libpq connection URL for ``dbname`` on this server."""
        return f"postgresql://{self.user}@{self.host}:{self.port}/{dbname}"

    def create_database(self, name: str | None = None) -> str:
        """Create an empty database and return its URL.

        ``None`` picks a unique name. A given name (a test's, say) is made a plain
        identifier: lower case, other characters as ``_``, at most 63 characters (the
        server's limit), so it needs no quoting in a URL or in SQL.
        """
        name = name or f"test_{os.getpid()}_{next(_names)}"
        name = re.sub(r"[^a-z0-9_]", "_", name.lower())[:63]
        if not re.match(r"[a-z_]", name):
            name = f"d_{name}"[:63]
        self.psql("postgres", f'CREATE DATABASE "{name}"')
        return self.url(name)

    def psql(self, dbname: str, sql: str) -> str:
        """Run SQL with the server's own ``psql``, unaligned and tuples only; its output.

        Through the client binary rather than a Python driver, so the fixture works in an
        environment that has no driver installed."""
        done = self._run(
            [
                self._client("psql"),
                "-X",
                "-q",
                "-A",
                "-t",
                "-v",
                "ON_ERROR_STOP=1",
                "-h",
                self.host,
                "-p",
                str(self.port),
                "-U",
                self.user,
                "-d",
                dbname,
                "-c",
                sql,
            ]
        )
        return done.stdout.strip()

    def stop(self) -> None:
        """Stop at once (nothing needs flushing) and delete the folder; safe to call twice."""
        if (self.root / "data" / "postmaster.pid").exists():
            stopped = self._run(
                [
                    str(self.bin_dir / "pg_ctl"),
                    "-D",
                    str(self.root / "data"),
                    "-m",
                    "immediate",
                    "-w",
                    "stop",
                ],
                check=False,
            )
            if stopped.returncode != 0:
                self._kill_postmaster()
        shutil.rmtree(self.root, ignore_errors=True)

    def log(self) -> str:
        """The server's log so far, for a failing test's message."""
        with contextlib.suppress(OSError):
            return (self.root / "server.log").read_text(errors="replace")
        return ""

    def __enter__(self) -> "PostgresServer":
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"PostgresServer({self.url()!r})"

    # --- internals ---------------------------------------------------------------------

    def _run(self, args: list[str], *, check: bool = True) -> "subprocess.CompletedProcess[str]":
        done = subprocess.run(
            args,
            cwd=self.root,  # the postgres user may not be able to enter the caller's folder
            env={**os.environ, "LC_ALL": "C", "PGCONNECT_TIMEOUT": "10"},
            capture_output=True,
            text=True,
            timeout=START_TIMEOUT_S,
            check=False,
            **self._run_as,
        )
        if check and done.returncode != 0:
            raise RuntimeError(
                f"{Path(args[0]).name} failed ({done.returncode}): {done.stdout}{done.stderr}"
                f"{self.log()[-2000:]}"
            )
        return done

    def _client(self, name: str) -> str:
        own = self.bin_dir / name
        return str(own) if own.exists() else (shutil.which(name) or name)

    def _initdb(self) -> None:
        self._run(
            [
                str(self.bin_dir / "initdb"),
                "-D",
                str(self.root / "data"),
                "-U",
                self.user,
                "--auth=trust",
                "--encoding=UTF8",
                "--no-locale",
                "--no-sync",
            ]
        )

    def _start_on_a_free_port(self) -> None:
        """Another process may take the free port before the server binds it: try again."""
        for attempt in range(5):
            self.port = _free_port()
            options = (
                f"-c listen_addresses={self.host} -p {self.port} "
                f"-c unix_socket_directories={self.root} "
                "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
                "-c max_connections=100 -c shared_buffers=32MB"
            )
            started = self._run(
                [
                    str(self.bin_dir / "pg_ctl"),
                    "-D",
                    str(self.root / "data"),
                    "-l",
                    str(self.root / "server.log"),
                    "-o",
                    options,
                    "-w",
                    "-t",
                    str(START_TIMEOUT_S),
                    "start",
                ],
                check=False,
            )
            if started.returncode == 0:
                return
            if "already in use" not in self.log() or attempt == 4:
                raise RuntimeError(f"PostgreSQL did not start: {started.stderr}{self.log()}")
            time.sleep(0.2)

    def _kill_postmaster(self) -> None:
        with contextlib.suppress(OSError, ValueError, IndexError):
            pid = int((self.root / "data" / "postmaster.pid").read_text().split()[0])
            os.kill(pid, 9)
