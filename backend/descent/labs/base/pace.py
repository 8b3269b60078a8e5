"""Pacing: a lab people watch step by step (the arena's race, backprop's phases) steps at a
set rate (a 2-D step costs well under a millisecond, so an unpaced race is over before the
first frame). Never by sleeping: the lab takes the steps due now (``take``) and tells the
session when the next one is (``due_in``), so its worker serves others meanwhile."""

from __future__ import annotations

import time

IDLE_GAP = 0.1  # seconds without a call after which a call is a fresh start (play, the step button)
MAX_DEBT = 0.25  # seconds of owed steps kept when the race falls behind its clock


class Pace:
    def __init__(self, rate: float) -> None:
        self.rate = rate
        self._clock = 0.0  # time the next owed step is due
        self._last_call = -1e9

    def take(self, wanted: int) -> int:
        """How many of ``wanted`` steps are due now (0 if none yet). The first call after a
        pause (or the step button) always gets one step at once."""
        now = time.perf_counter()
        interval = 1.0 / self.rate
        if now - self._last_call > IDLE_GAP:
            self._clock = now
        self._last_call = now
        self._clock = max(self._clock, now - MAX_DEBT)
        if now < self._clock:
            return 0
        n = min(wanted, int((now - self._clock) / interval) + 1)
        self._clock += n * interval
        return n

    def due_in(self) -> float:
        """Seconds until ``take`` has a step to give (0 = now): the worker sleeps until then
        rather than the lab sleeping on the worker's thread."""
        now = time.perf_counter()
        if now - self._last_call > IDLE_GAP:
            return 0.0
        return max(0.0, self._clock - now)
