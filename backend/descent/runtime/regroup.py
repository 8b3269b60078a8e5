"""Moving running sessions between worker processes so that cohorts train together
(placement.py says where; this is the server's side of a move, kept by ``ProcessHost``).

Each worker process reports each session's cohort key and weight while it trains (``cohort``
messages, when they change). Once a second the host asks ``due`` for the moves worth making
(once the reports have been steady for ``STEADY`` seconds);
for each, the old process hands the session over (its snapshot, taken between rounds, and
the session gone from it: ``moved``), and the new one restores it as it was, playing on,
attached to its client, which gets a full frame. What the client sends meanwhile waits here
and follows it (acks are dropped: the new process starts the client's frame credit afresh).
A session whose snapshot fails stays where it is. A move costs a snapshot and a restore
(milliseconds); nothing is lost and no one is told."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from descent.runtime.placement import Placed, plan, worth_it

SPACING = 10.0  # seconds: a session moves at most once in this long
STEADY = 2.0  # seconds without a change in what is reported before a plan (a class pressing play reports over seconds)


@dataclass
class Move:
    to: int
    waiting: list[tuple[Any, ...]] = field(default_factory=list)  # messages for it meanwhile, in order


class Regroup:
    """(Used under the host's lock.)"""

    def __init__(self) -> None:
        self.cohorts: dict[str, tuple[str, int]] = {}  # session id -> (cohort key, weight) while it trains
        self.moving: dict[str, Move] = {}
        self._moved_at: dict[str, float] = {}
        self._changed_at = 0.0  # time.monotonic() of the last change in cohorts

    def reported(self, sid: str, cohort: tuple[str, int] | None) -> None:
        value = None if cohort is None else (cohort[0], int(cohort[1]))
        if self.cohorts.get(sid) == value:
            return
        if value is None:
            del self.cohorts[sid]
        else:
            self.cohorts[sid] = value
        self._changed_at = time.monotonic()

    def forget(self, sid: str) -> None:
        self.cohorts.pop(sid, None)
        self.moving.pop(sid, None)
        self._moved_at.pop(sid, None)

    def due(self, placement: dict[str, int], processes: int, now: float | None = None) -> list[tuple[str, int]]:
        """The moves to start now ((session id, from process)), each recorded as moving;
        none while others are under way, or while what is reported still changes (the
        processes report each second, so until then one may be missing sessions the other
        has reported, and a plan on half a picture would move sessions back and forth)."""
        now = time.monotonic() if now is None else now
        if self.moving or processes < 2 or now - self._changed_at < STEADY:
            return []
        sessions = {sid: Placed(key, weight, placement[sid]) for sid, (key, weight) in self.cohorts.items() if sid in placement}
        if len(sessions) < 2:
            return []
        target = plan(sessions, processes)
        if not worth_it(sessions, target, processes):
            return []
        moves = [(sid, placed.process) for sid, placed in sessions.items()
                 if target[sid] != placed.process and now - self._moved_at.get(sid, -SPACING) >= SPACING]
        for sid, _ in moves:
            self.moving[sid] = Move(target[sid])
            self._moved_at[sid] = now
        return moves

    def hold(self, item: tuple[Any, ...]) -> bool:
        """True if ``item`` (operation, session id, ...) is for a session being moved: it waits."""
        move = self.moving.get(item[1])
        if move is None:
            return False
        if item[0] != "ack":
            move.waiting.append(item)
        return True

    def finish(self, sid: str) -> Move | None:
        """The move of ``sid`` ended (handed over, or not): what waited for it."""
        return self.moving.pop(sid, None)
