"""Which worker process should train which running session: cohorts kept together, the
processes kept even.

Sessions are placed on a process when they are created, before their setup is known (the
one holding the fewest). Once they train, sessions of one cohort key (a class on one preset,
cohort.py) step as one batched computation only if they share a process, and each cohort a
process holds costs it a fixed price per step whatever its size (~30 numpy or torch calls).
A class split over both processes pays it twice per preset: a mixed class of five presets
on two processes pays it ten times where five or six would do.

``plan`` looks at every running session (its key, its weight in places, its process) and
says where each should be: each cohort, largest first, goes to the process holding most of
it, as much of it as that process has room for (a fair share of all the places, rounded up),
the rest to the next; those already in the right process stay. ``worth_it`` says whether
the plan is enough better than what is (fewer cohort pieces, or a fairer split) to move
sessions, so one session pausing does not reshuffle a class."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Hashable
from dataclasses import dataclass


@dataclass(frozen=True)
class Placed:
    key: Hashable  # its cohort key (sessions with equal keys can step together)
    weight: int  # the places it takes (Session.weight)
    process: int  # where it is now


def plan(sessions: dict[str, Placed], processes: int) -> dict[str, int]:
    """Where each session should be (session id -> process index)."""
    total = sum(p.weight for p in sessions.values())
    room = [math.ceil(total / processes)] * processes
    groups: dict[Hashable, list[str]] = defaultdict(list)
    for sid, placed in sessions.items():
        groups[placed.key].append(sid)
    where: dict[str, int] = {}
    for members in sorted(groups.values(), key=lambda m: -sum(sessions[s].weight for s in m)):
        count = [0] * processes
        for sid in members:
            count[sessions[sid].process] += 1
        left = list(members)
        for p in sorted(range(processes), key=lambda p: (-count[p], -room[p], p)):
            left.sort(key=lambda s: sessions[s].process != p)  # (those already there first: they stay)
            while left and room[p] >= sessions[left[0]].weight:
                sid = left.pop(0)
                where[sid] = p
                room[p] -= sessions[sid].weight
        for sid in left:  # (what no process has room for, by weights' rounding: the roomiest)
            p = max(range(processes), key=lambda p: room[p])
            where[sid] = p
            room[p] -= sessions[sid].weight
    return where


def cost(sessions: dict[str, Placed], where: dict[str, int], processes: int) -> tuple[int, int]:
    """(cohort pieces: (key, process) pairs, the heaviest process's places) of a placement."""
    pieces = {(placed.key, where[sid]) for sid, placed in sessions.items()}
    loads = [0] * processes
    for sid, placed in sessions.items():
        loads[where[sid]] += placed.weight
    return len(pieces), max(loads, default=0)


def worth_it(sessions: dict[str, Placed], target: dict[str, int], processes: int) -> bool:
    """Whether moving to ``target`` is worth its moves: it has fewer cohort pieces, or its
    heaviest process is lighter by 2 places and a tenth of a fair share at least."""
    now = cost(sessions, {sid: p.process for sid, p in sessions.items()}, processes)
    then = cost(sessions, target, processes)
    total = sum(p.weight for p in sessions.values())
    return then[0] < now[0] or now[1] - then[1] >= max(2, total / processes / 10)
