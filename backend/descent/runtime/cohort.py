"""Sessions on one setup (equal cohort keys: a class on one preset) train as one batched
computation: each takes the same number of steps and pays its share of the time."""

from __future__ import annotations

import time

from descent.runtime.session import Session


def tick_together(sessions: list[Session], budget: float) -> None:
    """Train sessions of one cohort key for about ``budget`` seconds each: every one ready to
    train (with credit left) takes the same number of steps (the fewest any of them may)."""
    started = time.perf_counter()
    ready = [(s, n) for s in sessions if (n := s.steps_allowed(budget, started)) >= 1]
    if not ready:
        return
    group = [s for s, _ in ready]
    n = min(n for _, n in ready)
    type(group[0].lab).step_together([s.lab for s in group], n)
    share = (time.perf_counter() - started) / len(group)
    for s in group:
        s.trained(n, share, n)
