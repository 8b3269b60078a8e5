"""Training in worker processes: each process runs a ``LocalHost`` (a training thread and
its sessions); the server process keeps only which process holds which session.

Why processes: on the CPU, two worker processes train twice what one thread does, and two
threads of one process train less than one (the GIL; ``bench/workers.py``). A process
also fences a crash: if one dies (killed, out of memory, a fault in native code), only its
sessions are hit. Their clients are told at once, a new process is started in its place,
and each of its sessions comes back paused where its last snapshot was taken: each worker
process sends the server a snapshot of every session that changed (weights, optimizer and
schedule state, counters, random generators, history) every ``snapshot_seconds``, so a
session loses a few seconds of training at most (a session with no snapshot yet comes back
from its last setup). The other processes never notice. A session whose process crashes a
second time comes back with the default setup instead (its own setup may be what kills the
process), and a process that dies within seconds of its start is replaced after a pause, so
a crash loop cannot take a core.

Memory (memory.py): a worker process releases its caches when its last session ends, and one that stays
far above its memory at start without sessions, or above ``worker_memory_mb`` with them,
is replaced gracefully: it sends a last snapshot of each session and stops serving, and a
new process restores them as they were (playing ones play on); no one is told.

A worker process's own side is serving.py. Messages both ways go over a pipe per process (``channel.Channel``): to a process,
``(operation, session id, *arguments)``; back, ``(session id, message type, JSON text)``,
encoded in the worker process so the event loop only relays text."""

from __future__ import annotations

import asyncio
import json
import logging
import multiprocessing as mp
import os
import threading
import time
from dataclasses import dataclass
from typing import Any

import torch
from pydantic import BaseModel

from descent.protocol import Error, to_json
from descent.runtime.channel import Channel
from descent.runtime.hosting import Deliver
from descent.runtime.regroup import Regroup
from descent.runtime.serving import serve_sessions
from descent.runtime.worker import Census, room
from descent.settings import Settings

log = logging.getLogger(__name__)
CONTEXT = mp.get_context("spawn")  # a fresh interpreter: no torch or event-loop state forked
START_TIMEOUT = 120.0  # seconds a worker process may take to import torch and say ready
CRASHED = "the training worker process serving this session crashed; it is being restarted (a few seconds)"
STALLED = ("the training worker process serving this session stopped responding and was stopped; "
           "it is being restarted (a few seconds)")
RESTORED = ("the training worker process serving this session crashed and was restarted: your setup is back, "
            "but its weights and history were lost; press play to train again")
# (with a snapshot; {epoch}: where it was taken)
RESTORED_AT = ("the training worker process serving this session crashed and was restarted: your session is back "
               "as it was a few seconds before, restored to epoch {epoch}; press play to train on")
# A session whose process crashed twice starts over from the default setup: should its own
# setup be what kills the process, restoring it again would take its neighbours down forever.
AGAIN = ("the training worker process serving this session crashed again: your session starts over "
         "from the default setup")
SETUP_CRASHES = 2
QUICK_DEATH = 5.0  # seconds: a process that dies younger than this is replaced after a pause
PAUSE = 2.0  # seconds (a crash loop must not take a core)


@dataclass
class Snapshot:
    """A session's last snapshot, as its worker process sent it (``Session.snapshot``)."""

    data: bytes
    epoch: int


def stuck_for(census: Census, now: float) -> float:
    """Seconds the process of ``census`` has been stuck at ``now``: its training thread in
    one round or command (0 while it waits for work), or its main thread without a pulse."""
    i = census.index
    busy = 0.0 if census.waiting[i] else now - census.beats[i]
    return max(busy, now - census.pulses[i])


def default_processes(device: torch.device) -> int:
    """One worker process per core on the CPU; on CUDA one process owns the GPU."""
    if device.type == "cuda":
        return 1
    return max(1, len(os.sched_getaffinity(0)))


