"""An S3-compatible server on 127.0.0.1 (moto's server mode), and a bucket per test.

The server runs as the ``moto_server`` command in a process of its own rather than as
moto's in-process ``ThreadedMotoServer``: the objects it holds then live in another
process's memory, so a memory measurement of an upload (the tests' bound, the
``s3_upload`` benchmark's peak RSS) counts the client only; it shares no GIL, no
``boto3`` state and no environment with the code under test; and it can be stopped
(``SIGSTOP``) or killed like a real remote server.

s3fs reaches it the way a user reaches a non-AWS endpoint, through botocore's standard
variables (https://docs.aws.amazon.com/sdkref/latest/guide/feature-ss-endpoints.html):
``AWS_ENDPOINT_URL``, dummy ``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY`` and
``AWS_DEFAULT_REGION``; ``OUTREACH_DATA_DIR=s3://bucket/prefix`` needs nothing else.
"""

import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests

START_TIMEOUT_S = 30.0
REGION = "us-east-1"
KEY_ID = "testing"  # moto accepts any credentials; botocore only needs some
SECRET = "testing"


def free_port() -> int:
    """A port nothing listens on now (the server binds it a moment later)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class S3Server:
    """A ``moto_server`` process on 127.0.0.1 and how botocore reaches it."""

    endpoint: str
    process: subprocess.Popen[bytes]
    buckets: list[str] = field(default_factory=list)

    def environment(self) -> dict[str, str]:
        """The variables that point botocore (and so s3fs) at this server."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": KEY_ID,
            "AWS_SECRET_ACCESS_KEY": SECRET,
            "AWS_DEFAULT_REGION": REGION,
        }

    def client(self) -> Any:
        """A boto3 S3 client of its own, to look at the bucket apart from the product."""
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=KEY_ID,
            aws_secret_access_key=SECRET,
            region_name=REGION,
        )

    def new_bucket(self) -> str:
        name = f"outreach-{uuid.uuid4().hex[:16]}"
        self.client().create_bucket(Bucket=name)
        self.buckets.append(name)
        return name

    def keys(self, bucket: str, prefix: str = "") -> list[str]:
        """Every object key under ``prefix``, hidden names included, sorted."""
        pages = (
            self.client().get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        )
        return sorted(o["Key"] for page in pages for o in page.get("Contents", []))

    def uploads(self, bucket: str) -> list[dict[str, Any]]:
        """The bucket's incomplete multipart uploads."""
        found: list[dict[str, Any]] = (
            self.client().list_multipart_uploads(Bucket=bucket).get("Uploads", [])
        )
        return found

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def start_s3_server(log: Path | None = None) -> S3Server:
    """Start ``moto_server`` on a free port of 127.0.0.1 and wait until it answers."""
    command = Path(sys.executable).with_name("moto_server")
    for _attempt in range(3):  # the free port may be taken before the server binds it
        port = free_port()
        out = open(log, "ab") if log else subprocess.DEVNULL  # noqa: SIM115
        process = subprocess.Popen(
            [str(command), "-H", "127.0.0.1", "-p", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            env={k: v for k, v in os.environ.items() if not k.startswith("AWS_")},
        )
        server = S3Server(f"http://127.0.0.1:{port}", process)
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline and process.poll() is None:
            try:
                requests.get(f"{server.endpoint}/moto-api/", timeout=1)
                return server
            except requests.ConnectionError:
                time.sleep(0.1)
        server.stop()
    raise RuntimeError("moto_server did not start on 127.0.0.1")


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    """One moto server for the session: starting one costs about a second."""
    server = start_s3_server()
    yield server
    server.stop()


@pytest.fixture
def s3_base(s3_server: S3Server, monkeypatch: pytest.MonkeyPatch) -> str:
    """``s3://<a new bucket>/data``, with the process environment pointing s3fs at it.

    fsspec caches filesystem instances by their options, not by the environment they
    were built under: the cache is cleared so no instance of another test is reused.
    """
    import s3fs

    for name in [k for k in os.environ if k.startswith("AWS_")]:
        monkeypatch.delenv(name)  # a developer's profile or real keys must not leak in
    for name, value in s3_server.environment().items():
        monkeypatch.setenv(name, value)
    s3fs.S3FileSystem.clear_instance_cache()
    return f"s3://{s3_server.new_bucket()}/data"


class StallingProxy:
    """A TCP proxy to the server that stops passing requests on after ``limit`` bytes.

    A deterministic "midway": an upload through it gets as far as ``limit`` bytes of
    requests and then hangs, as over a network that went silent, until the test kills the
    uploading process. Responses pass through untouched.
    """

    def __init__(self, upstream_port: int, limit: int) -> None:
        self.limit = limit
        self.sent = 0
        self.stalled = threading.Event()
        self._lock = threading.Lock()
        self._closed = threading.Event()
        self._sockets: list[socket.socket] = []
        self._upstream = ("127.0.0.1", upstream_port)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.endpoint = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            server = socket.create_connection(self._upstream)
            self._sockets += [client, server]
            threading.Thread(target=self._pump, args=(client, server, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client, False), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket, counted: bool) -> None:
        try:
            while data := source.recv(65536):
                if counted:
                    with self._lock:
                        room = self.limit - self.sent
                        self.sent += max(0, min(room, len(data)))
                    if room < len(data):
                        sink.sendall(data[: max(room, 0)])
                        self.stalled.set()
                        self._closed.wait()
                        return
                sink.sendall(data)
        except OSError:
            return

    def close(self) -> None:
        self._closed.set()
        for sock in [self._listener, *self._sockets]:
            sock.close()
