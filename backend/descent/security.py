"""Browser-facing protections: the websocket Origin check, security headers on every HTTP
response, and keeping session tokens out of the server log."""

from __future__ import annotations

import logging
import re
from typing import Any
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Message, Receive, Scope, Send


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
    return parts.scheme in ("http", "https") and bool(host) and parts.netloc == host.strip().lower()


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
