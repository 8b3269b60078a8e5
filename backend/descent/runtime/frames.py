"""When a session's next frame may go, and what its client has been sent.

Frames leave at the client's frame rate (``subscribe``), steadily, and only when something
changed. A client that acks frames (the page acks each one it drew) may have ACK_WINDOW in
flight: it draws one while the next travels, and a page that stops drawing gets no
backlog, only fresh frames once it draws again. A client that never acks gets frames at
its rate; should it stop reading them, the transport cuts it off (server/wire.py).

This is the one ledger of frame credit, kept by the session on its worker thread; the
transport passes on the client's acks (only those that match a frame it delivered, see
server/limits.AckLimit) and reports nothing else, so a frame costs no message back."""

from __future__ import annotations

import threading

from descent.history import Cursor
from descent.runtime.pressure import Pressure

ACK_WINDOW = 2  # frames a client that acks may have in flight


class Frames:
    def __init__(self, interval: float = 1 / 30) -> None:
        self.interval = interval  # seconds between frames (1 / the client's frame rate)
        self.pressure = Pressure()  # (its worker's, once added: a busy worker stretches the interval, pressure.py)
        self.dirty = True  # something changed since the last frame
        self.full = True  # the next frame carries the full views (data points ...)
        self.cursor = Cursor()  # how much of the lab's history the client has
        self.count = 0  # frames sent (a light frame is one whose count the pressure's detail_every does not divide)
        self._next_at = 0.0
        # Acks come on the transport's thread (in-process) or the pipe's: the count is locked.
        self._lock = threading.Lock()
        self._acking = False  # the client acks frames (counted in flight from its first ack)
        self._in_flight = 0  # frames sent since the client began acking and not acked yet

    def restart(self) -> None:
        """A (new or returning) client: it has nothing yet, and has acked nothing."""
        self.cursor = Cursor()
        self.dirty = self.full = True
        with self._lock:
            self._acking, self._in_flight = False, 0

    def rebuilt(self) -> None:
        """The lab was rebuilt: the client's history and views start over."""
        self.cursor = Cursor()
        self.full = True

    def next_in(self, now: float) -> float | None:
        """Seconds until the client may have its next frame (0 = now); None while an acking
        client has as many frames in flight as it may."""
        if self._acking and self._in_flight >= ACK_WINDOW:
            return None
        return max(0.0, self._next_at - now)

    def detailed(self) -> bool:
        """Whether the next frame carries the slow views too (a new client's always does)."""
        return self.full or self.count % self.pressure.detail_every == 0

    def sent(self, now: float) -> None:
        """A frame went out at ``now``: the next is due one interval later."""
        self.dirty = self.full = False
        self.count += 1
        with self._lock:
            if self._acking:
                self._in_flight += 1
        # a steady rate: schedule from the last deadline unless that is long past (idle)
        interval = self.interval * self.pressure.stretch
        following = self._next_at + interval
        self._next_at = following if following > now - interval else now + interval

    def ack(self) -> None:
        """The client drew a frame (called from the transport's or the pipe's thread)."""
        with self._lock:
            self._acking = True
            self._in_flight = max(0, self._in_flight - 1)
