"""Where sessions live, as the transport sees it: a host keyed by session id.

The transport never holds a Session: it asks a host to create one, hands it the client's
messages, acks and leavings, and gets the session's messages back through a ``Deliver``
(message type, JSON text). Two hosts keep the same contract:

- ``LocalHost``: a training thread in the server process (``worker.Worker``). Used for
  ``worker_processes=0`` and, inside each worker process, by ``processes.ProcessHost``.
- ``processes.ProcessHost``: sessions spread over worker processes, so training uses every
  core and a crashed process takes only its own sessions down.

Every method returns at once (work is queued to the training thread), so the event loop
never waits on training."""

from __future__ import annotations

import logging
from typing import Any, Callable, Protocol

import torch
from pydantic import BaseModel

from .protocol import to_json
from .session import Send, Session, discard
from .settings import Settings
from .worker import Census, Worker

log = logging.getLogger(__name__)
Deliver = Callable[[str, str], None]  # (message type, JSON text) to the session's client


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
    def frame_sent(self, sid: str) -> None: ...


def sender(deliver: Deliver) -> Send:
    """A session's send (message dicts) in terms of a deliver: encoded on the training thread."""
    return lambda message: deliver(message["type"], to_json(message))


class LocalHost:
    def __init__(self, settings: Settings, device: torch.device, census: Census | None = None) -> None:
        self.settings = settings
        self.device = device
        self.worker = Worker(max_running=settings.max_running_sessions, census=census)

    def start(self) -> None:
        self.worker.start()

    def stop(self) -> None:
        self.worker.stop()

    def room(self) -> str | None:
        return self.worker.room()

    def check(self) -> None:
        """Each second: a dead training thread is replaced (its sessions told)."""
        self.worker.revive()

    def create(self, sid: str, restore: dict[str, Any] | None = None, notice: str | None = None) -> None:
        """A new session, paused and without a client; ``restore``: built from that config
        (a session brought back after its worker process crashed), telling ``notice``."""

        def make() -> None:
            session = Session(sid, self.device, discard, self.settings)
            if restore is not None:
                session.restore(restore, notice)
            self.worker.add(session)

        self.worker.submit(make)

    def attach(self, sid: str, deliver: Deliver) -> None:
        self._on(sid, lambda s: s.attach(sender(deliver)))

    def detach(self, sid: str) -> None:
        self._on(sid, Session.detach)

    def remove(self, sid: str) -> None:
        self.worker.submit(lambda: self.worker.remove(sid))

    def handle(self, sid: str, message: BaseModel) -> None:
        self._on(sid, lambda s: s.handle(message))

    def ack(self, sid: str) -> None:
        self._take_back(sid, Session.ack)

    def frame_sent(self, sid: str) -> None:
        self._take_back(sid, Session.frame_sent)

    def _take_back(self, sid: str, how: Callable[[Session], None]) -> None:
        """On the caller's thread (it only takes a frame back), then the worker looks again."""
        session = self.worker.sessions.get(sid)
        if session is not None:
            how(session)
            self.worker.wake()

    def _on(self, sid: str, fn: Callable[[Session], None]) -> None:
        """Run ``fn`` on session ``sid`` on the training thread (nothing if it is gone)."""

        def run() -> None:
            session = self.worker.sessions.get(sid)
            if session is not None:
                fn(session)

        self.worker.submit(run)