class WorkerProcess:
    """One worker process and its end of the pipe, seen from the server."""

    def __init__(self, index: int, host: ProcessHost) -> None:
        self.index = index
        ours, theirs = CONTEXT.Pipe()
        self.ready = threading.Event()
        self.warm = threading.Event()  # its first command (warm_up) is done: the watchdog looks from now on
        self.process = CONTEXT.Process(
            target=serve_sessions,
            args=(theirs, index, host.settings.model_dump(), str(host.device), host.counts, host.beats, host.waiting, host.pulses),
            name=f"descent-worker-{index}",
            daemon=True,
        )
        self._host = host
        self._theirs = theirs
        self.channel = Channel(ours, lambda m: host.received(self, m), lambda: host.lost(self), f"descent-pipe-{index}")
        self.started_at = 0.0  # (set by start)
        self.stalled = False  # killed by the server for making no rounds
        self.retired = False  # replaced to return its memory: its end is no crash

    def start(self) -> None:
        self.started_at = now = time.monotonic()
        host, i = self._host, self.index
        host.counts[i], host.beats[i], host.waiting[i], host.pulses[i] = 0, now, 0, now  # (not its predecessor's)
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
        self.beats = CONTEXT.Array("d", processes, lock=False)  # when each's thread last woke or began a round
        self.waiting = CONTEXT.Array("i", processes, lock=False)  # whether each's thread waits for work
        self.pulses = CONTEXT.Array("d", processes, lock=False)  # each's main thread, each second
        self._lock = threading.Lock()  # placement and the process list (event loop vs pipe readers)
        self._stopping = False
        self.processes = [WorkerProcess(i, self) for i in range(processes)]
        self.placement: dict[str, int] = {}  # session id -> index of the process holding it
        self.clients: dict[str, Deliver] = {}  # session id -> its connected client
        self.setups: dict[str, str] = {}  # session id -> the last config message it sent (JSON)
        self.crashes: dict[str, int] = {}  # session id -> crashes of the processes that held it
        self.snapshots: dict[str, Snapshot] = {}  # session id -> its last snapshot (sent by its process)
        self.regroup = Regroup()  # cohorts kept together: sessions moved between processes (regroup.py)
        self._acks: list[str] = []  # sessions whose clients acked a frame in this turn of the event loop

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
        """Each second (crashes are found by the pipe readers at once): a process is stuck
        when its training thread has been in one round or command for ``worker_stall_seconds``
        (a runaway step, a deadlock), or its main thread has not pulsed that long (SIGSTOP,
        the GIL held forever); a thread that waits for work is not stuck, however long it
        waits. A stuck process is killed and replaced as a crashed one."""
        now = time.monotonic()
        for index, p in enumerate(self.processes):
            if not p.ready.is_set() or p.stalled or p.retired or p.process.pid is None or not p.process.is_alive():
                continue
            if p.warm.is_set():
                stuck = stuck_for(Census(self.counts, self.beats, index, self.waiting, self.pulses), now)
            else:  # in its first command (warm_up, seconds): its pulse counts, and a warm-up past START_TIMEOUT
                stuck = max(now - self.pulses[index], now - p.started_at - START_TIMEOUT)
            if stuck > self.settings.worker_stall_seconds:
                log.error("worker process %d (pid %s) made no round for %.0f s; stopping it (busy %.1f s, pulsed %.1f s ago)", index, p.process.pid, stuck,
                          0 if self.waiting[index] else now - self.beats[index], now - self.pulses[index])
                p.stalled = True
                p.process.kill()
        with self._lock:
            for sid, index in self.regroup.due(self.placement, len(self.processes)):
                self.processes[index].send(("move_out", sid))
                log.info("session %s moves from worker process %d to %d, to train with its cohort", sid, index,
                         self.regroup.moving[sid].to)

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
            self.snapshots.pop(sid, None)
            self.regroup.forget(sid)
            index = self.placement.pop(sid, None)
            if index is not None:
                self.processes[index].send(("remove", sid))

    def handle(self, sid: str, message: BaseModel) -> None:
        self._send(sid, "handle", message)

    def ack(self, sid: str) -> None:
        """A client drew a frame. Acks go to each process together, once per turn of the
        event loop: a class's acks come in bursts, and each pipe message wakes a thread on
        either side (and the training thread, when it waits for them)."""
        self._acks.append(sid)
        if len(self._acks) > 1:
            return  # (the turn's send is planned)
        try:
            asyncio.get_running_loop().call_soon(self._send_acks)
        except RuntimeError:  # (no event loop here: a caller on a thread of its own)
            self._send_acks()

    def _send_acks(self) -> None:
        sids, self._acks = self._acks, []
        groups: dict[int, list[str]] = {}
        with self._lock:
            for sid in sids:
                index = self.placement.get(sid)
                if index is not None and not self.regroup.hold(("ack", sid)):
                    groups.setdefault(index, []).append(sid)
            for index, group in groups.items():
                self.processes[index].send(("acks", "", group))

    def recycle(self, index: int) -> None:
        """Replace process ``index`` gracefully (what its memory check does by itself): it
        sends a last snapshot of each session and stops serving; a new one restores them."""
        with self._lock:
            self.processes[index].send(("retire", ""))

    def _send(self, sid: str, operation: str, *args: Any) -> None:
        with self._lock:
            index = self.placement.get(sid)
            if index is not None and not self.regroup.hold((operation, sid, *args)):
                self.processes[index].send((operation, sid, *args))

    # ---- from the pipe readers ------------------------------------------------------

    def received(self, process: WorkerProcess, item: tuple[str, str, Any]) -> None:
        sid, kind, text = item
        if kind == "ready":
            process.ready.set()
            return
        if kind == "warm":
            process.warm.set()
            return
        if kind == "snapshot":  # (text: the snapshot and its epoch)
            with self._lock:
                if self.placement.get(sid) == process.index:  # (not one removed meanwhile)
                    self.snapshots[sid] = Snapshot(*text)
            return
        if kind in ("cohort", "moved"):
            with self._lock:
                if self.placement.get(sid) == process.index:  # (not one removed, or moved, meanwhile)
                    if kind == "cohort":
                        self.regroup.reported(sid, text)
                    else:
                        self._moved(sid, process.index, text)
            return
        if kind == "retired":  # its sessions' last snapshots came before this; it serves none now
            self._replace(process, retired=True)
            return
        if kind == "config":
            self.setups[sid] = text
        deliver = self.clients.get(sid)
        if deliver is not None:
            deliver(kind, text)

    def lost(self, process: WorkerProcess) -> None:
        """A process's pipe closed: unless the server is stopping or retired it, it crashed.
        Its clients are told, and a new process takes its sessions back, each restored from
        its last snapshot (or rebuilt from its last setup when it has none)."""
        if self._stopping or process.retired:
            return
        process.process.join(timeout=1)
        log.error("worker process %d (pid %s) ended with exit code %s; starting another",
                  process.index, process.process.pid, process.process.exitcode)
        self._replace(process, retired=False)

    def _replace(self, process: WorkerProcess, retired: bool) -> None:
        """Start a process in ``process``'s place with its sessions: after a crash, each is
        told and comes back paused; a retired one's come back as they were, untold."""
        with self._lock:
            if self.processes[process.index] is not process:  # (already replaced)
                return
            process.retired = retired
            replacement = WorkerProcess(process.index, self)
            for sid, index in self.placement.items():
                if index == process.index:
                    attached = self.clients.get(sid) is not None
                    replacement.send(self._revived(sid, process, retired))
                    if attached:
                        replacement.send(("attach", sid))
                    move = self.regroup.finish(sid)  # (a move its process did not live to make)
                    for item in move.waiting if move else []:
                        if item[0] not in ("attach", "detach"):
                            replacement.send(item)
            self.counts[process.index] = 0
            self.processes[process.index] = replacement
        if retired:
            log.info("worker process %d (pid %s) is replaced to return its memory", process.index, process.process.pid)
            process.send(("stop", ""))
            process.channel.close()
        elif time.monotonic() - process.started_at < QUICK_DEATH:  # (what was sent to it waits in its pipe)
            time.sleep(PAUSE)
        if not self._stopping:
            replacement.start()

    def _moved(self, sid: str, old: int, handed: tuple[bytes, int, BaseModel | None] | None) -> None:
        """(Under the lock.) Session ``sid`` left process ``old`` (``handed``: its snapshot,
        epoch and room duty; None: it stays): the new process restores it, playing on, with
        its room duty and its client, and what it was sent meanwhile."""
        move = self.regroup.finish(sid)
        if move is None:
            return
        index = old
        if handed is not None:
            index = self.placement[sid] = move.to
            data, epoch, duty = handed
            self.snapshots[sid] = Snapshot(data, epoch)
            setup = self.setups.get(sid)
            target = self.processes[index]
            target.send(("create", sid, json.loads(setup)["config"] if setup else {}, None, data, True))
            if duty is not None:
                target.send(("handle", sid, duty))
            if self.clients.get(sid) is not None:
                target.send(("attach", sid))
        for item in move.waiting:
            if handed is None or item[0] not in ("attach", "detach"):  # (attached above if it has a client now)
                self.processes[index].send(item)

    def _revived(self, sid: str, process: WorkerProcess, retired: bool) -> tuple[Any, ...]:
        """(Under the lock.) The create message that brings ``sid`` back in a new process;
        after a crash its client is told, and the crash is counted."""
        snapshot = self.snapshots.get(sid)
        setup = self.setups.get(sid)
        config = json.loads(setup)["config"] if setup else {}
        if retired:
            return ("create", sid, config, None, snapshot.data if snapshot else None, True)
        deliver = self.clients.get(sid)
        if deliver is not None:
            deliver("error", to_json(Error(message=STALLED if process.stalled else CRASHED)))
        self.crashes[sid] = self.crashes.get(sid, 0) + 1
        if self.crashes[sid] >= SETUP_CRASHES:  # its own state may be what kills the process
            self.snapshots.pop(sid, None)
            return ("create", sid, {}, AGAIN)
        if snapshot is not None:
            return ("create", sid, config, RESTORED_AT.format(epoch=snapshot.epoch), snapshot.data)
        return ("create", sid, config, RESTORED)
