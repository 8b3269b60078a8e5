"""The page's files, sent compressed and cacheable: the first load of a class's worth of
browsers should not wait on 4.8 MB of plotly.js sent raw.

Each file is read and gzipped once, on its first request (again only if it changes on disk),
and sent with an ETag, so a browser that has it gets a 304, and a Cache-Control: the page's
own files are revalidated on every load (they change with each release and carry no version
in their names), plotly.js (the installed package's, versioned with it) is kept for a day.
"""

from __future__ import annotations

import gzip
import hashlib
import mimetypes
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.types import Receive, Scope, Send

REVALIDATE = "no-cache"  # keep it, but ask (an ETag makes the answer a 304)
ONE_DAY = "public, max-age=86400"
COMPRESSIBLE = ("text/", "application/javascript", "application/json", "image/svg+xml")
SMALLEST = 1024  # bytes: below this, compressing saves less than its header costs
LEVEL = 6  # gzip level: about 3.4x smaller plotly.js; 9 saves ~1 % more for twice the time

mimetypes.add_type("text/javascript", ".js")  # (not every system's table has it right)


@dataclass(frozen=True)
class Prepared:
    """One file as it is sent: its bytes, gzipped bytes (None when not worth it), ETag."""

    stamp: tuple[int, int]  # (mtime_ns, size) it was read at
    media_type: str
    raw: bytes
    gzipped: bytes | None
    etag: str


_cache: dict[Path, Prepared] = {}


def prepared(path: Path) -> Prepared:
    """``path`` read and compressed, from the cache while the file is unchanged."""
    st = path.stat()
    stamp = (st.st_mtime_ns, st.st_size)
    hit = _cache.get(path)
    if hit is not None and hit.stamp == stamp:
        return hit
    raw = path.read_bytes()
    media_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    worth = len(raw) >= SMALLEST and media_type.startswith(COMPRESSIBLE)
    packed = gzip.compress(raw, compresslevel=LEVEL, mtime=0) if worth else None
    etag = '"' + hashlib.sha256(raw).hexdigest()[:20] + '"'
    _cache[path] = entry = Prepared(stamp, media_type, raw, packed if packed and len(packed) < len(raw) else None, etag)
    return entry


def respond(request: Request, path: Path, cache_control: str) -> Response:
    """The file at ``path``: 304 if the browser's copy is current, gzipped if it accepts it."""
    entry = prepared(path)
    headers = {"ETag": entry.etag, "Cache-Control": cache_control, "Vary": "Accept-Encoding"}
    if entry.etag in [t.strip().removeprefix("W/") for t in request.headers.get("if-none-match", "").split(",")]:
        return Response(status_code=304, headers=headers)
    body = entry.raw
    if entry.gzipped is not None and "gzip" in request.headers.get("accept-encoding", "").lower():
        body = entry.gzipped
        headers["Content-Encoding"] = "gzip"
    if request.method == "HEAD":
        headers["Content-Length"] = str(len(body))
        return Response(status_code=200, headers=headers, media_type=entry.media_type)
    return Response(body, headers=headers, media_type=entry.media_type)


def file_route(path: Path, cache_control: str) -> Callable[[Request], Awaitable[Response]]:
    """A route endpoint serving the one file ``path``."""

    async def endpoint(request: Request) -> Response:
        return respond(request, path, cache_control)

    return endpoint


class CompressedFiles:
    """An ASGI app serving the files under ``root`` (nothing outside it: no ``..``, no
    symlink out), compressed and cacheable as above."""

    def __init__(self, root: Path, cache_control: str = REVALIDATE) -> None:
        self.root = root.resolve()
        self.cache_control = cache_control

    def find(self, relative: str) -> Path | None:
        candidate = (self.root / relative.lstrip("/")).resolve()
        if not candidate.is_relative_to(self.root) or not candidate.is_file():
            return None
        return candidate

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        if request.method not in ("GET", "HEAD"):
            response: Response = PlainTextResponse("Method Not Allowed", status_code=405, headers={"Allow": "GET, HEAD"})
        else:
            full, mounted = scope["path"], scope.get("root_path", "")
            # (newer Starlette keeps the full path and puts the mount's prefix in root_path)
            path = self.find(full[len(mounted):] if mounted and full.startswith(mounted) else full)
            response = respond(request, path, self.cache_control) if path else PlainTextResponse("Not Found", status_code=404)
        await response(scope, receive, send)
