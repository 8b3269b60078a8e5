"""Rate limits as token buckets: ``rate`` tokens a second accrue up to ``burst``.

Used for optimizer steps per session (runtime) and for client messages per connection and
HTTP API requests per client address (server). No thread of its own and no timers: the
bucket is refilled lazily when asked, from the time it is given."""

from __future__ import annotations


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
