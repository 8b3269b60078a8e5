"""The rooms as one front end's transport sees them (socket.py, walls.py, the app's tasks).

One interface, two backings: ``LocalClassroom`` holds the rooms in this process (one
server: they run on its event loop); ``rayclassroom.RayClassroom`` forwards to the rooms actor
that every front end of a Ray cluster shares. Both route a student's session's messages the
same way (``deliver_for``: summaries and copies of its run to the room, never to its page;
its setups and, while spotlit, its frames to the room too) and check a student's own
messages against its room's rules (``refusal``: locked, frozen) without waiting on the room."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from pydantic import BaseModel

from descent.protocol import Error
from descent.runtime.hosting import Deliver
from descent.server import teaching
from descent.server.rooms import Handles, Rooms, Seat
from descent.server.teaching import Rules
from descent.settings import Settings

log = logging.getLogger(__name__)


class Classroom:
    """What the transport asks of the rooms (each backing fills in the abstract part)."""

    # ---- the backing's part --------------------------------------------------------------

    def start(self) -> None:
        """(In a thread, once the host has started.)"""

    def stop(self) -> None:
        """(In a thread, before the host stops.)"""

    async def run(self) -> None:
        raise NotImplementedError

    def rules(self, sid: str) -> Rules | None:
        """The rules of session ``sid``'s room, if it is a student in one (any thread)."""
        raise NotImplementedError

    def to_room(self, kind: str, sid: str, text: str) -> None:
        """Session ``sid``'s message for its room (from a training or pipe thread)."""
        raise NotImplementedError

    def handle(self, seat: Seat, message: Any) -> None:
        """A room message from a connection (teaching.handle)."""
        raise NotImplementedError

    def reconnected(self, seat: Seat) -> None:
        """A connection resumed a session: if it is in a room, it takes its place again."""
        raise NotImplementedError

    def left(self, seat: Seat) -> None:
        """A connection went (its session awaits resume)."""
        raise NotImplementedError

    def forget(self, sid: str) -> None:
        """Session ``sid`` was reclaimed: its tile stays (for the download) without it."""
        raise NotImplementedError

    async def download(self, code: str, token: str, client: str) -> list[dict[str, Any]] | None:
        """Room ``code``'s wall as rows, if ``token`` is its teacher's (rooms.Rooms.download)."""
        raise NotImplementedError

    # ---- the same for both ----------------------------------------------------------------

    def refusal(self, sid: str, message: BaseModel) -> Error | None:
        return teaching.refusal(self.rules(sid), message)

    def deliver_for(self, seat: Seat) -> Deliver:
        """The deliver of ``seat``'s session (runs on training or pipe threads): its messages
        to it, but summaries and copies to its room, and setups and spotlit frames there too."""
        sid = seat.sid

        def deliver(kind: str, text: str) -> None:
            if kind in ("summary", "shared"):  # (shared: a copy of the run for the teacher, never for a page)
                self.to_room(kind, sid, text)
                return
            seat.deliver(kind, text)
            if kind in ("frame", "config"):
                rules = self.rules(sid)
                if rules is not None and (kind == "config" or rules.spotlit):
                    self.to_room(kind, sid, text)

        return deliver


class LocalClassroom(Classroom):
    """The rooms of one server, on its event loop."""

    def __init__(self, settings: Settings, host: Handles) -> None:
        self.rooms = Rooms(settings, host)
        self._loop: asyncio.AbstractEventLoop | None = None

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self.rooms.settings.room_wall_seconds)
            try:
                self.rooms.beat()
            except Exception:  # (a fault here must not stop the server's other tasks)
                log.exception("the rooms' tick failed")

    def rules(self, sid: str) -> Rules | None:
        return teaching.rules_of(self.rooms, sid)  # (read from other threads: dict lookups only)

    def deliver_for(self, seat: Seat) -> Deliver:
        self._loop = asyncio.get_running_loop()
        return super().deliver_for(seat)

    def to_room(self, kind: str, sid: str, text: str) -> None:
        assert self._loop is not None
        self._loop.call_soon_threadsafe(self.rooms.event, kind, sid, text)

    def handle(self, seat: Seat, message: Any) -> None:
        teaching.handle(self.rooms, seat, message)

    def reconnected(self, seat: Seat) -> None:
        teaching.reconnected(self.rooms, seat)

    def left(self, seat: Seat) -> None:
        teaching.left(self.rooms, seat)

    def forget(self, sid: str) -> None:
        self.rooms.forget(sid)

    async def download(self, code: str, token: str, client: str) -> list[dict[str, Any]] | None:
        return self.rooms.download(code, token, client, time.monotonic())
