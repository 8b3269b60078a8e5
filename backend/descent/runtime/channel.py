"""One end of the pipe between the server and a worker process.

``send`` never blocks its caller (the event loop, or the training thread): a thread of the
channel writes. Another thread reads and hands each message to ``on_message``; when the
other end is gone (its process died or closed the pipe), ``on_closed`` is called once."""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

log = logging.getLogger(__name__)
_CLOSE = object()
MAX_BATCH = 256  # messages per write at most (a slow reader still gets them in pieces)


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
        """Whatever is queued goes as one list per write: a round's frames, a burst of acks
        cross in one pickle and one wake-up of the reader instead of one each."""
        closing = False
        while not closing:
            batch = [self._out.get()]
            while len(batch) < MAX_BATCH:
                try:
                    batch.append(self._out.get_nowait())
                except queue.Empty:
                    break
            if _CLOSE in batch:
                closing = True
                batch = batch[: batch.index(_CLOSE)]
            try:
                if batch:
                    self._conn.send(batch)
            except (OSError, ValueError):  # the other end is gone: the reader reports it
                break
            del batch  # (a frame's text is not kept while the queue is empty)
        self._closed.set()

    def _read(self) -> None:
        try:
            while True:
                try:
                    batch = self._conn.recv()
                except (EOFError, OSError):
                    break
                for item in batch:
                    try:
                        self._on_message(item)
                    except Exception:  # one bad message must not stop the channel
                        log.exception("channel: handling %r failed", type(item).__name__)
                item = batch = None
        finally:
            self._closed.set()
            self._out.put(_CLOSE)
            self._on_closed()
