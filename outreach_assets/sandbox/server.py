"""The sandbox over real HTTP: stdlib `ThreadingHTTPServer` with HTTP/1.1 keep-alive.

The handler only moves bytes between the socket and `SandboxApp`; faults that live at
the socket level (dropped connections, truncated bodies) are carried out here. The server
also routes the harness's `/_sandbox/` endpoints (admin.py), which are no part of Outreach.
"""

import contextlib
import shlex
import socket
import sys
import threading
import time
import traceback
from collections.abc import Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

from outreach_assets import catalog
from outreach_assets.catalog import Stream
from outreach_assets.config import env
from outreach_assets.sandbox import triggers
from outreach_assets.sandbox.admin import ADMIN_PREFIX, handle_admin
from outreach_assets.sandbox.app import API_PREFIX, TOKEN_PATH, SandboxApp
from outreach_assets.sandbox.config import SandboxConfig
from outreach_assets.sandbox.customfields import CustomFields
from outreach_assets.sandbox.messages import Request, Response, jsonapi_error
from outreach_assets.sandbox.ratelimit import WindowUse
from outreach_assets.sandbox.relations import RelationshipTruth
from outreach_assets.sandbox.stats import SandboxStats

_IOV_BATCH = 512  # well under IOV_MAX (1024 on Linux)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "OutreachSandbox/1.0"
    timeout = 120  # idle keep-alive connections free their thread eventually
    server: "_HTTPServer"

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in separate writes; without TCP_NODELAY, Nagle plus the
        # peer's delayed ACK stalls every small response by ~40 ms on keep-alive connections.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: a sync issues thousands of requests and a test run should stay quiet."""

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def do_PUT(self) -> None:
        self._handle()

    def do_DELETE(self) -> None:
        self._handle()

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        url = urlsplit(self.path)
        headers = {name.lower(): value for name, value in self.headers.items()}
        request = Request(self.command, url.path, url.query, headers, body)
        try:
            response = self.server.answer(request)
        except Exception:
            traceback.print_exc(file=sys.stderr)  # a sandbox bug, never a client's fault
            response = jsonapi_error(500, "internalServerError", "Sandbox error.")
        self._write(response)

    def _write(self, response: Response) -> None:
        if response.drop:
            self.close_connection = True
            return
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(response.length))
        for name, value in response.headers:
            self.send_header(name, value)
        self.end_headers()
        if response.truncate:
            body = response.joined()
            self.wfile.write(body[: len(body) // 2])
            self.close_connection = True
        elif response.chunks is not None:
            _send_chunks(self.connection, response.chunks)
        else:
            self.wfile.write(response.body)


def _send_chunks(sock: socket.socket, chunks: list[bytes]) -> None:
    """Gather-write the pieces of a page (writev), saving a multi-MB join per response."""
    for start in range(0, len(chunks), _IOV_BATCH):
        views = [memoryview(c) for c in chunks[start : start + _IOV_BATCH] if c]
        while views:
            sent = sock.sendmsg(views)
            while views and sent >= len(views[0]):
                sent -= len(views.pop(0))
            if views:
                views[0] = views[0][sent:]


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], app: SandboxApp) -> None:
        super().__init__(address, _Handler)
        self.app = app
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()

    def answer(self, request: Request) -> Response:
        if request.path.startswith(ADMIN_PREFIX):
            return handle_admin(self.app, request)
        return self.app.handle(request)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        """Keep-alive handler threads outlive `shutdown()`; end their sockets too."""
        with self._connections_lock:
            connections = list(self._connections)
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)


