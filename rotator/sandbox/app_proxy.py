"""Stable URLs for sandbox apps whose port changes with every deploy: forward a GET to the
app process that is live now (a Vercel alias, a Railway service's domain)."""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from rotator.sandbox.processes import AppProcess
from rotator.sandbox.server import LoopbackServer, Request, Response

_FORWARD_TIMEOUT = 5


def forward_get(app: AppProcess | None, path: str,
                headers: dict[str, str] | None = None) -> Response:
    """The live app's answer to ``GET /path``; Vercel's error shape when nothing serves."""
    if app is None or not app.running():
        return Response(404, {"error": {"code": "DEPLOYMENT_NOT_FOUND",
                                        "message": "The deployment could not be found"}})
    request = urllib.request.Request(f"{app.url}/{path.lstrip('/')}", headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=_FORWARD_TIMEOUT) as upstream:  # noqa: S310
            return Response(upstream.status, raw=upstream.read())
    except urllib.error.HTTPError as exc:
        return Response(exc.code, raw=exc.read())
    except OSError:
        return Response(502, {"error": {"code": "NO_RESPONSE_FROM_FUNCTION",
                                        "message": "upstream unreachable"}})


class LiveAppServer(LoopbackServer):
    """A loopback domain for one service: every GET goes to ``live()``'s app process."""

    service_name = "app-domain"

    def __init__(self, live: Callable[[], AppProcess | None], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.live = live

    def handle(self, request: Request) -> Response:
        forwarded = {k: v for k, v in request.headers.items() if k.lower() == "authorization"}
        query = urlencode(request.query)
        return forward_get(self.live(), request.path + (f"?{query}" if query else ""), forwarded)
