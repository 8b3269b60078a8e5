"""Training in worker processes: each process runs a ``LocalHost`` (a training thread and
its sessions); the server process keeps only which process holds which session.

Why processes: on the CPU, two worker processes train twice what one thread does, and two
threads of one process train less than one (the GIL; ``bench/workers.py``). A process
also fences a crash: if one dies (killed, out of memory, a fault in native code), only its
sessions are hit. Their clients are told at once, a new process is started in its place,
and each of its sessions comes back paused, built afresh from the last setup its client
saw (weights and history were in the dead process); the other processes never notice. A
session whose process crashes a second time comes back with the default setup instead (its
own setup may be what kills the process), and a process that dies within seconds of its
start is replaced after a pause, so a crash loop cannot take a core.

Messages both ways go over a pipe per process (``channel.Channel``): to a process,
``(operation, session id, *arguments)``; back, ``(session id, message type, JSON text)``,
encoded in the worker process so the event loop only relays text."""

from __future__ import annotations

import json
import logging
import multiprocessing as mp
import os
import signal
import threading
import time
from typing import Any

import torch
from pydantic import BaseModel

from .channel import Channel
from .hosting import Deliver, LocalHost
from .settings import Settings
from .worker import Census, room

log = logging.getLogger(__name__)
CONTEXT = mp.get_context("spawn")  # a fresh interpreter: no torch or event-loop state forked
START_TIMEOUT = 120.0  # seconds a worker process may take to import torch and say ready
CRASHED = "the training worker process serving this session crashed; it is being restarted (a few seconds)"
STALLED = ("the training worker process serving this session stopped responding and was stopped; "
           "it is being restarted (a few seconds)")
RESTORED = ("the training worker process serving this session crashed and was restarted: your setup is back, "
            "but its weights and history were lost; press play to train again")
# A session whose process crashed twice starts over from the default setup: should its own
# setup be what kills the process, restoring it again would take its neighbours down forever.
AGAIN = ("the training worker process serving this session crashed again: your session starts over "
         "from the default setup")
SETUP_CRASHES = 2
QUICK_DEATH = 5.0  # seconds: a process that dies younger than this is replaced after a pause
PAUSE = 2.0  # seconds (a crash loop must not take a core)
OPERATIONS = frozenset({"create", "detach", "remove", "handle", "ack", "frame_sent"})  # (and attach)


def default_processes(device: torch.device) -> int:
    """One worker process per core on the CPU; on CUDA one process owns the GPU."""
    if device.type == "cuda":
        return 1
    return max(1, len(os.sched_getaffinity(0)))


class WorkerProcess:
    """One worker process and its end of the pipe, seen from the server."""

    def __init__(self, index: int, host: "ProcessHost") -> None:
        self.index = index
        ours, theirs = CONTEXT.Pipe()
        self.ready = threading.Event()
        self.process = CONTEXT.Process(
            target=serve_sessions,
            args=(theirs, index, host.settings.model_dump(), str(host.device), host.counts, host.beats),
            name=f"descent-worker-{index}",
            daemon=True,
        )
        self._theirs = theirs
        self.channel = Channel(ours, lambda m: host.received(self, m), lambda: host.lost(self), f"descent-pipe-{index}")
        self.started_at = 0.0  # (set by start)
        self.stalled = False  # killed by the server for making no rounds

    def start(self) -> None:
        self.started_at = time.monotonic()
        self.process.start()
        self._theirs.close()  # the child holds its end now: when it dies, our reader sees EOF
        self.channel.start()

    def send(self, item: Any) -> None:
        self.channel.send(item)


