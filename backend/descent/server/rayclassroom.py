"""A front end's side of the rooms on a Ray cluster (rayrooms.py holds them, in one actor).

``RayClassroom`` sends the rooms actor, in order and off the event loop (one dispatcher
thread, batches as rayhost does), its connections' room messages, comings and goings and
their sessions' summaries, setups, copies and spotlit frames; it takes what its connections
must receive in a long poll awaited on the event loop (which never blocks on it): their
messages, the rooms' orders to its sessions (sent on through its host), and the rules its
students' own messages must obey, so ``refusal`` needs no round trip."""

from __future__ import annotations

import itertools
import logging
import queue
import threading
import time
from typing import Any

import anyio
import ray
from ray.exceptions import GetTimeoutError, RayError

from descent.runtime.rayhost import CALL_TIMEOUT, GATHER, HEAD, POLL, START_TIMEOUT, polled_actor
from descent.server.classrooms import Classroom
from descent.server.rayrooms import Event, RoomsActor
from descent.server.rooms import Seat
from descent.server.teaching import Rules
from descent.settings import Settings

log = logging.getLogger(__name__)
ROOMS = "descent-rooms"  # the rooms actor's name


class RayClassroom(Classroom):
    """One front end's side of the cluster's rooms."""

    def __init__(self, settings: Settings, host: Any) -> None:
        self.settings, self.host = settings, host  # (host: rayhost.RayHost, which sends the rooms' orders on)
        self.owner: str = getattr(host, "owner", "front")
        self.seats: dict[str, tuple[Seat, int]] = {}  # session id -> its connection here, and that connection's number
        self.ruled: dict[str, Rules] = {}  # student session id -> its room's rules (from the actor)
        self.actor: Any = None
        self._numbers = itertools.count(1)
        self._queue: queue.SimpleQueue[Event | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._dispatch, name="descent-rooms-dispatch", daemon=True)

    def start(self) -> None:
        """(After the host joined the cluster.) The rooms actor, made by the first front end."""
        s = self.settings
        actor = polled_actor(RoomsActor, 16)
        self.actor = actor.options(name=ROOMS, namespace=s.ray_namespace, get_if_exists=True, lifetime="detached",
                                   num_cpus=0, resources={HEAD: 0.001}).remote(s.model_dump())
        ray.get(self.actor.__ray_ready__.remote(), timeout=START_TIMEOUT)  # (it imports torch on the head node)
        self._thread.start()

    def stop(self) -> None:
        self._queue.put(None)
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    async def run(self) -> None:
        """Take what this front end's seats must receive, and the rooms' orders to its sessions."""
        take = self.actor.take
        while True:
            try:
                items = await take.remote(self.owner, POLL)
            except RayError as e:
                log.error("the rooms actor did not answer: %s", e)
                await anyio.sleep(1.0)
                continue
            for name, sid, *args in items:
                if name == "rules":
                    if args[0] is None:
                        self.ruled.pop(sid, None)
                    else:
                        self.ruled[sid] = args[0]
                elif name == "put":
                    if (held := self.seats.get(sid)) is not None:
                        held[0].put(*args)
                elif name == "handle":
                    self.host.handle(sid, args[0])
                elif name == "again":
                    for held_sid, (seat, number) in list(self.seats.items()):
                        self._queue.put(("reconnected", held_sid, seat.client, number))

    def _dispatch(self) -> None:
        """(Thread.) Events to the actor in order, in batches; the next waits for the last."""
        while True:
            first = self._queue.get()
            if first is None:
                return
            time.sleep(GATHER)  # (a round's summaries come together: one call for all)
            events, stopping = [first], False
            while not self._queue.empty():
                event = self._queue.get()
                if event is None:
                    stopping = True
                    break
                events.append(event)
            try:
                ray.get(self.actor.apply.remote(self.owner, events), timeout=CALL_TIMEOUT)
            except (RayError, GetTimeoutError) as e:
                log.warning("the rooms actor did not take %d events: %s", len(events), e)
            if stopping:
                return

    def _seat(self, seat: Seat) -> tuple[Any, ...]:
        """(Event loop.) ``seat`` as the actor knows it: (client, its number)."""
        held = self.seats.get(seat.sid)
        if held is None or held[0] is not seat:
            held = self.seats[seat.sid] = (seat, next(self._numbers))
        return seat.client, held[1]

    def rules(self, sid: str) -> Rules | None:
        return self.ruled.get(sid)

    def to_room(self, kind: str, sid: str, text: str) -> None:
        self._queue.put((kind, sid, text))

    def deliver_for(self, seat: Seat) -> Any:
        self._seat(seat)
        return super().deliver_for(seat)

    def handle(self, seat: Seat, message: Any) -> None:
        self._queue.put(("room", seat.sid, *self._seat(seat), message))

    def reconnected(self, seat: Seat) -> None:
        self._queue.put(("reconnected", seat.sid, *self._seat(seat)))

    def left(self, seat: Seat) -> None:
        held = self.seats.get(seat.sid)
        if held is not None and held[0] is seat:
            del self.seats[seat.sid]
            self._queue.put(("left", seat.sid, seat.client, held[1]))

    def forget(self, sid: str) -> None:
        self.ruled.pop(sid, None)
        self._queue.put(("forget", sid))

    async def download(self, code: str, token: str, client: str) -> list[dict[str, Any]] | None:
        found: list[dict[str, Any]] | None = await self.actor.download.remote(code, token, client)
        return found

