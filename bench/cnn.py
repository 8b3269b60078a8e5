"""Benchmark of the convolution lab: training speed of each preset on the 8x8 digits, the size
and cost of its frames, and the time to 95 % test accuracy, in-process (one thread, as a worker
runs it) and over a real server's websocket (frames/s to one client on the way).
Run: PYTHONPATH=backend python -m bench.cnn

The machine is shared and noisy: compare rows of one run rather than runs of different days."""

from __future__ import annotations

import json
import statistics
import time
from typing import Any

import torch

from bench.common import DEVICE, WHERE, median_time, print_table, running_server
from descent.labs.cnn.lab import Lab
from descent.labs.cnn.schema import PRESETS, Config

TITLE = f"convolution lab ({WHERE})"
TARGET = 0.95


def frame_bytes(lab: Lab, full: bool) -> int:
    """Size of the views part of a frame as the transport sends it (JSON text)."""
    return len(json.dumps(lab.views(full), allow_nan=False).encode())


def time_to_target(seed: int) -> tuple[int, float]:
    """Epochs and seconds of training (evaluation included) until test accuracy >= TARGET."""
    lab = Lab(Config(seed=seed), DEVICE)
    started = time.perf_counter()
    while (lab.metrics()["test_accuracy"] or 0) < TARGET and lab.epoch < 200:
        lab.step(lab.steps_per_epoch)
    return lab.epoch, time.perf_counter() - started


def over_a_server() -> tuple[float, float, int]:
    """Seconds from 'play' to a frame with test accuracy >= TARGET, the frames/s that one
    client got meanwhile, and the epochs it took: a real server, its worker processes, a real
    websocket client asking for 30 frames/s."""
    from websockets.sync.client import connect

    with running_server({}, "bench-cnn") as (url, _, _), connect(url.replace("http", "ws") + "/ws", max_size=None) as ws:
        json.loads(ws.recv())
        ws.send(json.dumps({"type": "subscribe", "frame_rate": 30}))
        ws.send(json.dumps({"type": "configure", "config": {"lab": "cnn"}}))
        while not ((m := json.loads(ws.recv(timeout=120)))["type"] == "frame" and m["lab"] == "cnn"):
            pass
        ws.send(json.dumps({"type": "control", "action": "play"}))
        started, frames = time.perf_counter(), 0
        while True:
            m = json.loads(ws.recv(timeout=120))
            if m["type"] != "frame":
                continue
            frames += 1
            if (m["metrics"].get("test_accuracy") or 0) >= TARGET or time.perf_counter() - started > 120:
                seconds = time.perf_counter() - started
                return seconds, frames / seconds, m["epoch"]


def rows() -> list[dict[str, Any]]:
    """The benchmark table: one dict per row (name, value, unit, note)."""
    torch.set_num_threads(1)
    out: list[dict[str, Any]] = []
    for name, preset in PRESETS.items():
        cfg = Config(blocks=preset["blocks"])
        lab = Lab(cfg, DEVICE)
        lab.step(lab.steps_per_epoch)  # warm up
        seconds = median_time(lambda: lab.step(lab.steps_per_epoch), repeats=3)
        params = Lab.parameter_count(cfg)
        out.append({"name": f"epochs/s, {preset['label']} on digits", "value": round(1 / seconds, 2), "unit": "epochs/s",
                    "note": f"{params:,} parameters, {lab.steps_per_epoch} steps of batch {cfg.batch_size}, incl. the test evaluation"})
        if name == "lenet":
            view_s = median_time(lambda: lab.views(False), repeats=20)
            out.append({"name": "views() per frame, LeNet-style", "value": round(view_s * 1e3, 2), "unit": "ms", "note": "filters, maps of one input, confusion, mistakes"})
            out.append({"name": "frame views size, LeNet-style", "value": frame_bytes(lab, False), "unit": "bytes", "note": "uint8 base64, the layer shown by default (show=0), JSON"})
            lab.configure(Config(blocks=preset["blocks"], show=[0, 2, 3, 5]))
            out.append({"name": "frame views size, LeNet-style, 4 layers shown", "value": frame_bytes(lab, False), "unit": "bytes", "note": "show=0,2,3,5 (the most a page asks)"})
    big = Config(dataset="digits16", blocks=["conv16k3p1", "act", "conv16k3p1", "act", "max2", "conv16k3p1", "act", "conv16k3p1", "act", "max2", "flatten", "dense64", "act"],
                 show=[0, 2, 5, 7])
    lab = Lab(big, DEVICE)
    out.append({"name": "frame views size, 16x16 digits, 4 conv layers of 16", "value": frame_bytes(lab, False), "unit": "bytes", "note": "a larger setup's frame, its 4 conv layers shown"})
    reached = [time_to_target(seed) for seed in (1, 2, 3)]
    out.append({"name": f"seconds to {TARGET:.0%} test accuracy, default preset, in-process", "value": round(statistics.median(t for _, t in reached), 2), "unit": "s",
                "note": f"seeds 1-3: {[round(t, 2) for _, t in reached]} s, epochs {[e for e, _ in reached]}"})
    seconds, fps, epochs = over_a_server()
    out.append({"name": f"seconds to {TARGET:.0%} test accuracy over a real server", "value": round(seconds, 2), "unit": "s", "note": f"from play, {epochs} epochs; one client"})
    out.append({"name": "frames/s to one client meanwhile", "value": round(fps, 1), "unit": "frames/s", "note": "asked for 30"})
    return out


def main() -> None:
    print_table(TITLE, rows())


if __name__ == "__main__":
    main()
