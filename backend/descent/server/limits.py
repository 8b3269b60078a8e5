"""Rate limits as token buckets: ``rate`` tokens a second accrue up to ``burst``.

Used for client messages per connection, HTTP API requests per client address and
optimizer steps per session. No thread of its own and no timers: the bucket is refilled
lazily when asked, from the time it is given. Also the ack ledger of a connection."""

from __future__ import annotations

from typing import Literal


class TokenBucket:
    def __init__(self, rate: float, burst: float, now: float) -> None:
        self.rate = rate
        self.burst = burst
        self.tokens = burst
        self._at = now

    def _refill(self, now: float) -> None:
        self.tokens = min(self.burst, self.tokens + (now - self._at) * self.rate)
        self._at = now

    def take(self, now: float, n: float = 1) -> bool:
        """Spend ``n`` tokens if there are that many; False (nothing spent) if not."""
        self._refill(now)
        if self.tokens < n:
            return False
        self.tokens -= n
        return True

    def available(self, now: float) -> float:
        self._refill(now)
        return self.tokens

    def spend(self, n: float) -> None:
        """Spend ``n`` tokens even if that goes into debt (work already done)."""
        self.tokens -= n

    def wait(self, now: float, n: float = 1) -> float:
        """Seconds until ``n`` tokens are available (0 if they are now)."""
        self._refill(now)
        return max(0.0, (n - self.tokens) / self.rate)


AckVerdict = Literal["take back", "ignore", "excess"]


class AckCredit:
    """Acks a connection may send: at most one per frame it was sent. An ack for a frame
    still in flight is passed on to the session (it lets the next frame come); any other
    costs the worker nothing. The first ``slack`` of those are ignored quietly (a page
    may ack, on a new connection, frames it drew from the old one); beyond them each is
    ``excess``, which no honest page sends."""

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
