"""One log line per request: a request id, the method, path, status and latency, and never the body."""

from __future__ import annotations

import logging
import time
import uuid

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

logger = logging.getLogger("designgan.serve.requests")

REQUEST_ID_HEADER = "X-Request-ID"


def new_request_id() -> str:
    # The server makes its own id rather than trusting a client's header, which could
    # carry anything into the log.
    return uuid.uuid4().hex[:16]


class RequestLogMiddleware:
    """Log each HTTP request once its response starts, and return its id in the X-Request-ID header.

    The id is also stored in the request's state (`request.state.request_id`), so
    that handlers can name it when they log an error.
    """

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        request_id = new_request_id()
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status = 500  # stays 500 when the app raises before it sends a response

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = request_id
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            latency_ms = (time.perf_counter() - started) * 1000.0
            # %r quotes the path, so a percent-decoded newline in it cannot forge a log line.
            logger.info("request_id=%s method=%s path=%r status=%d latency_ms=%.1f",
                        request_id, scope["method"], scope["path"], status, latency_ms)


class SecurityHeadersMiddleware:
    """Add headers that stop browsers from sniffing content types, framing the pages or sending referrers."""

    HEADERS = {
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "no-referrer",
    }

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in self.HEADERS.items():
                    headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, send_with_headers)
