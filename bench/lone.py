"""One session against naive eager PyTorch, on one core: the epochs/s a lone default-setup
session delivers to a websocket client (the server and its worker processes pinned to one
core, the client on the other), beside what the textbook loop (``zero_grad`` / ``backward``
/ ``step`` on the same network, data and batch, pinned to the same core) does, measured
alternately in one run, medians of several windows; and how soon a new session's first
frame arrives (connect, play, first frame).

    PYTHONPATH=backend:. python -m bench.lone                     # part of make bench
    PYTHONPATH=backend:. python -m bench.lone --backend ../before/backend  # another checkout's server

The session's epochs are counted from its frames (``epoch`` in each), so they include the
frames' own work and their transport; the eager loop evaluates both splits once an epoch as
the session does, and prints nothing."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import time

import torch
import websockets

from bench.common import WHERE, Row, print_table, running_server
from bench.load import HEAD, SERVER_ENV
from descent.labs.mlp.lab import Lab
from descent.labs.mlp.schema import Config

TITLE = f"one session against eager PyTorch, one core each way ({WHERE})"
WINDOW = 4.0  # seconds per measurement
ROUNDS = 3  # alternations of eager and session (medians)
SERVER_CORE, CLIENT_CORE = 1, 0


def eager_epochs_per_second(seconds: float) -> float:
    """The default setup's network and data, trained the textbook way for ``seconds``."""
    lab = Lab(Config(), torch.device("cpu"))
    cfg = lab.config
    torch.manual_seed(0)
    net = torch.nn.Sequential(*(m for i, width in enumerate([*cfg.hidden, 1])
                                for m in (torch.nn.Linear(([len(cfg.features), *cfg.hidden])[i], width), torch.nn.Tanh())))
    optimizer = torch.optim.SGD(net.parameters(), lr=cfg.learning_rate)
    x, y, x_eval, y_eval = lab.x_train, lab.y_train, lab.x_eval, lab.y_eval
    bs, steps = cfg.batch_size, lab.steps_per_epoch

    def loss_of(out: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return 0.5 * torch.nn.functional.mse_loss(out[:, 0], target)

    epochs, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        order = torch.randperm(len(y))
        for i in range(steps):
            idx = order[i * bs: (i + 1) * bs]
            optimizer.zero_grad()
            loss_of(net(x[idx]), y[idx]).backward()
            optimizer.step()
        with torch.no_grad():
            loss_of(net(x_eval), y_eval).item()
        epochs += 1
    return epochs / (time.perf_counter() - start)


async def session(ws_url: str, seconds: float) -> tuple[float, float]:
    """(seconds from connecting to the first frame after play, epochs/s over ``seconds`` after it)."""
    began = time.perf_counter()
    async with websockets.connect(ws_url, max_size=None, ping_interval=None) as ws:
        json.loads(await ws.recv())  # hello
        await ws.send(json.dumps({"type": "control", "action": "play"}))
        first: float | None = None
        window: tuple[float, int] | None = None
        last = (0.0, 0)
        while True:
            text = await ws.recv()
            head = HEAD.match(text[:400]) if isinstance(text, str) else None
            if head is None or head[1] != "frame" or head[2] != "running":
                continue
            await ws.send('{"type":"ack"}')
            now, epoch = time.perf_counter(), int(head[3])
            if first is None:
                first = now - began
                window = (now + 0.5, -1)  # half a second to settle
            assert window is not None
            if window[1] < 0 and now >= window[0]:
                window = (now, epoch)
            elif window[1] >= 0:
                last = (now, epoch)
                if now - window[0] >= seconds:
                    break
        return first, (last[1] - window[1]) / (last[0] - window[0])


def rows(backend: str | None = None, rounds: int = ROUNDS) -> list[Row]:
    env = {**SERVER_ENV, "PYTHONPATH": backend} if backend else SERVER_ENV
    mine = os.sched_getaffinity(0)
    eager, lone, firsts = [], [], []
    torch.set_num_threads(1)
    with running_server(env, "bench-lone", cpus=str(SERVER_CORE)) as (url, server, _):  # (taskset: every thread of it)
        ws_url = url.replace("http", "ws") + "/ws"
        try:
            for _ in range(rounds):
                os.sched_setaffinity(0, {SERVER_CORE})  # (this thread runs the eager loop, then the client)
                eager.append(eager_epochs_per_second(WINDOW))
                os.sched_setaffinity(0, {CLIENT_CORE})
                first, rate = asyncio.run(session(ws_url, WINDOW))
                firsts.append(first)
                lone.append(rate)
                time.sleep(1.0)  # the finished session goes
        finally:
            os.sched_setaffinity(0, mine)
    e, s = statistics.median(eager), statistics.median(lone)
    return [
        {"name": "naive eager PyTorch, default setup", "value": round(e, 1), "unit": "epochs/s",
         "note": f"zero_grad/backward/step on one core; median of {rounds} x {WINDOW:g} s: {', '.join(f'{v:.0f}' for v in eager)}"},
        {"name": "one session to a websocket client", "value": round(s, 1), "unit": "epochs/s",
         "note": f"server on one core, counted from frames; median of {rounds}: {', '.join(f'{v:.0f}' for v in lone)}"},
        {"name": "session / eager", "value": round(s / e, 2), "unit": "x", "note": "the issue asks for 5x or more"},
        {"name": "first frame after connecting", "value": round(statistics.median(firsts) * 1e3), "unit": "ms",
         "note": f"connect, hello, play, first frame; median of {rounds}; the issue asks for under 1 s"},
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", help="run the server from this backend/ directory (another checkout)")
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    args = parser.parse_args()
    print_table(TITLE, rows(args.backend, args.rounds))


if __name__ == "__main__":
    main()
