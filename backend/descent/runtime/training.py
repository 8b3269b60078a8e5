"""The worker's side of a session: whether it wants the worker, how long until it may train
or have a frame, a quantum of steps, and what follows from steps taken (a 'step' press
done, a divergence, steps too slow for this machine). Mixed into ``session.Session``; steps are
counted by allowance.py, time by budget.py."""

from __future__ import annotations

import time
from typing import Any

from descent.runtime.allowance import Allowance
from descent.runtime.budget import Budget
from descent.runtime.frames import Frames
from descent.runtime.replies import Replies
from descent.runtime.setups import weight


class Training(Replies):
    failed: str | None
    solo: bool  # set if a batched step with others ever failed: it trains alone since
    budget: Budget
    allowance: Allowance
    frames: Frames
    max_step_work: float
    epoch_limit: int | None = None  # a room's challenge: the run stops at this epoch (see stop_at_limit)
    _weighed: tuple[Any, int] = (None, 1)  # (the config, its weight): see weight

    @property
    def running(self) -> bool:
        return self.state == "running"

    @property
    def wants_training(self) -> bool:
        """Running, or still owing steps to a 'step' control."""
        return (self.running or self.allowance.owed > 0) and not self.failed

    def wants_time(self, now: float) -> bool:
        """The worker owes this session a share of its time this round: it trains, or a
        frame is due."""
        return self.wants_training or (self.frames.dirty and self.next_frame_in(now) is not None)

    def frame_due(self, now: float) -> float | None:
        """Seconds until a frame is due (0 = now), or None if none is owed (or the lab failed:
        its views may be what raises)."""
        if not self.frames.dirty:
            return None
        due = self.next_frame_in(now)
        # a session in debt (its steps, commands or views cost more than its share) gets its
        # next frame once it has repaid it: frames give way first, and only its own
        return None if due is None else max(due, self.budget.repaid_in())

    def next_frame_in(self, now: float) -> float | None:
        """Seconds until the client may have its next frame, were the lab to change now (the
        worker ends a quantum then, so frames leave on time rather than at the end of a
        quantum); None if it may have none now."""
        return None if self.failed else self.frames.next_in(now)

    @property
    def weight(self) -> int:
        """Places this session takes in admission while it trains (``setups.weight``; the
        time it really takes is what the worker shares, ``budget``, and what
        max_step_seconds bounds)."""
        config = self.lab.config
        if self._weighed[0] is not config:  # (asked each round: worked out once per setup)
            self._weighed = (config, weight(config, self.max_step_work))
        return self._weighed[1]

    def train_wait(self, now: float) -> float | None:
        """Seconds until the session may train (0 = now), None if it is not training."""
        if not self.wants_training:
            return None
        return max(self.allowance.wait(now), self.lab.due_in())

    def steps_allowed(self, budget: float, now: float) -> int:
        """Steps this session may take in ``budget`` seconds (``Allowance.steps``; 0 if it
        is not training)."""
        n = self.allowance.steps(budget, now, self.running) if self.wants_training else 0
        if self.epoch_limit is not None:  # (epoch = steps // steps_per_epoch in every lab)
            n = max(0, min(n, self.epoch_limit * self.lab.steps_per_epoch - self.lab.step_count))
        return n

    def tick(self, budget: float) -> None:
        """Train for about ``budget`` seconds if training, within the steps/s allowance and
        the session's time credit; the time is paid from the credit."""
        started = time.perf_counter()
        n = self.steps_allowed(budget, started)
        if n < 1:
            return
        before = self.lab.step_count
        if self.cohort_key() is None:
            self.lab.train_steps(n)  # (and its second run's, if it has one)
        else:  # a cohort of one: the batched step is cheaper than the lab's own (bench/batching.py)
            type(self.lab).step_together([self.lab], n)
        # (a paced lab may take fewer steps than asked: a 'step' press is owed until taken)
        self.trained(n, time.perf_counter() - started, self.lab.step_count - before, alone=True)

    def cohort_key(self) -> Any:
        """Running sessions with equal keys train together as one batched computation
        (cohort.py); None: this one trains alone."""
        if not self.running or self.failed or self.solo:
            return None
        key = self.lab.cohort_key()
        return None if key is None else (type(self.lab), key)

    def trained(self, n: int, seconds: float, taken: int, alone: bool = False) -> None:
        """``n`` steps were asked and ``taken`` taken in ``seconds``: paid, and what follows
        from them (a 'step' press done, a divergence, steps too slow for this machine)."""
        self.allowance.took(n, seconds)
        self.frames.dirty = True
        if not self.running and self.allowance.repaid(taken):
            self.send_status()
        if self.lab.diverged and self.state != "diverged":
            self.state = "diverged"
            self.allowance.owed = 0
            self.send_status(reason=self.lab.diverged)
        if alone and self.allowance.too_slow(seconds / n):
            self._pause_too_slow(seconds / n)
        self.stop_at_limit()

    def at_limit(self) -> str | None:
        """Why the run may not go on (a challenge's epoch budget reached), or None."""
        if self.epoch_limit is not None and self.lab.epoch >= self.epoch_limit:
            return f"the challenge's budget of {self.epoch_limit} epochs is reached"
        return None

    def stop_at_limit(self) -> None:
        reason = self.at_limit()
        if reason and (self.running or self.allowance.owed):
            self.state = "paused" if self.running else self.state
            self.allowance.owed = 0
            self.send_status(reason=reason)

    def _pause_too_slow(self, step_cost: float) -> None:
        """A session whose single steps take longer than max_step_seconds (the work estimate
        let it through, but this machine is slower) is paused: each such step holds the
        sessions that share its worker."""
        self.state = "paused"
        self.allowance.owed = 0
        fields = ", ".join(f for f in type(self.lab).cost_fields if hasattr(self.lab.config, f)) or "the model size"
        reason = (f"config: one training step of this setup takes {step_cost:.2f} s here; at most "
                  f"{self.allowance.max_step_seconds:g} s is allowed, so no one else waits for it: lower {fields}")
        self.error(reason, ["config"])
        self.send_status(reason=reason)

