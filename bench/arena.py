"""Benchmark of the descent arena: unpaced race speed for 1, 3 and 6 racers, the cost of a
frame's views, and frame sizes (a running frame at two race speeds, and a new client's full
frame with the surface grid). Run: PYTHONPATH=backend python -m bench.arena

Figures are medians of several runs on one thread (as the worker runs them); the machine is
shared and noisy, so compare rows of one run rather than runs of different days."""

from __future__ import annotations

import json
import statistics
from typing import Any

import torch

from bench.common import DEVICE, WHERE, median_time, print_table
from descent.history import Cursor
from descent.labs.arena.lab import Lab
from descent.labs.arena.schema import Config, Racer

TITLE = f"descent arena ({WHERE})"

OPTIMIZERS = ("sgd", "momentum", "adam", "rmsprop", "adagrad", "yogi")



def race(racers: int) -> Lab:
    specs = [Racer(optimizer=o, learning_rate=0.001 if o in ("sgd", "momentum") else 0.05) for o in OPTIMIZERS[:racers]]
    return Lab(Config(surface="rosenbrock", racers=specs), DEVICE)


def frame_bytes(lab: Lab, cursor: Cursor, full: bool) -> int:
    """A frame's views and history as the transport sends them (JSON text)."""
    body = {"views": lab.views(full), "history": lab.history.since(cursor)}
    return len(json.dumps(body, allow_nan=False).encode())


def rows() -> list[dict[str, Any]]:
    """The benchmark table: one dict per row (name, value, unit, note)."""
    torch.set_num_threads(1)
    out: list[dict[str, Any]] = []
    for n in (1, 3, 6):
        lab = race(n)
        lab.advance(50)  # warm up
        steps = 500
        seconds = median_time(lambda: lab.advance(steps), repeats=3)
        out.append({"name": f"race steps/s, {n} racer{'s' if n > 1 else ''}", "value": round(steps / seconds),
                    "unit": "steps/s", "note": f"unpaced; every racer moves once per step ({', '.join(OPTIMIZERS[:n])})"})
    lab = race(6)
    view_s = median_time(lambda: lab.views(False), repeats=20)
    out.append({"name": "views() per frame, 6 racers", "value": round(view_s * 1e3, 3), "unit": "ms",
                "note": "true gradient at each point (one autograd call per racer), optimizer state"})
    for speed in (30, 300):
        lab, cursor = race(6), Cursor()
        frame_bytes(lab, cursor, True)
        per_frame = max(1, speed // 30)  # frames go at 30/s
        sizes = []
        for _ in range(20):
            lab.advance(per_frame)
            sizes.append(frame_bytes(lab, cursor, False))
        out.append({"name": f"frame size, 6 racers at {speed} steps/s", "value": int(statistics.median(sizes)), "unit": "bytes",
                    "note": f"{per_frame} new trajectory point(s) per racer per frame at 30 frames/s"})
    lab = race(6)
    out.append({"name": "full frame size (new client / new surface)", "value": frame_bytes(lab, Cursor(), True), "unit": "bytes",
                "note": "adds the 96x96 surface grid as base64 uint16, the LR presets and the optimizer list"})
    lab.advance(2000)
    out.append({"name": "full frame size after 2000 steps, 6 racers", "value": frame_bytes(lab, Cursor(), True), "unit": "bytes",
                "note": "a late client gets the whole (thinned) trajectories"})
    return out


def main() -> None:
    print_table(TITLE, rows())


if __name__ == "__main__":
    main()
