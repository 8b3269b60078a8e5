"""Browser-facing protections: the websocket Origin check, security headers on every HTTP
response, rate limits on the HTTP API, and keeping session tokens out of the server log."""

from __future__ import annotations

import json
import logging
import math
import re
import time
from typing import Any
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from descent.runtime.bucket import TokenBucket


def origin_allowed(origin: str | None, host: str | None, allowed: list[str]) -> bool:
    """May a page from ``origin`` open our websocket? The page's own origin (same host as
    the request) always may; others only when listed in ``allowed`` ("*" = any). A request
    without Origin is not from a browser page, so no page can ride on a user's cookies
    with it (the attack this check stops); it is let through."""
    if origin is None:
        return True
    origin = origin.strip().rstrip("/").lower()
    if "*" in allowed or origin in (a.lower() for a in allowed):
        return True
    parts = urlsplit(origin)
    return parts.scheme in ("http", "https") and bool(host) and parts.netloc == (host or "").strip().lower()


def content_security_policy(frame_ancestors: str) -> str:
    # plotly sets inline styles, hence 'unsafe-inline' for styles only; scripts are ours.
    directives = [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data: blob:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
    ]
    # "*" means anyone may embed: no directive at all, since "frame-ancestors *" would
    # still refuse parents without a network scheme (a course page opened from a file).
    if frame_ancestors != "*":
        directives.append(f"frame-ancestors {frame_ancestors}")
    return "; ".join(directives)


class SecurityHeaders:
    """Pure ASGI middleware (no per-request task or body buffering: it only adds headers
    to ``http.response.start``). Websocket traffic passes untouched."""

    def __init__(self, app: ASGIApp, frame_ancestors: str = "*") -> None:
        self.app = app
        self.headers = [
            (b"content-security-policy", content_security_policy(frame_ancestors).encode()),
            (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"no-referrer"),
            (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), payment=()"),
        ]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *self.headers]
            await send(message)

        await self.app(scope, receive, send_with_headers)


class ApiRateLimit:
    """Pure ASGI middleware: a token bucket per client address for HTTP requests under
    ``prefix`` (the JSON API; the page and static files are not counted). Past it the
    answer is 429 with ``Retry-After`` and a JSON ``detail`` naming the limit, before any
    route runs. Buckets of addresses quiet long enough to be full again are forgotten."""

    KEEP = 4096  # addresses remembered before full (idle) buckets are pruned

    def __init__(self, app: ASGIApp, rate: float, burst: int, prefix: str = "/api/") -> None:
        self.app, self.rate, self.burst, self.prefix = app, rate, burst, prefix
        self.buckets: dict[str, TokenBucket] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(self.prefix):
            await self.app(scope, receive, send)
            return
        client = scope["client"][0] if scope.get("client") else "unknown"
        now = time.monotonic()
        bucket = self.buckets.get(client)
        if bucket is None:
            if len(self.buckets) >= self.KEEP:
                self.buckets = {c: b for c, b in self.buckets.items() if b.available(now) < b.burst}
            bucket = self.buckets[client] = TokenBucket(self.rate, self.burst, now)
        if bucket.take(now):
            await self.app(scope, receive, send)
            return
        retry = max(1, math.ceil(bucket.wait(now)))
        detail = (f"too many requests to {self.prefix}*: at most {self.rate:g} per second per address "
                  f"(bursts of {self.burst}; DESCENT_API_REQUESTS_PER_SECOND, DESCENT_API_BURST); retry in {retry} s")
        body = json.dumps({"detail": detail}).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()), (b"retry-after", str(retry).encode())]
        await send({"type": "http.response.start", "status": 429, "headers": headers})
        await send({"type": "http.response.body", "body": body})


_TOKEN = re.compile(r"(resume=)[^&\s\"']+")


class RedactTokens(logging.Filter):
    """Session tokens travel in the websocket URL (``/ws?resume=...``); the server's access
    lines would print them. Replace them before any handler sees the record."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.args:
            args: Any = record.args
            if isinstance(args, tuple):
                record.args = tuple(_TOKEN.sub(r"\1<redacted>", a) if isinstance(a, str) else a for a in args)
        elif isinstance(record.msg, str):
            record.msg = _TOKEN.sub(r"\1<redacted>", record.msg)
        return True


def redact_tokens_in_logs() -> None:
    for name in ("uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactTokens) for f in logger.filters):
            logger.addFilter(RedactTokens())
