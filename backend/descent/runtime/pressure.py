"""Frames give way before training when a worker is short of time.

A worker's time goes to training and to frames (views, encoding, the pipe). While it has
time to spare, every client gets the frame rate it asked for. When it has none (its rounds
leave no idle time) and frames take more than ``FRAME_SHARE`` of its busy time, every
session's frame interval is stretched, the same for all, until frames are back to that
share: training keeps at least the rest, so each running session keeps a floor of training
per round, and a machine slower than the one the round was tuned on (or a core taken by
something else) lowers the frame rate first. When time is spare again the stretch eases
back to 1. The frame rate a client gets is in each frame (``frame_rate`` is what it asked;
frames.py schedules by interval x stretch).

Before any frame is dropped, frames get lighter: the costliest views that change slowly (a
lab's ``views(full, detail=False)``: the inside of the playground's network and its slow statistics)
go with every second frame only (``detail_every``), then every fourth, then every eighth,
one step a window, the page keeping the last it had; only if that is not enough does the interval
stretch. (For the big network a detailed frame costs the worker and the event loop about
three times a light one: bench/frames.py.) Detail comes back a step at a time once the
worker idles a fair part of its time again (``SPARE``: a detailed frame costs more, so a
worker that is only just not saturated would flip back and forth). ``least``: the
operator's floor (settings.frame_detail_every)."""

from __future__ import annotations

import time

FRAME_SHARE = 0.5  # frames may take at most this part of a saturated worker's time
WINDOW = 0.5  # seconds between adjustments
SATURATED = 0.05  # a worker idle less than this part of a window has no time to spare
MOST = 10.0  # frames are never stretched past 1/10 of the rate asked for
LIGHTEST = 8  # under pressure the slow views go with every second frame, then every fourth, eighth
SPARE = 0.25  # detail comes back when the worker idles this part of a window


class Pressure:
    def __init__(self, least: int = 1) -> None:
        self.stretch = 1.0  # frame intervals are multiplied by this
        self.least = least
        self.detail_every = least  # every this many frames carry the slow views
        self._frames = self._training = self._idle = 0.0
        self._since = time.perf_counter()

    def framed(self, seconds: float) -> None:
        self._frames += seconds

    def trained(self, seconds: float) -> None:
        self._training += seconds

    def waited(self, seconds: float) -> None:
        """The worker waited this long for work (or for a session's next frame or step)."""
        self._idle += seconds

    def update(self, now: float) -> None:
        """Once a window: stretch or ease the frame intervals from the window's split."""
        elapsed = now - self._since
        if elapsed < WINDOW:
            return
        busy = self._frames + self._training
        share = self._frames / busy if busy > 0 else 0.0
        saturated = self._idle < SATURATED * elapsed
        if saturated and share > FRAME_SHARE:
            lightest = max(LIGHTEST, self.least)
            if self.detail_every < lightest:  # lighter frames first
                self.detail_every = min(lightest, max(2, 2 * self.detail_every))
            else:  # (a square root: half way towards the stretch that would give the share, per window)
                self.stretch = min(MOST, self.stretch * (share / FRAME_SHARE) ** 0.5)
        elif self.stretch > 1.0:
            self.stretch = max(1.0, self.stretch * ((share / FRAME_SHARE) ** 0.5 if saturated else 0.8))
        elif self.detail_every > self.least and self._idle >= SPARE * elapsed:
            self.detail_every = max(self.least, self.detail_every // 2)
        self._frames = self._training = self._idle = 0.0
        self._since = now
