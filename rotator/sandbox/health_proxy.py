"""A stable /health URL for the sandbox backend, whose port changes with every deploy."""

from __future__ import annotations

import threading

from rotator.sandbox.app import JsonHandler
from rotator.sandbox.sandbox import Sandbox
from rotator.sandbox.server import QuietServer


class BackendHealthProxy:
    """Real HTTP /health that answers with the live backend deployment's own /health.

    The sandbox backend's port changes with every deploy; production has a stable domain.
    ``fail_next`` makes the next N answers 503 (the "health check failing" fault).
    """

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self.fail_next = 0
        self._lock = threading.Lock()
        proxy = self

        class Handler(JsonHandler):
            def do_GET(self) -> None:  # noqa: N802
                with proxy._lock:
                    failing = proxy.fail_next > 0
                    proxy.fail_next -= 1 if failing else 0
                if failing:
                    status, body = 503, {"status": "unhealthy", "reason": "injected"}
                else:
                    status, body = proxy.sandbox.backend_health()
                    status = status or 502
                self._send(status, body)

        self.server = QuietServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/health"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> BackendHealthProxy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