class SandboxServer:
    """An Outreach-compatible API on 127.0.0.1, served from a background thread."""

    def __init__(
        self,
        config: SandboxConfig | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        streams: Sequence[Stream] | None = None,
    ) -> None:
        self._app = SandboxApp(
            streams if streams is not None else catalog.STREAMS, config or SandboxConfig()
        )
        self._address = (host, port)
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._base_url = ""

    # --- lifecycle -------------------------------------------------------------------------

    def start(self) -> "SandboxServer":
        if self._httpd is not None:
            return self
        httpd = _HTTPServer(self._address, self._app)
        host, port = httpd.server_address[:2]
        self._base_url = f"http://{host!s}:{port}"
        self._app.set_base_url(self._base_url)
        self._thread = threading.Thread(
            target=httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="outreach-sandbox",
            daemon=True,
        )
        self._httpd = httpd
        self._thread.start()
        return self

    def stop(self) -> None:
        httpd, thread = self._httpd, self._thread
        if httpd is None or thread is None:
            return
        httpd.shutdown()
        httpd.close_connections()
        httpd.server_close()
        thread.join()
        self._httpd = self._thread = None

    def __enter__(self) -> "SandboxServer":
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # --- addresses -------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        if not self._base_url:
            raise RuntimeError("the sandbox is not started")
        return self._base_url

    @property
    def api_base_url(self) -> str:
        return self.base_url + API_PREFIX.rstrip("/")

    @property
    def token_url(self) -> str:
        return self.base_url + TOKEN_PATH

    def environment(self) -> dict[str, str]:
        """The OUTREACH_* settings that point the project at this sandbox."""
        cfg = self.config
        values = {
            "api_base_url": self.api_base_url,
            "token_url": self.token_url,
            "client_id": cfg.client_id,
            "client_secret": cfg.client_secret,
            "redirect_uri": cfg.redirect_uri,
            "refresh_token": self.current_refresh_token,
        }
        return {env(name): value for name, value in values.items()}

    # --- behaviour switches ----------------------------------------------------------------

    @property
    def config(self) -> SandboxConfig:
        return self._app.config

    def configure(self, **fields: Any) -> None:
        self._app.configure(**fields)

    # One-shot triggers, declared (signature, docstring, admin endpoint) in triggers.py:
    # `sandbox.fail_next(2, status=502)` is `POST /_sandbox/fail_next {"n": 2, "status": 502}`.
    fail_next = triggers.fail_next
    drop_next = triggers.drop_next
    truncate_next = triggers.truncate_next
    expire_access_tokens = triggers.expire_access_tokens
    expire_after_requests = triggers.expire_after_requests

    def lose_next_mints(self, n: int) -> None:
        """The next ``n`` tokens are minted (the throttle counts them) but their answers are
        lost: the connection closes without one, as when a response times out on the way."""
        self._app.tokens.lose_next_mints(n)

    def _trigger_target(self) -> SandboxApp:
        return self._app

    @property
    def current_refresh_token(self) -> str:
        return self._app.tokens.current_refresh_token()

    # --- data ------------------------------------------------------------------------------

    def truth(self, stream_name: str) -> dict[int, str]:
        return self._app.truth(stream_name)

    def relationships(self, stream_name: str) -> dict[int, RelationshipTruth]:
        """Id -> relationship -> what the record carries: the target ids of a to-many one,
        the id (or None) of a to-one one; links-only relationships carry no ids."""
        return self._app.relationships(stream_name)

    def custom_fields(self) -> CustomFields:
        """Object type -> custom field -> its validation, as `GET /api/v2/types` sends it."""
        return self._app.custom_fields()

    def touch(
        self, stream_name: str, count: int = 5, ids: Sequence[int] | None = None
    ) -> list[int]:
        return self._app.touch(stream_name, count, ids)

    def add(self, stream_name: str, count: int = 5) -> list[int]:
        return self._app.add(stream_name, count)

    def delete(
        self, stream_name: str, count: int = 5, ids: Sequence[int] | None = None
    ) -> list[int]:
        """Hard-delete ``ids``, or ``count`` records spread over the ids (fixed by the seed).

        Deleted records leave every list page, filter, count, `GET /<path>/<id>` (404),
        `truth` and `relationships`; `add` never reuses their ids. Unknown or already
        deleted ids are refused with ValueError, and then nothing is deleted.
        """
        return self._app.delete(stream_name, count, ids)

    # --- counters --------------------------------------------------------------------------

    @property
    def stats(self) -> SandboxStats:
        return self._app.stats.snapshot()

    def reset_stats(self) -> None:
        self._app.reset_stats()

    def rate_windows(self) -> list[WindowUse]:
        """Requests spent per rate window so far (see ``RateLimiter.history``)."""
        return self._app.limiter.history(self._app.config)


def serve_forever(cfg: SandboxConfig, host: str = "127.0.0.1", port: int = 0) -> None:
    """Run a sandbox in the foreground until Ctrl-C (the `outreach-assets sandbox` command)."""
    with SandboxServer(cfg, host=host, port=port) as sandbox:
        print(f"Outreach sandbox listening on {sandbox.base_url}", flush=True)
        print(f"Client id: {cfg.client_id}")
        print("Sandbox credentials (not real secrets); export these to point the project here:")
        for name, value in sandbox.environment().items():
            print(f"export {name}={shlex.quote(value)}")
        sys.stdout.flush()
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            print("Outreach sandbox stopped", flush=True)
