"""One end of the pipe between the server and a worker process.

``send`` never blocks its caller (the event loop, or the training thread): a thread of the
channel writes. Another thread reads and hands each message to ``on_message``; when the
other end is gone (its process died or closed the pipe), ``on_closed`` is called once."""

from __future__ import annotations

import logging
import queue
import threading
from multiprocessing.connection import Connection
from typing import Any, Callable

log = logging.getLogger(__name__)
_CLOSE = object()


class Channel:
    def __init__(self, conn: Connection, on_message: Callable[[Any], None], on_closed: Callable[[], None], name: str) -> None:
        self._conn = conn
        self._on_message = on_message
        self._on_closed = on_closed
        self._out: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._closed = threading.Event()
        self._writer = threading.Thread(target=self._write, name=f"{name}-write", daemon=True)
        self._reader = threading.Thread(target=self._read, name=f"{name}-read", daemon=True)

    def start(self) -> None:
        self._writer.start()
        self._reader.start()

    def send(self, item: Any) -> None:
        if not self._closed.is_set():
            self._out.put(item)

    def close(self) -> None:
        """Stop writing (what was queued is written first) and let the reader end."""
        self._out.put(_CLOSE)

    def _write(self) -> None:
        while True:
            item = self._out.get()
            if item is _CLOSE:
                break
            try:
                self._conn.send(item)
            except (OSError, ValueError):  # the other end is gone: the reader reports it
                break
            del item  # (a frame's text is not kept while the queue is empty)
        self._closed.set()

    def _read(self) -> None:
        try:
            while True:
                try:
                    item = self._conn.recv()
                except (EOFError, OSError):
                    break
                try:
                    self._on_message(item)
                except Exception:  # one bad message must not stop the channel
                    log.exception("channel: handling %r failed", type(item).__name__)
                del item
        finally:
            self._closed.set()
            self._out.put(_CLOSE)
            self._on_closed()
