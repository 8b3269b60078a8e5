"""What one playground frame costs the server, piece by piece, and what binary websocket
frames would save: the views (the worker's grid pass and statistics), the JSON text, and
permessage-deflate as the event loop runs it for a class (``server/deflate.py``'s
settings, one compressor per client, fifty clients' streams interleaved), for a detailed
frame and a light one (``runtime/pressure.py``: a busy worker's frames leave the network's
inside out), in the default and the big setup.

The "binary" columns measure the alternative the heavy arrays were kept from: the same
frame with each base64 array sent as its raw bytes after a JSON head (one binary websocket
message), deflated alike. Side by side in one run, the medians of several.

    PYTHONPATH=backend python -m bench.frames"""

from __future__ import annotations

import base64
import json
import re
import statistics
import time
import zlib
from typing import Any

import torch

from bench.common import DEVICE, Row, median_time
from bench.mlp import BIG
from descent.labs.mlp.lab import Lab
from descent.labs.mlp.schema import Config
from descent.protocol import to_json
from descent.server.deflate import LEVEL, MEM_LEVEL, WINDOW_BITS

TITLE = "a playground frame's cost: views, JSON, deflate (and binary frames, not used)"
CLIENTS = 50  # interleaved deflate streams, as a class's
FRAMES = 12  # consecutive frames of one run, each sent to every client
_BASE64 = re.compile(r"[A-Za-z0-9+/]{64,}={0,2}")


def frames_of(lab: Lab, detail: bool) -> list[str]:
    """FRAMES consecutive frames' JSON text (25 steps apart), as the worker sends them."""
    out = []
    for _ in range(FRAMES):
        lab.step(25)
        out.append(to_json({"type": "frame", "views": lab.views(False, detail), "metrics": lab.metrics()}))
    return out


def as_binary(text: str) -> bytes:
    """The frame as one binary message: its JSON with each base64 array replaced by
    {"blob": i}, the head's length, then the arrays' raw bytes."""
    blobs: list[bytes] = []

    def lift(v: Any) -> Any:
        if isinstance(v, dict):
            return {k: lift(x) for k, x in v.items()}
        if isinstance(v, list):
            return [lift(x) for x in v]
        if isinstance(v, str) and _BASE64.fullmatch(v):
            blobs.append(base64.b64decode(v))
            return {"blob": len(blobs) - 1}
        return v

    head = json.dumps(lift(json.loads(text)), separators=(",", ":")).encode()
    return len(head).to_bytes(4, "little") + head + b"".join(blobs)


def deflated(messages: list[bytes]) -> tuple[float, float]:
    """(µs per message, bytes per message) deflating ``messages`` to CLIENTS streams in turn."""
    streams = [zlib.compressobj(LEVEL, zlib.DEFLATED, -WINDOW_BITS, MEM_LEVEL) for _ in range(CLIENTS)]
    size = 0
    start = time.perf_counter()
    for m in messages:
        for s in streams:
            size += len(s.compress(m) + s.flush(zlib.Z_SYNC_FLUSH))
    sent = len(messages) * CLIENTS
    return (time.perf_counter() - start) / sent * 1e6, size / sent


def rows(repeats: int = 5) -> list[Row]:
    torch.set_num_threads(1)
    out: list[Row] = []
    for name, overrides in (("default", {}), ("big", BIG)):
        lab = Lab(Config(**overrides), DEVICE)
        lab.step(lab.steps_per_epoch * 5)
        lab.views(True)
        for kind, detail in (("detailed", True), ("light", False)):
            texts = frames_of(lab, detail)
            views = median_time(lambda: lab.views(False, detail), repeats=9)
            frame = {"type": "frame", "views": lab.views(False, detail), "metrics": lab.metrics()}
            encode = median_time(lambda: to_json(frame), repeats=9)
            raw = [t.encode() for t in texts]
            binary = [as_binary(t) for t in texts]
            runs = [(deflated(raw), deflated(binary)) for _ in range(repeats)]  # (alternately: the same machine)
            text_us = statistics.median(r[0][0] for r in runs)
            binary_us = statistics.median(r[1][0] for r in runs)
            text_bytes, binary_bytes = runs[0][0][1], runs[0][1][1]
            size = statistics.mean(map(len, raw))
            label = f"{name}, {kind} frame"
            out.append({"name": f"views, {label}", "value": round(views * 1e6), "unit": "µs",
                        "note": "the worker's views (grid pass, statistics, encodings)"})
            out.append({"name": f"JSON, {label}", "value": round(encode * 1e6), "unit": "µs", "note": f"{size / 1e3:.1f} kB of text"})
            out.append({"name": f"deflate, {label}", "value": round(text_us), "unit": "µs",
                        "note": f"-> {text_bytes / 1e3:.1f} kB; {CLIENTS} clients' streams, median of {repeats}"})
            out.append({"name": f"deflate if binary, {label}", "value": round(binary_us), "unit": "µs",
                        "note": f"{statistics.mean(map(len, binary)) / 1e3:.1f} kB raw -> {binary_bytes / 1e3:.1f} kB "
                                f"({binary_us / text_us:.2f}x the time, {binary_bytes / text_bytes:.2f}x the bytes)"})
    return out


if __name__ == "__main__":
    from bench.common import print_table

    print_table(TITLE, rows())
