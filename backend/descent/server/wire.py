"""The server's end of one client's websocket: what waits to be sent to it, the bounds on
what a client that stops reading may leave unread, and closes that cannot hang.

A client that never reads fills the kernel's socket buffers, then the transport's; past
that, every send (and a close, which is a send) waits forever, and asyncio's
``transport.close()`` waits to flush data the client will never take. So each connection
counts what it holds unread (queued here plus the transport's buffer) and how long its
oldest message has waited; past either bound it is cut off (close 4008 if the close frame
still fits, then the TCP connection is aborted), and every close gives up after a few
seconds and aborts."""

from __future__ import annotations

import asyncio
import logging
import socket
import struct
import time
import weakref
from collections import deque
from collections.abc import Callable
from typing import Any

import anyio
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketDisconnect

from descent.protocol import Error, to_json

log = logging.getLogger(__name__)

TRANSPORT = "descent.transport"  # the scope key KeepTransport fills
CLOSE_SECONDS = 3.0  # how long a close may wait for room in the socket before it aborts
SOCKET_SEND_BUFFER = 256 * 1024  # bytes the kernel may hold for one websocket client
LINGER_SECONDS = 5.0  # a closed connection whose peer has not completed the close by then is reset
# (before uvicorn's own 10 s close timeout, whose plain close would leave an unread peer's data in the kernel)


class KeepTransport:
    """Pure ASGI middleware: keeps the TCP transport of each websocket in its scope, so a
    connection whose client stopped reading can be aborted (ASGI itself can only send a
    close, which waits for room that never comes). uvicorn hands the app its protocol's
    bound ``send``; the protocol holds the transport. Elsewhere (TestClient) there is
    none, and nothing can block there anyway."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            transport = getattr(getattr(send, "__self__", None), "transport", None)
            if isinstance(transport, asyncio.Transport):
                scope[TRANSPORT] = transport
                limit_kernel_buffer(transport)
        await self.app(scope, receive, send)


def limit_kernel_buffer(transport: asyncio.Transport) -> None:
    """Left to itself, Linux grows a socket's send buffer up to 4 MiB (tcp_wmem) for a
    client that does not read; a fixed one bounds the kernel's share of what a client can
    leave unread (Linux doubles it; at 30 frames/s a page needs a small fraction)."""
    sock = transport.get_extra_info("socket")
    if sock is not None:
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SOCKET_SEND_BUFFER)
        except OSError:
            pass


def transport_of(ws: WebSocket) -> asyncio.Transport | None:
    return ws.scope.get(TRANSPORT)


def abort(ws: WebSocket, after: float = 0.0) -> None:
    """Drop the TCP connection now (or ``after`` seconds, if it is still open then): its
    buffers are freed and the handler's pending send and receive end."""
    transport = transport_of(ws)
    if transport is None:
        return
    if after <= 0:
        reset(transport)
    else:  # (a no-op on a transport that has closed meanwhile)
        asyncio.get_running_loop().call_later(after, reset, transport)


def reset(transport: asyncio.Transport) -> None:
    """Abort with a TCP reset. A plain close leaves data the client never read in the
    kernel, which keeps the connection (FIN_WAIT_1) trying to deliver it into a full
    window for minutes; lingering 0 seconds makes the close discard it and send RST."""
    sock = transport.get_extra_info("socket")
    if sock is not None:
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass  # already closed (then abort is a no-op too)
    transport.abort()


async def close_with(ws: WebSocket, code: int, reason: str, patience: float = CLOSE_SECONDS) -> None:
    """Tell the client why (an error message, then the close reason) and close; if that
    cannot be written within ``patience`` seconds (the client does not read), abort."""
    sent = False
    with anyio.move_on_after(patience):
        try:
            await ws.send_text(to_json(Error(message=reason)))
            await ws.close(code=code, reason=reason[:120])  # a close reason is at most 123 bytes
        except (WebSocketDisconnect, RuntimeError, OSError):
            pass
        sent = True
    # A peer that reads the close but never answers it leaves uvicorn's transport.close()
    # flushing forever: abort it once the close handshake has had its time.
    abort(ws, after=LINGER_SECONDS if sent else 0.0)


