"""Where sessions live, as the transport sees it: a host keyed by session id.

The transport never holds a Session: it asks a host to create one, hands it the client's
messages, acks (the only frame credit: see frames.py) and leavings, and gets the session's messages back through a ``Deliver``
(message type, JSON text). Two hosts keep the same contract:

- ``LocalHost``: a training thread in the server process (``worker.Worker``). Used for
  ``worker_processes=0`` and, inside each worker process, by ``processes.ProcessHost``.
- ``processes.ProcessHost``: sessions spread over worker processes, so training uses every
  core and a crashed process takes only its own sessions down.
- ``rayhost.RayHost`` (``DESCENT_RAY_ADDRESS`` set): sessions in actors on a Ray cluster,
  each actor a ``LocalHost``, shared by several front ends (a ``Directory``).

Every method returns at once (work is queued to the training thread), so the event loop
never waits on training."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import torch
from pydantic import BaseModel

from descent.classroom import RoomDuty
from descent.protocol import to_json
from descent.runtime.replies import Send, discard
from descent.runtime.session import Session
from descent.runtime.worker import Census, Worker
from descent.settings import Settings

log = logging.getLogger(__name__)
Deliver = Callable[[str, str], None]  # (message type, JSON text) to the session's client
Keep = Callable[[str, bytes, int], None]  # (session id, snapshot, its epoch) to whoever keeps them
KEEP_BUDGET = 0.02  # seconds of snapshots one pass takes at most (the next round waits for it)
KEEP_SPACING = 50  # a session's snapshot is taken at most once per 50 times what it cost (<= 2 %)


@dataclass
class Kept:
    mark: tuple[Any, ...]  # what the session looked like at its last snapshot
    due: float  # time.monotonic() when the next may be taken


class Host(Protocol):
    def start(self) -> None: ...
    def stop(self) -> None: ...
    def room(self) -> str | None: ...
    def check(self) -> None: ...
    def create(self, sid: str) -> None: ...
    def attach(self, sid: str, deliver: Deliver) -> None: ...
    def detach(self, sid: str) -> None: ...
    def remove(self, sid: str) -> None: ...
    def handle(self, sid: str, message: BaseModel) -> None: ...
    def ack(self, sid: str) -> None: ...


@runtime_checkable
class Directory(Protocol):
    """A host whose sessions several front ends share (rayhost.RayHost): a session's token,
    published where it was made, can be claimed through any of them (a reload that the load
    balancer sends elsewhere)."""

    def publish(self, token: str, sid: str, client: str) -> None: ...
    async def claim(self, token: str) -> tuple[str, str] | None: ...  # (session id, client address)


def sender(deliver: Deliver) -> Send:
    """A session's send (message dicts) in terms of a deliver: encoded on the training thread."""
    return lambda message: deliver(message["type"], to_json(message))


