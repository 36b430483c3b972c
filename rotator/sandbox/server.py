"""A loopback HTTP server running in a background thread; the sandbox servers build on it."""

from __future__ import annotations

import json
import logging
import math
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from rotator.sandbox.faults import HTTP_FAULT_KINDS, Faults
from rotator.sandbox.rate_limit import RequestWindow, WindowState

logger = logging.getLogger(__name__)


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: Mapping[str, str]
    body: bytes
    query_all: dict[str, list[str]] = field(default_factory=dict)  # every value of a repeated key

    def json(self) -> Any:
        return json.loads(self.body or b"null")

    def bearer_token(self) -> str | None:
        value = self.headers.get("Authorization") or ""
        return value[7:].strip() if value.lower().startswith("bearer ") else None


@dataclass
class Response:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    raw: bytes | None = None

    def encode(self) -> bytes:
        if self.raw is not None:
            return self.raw
        return b"" if self.body is None else json.dumps(self.body).encode()


class QuietServer(ThreadingHTTPServer):
    """A loopback server that never writes to the user's terminal: a request that fails
    mid-answer (its client gone, the sandbox stopping under Ctrl-C) is logged at debug level
    instead of socketserver's traceback on stderr, which `rotator demo` would show after
    `error: interrupted`."""

    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True

    def handle_error(self, request, client_address) -> None:
        logger.debug("sandbox request from %s failed", client_address, exc_info=True)


class LoopbackServer:
    """Base class: subclasses implement ``handle(request) -> Response``.

    ``with Server() as srv: srv.url`` starts it on a free 127.0.0.1 port (port 0).
    """

    service_name = "sandbox"

    def __init__(self, faults: Faults | None = None, host: str = "127.0.0.1", port: int = 0) -> None:
        self.faults = faults or Faults()
        self._address = (host, port)
        self._httpd: QuietServer | None = None
        self._thread: threading.Thread | None = None
        self.requests: list[tuple[str, str]] = []  # (method, path) seen, for tests
        # the platform's request budget (None: not modelled); tests may set a small one
        self.request_window: RequestWindow | None = None

    @property
    def url(self) -> str:
        assert self._httpd is not None, f"{self.service_name} sandbox server not started"
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> LoopbackServer:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass  # request lines may carry ids; tests read server.requests instead

            def _dispatch(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                query_all = parse_qs(parts.query)
                request = Request(
                    method=self.command,
                    path=parts.path,
                    query={k: v[-1] for k, v in query_all.items()},
                    headers=self.headers,
                    body=body,
                    query_all=query_all,
                )
                server.requests.append((request.method, request.path))
                refused = server.edge_rejection(request)
                window = (server.request_window.take()
                          if server.request_window and refused is None else None)
                try:
                    if refused is not None:
                        response = refused
                    elif window is not None and not window.allowed:
                        response = server.rate_limited_response(math.ceil(window.reset_in))
                    else:
                        response = server.handle(request)
                except Exception as exc:  # a sandbox bug must surface as a 500, not a hang
                    response = Response(500, {"error": {"code": "internal_server_error",
                                                        "message": type(exc).__name__}})
                if window is not None:
                    response.headers.update(server.rate_limit_headers(window))
                payload = response.encode()
                try:
                    self.send_response(response.status)
                    self.send_header("Content-Type", response.headers.pop(
                        "Content-Type", "application/json"))
                    for name, value in response.headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout fault); nothing to tell it

            do_GET = do_POST = do_PATCH = do_DELETE = do_PUT = _dispatch

        self._httpd = QuietServer(self._address, Handler)
        # A short poll interval keeps stop() fast: shutdown() waits for the next poll.
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
            name=f"{self.service_name}-sandbox", daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> LoopbackServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def handle(self, request: Request) -> Response:  # pragma: no cover - abstract
        raise NotImplementedError

    def edge_rejection(self, request: Request) -> Response | None:
        """A refusal in front of the API (a CDN's), before the request budget counts it;
        None lets the request through (the default)."""
        return None

    def http_fault(self, call: str) -> Response | None:
        """Apply a pending http500/http503/http429/timeout/malformed fault for ``call``; a
        Response ends the call."""
        fault = self.faults.take(call, kinds=HTTP_FAULT_KINDS)
        if fault is None:
            return None
        if fault.kind == "timeout":
            time.sleep(fault.delay)
            return None
        if fault.kind == "malformed":
            return Response(200, raw=b'{"data": {"truncated')
        if fault.kind == "http429":
            response = self.rate_limited_response(fault.retry_after)
            if not fault.retry_after_header:
                response.headers = {k: v for k, v in response.headers.items()
                                    if k.lower() != "retry-after"}
            return response
        if fault.kind == "http503":
            return self.unavailable_response()
        return self.server_error_response()

    def rate_limit_headers(self, window: WindowState) -> dict[str, str]:
        """How the platform states its budget on every answer (default: it does not)."""
        return {}

    def rate_limited_response(self, retry_after: float) -> Response:
        return Response(429, {"error": {"code": "rate_limited", "message": "Too many requests"}},
                        {"Retry-After": f"{retry_after:g}"})

    def server_error_response(self) -> Response:
        return Response(500, {"error": {"code": "internal_server_error",
                                        "message": "An unexpected internal error occurred"}})

    def unavailable_response(self) -> Response:
        """503 Service Unavailable, in the platform's error shape."""
        response = self.server_error_response()
        response.status = 503
        return response
