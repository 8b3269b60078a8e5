"""No run is lost without a fault (processes.py, hosting.py, worker.Census, Lab.snapshot):

- the watchdog stops only a worker process that is really stuck, never one whose sessions
  stopped training (paused, diverged, detached, removed, reclaimed, switched lab, or a
  neighbour process crashed);
- a worker process that crashes or is stopped for stalling loses nobody's weights: each
  session comes back from its last snapshot, epoch and history kept, whatever its lab;
- a worker process gives its memory back when its sessions end;
- a closed tab stops costing compute: its session pauses while detached and plays again on
  resume.

Each test runs a real uvicorn server in this process (its worker processes are real), so it
can see the watchdog's checks, the worker processes' pids and the snapshots the server
holds; it waits for events (checks, epochs, pids), never for wall time alone."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Iterator

import pytest
import uvicorn
import websockets

from bench.common import free_port, run_in_thread
from descent.app import create_app
from descent.processes import AGAIN, RESTORED_AT, STALLED, CRASHED, ProcessHost, resident_mb, stuck_for
from descent.settings import Settings
from descent.worker import Census, Worker

Message = dict[str, Any]
STALL = 5.0  # worker_stall_seconds in these tests (a fresh process may take seconds for a first command)
DIVERGING = {"problem": "regression", "dataset": "plane", "features": ["x1", "x2", "x1sq", "x2sq", "x1x2"],
             "hidden": [8, 8], "activation": "relu", "learning_rate": 10}  # (the "lr too high" lesson)
BIG_ATTENTION = {"lab": "attention", "task": "text", "causal": True, "optimizer": "adam", "layers": 4, "heads": 8,
                 "d_model": 128, "ffn": 512, "batch_size": 256, "length": 32}  # 0.8 M parameters


# ---- a real server in this process --------------------------------------------------


@dataclass
class Served:
    url: str
    host: ProcessHost
    checks: list[float] = field(default_factory=list)  # when each watchdog check ran (monotonic)

    def pids(self) -> list[int | None]:
        return [p.process.pid for p in self.host.processes]

    async def checks_after(self, moment: float, count: int, limit: float = 120.0) -> None:
        """Wait until the watchdog has checked ``count`` times after ``moment``."""
        deadline = time.monotonic() + limit
        while sum(1 for t in list(self.checks) if t > moment) < count:
            assert time.monotonic() < deadline, "the watchdog stopped checking"
            await asyncio.sleep(0.1)


@contextmanager
def serving(**overrides: Any) -> Iterator[Served]:
    settings = Settings(device="cpu", worker_processes=2, worker_stall_seconds=STALL, **overrides)
    app = create_app(settings)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, name="test-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 180  # (worker processes import torch: slow on a loaded machine)
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    host = app.state.host
    served = Served(f"ws://127.0.0.1:{port}/ws", host)
    check = host.check

    def counted() -> None:
        check()
        served.checks.append(time.monotonic())

    host.check = counted  # (the janitor looks it up on each call)
    try:
        yield served
    finally:
        server.should_exit = True
        thread.join(timeout=60)


class Client:
    """A page-like websocket client: it acks frames and keeps the other messages."""

    def __init__(self, ws: Any, acks: bool = True) -> None:
        self.ws = ws
        self.acks = acks  # (an ack counts as input: a client that never acks goes idle)
        self.hello: Message = {}
        self.frame: Message = {}  # the last frame
        self.frames = 0
        self.messages: list[Message] = []

    @classmethod
    async def connect(cls, url: str, resume: str | None = None, acks: bool = True) -> "Client":
        client = cls(await websockets.connect(url + (f"?resume={resume}" if resume else ""), max_size=None), acks)
        client.hello = json.loads(await client.ws.recv())
        return client

    @property
    def sid(self) -> str:
        return self.hello["session"]

    @property
    def epoch(self) -> int:
        return self.frame.get("epoch", -1)

    @property
    def step(self) -> int:
        return self.frame.get("step", -1)

    async def send(self, message: Message) -> None:
        await self.ws.send(json.dumps(message))

    async def read_for(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            try:
                message = json.loads(await asyncio.wait_for(self.ws.recv(), left))
            except asyncio.TimeoutError:
                return
            except websockets.ConnectionClosed:
                return
            if message["type"] == "frame":
                self.frame, self.frames = message, self.frames + 1
                if self.acks:
                    await self.send({"type": "ack"})
            else:
                self.messages.append(message)

    def errors(self) -> list[str]:
        return [m["message"] for m in self.messages if m["type"] == "error"]


async def until(clients: list[Client], done: Any, limit: float = 120.0, what: str = "") -> None:
    """Read (every client) until ``done()`` holds; ``limit`` is a safety net only."""
    deadline = time.monotonic() + limit
    while not done():
        assert time.monotonic() < deadline, f"timed out waiting for {what or done}"
        await asyncio.gather(*(c.read_for(0.2) for c in clients))


async def training(clients: list[Client], epochs: int = 2) -> None:
    await until(clients, lambda: all(c.epoch >= epochs and c.frame.get("state") == "running" for c in clients),
                what=f"every client past epoch {epochs}")


# ---- point 6: the watchdog ------------------------------------------------------------


def test_the_stuck_rule_spares_a_waiting_thread_and_catches_a_busy_one() -> None:
    """The rule itself, on a real training thread: one waiting for work is not stuck however
    old its last round; one blocked in a command is, as is a process whose main thread
    stopped pulsing (SIGSTOP)."""
    census = Census([0], [0.0], 0, [0], [0.0])
    worker = Worker(census=census)
    worker.start()
    try:
        worker.submit(lambda: None).result(timeout=30)
        deadline = time.monotonic() + 30
        while not census.waiting[0]:
            assert time.monotonic() < deadline
            time.sleep(0.01)
        later = time.monotonic() + 1000
        census.pulses[0] = later
        assert stuck_for(census, later) == 0.0  # idle for 1000 s: not stuck
        assert stuck_for(census, later + 50) == 50.0  # no pulse for 50 s: stuck

        blocked = threading.Event()
        release = threading.Event()
        worker.submit(lambda: (blocked.set(), release.wait(60)))
        assert blocked.wait(30)
        assert census.waiting[0] == 0
        census.pulses[0] = later
        assert stuck_for(census, later) > 900  # in one command since
        release.set()
    finally:
        release.set()
        worker.stop()


def test_the_watchdog_spares_workers_whose_sessions_stopped() -> None:
    """Every way a session stops training or goes away leaves its process waiting for work,
    not stuck: the watchdog must not kill it (it killed such processes ~30 s later: the
    running count was written only at a round's start)."""
    with serving(resume_grace_seconds=60, idle_timeout_seconds=600) as served:

        async def spared(path: str, moment: float, pids: list[int | None]) -> None:
            await served.checks_after(moment + STALL + 1, 3)  # each would have killed a stale process
            assert served.pids() == pids, f"{path}: a worker process was replaced"
            assert not any(p.stalled for p in served.host.processes), path

        async def scenario() -> None:
            pids = served.pids()

            async def player(config: Message | None = None) -> Client:
                c = await Client.connect(served.url)
                if config:
                    await c.send({"type": "configure", "config": config})
                await c.send({"type": "control", "action": "play"})
                await training([c], 1)
                return c

            # pause
            c = await player()
            await c.send({"type": "control", "action": "pause"})
            await until([c], lambda: c.frame.get("state") == "paused")
            await spared("pause", time.monotonic(), pids)

            # diverge, then reset
            c = await Client.connect(served.url)
            await c.send({"type": "configure", "config": DIVERGING})
            await c.send({"type": "control", "action": "play"})
            await until([c], lambda: any(m["type"] == "status" and m["state"] == "diverged" for m in c.messages), what="divergence")
            await c.send({"type": "control", "action": "reset"})
            await spared("diverge and reset", time.monotonic(), pids)

            # lab switch (then pause)
            c = await player()
            await c.send({"type": "configure", "config": {"lab": "backprop"}})
            await c.send({"type": "control", "action": "pause"})
            await until([c], lambda: c.frame.get("lab") == "backprop" and c.frame.get("state") == "paused")
            await spared("lab switch", time.monotonic(), pids)

            # disconnect: the session waits detached for its resume token
            c = await player()
            await c.ws.close()
            await spared("disconnect", time.monotonic(), pids)

            # a neighbour process crashes while this one has only stopped sessions
            c = await player()
            victim = served.host.placement[c.sid]
            os.kill(pids[victim], signal.SIGKILL)
            await until([c], lambda: any(e.startswith(RESTORED_AT.split("{")[0]) for e in c.errors()), what="the restore")
            pids = served.pids()
            await spared("a neighbour's crash", time.monotonic(), pids)

        run_in_thread(scenario())


def test_the_watchdog_spares_workers_whose_sessions_were_removed_or_reclaimed() -> None:
    """Sessions reclaimed while they train (the idle timeout) or removed when their client
    left (no resume grace) leave their processes idle, not stuck."""
    with serving(resume_grace_seconds=0, idle_timeout_seconds=4) as served:

        async def scenario() -> None:
            pids = served.pids()
            clients = [await Client.connect(served.url), await Client.connect(served.url, acks=False)]
            for c in clients:
                await c.send({"type": "control", "action": "play"})
            await training(clients, 1)
            await clients[0].ws.close()  # removed at the janitor's next look
            moment = time.monotonic()
            # the other trains on without input (it sends no acks) until the idle timeout reclaims it
            await until([clients[1]], lambda: clients[1].ws.close_code is not None, what="the idle reclaim")
            assert clients[1].ws.close_code == 4000
            assert len(served.host.placement) == 0
            await served.checks_after(max(moment, time.monotonic()) + STALL + 1, 3)
            assert served.pids() == pids and not any(p.stalled for p in served.host.processes)

        run_in_thread(scenario())
