"""Limits of one connection and of one address: the acks a connection may send, and the
addresses barred for flooding (rate limits themselves are token buckets, runtime/bucket.py)."""

from __future__ import annotations

from typing import Literal

AckVerdict = Literal["take back", "ignore", "excess"]


class AckLimit:
    """Acks a connection may send: at most one per frame it was sent. An ack for a frame
    still unacked is passed on to the session (whose frames.py keeps the frame credit: it
    lets the next frame come); any other costs the worker nothing. The first ``slack`` of
    those are ignored quietly (a page may ack, on a new connection, frames it drew from the
    old one); beyond them each is ``excess``, which no honest page sends."""

    def __init__(self, slack: int = 4) -> None:
        self.slack = slack
        self.in_flight = 0  # frames sent and not yet acked
        self.stray = 0  # acks that matched no frame

    def frame_sent(self) -> None:
        self.in_flight += 1

    def ack(self) -> AckVerdict:
        if self.in_flight > 0:
            self.in_flight -= 1
            return "take back"
        self.stray += 1
        return "ignore" if self.stray <= self.slack else "excess"


class Penalties:
    """Addresses barred until a time (a client closed for flooding may not reconnect at
    once: each reconnect would cost a handshake and a session's first frame). Expired
    entries are dropped as new ones come."""

    def __init__(self) -> None:
        self._until: dict[str, float] = {}

    def bar(self, client: str, now: float, seconds: float) -> None:
        if len(self._until) >= 1024:
            self._until = {c: t for c, t in self._until.items() if t > now}
        self._until[client] = now + seconds

    def remaining(self, client: str, now: float) -> float:
        """Seconds ``client`` is still barred (0 if it is not)."""
        return max(0.0, self._until.get(client, 0.0) - now)
