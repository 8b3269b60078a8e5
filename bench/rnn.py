"""Benchmark of the recurrent lab: training speed (epochs/s), the views' cost and frame size,
time for the default (GRU on the delay task) to reach 95 % held-out accuracy, and frames/s
to one client over a real websocket. Run: PYTHONPATH=backend python -m bench.rnn

Training figures are on one thread (as a worker runs them); the machine is shared and noisy,
so compare rows of one run rather than runs of different days."""

from __future__ import annotations

import json
import statistics
import time
from typing import Any

import torch

from bench.common import DEVICE, WHERE, median_time, print_table
from descent.labs.rnn.lab import Lab
from descent.labs.rnn.schema import EPOCH_STEPS, Config

TITLE = f"rnn lab ({WHERE})"
SETUPS = {
    "default (GRU, delay, T=12, hidden 32)": Config(),
    "LSTM 2 layers, text, T=32, hidden 64": Config(cell="lstm", layers=2, task="text", length=32, hidden=64),
}


def frame_bytes(lab: Lab, full: bool) -> int:
    lab.viewer.stale = True
    return len(json.dumps(lab.views(full), allow_nan=False).encode())


def time_to_95(seed: int, limit_s: float = 120.0) -> tuple[int, float]:
    lab = Lab(Config(seed=seed), DEVICE)
    started = time.perf_counter()
    while (lab.metrics()["test_accuracy"] or 0) < 0.95 and time.perf_counter() - started < limit_s:
        lab.step(EPOCH_STEPS)
        lab.views(False)  # a frame's worth of views per epoch, as a watched run pays
    return lab.epoch, time.perf_counter() - started


def frames_per_second(seconds: float = 5.0) -> float:
    """Frames one client receives from a real server while the default trains."""
    from websockets.sync.client import connect

    from bench.common import running_server

    with running_server({"DESCENT_DEVICE": "cpu"}, "bench-rnn") as (url, _, _):
        with connect(url.replace("http", "ws", 1) + "/ws", max_size=2**24) as ws:
            ws.send(json.dumps({"type": "subscribe", "frame_rate": 30}))
            ws.send(json.dumps({"type": "configure", "config": {"lab": "rnn"}}))
            while json.loads(ws.recv(timeout=60)).get("lab") != "rnn":
                pass
            ws.send(json.dumps({"type": "control", "action": "play"}))
            frames, started = 0, time.monotonic()
            while time.monotonic() - started < seconds:
                frames += json.loads(ws.recv(timeout=60))["type"] == "frame"
            return frames / (time.monotonic() - started)


def rows() -> list[dict[str, Any]]:
    torch.set_num_threads(1)
    out: list[dict[str, Any]] = []
    for label, cfg in SETUPS.items():
        lab = Lab(cfg, DEVICE)
        lab.step(EPOCH_STEPS)  # warm up
        seconds = median_time(lambda: lab.step(EPOCH_STEPS), repeats=3)
        out.append({"name": f"epochs/s, {label}", "value": round(1 / seconds, 2), "unit": "epochs/s",
                    "note": f"{EPOCH_STEPS} steps of batch {cfg.batch_size} + the held-out evaluation"})

        def fresh_views() -> None:
            lab.viewer.stale = True
            lab.views(False)

        out.append({"name": f"views() after an epoch, {label}", "value": round(median_time(fresh_views, repeats=5) * 1e3, 1), "unit": "ms",
                    "note": "hand unroll + dL/dh_t on 32 held-out sequences (once per epoch; cached between)"})
        out.append({"name": f"frame views size, {label}", "value": frame_bytes(lab, False), "unit": "bytes", "note": "JSON text"})
    learned = [time_to_95(seed) for seed in (1, 2, 3)]
    out.append({"name": "seconds to 95% (default: GRU, delay 11)", "value": round(statistics.median(t for _, t in learned), 2), "unit": "s",
                "note": f"seeds 1-3: {[round(t, 1) for _, t in learned]} s, epochs {[e for e, _ in learned]}"})
    out.append({"name": "frames/s to one client (default, playing)", "value": round(frames_per_second(), 1), "unit": "frames/s",
                "note": "real server, asked for 30 frames/s"})
    return out


def main() -> None:
    print_table(TITLE, rows())


if __name__ == "__main__":
    main()
