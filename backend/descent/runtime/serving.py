"""A worker process's main: a ``LocalHost`` (a training thread and its sessions) driven by
the server's messages over the pipe (processes.py is the server's side)."""

from __future__ import annotations

import logging
import signal
import threading
from typing import Any

import torch

from descent.labs import LAB_NAMES
from descent.runtime.channel import Channel
from descent.runtime.hosting import Deliver, LocalHost
from descent.runtime.memory import Memory
from descent.runtime.replies import discard
from descent.runtime.session import Session
from descent.runtime.worker import Census
from descent.settings import Settings

log = logging.getLogger(__name__)
OPERATIONS = frozenset({"create", "detach", "remove", "handle"})  # (and attach, acks)


def warm_up(device: torch.device, settings: Settings) -> None:
    """A process's first command: build, step, draw and snapshot each lab once (the first
    session built pays seconds for lazy imports and first calls on a loaded machine, which
    the watchdog would take for a stall; it looks at the process once this is done)."""
    for name in LAB_NAMES:
        session = Session("warm-up", device, discard, settings)
        session.configure({"lab": name})
        session.lab.step(1)
        if session.lab.cohort_key() is not None:  # (a lone session's batched step too: numpy's buffers, fused.py)
            type(session.lab).step_together([session.lab], 1)
        session.lab.views(True)
        data = session.snapshot()
        if data is not None:
            session.restore({}, None, data)


def serve_sessions(conn: Any, index: int, settings: dict[str, Any], device: str, counts: Any, beats: Any,
                   waiting: Any, pulses: Any) -> None:
    """A worker process's main: a LocalHost driven by the server's messages, until the
    server closes the pipe (or dies); each second it pulses (the server's watchdog), takes
    the snapshots due and looks at its memory."""
    logging.basicConfig(level=logging.INFO, format=f"worker {index}: %(levelname)s %(name)s: %(message)s")
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C reaches the whole group: the server stops us
    torch.set_num_threads(1)
    census = Census(counts, beats, index, waiting, pulses)
    config = Settings.model_validate(settings)
    host = LocalHost(config, torch.device(device), census, keep=lambda sid, data, epoch: channel.send((sid, "snapshot", (data, epoch))))
    gone = threading.Event()

    def deliver_for(sid: str) -> Deliver:
        return lambda kind, text: channel.send((sid, kind, text))

    def run(item: tuple[Any, ...]) -> None:
        operation, sid, *args = item
        if operation == "attach":
            host.attach(sid, deliver_for(sid))
        elif operation == "acks":  # (several sessions' acks: processes.py)
            host.acks(args[0])
        elif operation == "stop":
            gone.set()
        elif operation == "retire":
            host.worker.submit(lambda: retire("asked by the server"))
        elif operation == "move_out":
            host.worker.submit(lambda: channel.send((sid, "moved", host.hand_over(sid))))
        elif operation in OPERATIONS:
            getattr(host, operation)(sid, *args)
        else:
            log.error("unknown operation %r", operation)

    def retire(why: str) -> None:
        """(On the training thread.) Last snapshots, then the server replaces this process."""
        log.info("replacing this process: %s", why)
        host.retire()
        channel.send(("", "retired", why))

    channel = Channel(conn, run, gone.set, f"descent-pipe-{index}")
    host.start()
    census.pulse()
    warming = host.worker.submit(lambda: warm_up(torch.device(device), config))  # (what the server sends waits behind it)
    channel.start()
    channel.send(("", "ready", ""))
    memory: Memory | None = None
    retiring = False
    reported: dict[str, tuple[str, int] | None] = {}

    def report_cohorts() -> None:
        """(On the training thread.) Each session's cohort, when it changed (the server regroups by them)."""
        now = host.cohorts()
        for sid in reported.keys() - now.keys():
            del reported[sid]
        for sid, cohort in now.items():
            if reported.get(sid, "") != cohort:
                reported[sid] = cohort
                channel.send((sid, "cohort", cohort))

    while not gone.wait(1.0):
        census.pulse()
        host.check()
        host.worker.submit(report_cohorts)
        if memory is None:
            if not warming.done():
                continue
            memory = Memory(config)  # (its baseline: warmed up, no session yet)
            channel.send(("", "warm", ""))
        why = None if retiring else memory.check(len(host.worker.sessions))
        if why:
            retiring = True
            host.worker.submit(lambda: retire(why))
    host.stop()
