"""How many steps a session may take now: its steps/s limit, its time credit (``budget``),
what one of its steps costs, and the steps a 'step' control still owes.

Steps are counted here, time in the session's ``Budget``: a quantum is as many steps as
the credit pays for at the measured step cost, within the steps/s allowance."""

from __future__ import annotations

import math
import time

from descent.runtime.bucket import TokenBucket
from descent.runtime.budget import Budget

SLOW_STEPS = 2  # steps in a row over max_step_seconds that pause a session (one may be a hiccup)
MAX_OWED_EPOCHS = 100  # epochs of 'step' presses a session may queue


class Allowance:
    def __init__(self, steps_per_second: float, budget: Budget, max_step_seconds: float) -> None:
        self.budget = budget
        self.max_step_seconds = max_step_seconds
        # a burst of a quarter second keeps quanta full without letting a session race ahead
        self._steps = TokenBucket(steps_per_second, max(1.0, steps_per_second / 4), time.perf_counter())
        self.owed = 0  # steps still to run for 'step' controls (run across rounds, like training)
        # seconds per step, smoothed: sizes the training quantum; None until a step of this setup
        # was measured (a new setup's first quantum is one step, however cheap the last setup's were)
        self.step_cost: float | None = None
        self._slow = 0  # steps in a row that took longer than max_step_seconds

    def wait(self, now: float) -> float:
        """Seconds until a step is allowed (0 = now), by the steps/s limit and the credit."""
        return max(self._steps.wait(now), self.budget.ready_in(self.step_cost or 0.0))

    def steps(self, seconds: float, now: float, running: bool) -> int:
        """Steps that fit in ``seconds`` at the step cost, within the steps/s allowance and
        (unless ``running``) what a 'step' control still owes: 0 if the session has not
        saved up for a step (``Budget.affords``), else at least one, even for 0 seconds."""
        if not self.budget.affords(self.step_cost or 0.0):
            return 0
        seconds = min(seconds, self.budget.credit)
        per_step = self.step_cost or math.inf  # (unmeasured: one step)
        n = min(max(1, int(seconds / per_step)), int(self._steps.available(now)))
        return n if running else min(n, self.owed)

    def took(self, n: int, seconds: float) -> None:
        """``n`` steps took ``seconds`` of the worker: paid, and the step cost measured."""
        self._steps.spend(n)
        self.budget.spend(seconds)
        step_cost = seconds / n
        # floored: a lab that had nothing to do (a finished race) must not make the next quantum huge
        smoothed = step_cost if self.step_cost is None else 0.7 * self.step_cost + 0.3 * step_cost
        self.step_cost = max(1e-6, smoothed)

    def owe_epoch(self, steps_per_epoch: int) -> None:
        """A 'step' press: one more epoch owed, up to MAX_OWED_EPOCHS."""
        self.owed = min(self.owed + steps_per_epoch, MAX_OWED_EPOCHS * steps_per_epoch)

    def repaid(self, n: int) -> bool:
        """``n`` owed steps were taken; True if that paid off the last of them."""
        if not self.owed:
            return False
        self.owed = max(0, self.owed - n)
        return not self.owed

    def too_slow(self, step_cost: float) -> bool:
        """True once SLOW_STEPS steps in a row took longer than max_step_seconds."""
        self._slow = self._slow + 1 if step_cost > self.max_step_seconds else 0
        if self._slow < SLOW_STEPS:
            return False
        self._slow = 0
        return True
