"""Rooms on a Ray cluster (``DESCENT_RAY_ADDRESS``): the rooms actor that every front end
shares, so a teacher and students whose connections the load balancer sent to different
front ends are in one room (the front end's side: rayclassroom.py).

``RoomsActor`` (a named, detached actor on the head node, like the sessions' registry)
holds the cluster's ``Rooms`` and runs their clock: the same code as one server's rooms. A
seat there is a ``Relay``: what the rooms tell it waits in the outbox of the front end that
holds the connection; the rooms' orders to a session (its duty, a push's configure and
reset, a freeze's pause, a fork's copy) go to the front end that serves the session, whose
host sends them on to the session's training actor. Each student's front end is sent its
room's rules (locked, frozen, spotlit) when they change, ahead of the messages that tell the
student. A front end that stops polling for ``GONE_AFTER`` seconds is taken for dead: its
seats leave their rooms (the wall shows them offline) and take their places again when
their clients resume through another front end (or, if it was only slow, when it polls
again). Plain Python: tests/test_ray_rooms.py drives it without Ray too."""

from __future__ import annotations

import logging
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from descent.runtime.rayregistry import DEAD_AFTER
from descent.server import teaching
from descent.server.rooms import Room, Rooms
from descent.server.teaching import Rules
from descent.settings import Settings

log = logging.getLogger(__name__)
GONE_AFTER = 3 * DEAD_AFTER  # seconds without a poll after which a front end is taken for dead (it polls 4 times a second)
OUTBOX_LIMIT = 20_000  # items kept for a front end that stopped taking (it is soon taken for dead)
Event = tuple[Any, ...]  # front end -> actor: (name, session id, *arguments)
Item = tuple[Any, ...]  # actor -> front end: ("rules", sid, Rules | None) | ("put", sid, kind, text) | ("handle", sid, message)


class Outboxes:
    """(Actor.) What waits for each front end, and which front end serves each session
    (rooms.Handles: the rooms' orders to a session go there)."""

    def __init__(self) -> None:
        self.boxes: dict[str, list[Item]] = defaultdict(list)
        self.owners: dict[str, str] = {}  # session id -> the front end that last spoke for it
        self.gone: set[str] = set()  # front ends taken for dead: what is sent to them is dropped

    def send(self, owner: str, item: Item) -> None:
        if owner in self.gone:
            return
        box = self.boxes[owner]
        if len(box) < OUTBOX_LIMIT:
            box.append(item)

    def handle(self, sid: str, message: BaseModel) -> None:
        owner = self.owners.get(sid)
        if owner is not None:
            self.send(owner, ("handle", sid, message))


@dataclass(frozen=True)
class Relay:
    """(Actor.) Connection ``conn`` of front end ``owner``, as the rooms see it (a rooms.Seat;
    equal relays are one connection, so a newer connection's is not taken for an older's)."""

    owner: str
    sid: str
    client: str
    conn: int
    out: Outboxes = field(compare=False, repr=False)

    def put(self, kind: str, text: str) -> None:
        self.out.send(self.owner, ("put", self.sid, kind, text))

    deliver = put


