"""Frames give way first when a worker is short of time (runtime/pressure.py): frames get
lighter (the slow views with every second frame, then every fourth, eighth), then their intervals stretch while frames
take more than their share of a saturated worker; both ease back once time is spare, and
the schedule of a session's frames follows them."""

from __future__ import annotations

from descent.runtime.frames import Frames
from descent.runtime.pressure import FRAME_SHARE, LIGHTEST, MOST, SPARE, WINDOW, Pressure


def window(p: Pressure, start: float, frames: float, training: float, idle: float) -> float:
    """One window of work split as given (fractions of WINDOW); returns its end."""
    p.framed(frames * WINDOW)
    p.trained(training * WINDOW)
    p.waited(idle * WINDOW)
    end = start + WINDOW
    p.update(end)
    return end


def test_frames_stretch_while_they_crowd_out_training_and_ease_back() -> None:
    p = Pressure()
    now = p._since
    now = window(p, now, frames=0.3, training=0.7, idle=0.0)  # saturated, frames within their share
    assert (p.stretch, p.detail_every) == (1.0, 1)
    lighter = []
    for _ in range(3):  # frames crowd training out: lighter frames first, a step a window
        now = window(p, now, frames=0.8, training=0.2, idle=0.0)
        lighter.append((p.stretch, p.detail_every))
    assert lighter == [(1.0, 2), (1.0, 4), (1.0, LIGHTEST)] and LIGHTEST == 8
    stretches = []
    for _ in range(6):  # saturated, frames 80 %: the stretch grows, window by window
        now = window(p, now, frames=0.8, training=0.2, idle=0.0)
        stretches.append(p.stretch)
    assert stretches == sorted(stretches) and stretches[0] > 1.0 and stretches[-1] <= MOST
    assert stretches[0] == (0.8 / FRAME_SHARE) ** 0.5
    held = p.stretch
    now = window(p, now, frames=FRAME_SHARE, training=1 - FRAME_SHARE, idle=0.0)  # at the share: it holds
    assert p.stretch == held
    now = window(p, now, frames=0.8, training=0.2, idle=0.5)  # time to spare: it eases, whatever the split
    assert p.stretch < held
    for _ in range(40):
        now = window(p, now, frames=0.1, training=0.1, idle=0.8)
    assert (p.stretch, p.detail_every) == (1.0, 1)


def test_detail_comes_back_only_with_time_to_spare() -> None:
    """A worker only just not saturated keeps its frames light (a detailed frame costs more:
    it would flip back and forth); one idle a fair part of its time gets the detail back.
    The operator's floor (settings.frame_detail_every) holds throughout."""
    p = Pressure()
    now = p._since
    for _ in range(3):
        now = window(p, now, frames=0.8, training=0.2, idle=0.0)
    assert p.detail_every == LIGHTEST
    for _ in range(5):
        now = window(p, now, frames=0.4, training=0.5, idle=SPARE / 2)
    assert p.detail_every == LIGHTEST
    back = []
    for _ in range(4):  # a step a window
        now = window(p, now, frames=0.3, training=0.3, idle=SPARE + 0.1)
        back.append(p.detail_every)
    assert back == [4, 2, 1, 1]
    floor = Pressure(least=3)
    now = window(floor, floor._since, frames=0.8, training=0.2, idle=0.0)
    assert floor.detail_every == 6 and floor.stretch == 1.0  # (twice the floor)
    now = window(floor, now, frames=0.8, training=0.2, idle=0.0)
    assert floor.detail_every == LIGHTEST and floor.stretch == 1.0
    now = window(floor, now, frames=0.8, training=0.2, idle=0.0)
    assert floor.detail_every == LIGHTEST and floor.stretch > 1.0  # (then the interval stretches)
    for _ in range(40):
        now = window(floor, now, frames=0.1, training=0.1, idle=0.8)
    assert (floor.stretch, floor.detail_every) == (1.0, 3)


def test_light_frames_come_between_detailed_ones() -> None:
    frames = Frames()
    frames.pressure.detail_every = 2
    detailed = []
    for i in range(6):
        detailed.append(frames.detailed())
        frames.sent(100.0 + i)
    assert detailed == [True, False, True, False, True, False]
    frames.restart()  # a new client gets everything at once
    frames.count = 1
    assert frames.detailed()


def test_a_window_not_yet_over_changes_nothing() -> None:
    p = Pressure()
    p.framed(WINDOW)
    p.update(p._since + WINDOW / 2)
    assert p.stretch == 1.0


def test_a_sessions_frames_follow_the_stretch() -> None:
    frames = Frames(interval=1 / 30)
    frames.pressure.stretch = 3.0
    frames.sent(100.0)
    assert abs(frames.next_in(100.0) - 3 / 30) < 1e-9


def test_a_worker_with_more_frames_due_than_it_can_draw_stretches_them_and_every_session_trains() -> None:
    """Sixty playground sessions on one in-process worker, each asking for 60 frames/s of the
    big network's views (its neuron maps): no machine draws that and trains too, so the
    worker stretches the intervals, and every session still trains."""
    import time

    import torch

    from descent.runtime.session import Session
    from descent.runtime.worker import Worker

    big = {"dataset": "spiral", "features": ["x1", "x2", "x1sq", "x2sq", "x1x2", "sinx1", "sinx2"], "hidden": [8] * 6}
    worker = Worker()
    worker.start()
    try:
        def make(i: int) -> Session:
            s = Session(f"s{i}", torch.device("cpu"), lambda m: None)
            s.send = lambda m, s=s: s.ack() if m["type"] == "frame" else None  # type: ignore[method-assign]
            s.configure({**big, "seed": i})
            s.frames.interval = 1 / 60  # (what a subscribe message at 60 frames/s sets)
            worker.add(s)
            s.control("play")
            return s

        sessions = [worker.submit(lambda i=i: make(i)).result() for i in range(60)]
        deadline = time.monotonic() + 120  # (a safety net: the stretch comes within seconds)
        while time.monotonic() < deadline and not (worker.pressure.stretch > 1.5 and min(s.lab.epoch for s in sessions) >= 2):
            time.sleep(0.1)
        assert worker.pressure.stretch > 1.5 and worker.pressure.detail_every == LIGHTEST  # (lighter, then fewer)
        assert min(s.lab.epoch for s in sessions) >= 2
    finally:
        worker.stop()
