"""Where running sessions should train (runtime/placement.py): cohorts together, processes even."""

from __future__ import annotations

from descent.runtime.placement import Placed, cost, plan, worth_it


def place(keys: list[str], processes: int = 2, weight: int = 1) -> dict[str, Placed]:
    """Sessions created in turn, each on the next process (as creation places them), with these keys."""
    return {f"s{i}": Placed(key, weight, i % processes) for i, key in enumerate(keys)}


def test_a_class_on_one_preset_stays_split_evenly_and_nothing_moves() -> None:
    sessions = place(["a"] * 50)
    target = plan(sessions, 2)
    assert all(target[sid] == p.process for sid, p in sessions.items())
    assert not worth_it(sessions, target, 2)


def test_a_mixed_class_gathers_its_presets_and_stays_even() -> None:
    sessions = place([k for _ in range(10) for k in "abcde"])  # five presets of ten, spread by creation
    assert cost(sessions, {s: p.process for s, p in sessions.items()}, 2) == (10, 25)
    target = plan(sessions, 2)
    pieces, heaviest = cost(sessions, target, 2)
    assert pieces <= 6 and heaviest == 25
    assert worth_it(sessions, target, 2)
    moved = sum(target[s] != p.process for s, p in sessions.items())
    assert moved <= 25
    again = {s: Placed(p.key, p.weight, target[s]) for s, p in sessions.items()}  # once moved, it stays
    assert plan(again, 2) == target and not worth_it(again, plan(again, 2), 2)


def test_weights_count_places_and_one_pause_reshuffles_nothing() -> None:
    sessions = {**place(["big"] * 10, weight=4), **{f"d{i}": Placed("default", 1, i % 2) for i in range(20)}}
    target = plan(sessions, 2)
    pieces, heaviest = cost(sessions, target, 2)
    assert heaviest <= 30 + 4  # 60 places in all: a fair share, rounded up, plus one session's weight at most
    del sessions["d3"]  # a student pauses
    assert not worth_it(sessions, plan(sessions, 2), 2)


def test_a_lone_cohort_on_one_process_and_uneven_loads_even_out() -> None:
    sessions = {f"s{i}": Placed("a", 1, 0) for i in range(20)}  # all on process 0 (the others paused)
    target = plan(sessions, 2)
    assert sorted(target.values()).count(1) == 10
    assert worth_it(sessions, target, 2)