class LocalHost:
    def __init__(self, settings: Settings, device: torch.device, census: Census | None = None, keep: Keep | None = None) -> None:
        self.settings = settings
        self.device = device
        self.worker = Worker(max_running=settings.max_running_sessions, census=census, detail_every=settings.frame_detail_every)
        self.keep = keep  # where snapshots go (None: none are taken)
        self._kept: dict[str, Kept] = {}  # (worker thread only)
        self._edits: dict[str, int] = {}  # session id -> client messages handled (a change a snapshot needs)
        self._keep_due = 0.0

    def start(self) -> None:
        self.worker.start()

    def stop(self) -> None:
        self.worker.stop()

    def room(self) -> str | None:
        return self.worker.room()

    def check(self) -> None:
        """Each second: a dead training thread is replaced (its sessions told), and the
        snapshots due are taken (on the training thread, between rounds)."""
        self.worker.revive()
        now = time.monotonic()
        if self.keep is not None and now >= self._keep_due:
            self._keep_due = now + min(1.0, self.settings.snapshot_seconds)
            self.worker.submit(self.snapshots)

    def create(self, sid: str, restore: dict[str, Any] | None = None, notice: str | None = None,
               snapshot: bytes | None = None, resume: bool = False) -> None:
        """A new session, paused and without a client; ``restore``: built from that config
        (a session brought back after its worker process ended), or from ``snapshot`` when
        there is one, telling ``notice``; ``resume``: it plays on if it was playing."""

        def make() -> None:
            session = Session(sid, self.device, discard, self.settings)
            if restore is not None:
                session.restore(restore, notice, snapshot, resume)
            self.worker.add(session)

        self.worker.submit(make)

    def snapshots(self, every: bool = False) -> None:
        """(On the training thread.) Send the snapshot of each session that changed since its
        last one and whose turn came (``snapshot_seconds``, longer for one that costs much);
        at most KEEP_BUDGET seconds of them per call, unless ``every``: all changed ones now."""
        assert self.keep is not None
        now, spent = time.monotonic(), 0.0
        for sid, session in list(self.worker.sessions.items()):
            lab = session.lab
            mark = (id(lab), lab.step_count, lab.epoch, session.state, session.failed, self._edits.get(sid, 0))
            kept = self._kept.get(sid)
            if kept is not None and (kept.mark == mark or (not every and now < kept.due)):
                continue
            if not every and spent > KEEP_BUDGET:
                break
            started = time.perf_counter()
            try:
                data = session.snapshot()
            except Exception:  # (a lab that cannot be pickled: its last snapshot stands)
                log.exception("session %s: snapshot failed", sid)
                data = None
            cost = time.perf_counter() - started
            spent += cost
            self._kept[sid] = Kept(mark, now + max(self.settings.snapshot_seconds, KEEP_SPACING * cost))
            if data is not None:
                self.keep(sid, data, lab.epoch)

    def hand_over(self, sid: str) -> tuple[bytes, int, RoomDuty | None] | None:
        """(On the training thread.) Session ``sid``'s snapshot, epoch and room duty (not in a
        snapshot: summaries, a challenge's budget), and the session gone from here, for
        another process to take it (processes.py regroups cohorts); None, and it stays, if
        it cannot be snapshotted."""
        session = self.worker.sessions.get(sid)
        if session is None:
            return None
        try:
            data = session.snapshot()
        except Exception:
            log.exception("session %s: snapshot for a move failed", sid)
            return None
        if data is None:
            return None
        self.worker.remove(sid)
        self._kept.pop(sid, None)
        self._edits.pop(sid, None)
        duty = None
        if session.summaries.interval or session.epoch_limit is not None:
            duty = RoomDuty(summary_interval=session.summaries.interval, epoch_limit=session.epoch_limit)
        return data, session.lab.epoch, duty

    def cohorts(self) -> dict[str, tuple[str, int] | None]:
        """(On the training thread.) Each session's cohort key (as text) and weight while it
        trains, else None: what the server places by (placement.py)."""
        out: dict[str, tuple[str, int] | None] = {}
        for sid, session in self.worker.sessions.items():
            key = session.cohort_key()
            out[sid] = None if key is None else (repr(key), session.weight)
        return out

    def retire(self) -> None:
        """(On the training thread.) A snapshot of every session, then none is served any
        more: the process is about to be replaced by one that restores them."""
        self.snapshots(every=True)
        self.worker.sessions.clear()

    def attach(self, sid: str, deliver: Deliver) -> None:
        self._on(sid, lambda s: s.attach(sender(deliver)))

    def detach(self, sid: str) -> None:
        self._on(sid, Session.detach)

    def remove(self, sid: str) -> None:
        def gone() -> None:
            self.worker.remove(sid)
            self._kept.pop(sid, None)
            self._edits.pop(sid, None)

        self.worker.submit(gone)

    def handle(self, sid: str, message: BaseModel) -> None:
        def run(session: Session) -> None:
            self._edits[sid] = self._edits.get(sid, 0) + 1
            session.handle(message)

        self._on(sid, run)

    def ack(self, sid: str) -> None:
        """On the caller's thread (it only takes a frame back), then the worker looks again."""
        self.acks([sid])

    def acks(self, sids: list[str]) -> None:
        """Several acks at once: the worker looks again once."""
        sessions = [s for s in map(self.worker.sessions.get, sids) if s is not None]
        for session in sessions:
            session.ack()
        if sessions:
            self.worker.wake()

    def _on(self, sid: str, fn: Callable[[Session], None]) -> None:
        """Run ``fn`` on session ``sid`` on the training thread (nothing if it is gone)."""

        def run() -> None:
            session = self.worker.sessions.get(sid)
            if session is not None:
                fn(session)

        self.worker.submit(run)
