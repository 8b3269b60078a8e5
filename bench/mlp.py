"""Benchmark of the playground (MLP lab): training speed on one thread as the worker runs
it, what the optimizer/schedule/gradient views cost, the size of a frame, and what a
websocket client actually receives from a real server on loopback.

    PYTHONPATH=backend python -m bench.mlp

Medians of several runs; the machine is shared and noisy, so compare rows of one run.
TensorFlow Playground's own figures on this machine (its JavaScript, in headless Chromium):
46.7 epochs/s on the default setup and 10.8 on the big one."""

from __future__ import annotations

import asyncio
import json
import statistics
import time
from typing import Any

import torch
import websockets

from bench.common import DEVICE, WHERE, Row, median_time, running_server
from descent.labs.mlp.lab import Lab
from descent.labs.mlp.schema import Config
from descent.protocol import to_json

TITLE = f"playground / MLP lab ({WHERE})"
BIG = {"dataset": "spiral", "features": ["x1", "x2", "x1sq", "x2sq", "x1x2", "sinx1", "sinx2"], "hidden": [8] * 6,
       "activation": "tanh"}
SETUPS: dict[str, dict[str, Any]] = {
    "default (circle, 2 features, 4-2, tanh, sgd)": {},
    "big (spiral, 7 features, 6x8, tanh)": BIG,
    "default + adam + warmup_cosine": {"optimizer": "adam", "schedule": "warmup_cosine"},
    "default + yogi (hand-written optimizer)": {"optimizer": "yogi"},
    "default + batchnorm + dropout 0.1": {"norm": "batch", "dropout": 0.1},
}
PLAYGROUND = {"default": 46.7, "big": 10.8}


def training_rows() -> list[Row]:
    torch.set_num_threads(1)
    out: list[Row] = []
    for name, overrides in SETUPS.items():
        lab = Lab(Config(**overrides), DEVICE)
        lab.step(50)  # warm up
        per_epoch = lab.steps_per_epoch
        epochs = 10
        seconds = median_time(lambda: lab.step(epochs * per_epoch))
        reference = PLAYGROUND.get(name.split()[0]) if "+" not in name else None
        note = f"{per_epoch} steps of batch {lab.config.batch_size} per epoch"
        if reference:
            note += f"; TF Playground: {reference} epochs/s ({epochs / seconds / reference:.1f}x)"
        out.append({"name": f"epochs/s, {name}", "value": round(epochs / seconds, 1), "unit": "epochs/s", "note": note})
        per_step = seconds / (epochs * per_epoch)
        out.append({"name": f"steps/s, {name}", "value": round(1 / per_step), "unit": "steps/s",
                    "note": f"{per_step * 1e6:.0f} µs per optimizer step, schedule and statistics included"})
        views = median_time(lambda: lab.views(full=False), repeats=9)
        out.append({"name": f"views per frame, {name}", "value": round(views * 1e3, 2), "unit": "ms",
                    "note": "boundary and neuron maps (one forward pass), weights, gradient norms, histograms, optimizer state"})
    for name, overrides in (("default", {}), ("big", BIG)):
        lab = Lab(Config(**overrides), DEVICE)
        lab.step(lab.steps_per_epoch * 5)
        frame = {"type": "frame", "views": lab.views(full=False), "metrics": lab.metrics()}
        full = {"type": "frame", "views": lab.views(full=True), "metrics": lab.metrics()}
        out.append({"name": f"frame size, {name}", "value": len(to_json(frame)), "unit": "bytes",
                    "note": f"a steady frame (JSON); the first frame of a client: {len(to_json(full))} bytes"})
        inside = {k: frame["views"][k] for k in ("neurons", "weights", "biases")}
        layers = len(lab.config.hidden)
        out.append({"name": f"frame size, inside the network, {name}", "value": len(to_json(inside)), "unit": "bytes",
                    "note": f"of the steady frame: {layers} layers of neuron maps ({lab.config.hidden}), weights, biases"})
    return out


async def watch(url: str, config: dict[str, Any], seconds: float, ack: bool) -> tuple[float, float]:
    """Play ``config`` for ``seconds``; (frames/s received, epochs/s seen by the client)."""
    async with websockets.connect(url, max_size=None) as ws:
        await ws.send(json.dumps({"type": "configure", "config": config}))
        await ws.send(json.dumps({"type": "control", "action": "play"}))
        frames, first, last = 0, None, None
        # the window opens at the first running frame: a fresh server's worker builds its first
        # lab (imports, first allocations) for seconds on a loaded machine
        while first is None or time.monotonic() - first[0] < seconds:
            msg = json.loads(await asyncio.wait_for(ws.recv(), 120))
            if msg["type"] != "frame" or msg["state"] != "running":
                continue
            if ack:
                await ws.send('{"type": "ack"}')
            now = time.monotonic()
            if first is None:
                first = (now, msg["epoch"])
                continue
            frames += 1
            last = (now, msg["epoch"])
        assert first and last, "no frames"
        span = last[0] - first[0]
        return frames / span, (last[1] - first[1]) / span


def transport_rows(seconds: float = 5.0, repeats: int = 3) -> list[Row]:
    out: list[Row] = []
    with running_server({}, "bench-server") as (url, _, _):
        ws_url = url.replace("http", "ws") + "/ws"
        for name, overrides in (("default", {}), ("big", BIG)):
            for ack in (True, False):
                runs = [asyncio.run(watch(ws_url, overrides, seconds, ack)) for _ in range(repeats)]
                fps = statistics.median(r[0] for r in runs)
                eps = statistics.median(r[1] for r in runs)
                how = "acks each frame, like the page" if ack else "never acks (paced by the transport)"
                out.append({"name": f"websocket frames/s, {name}, {'ack' if ack else 'no ack'}", "value": round(fps, 1),
                            "unit": "frames/s", "note": f"{how}; asked for 30/s; median of {repeats} x {seconds:g} s"})
                out.append({"name": f"websocket epochs/s, {name}, {'ack' if ack else 'no ack'}", "value": round(eps, 1),
                            "unit": "epochs/s", "note": "training speed as the client sees it, while frames are sent"})
    return out


def rows() -> list[Row]:
    return training_rows() + transport_rows()


if __name__ == "__main__":
    from bench.common import print_table

    print_table(TITLE, rows())