class ProcessHost:
    def __init__(self, settings: Settings, device: torch.device, processes: int) -> None:
        self.settings = settings
        self.device = device
        self.counts = CONTEXT.Array("i", processes, lock=False)  # running sessions per process (Census)
        self.beats = CONTEXT.Array("d", processes, lock=False)  # when each last finished a round
        self._lock = threading.Lock()  # placement and the process list (event loop vs pipe readers)
        self._stopping = False
        self.processes = [WorkerProcess(i, self) for i in range(processes)]
        self.placement: dict[str, int] = {}  # session id -> index of the process holding it
        self.clients: dict[str, Deliver] = {}  # session id -> its connected client
        self.setups: dict[str, str] = {}  # session id -> the last config message it sent (JSON)
        self.crashes: dict[str, int] = {}  # session id -> crashes of the processes that held it

    # ---- lifetime -------------------------------------------------------------------

    def start(self) -> None:
        """Start every process and wait until each has imported torch and said ready."""
        for p in self.processes:
            p.start()
        for p in self.processes:
            if not p.ready.wait(START_TIMEOUT):
                raise RuntimeError(f"worker process {p.index} did not start within {START_TIMEOUT:g} s")

    def stop(self) -> None:
        self._stopping = True
        for p in self.processes:
            p.send(("stop", ""))
            p.channel.close()
        for p in self.processes:
            if p.process.pid is None:  # (a replacement still waiting to start)
                continue
            p.process.join(timeout=5)
            if p.process.is_alive():
                p.process.kill()

    def check(self) -> None:
        """Each second (crashes are found by the pipe readers at once): a process with running
        sessions that has not finished a round for ``worker_stall_seconds`` is stuck (a
        runaway step, a deadlock, SIGSTOP): it is killed, and replaced as a crashed one."""
        now = time.monotonic()
        for index, p in enumerate(self.processes):
            stuck = self.counts[index] > 0 and now - self.beats[index] > self.settings.worker_stall_seconds
            if stuck and not p.stalled and p.process.pid is not None and p.process.is_alive():
                log.error("worker process %d (pid %s) made no round for %.0f s; stopping it",
                          index, p.process.pid, now - self.beats[index])
                p.stalled = True
                p.process.kill()

    # ---- admission ------------------------------------------------------------------

    def room(self) -> str | None:
        return room(sum(self.counts), self.settings.max_running_sessions)

    # ---- sessions (from the event loop) ---------------------------------------------

    def create(self, sid: str) -> None:
        with self._lock:
            held = [0] * len(self.processes)
            for index in self.placement.values():
                held[index] += 1
            index = held.index(min(held))  # the process holding the fewest sessions
            self.placement[sid] = index
            self.processes[index].send(("create", sid))

    def attach(self, sid: str, deliver: Deliver) -> None:
        self.clients[sid] = deliver
        self._send(sid, "attach")

    def detach(self, sid: str) -> None:
        self.clients.pop(sid, None)
        self._send(sid, "detach")

    def remove(self, sid: str) -> None:
        self.clients.pop(sid, None)
        self.setups.pop(sid, None)
        self.crashes.pop(sid, None)
        with self._lock:
            index = self.placement.pop(sid, None)
            if index is not None:
                self.processes[index].send(("remove", sid))

    def handle(self, sid: str, message: BaseModel) -> None:
        self._send(sid, "handle", message)

    def ack(self, sid: str) -> None:
        self._send(sid, "ack")

    def frame_sent(self, sid: str) -> None:
        self._send(sid, "frame_sent")

    def _send(self, sid: str, operation: str, *args: Any) -> None:
        with self._lock:
            index = self.placement.get(sid)
            if index is not None:
                self.processes[index].send((operation, sid, *args))

    # ---- from the pipe readers ------------------------------------------------------

    def received(self, process: WorkerProcess, item: tuple[str, str, str]) -> None:
        sid, kind, text = item
        if kind == "ready":
            process.ready.set()
            return
        if kind == "config":
            self.setups[sid] = text
        deliver = self.clients.get(sid)
        if deliver is not None:
            deliver(kind, text)

    def lost(self, process: WorkerProcess) -> None:
        """A process's pipe closed: unless the server is stopping, it crashed. Its clients are
        told, and a new process takes its sessions back, each rebuilt from its last setup."""
        if self._stopping:
            return
        process.process.join(timeout=1)
        log.error("worker process %d (pid %s) ended with exit code %s; starting another",
                  process.index, process.process.pid, process.process.exitcode)
        crashed = json.dumps({"type": "error", "message": STALLED if process.stalled else CRASHED, "loc": []})
        with self._lock:
            if self.processes[process.index] is not process:  # (already replaced)
                return
            replacement = WorkerProcess(process.index, self)
            for sid, index in self.placement.items():
                if index != process.index:
                    continue
                deliver = self.clients.get(sid)
                if deliver is not None:
                    deliver("error", crashed)
                self.crashes[sid] = self.crashes.get(sid, 0) + 1
                setup = self.setups.get(sid)
                if self.crashes[sid] < SETUP_CRASHES:
                    replacement.send(("create", sid, json.loads(setup)["config"] if setup else {}, RESTORED))
                else:
                    replacement.send(("create", sid, {}, AGAIN))
                if deliver is not None:
                    replacement.send(("attach", sid))
            self.counts[process.index] = 0
            self.processes[process.index] = replacement
        if time.monotonic() - process.started_at < QUICK_DEATH:  # (what was sent to it waits in its pipe)
            time.sleep(PAUSE)
        if not self._stopping:
            replacement.start()


# ---- in the worker process ----------------------------------------------------------


def serve_sessions(conn: Any, index: int, settings: dict[str, Any], device: str, counts: Any, beats: Any) -> None:
    """A worker process's main: a LocalHost driven by the server's messages, until the
    server closes the pipe (or dies)."""
    logging.basicConfig(level=logging.INFO, format=f"worker {index}: %(levelname)s %(name)s: %(message)s")
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C reaches the whole group: the server stops us
    torch.set_num_threads(1)
    host = LocalHost(Settings.model_validate(settings), torch.device(device), Census(counts, beats, index))
    gone = threading.Event()

    def deliver_for(sid: str) -> Deliver:
        return lambda kind, text: channel.send((sid, kind, text))

    def run(item: tuple[Any, ...]) -> None:
        operation, sid, *args = item
        if operation == "attach":
            host.attach(sid, deliver_for(sid))
        elif operation == "stop":
            gone.set()
        elif operation in OPERATIONS:
            getattr(host, operation)(sid, *args)
        else:
            log.error("unknown operation %r", operation)

    channel = Channel(conn, run, gone.set, f"descent-pipe-{index}")
    host.start()
    channel.start()
    channel.send(("", "ready", ""))
    while not gone.wait(1.0):
        host.check()
    host.stop()