class Handoff:
    """Calls from other threads run on the event loop in their order, a burst of them after
    one wake-up: ``call_soon_threadsafe`` writes to the loop's self-pipe each time, and a
    class's frames come from the worker processes' pipe readers in batches."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.calls: deque[tuple[Callable[..., None], tuple[Any, ...]]] = deque()
        self.planned = False

    def call(self, fn: Callable[..., None], *args: Any) -> None:
        self.calls.append((fn, args))
        if not self.planned:  # (two threads may both plan a run: the second finds nothing left)
            self.planned = True
            try:
                self.loop.call_soon_threadsafe(self.run)
            except RuntimeError:  # (the loop is closed: the server is stopping)
                self.planned = False
                raise

    def run(self) -> None:
        self.planned = False  # (before the calls are taken: one added meanwhile plans its own run)
        calls = self.calls
        while calls:
            fn, args = calls.popleft()
            try:
                fn(*args)
            except Exception:  # (one failing call must not hold up the others)
                log.exception("a call handed to the event loop failed")


_handoffs: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Handoff] = weakref.WeakKeyDictionary()


def handoff(loop: asyncio.AbstractEventLoop) -> Handoff:
    """The loop's Handoff."""
    found = _handoffs.get(loop)
    if found is None:
        found = _handoffs.setdefault(loop, Handoff(loop))
    return found


class Outbox:
    """Messages for one client, queued on the event loop (``deliver`` may be called from
    any thread). Holds at most ``max_messages`` messages and ``max_bytes`` unread bytes
    (with the transport's buffer); past them, or when the oldest message has waited
    ``max_seconds``, it is ``cut`` with the reason."""

    def __init__(self, ws: WebSocket, max_messages: int, max_bytes: int, max_seconds: float) -> None:
        self.ws = ws
        self.loop = asyncio.get_running_loop()
        self.handoff = handoff(self.loop)
        self.max_messages, self.max_bytes, self.max_seconds = max_messages, max_bytes, max_seconds
        self._queue: deque[tuple[str, str, float]] = deque()
        self._bytes = 0
        self._ready = asyncio.Event()
        self.cut = asyncio.Event()
        self.reason = ""

    def deliver(self, kind: str, text: str) -> None:
        """A message of the session for the client (called on a training or pipe thread)."""
        self.handoff.call(self.put, kind, text, time.monotonic())

    def put(self, kind: str, text: str, at: float | None = None) -> None:
        """Queue a message (on the event loop)."""
        at = time.monotonic() if at is None else at
        if self.cut.is_set():
            return  # the connection is going: nothing more piles up for it
        self._queue.append((kind, text, at))
        self._bytes += len(text)
        self._ready.set()
        unread = self.unread_bytes()
        if len(self._queue) > self.max_messages:
            self.fail(f"more than {self.max_messages} messages queued unread; reconnect")
        elif unread > self.max_bytes:
            self.fail(f"more than {self.max_bytes // 1024} KiB queued unread; reconnect")

    def unread_bytes(self) -> int:
        """Bytes sent to the client and not yet taken by its socket: queued here, and in the
        transport's buffer (the kernel's buffers are bounded by the kernel)."""
        transport = transport_of(self.ws)
        return self._bytes + (transport.get_write_buffer_size() if transport is not None else 0)

    def fail(self, reason: str) -> None:
        if not self.cut.is_set():
            self.reason = reason
            self.cut.set()
            self._queue.clear()
            self._bytes = 0

    async def get(self) -> tuple[str, str, float]:
        """The next message: (kind, text, seconds left before it has waited too long)."""
        while not self._queue:
            self._ready.clear()
            await self._ready.wait()
        kind, text, at = self._queue.popleft()
        self._bytes -= len(text)
        return kind, text, at + self.max_seconds - time.monotonic()

    async def send(self, text: str, patience: float) -> bool:
        """Send ``text``; False (and the outbox cut) if the client has not made room for it
        within ``patience`` seconds."""
        with anyio.move_on_after(max(0.0, patience)):
            await self.ws.send_text(text)
            return True
        self.fail(f"a message waited more than {self.max_seconds:g} seconds for the client to read; reconnect")
        return False


async def cut_off(ws: WebSocket, reason: str) -> None:
    """Close a client that does not read (4008): one short try at the close frame, then abort."""
    log.warning("closing a client that does not read: %s", reason)
    await close_with(ws, 4008, reason, patience=0.5)
    abort(ws)