class RoomsActor:
    """The cluster's rooms. Every method holds ``ready``'s lock: one thing at a time, as on
    one server's event loop; ``take`` waits on it in a concurrency group of its own."""

    def __init__(self, settings: dict[str, Any]) -> None:
        logging.basicConfig(level=logging.INFO, format="rooms: %(levelname)s %(name)s: %(message)s")
        self.out = Outboxes()
        self.rooms = Rooms(Settings.model_validate(settings), self.out)
        self.ready = threading.Condition()
        self.polled: dict[str, float] = {}  # front end -> when it last took
        self.told: dict[str, tuple[str, Rules]] = {}  # student session id -> (its front end, the rules it was sent)
        threading.Thread(target=self._clock, name="descent-rooms-clock", daemon=True).start()

    def apply(self, owner: str, events: list[Event]) -> None:
        """Events from front end ``owner``, in its order."""
        with self.ready:
            self.polled.setdefault(owner, time.monotonic())
            for event in events:
                try:
                    self._apply(owner, *event)
                except Exception:  # (one bad event is lost, not the batch)
                    log.exception("event %r failed", event[:2])
            self._rules()
            self.ready.notify_all()

    def _apply(self, owner: str, name: str, sid: str, *args: Any) -> None:
        if name == "forget":  # (reclaimed by a front end that no longer serves it: it lives on elsewhere)
            if self.out.owners.get(sid, owner) == owner:
                self.out.owners.pop(sid, None)
                self.rooms.forget(sid)
            return
        self.out.owners[sid] = owner
        if name in ("room", "reconnected", "left"):
            client, conn, *message = args
            seat = Relay(owner, sid, client, conn, self.out)
            if name == "room":
                teaching.handle(self.rooms, seat, message[0])
            else:
                getattr(teaching, name)(self.rooms, seat)
        else:  # summary, shared, config, frame
            self.rooms.event(name, sid, args[0])

    def take(self, owner: str, wait: float) -> list[Item]:
        """What waits for front end ``owner`` (within ``wait`` seconds); its rules first."""
        with self.ready:
            self.polled[owner] = time.monotonic()
            if owner in self.out.gone:  # (it was only slow: its seats take their places again)
                self.out.gone.discard(owner)
                return [("again", "")]
            if not self.out.boxes[owner]:
                self.ready.wait(wait)
            items, self.out.boxes[owner] = self.out.boxes[owner], []
            self.polled[owner] = time.monotonic()
        return sorted(items, key=lambda item: item[0] != "rules")  # (stable: each kind keeps its order)

    def download(self, code: str, token: str, client: str) -> list[dict[str, Any]] | None:
        with self.ready:
            return self.rooms.download(code, token, client, time.monotonic())

    def _clock(self) -> None:
        while True:
            time.sleep(self.rooms.settings.room_wall_seconds)
            with self.ready:
                try:
                    self._bury(time.monotonic())
                    self.rooms.beat()
                    self._rules()
                except Exception:
                    log.exception("the rooms' tick failed")
                self.ready.notify_all()

    def _bury(self, now: float) -> None:
        """The seats of front ends that stopped polling leave (their clients come back elsewhere)."""
        dead = {owner for owner, at in self.polled.items() if now - at > GONE_AFTER}
        if not dead:
            return
        for room in list(self.rooms.rooms.values()):
            for seat in [room.teacher, *(m.seat for m in room.members.values())]:
                if isinstance(seat, Relay) and seat.owner in dead:
                    teaching.left(self.rooms, seat)
        for owner in dead:
            log.warning("front end %s stopped polling: taken for dead", owner)
            del self.polled[owner]
            self.out.boxes.pop(owner, None)
            self.out.gone.add(owner)

    def _rules(self) -> None:
        """Send each student's front end its room's rules when they (or its front end) changed."""
        now: dict[str, tuple[str, Rules]] = {}
        for sid in self.rooms.of:
            rules, owner = teaching.rules_of(self.rooms, sid), self.out.owners.get(sid)
            if rules is not None and owner is not None:
                now[sid] = (owner, rules)
        for sid, told in now.items():
            if self.told.get(sid) != told:
                self.out.send(told[0], ("rules", sid, told[1]))
        for sid, (owner, _) in self.told.items():
            if sid not in now:
                self.out.send(owner, ("rules", sid, None))
        self.told = now

    def rooms_of(self) -> dict[str, dict[str, Any]]:
        """Each open room's members (tests): code -> {tile: (name, session id, connected)}."""
        with self.ready:
            return {code: room_view(room) for code, room in self.rooms.rooms.items()}


def room_view(room: Room) -> dict[str, Any]:
    return {"teacher": room.teacher_sid, "locked": room.locked, "frozen": room.frozen,
            "members": {m.tile: (m.name, m.sid, m.seat is not None) for m in room.members.values()}}
