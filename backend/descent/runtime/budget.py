"""A session's share of its worker's time, kept as a credit in seconds (fair queuing).

Every round, the worker's elapsed time is shared out among the sessions that want it (those
training, stepping or owed a frame): each earns ``elapsed / active``. Whatever a session
makes the worker do is paid from its own credit: its training steps, the commands and
config changes it sends, the views of its frames. A session in debt (one long step, a
costly fork, a heavy frame) waits until its share has repaid it, so it slows only itself:
the others go on getting their share. The credit is capped, so an idle session cannot bank
a burst that would hold the worker later."""

from __future__ import annotations


class Budget:
    def __init__(self, cap: float) -> None:
        self.cap = cap  # the most credit a session may hold (seconds)
        self.credit = cap  # a new session may start at once
        self.spent = 0.0  # all the worker time this session has used
        self.active = 1  # sessions sharing the worker at the last round (how fast debt is repaid)

    def earn(self, seconds: float, active: int) -> None:
        self.active = max(1, active)
        self.credit = min(self.cap, self.credit + seconds)

    def spend(self, seconds: float) -> None:
        self.credit -= seconds
        self.spent += seconds

    def repaid_in(self) -> float:
        """Seconds of wall time until the debt is repaid (0 if there is none), at one share
        of the worker's time among ``active`` sessions."""
        return self.ready_in(0.0)

    def ready_in(self, need: float) -> float:
        """Seconds of wall time until the credit reaches ``need`` (at most the cap)."""
        return max(0.0, min(need, self.cap) - self.credit) * self.active

    def affords(self, cost: float) -> bool:
        """Credit enough to start work that costs ``cost`` seconds: that much saved up (or a
        full cap, for work dearer than the cap). Starting on any scrap of credit would let a
        session whose steps are long hold the worker every round, while the others, whose
        quanta are short, could not use their share."""
        return self.credit > 0 and self.credit >= min(cost, self.cap)
