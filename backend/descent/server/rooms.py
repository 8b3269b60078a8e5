"""Which rooms exist, who is in them, and how their messages travel.

A room is a group of existing sessions: one teacher's and its students'. It has an
unguessable join code (ABCD-1234: about 31 bits, and failed attempts are rate-limited per
address) and a secret teacher token. Students' summaries come from their workers as
``summary`` messages on their sessions' deliver (classrooms.Classroom.deliver_for routes
them here, ``event``, instead of to the student); the teacher gets the tiles that changed
every ``room_wall_seconds`` (``tick``). Membership is keyed by session id, so a reload that
resumes its session (``/ws?resume=``) is back in its room with the same tile.

One thread at a time: the event loop of the one server (classrooms.LocalClassroom), or, on
a Ray cluster, the rooms actor that every front end shares (rayrooms.RoomsActor, where a
seat is a relay to the front end holding the connection). The actions themselves are in
teaching.py."""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass, field
from typing import Any, Protocol

from pydantic import BaseModel

from descent.classroom import Challenge, Leaderboard, Rank, RoomDuty, RoomState, RoomTake, Tile, Wall
from descent.protocol import to_json
from descent.runtime.bucket import TokenBucket
from descent.settings import Settings

REMIND_SECONDS = 10.0  # a silent session is reminded of its duty (one restored in a new worker process lost it)
FULL_FRAME = '"history":{"reset":true'  # (in a frame that starts the client's history over: protocol.to_json)
LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"  # (no I or O: read off a projector)


def new_code() -> str:
    return "".join(secrets.choice(LETTERS) for _ in range(4)) + "-" + "".join(secrets.choice("0123456789") for _ in range(4))


class Seat(Protocol):
    """A client's connection as a room sees it (socket.Connection)."""

    @property
    def sid(self) -> str: ...
    @property
    def client(self) -> str: ...

    def put(self, kind: str, text: str) -> None: ...  # on the event loop
    def deliver(self, kind: str, text: str) -> None: ...  # from any thread


@dataclass(eq=False)
class Member:
    tile: str
    name: str
    sid: str | None  # None once its session was reclaimed (the tile stays for the download)
    seat: Seat | None = None
    summary: dict[str, Any] | None = None
    config: dict[str, Any] | None = None  # its last setup (for adopt and the download)
    changed: bool = True  # since the teacher's last wall
    was_running: bool = False  # when the room was frozen
    heard: float = 0.0  # when its session last sent a summary, or was last reminded of its duty


@dataclass(eq=False)
class Room:
    code: str
    token: str
    teacher_sid: str | None
    opened: float
    teacher: Seat | None = None
    teacher_left: float | None = None
    members: dict[str, Member] = field(default_factory=dict)  # by tile
    locked: bool = False
    frozen: bool = False
    challenge: Challenge | None = None
    spotlight: str | None = None  # the tile the teacher watches
    spotlight_ready: bool = False  # its full frame came: the following ones go on
    tiles_made: int = 0
    full_wall: bool = True  # the teacher's next wall lists every tile
    ranking_changed: bool = False
    ended: float | None = None
    adopting: str | None = None  # the tile whose run the teacher asked to fork

    def state(self, role: str, event: str, member: Member | None = None, **extra: Any) -> RoomState:
        return RoomState(role=role, code=self.code, tile=member.tile if member else None,
                         name=member.name if member else None, locked=self.locked, frozen=self.frozen,
                         challenge=self.challenge, students=len(self.present()), event=event, **extra)

    def present(self) -> list[Member]:
        return [m for m in self.members.values() if m.sid is not None]

    def ranking(self) -> Leaderboard | None:
        if self.challenge is None:
            return None
        budget, ranks = self.challenge.epochs, []
        for m in self.present():
            summary = m.summary or {}
            epoch = summary.get("epoch", 0)
            valid = epoch <= budget  # (a run past the budget is one from before the challenge, not yet reset)
            ranks.append(Rank(tile=m.tile, name=m.name, loss=summary.get("loss") if valid else None, epoch=epoch if valid else 0,
                              done=epoch == budget))
        ranks.sort(key=lambda r: (r.loss is None, r.loss if r.loss is not None else 0.0))
        return Leaderboard(goal=self.challenge.goal, epochs=self.challenge.epochs, ranking=ranks)


class Handles(Protocol):
    """Where a room's orders to its sessions go: the host, or (on a cluster) the front end
    that serves each session (rayrooms.Outboxes)."""

    def handle(self, sid: str, message: BaseModel) -> None: ...


class Rooms:
    """Every room of the server (or, on a cluster, of every front end: rayrooms.RoomsActor)."""

    def __init__(self, settings: Settings, host: Handles) -> None:
        self.settings, self.host = settings, host
        self.rooms: dict[str, Room] = {}  # open rooms by code
        self.archive: dict[str, Room] = {}  # ended rooms, their walls still downloadable
        self.of: dict[str, tuple[Room, str | None]] = {}  # session id -> (its room, its tile; None: the teacher)
        self.spotlit: dict[str, Room] = {}  # student session id -> the room whose teacher watches it
        self._attempts: dict[str, TokenBucket] = {}  # client address -> failed join attempts
        self._last_board = 0.0  # when the leaderboards were last sent

    # ---- limits -----------------------------------------------------------------------

    def attempt_refused(self, client: str, now: float) -> str | None:
        """A failed join or token attempt from ``client``: why it may try no more (now), or None."""
        if len(self._attempts) >= 4096:
            self._attempts.clear()
        s = self.settings
        bucket = self._attempts.setdefault(client, TokenBucket(s.room_join_per_minute / 60, s.room_join_attempts, now))
        if bucket.take(now):
            return None
        return f"too many failed attempts: wait {bucket.wait(now):.0f} s before trying another code"

    def download(self, code: str, token: str, client: str, now: float) -> list[dict[str, Any]] | None:
        """Room ``code``'s wall, open or ended, as rows (walls.py), if ``token`` is its
        teacher's; None (a failed attempt of ``client``) if not."""
        room = self.rooms.get(code) or self.archive.get(code)
        if self.may_try(client, now) or room is None or not secrets.compare_digest(room.token.encode(), token.encode()):
            self.attempt_refused(client, now)
            return None
        return rows(room)

    def may_try(self, client: str, now: float) -> str | None:
        bucket = self._attempts.get(client)
        if bucket is None or bucket.available(now) >= 1:
            return None
        return f"too many failed attempts: wait {bucket.wait(now):.0f} s before trying another code"

    # ---- messages to a room's people -------------------------------------------------

    def tell(self, seat: Seat | None, message: BaseModel | dict[str, Any]) -> None:
        if seat is not None:
            data = message.model_dump() if isinstance(message, BaseModel) else message  # (nested models too: small)
            seat.put(data["type"], to_json(data))

    def duty(self, room: Room, member: Member, refresh: bool = False) -> None:
        """Tell a student's session what the room wants of it (summaries, the budget)."""
        if member.sid is not None:
            limit = room.challenge.epochs if room.challenge else None
            self.host.handle(member.sid, RoomDuty(summary_interval=self.settings.room_summary_seconds,
                                                  epoch_limit=limit, refresh=refresh))

    def release(self, sid: str) -> None:
        """A session leaves its room's duties (no summaries, no budget)."""
        self.host.handle(sid, RoomDuty())

    def students(self, room: Room, event: str, message: str | None = None, **extra: Any) -> None:
        """Tell every student its view of the room (and the teacher the count)."""
        for member in room.present():
            self.tell(member.seat, room.state("student", event, member, message=message, **extra))

    # ---- what its students' sessions say (summaries, copies, setups, spotlit frames) -----

    def event(self, kind: str, sid: str, text: str) -> None:
        """A message of session ``sid`` for its room (classrooms.Classroom.deliver_for routes them)."""
        {"summary": self.summary, "shared": self.shared, "config": self.config, "frame": self.spotlight_frame}[kind](sid, text)

    def member(self, sid: str) -> tuple[Room, Member] | None:
        found = self.of.get(sid)
        if found is None or found[1] is None:
            return None
        return found[0], found[0].members[found[1]]

    def summary(self, sid: str, text: str) -> None:
        found = self.member(sid)
        if found is not None:
            room, member = found
            member.summary, member.changed, member.heard = json.loads(text), True, time.monotonic()
            room.ranking_changed = room.challenge is not None

    def shared(self, sid: str, text: str) -> None:
        """A student's copy of its run, asked for by ``adopt``: the teacher's session becomes it."""
        found = self.member(sid)
        if found is None:
            return
        room, member = found
        if room.adopting != member.tile or room.teacher_sid is None:
            return
        room.adopting = None
        copy = json.loads(text)
        self.host.handle(room.teacher_sid, RoomTake(snapshot=copy["snapshot"], config=copy["config"]))
        self.tell(room.teacher, room.state("teacher", "adopt", message=f"{member.name}'s run, forked here: its weights, "
                                           "optimizer state and curves, paused (▶ trains it on; Show the code gives its script)",
                                           config=copy["config"]))

    def config(self, sid: str, text: str) -> None:
        found = self.member(sid)
        if found is not None:
            found[1].config = json.loads(text).get("config")

    def spotlight_frame(self, sid: str, text: str) -> None:
        found = self.member(sid)
        if found is not None and found[0].spotlight == found[1].tile and found[0].teacher is not None:
            room, member = found
            first = not room.spotlight_ready
            if first:  # (frames already on their way before the full one: the teacher lacks their past)
                room.spotlight_ready = FULL_FRAME in text
                if not room.spotlight_ready:
                    return
            head = json.dumps({"type": "spotlight", "tile": member.tile, "name": member.name,
                               **({"config": member.config} if first else {})}, separators=(",", ":"))
            room.teacher.put("spotlight", f'{head[:-1]},"frame":{text}}}')  # type: ignore[union-attr]

    # ---- each tick: walls, leaderboards, timeouts ------------------------------------

    def tick(self, now: float, leaderboards: bool) -> None:
        for room in list(self.rooms.values()):
            if now - room.opened >= self.settings.room_max_seconds or (
                    room.teacher is None and room.teacher_left is not None
                    and now - room.teacher_left >= self.settings.room_teacher_grace_seconds):
                self.end(room, "the class ended (time is up)" if room.teacher is not None else "the class ended: the teacher left")
                continue
            self.send_wall(room)
            for member in room.present():
                if member.seat is not None and now - member.heard >= REMIND_SECONDS:
                    member.heard = now
                    self.duty(room, member)
            if leaderboards and room.ranking_changed:
                room.ranking_changed = False
                board = room.ranking()
                if board is not None:
                    self.tell(room.teacher, board)
                    for member in room.present():
                        self.tell(member.seat, board)
        for code, room in list(self.archive.items()):
            if now - (room.ended or now) >= self.settings.room_archive_seconds:
                del self.archive[code]

    def beat(self) -> None:
        """The rooms' clock, every room_wall_seconds: walls, timeouts; leaderboards each second."""
        now = time.monotonic()
        boards = now - self._last_board >= 1.0
        self._last_board = now if boards else self._last_board
        self.tick(now, boards)

    def send_wall(self, room: Room) -> None:
        if room.teacher is None:
            return
        changed = [m for m in room.present() if m.changed or room.full_wall]  # (a full wall: who is left)
        if not changed and not room.full_wall:
            return
        tiles = [Tile(tile=m.tile, name=m.name, connected=m.seat is not None, summary=m.summary) for m in changed]
        self.tell(room.teacher, Wall(full=room.full_wall, tiles=tiles))
        room.full_wall = False
        for m in changed:
            m.changed = False

    # ---- endings -----------------------------------------------------------------------

    def end(self, room: Room, why: str) -> None:
        """Close ``room``: its sessions go on alone, unlocked; its wall stays downloadable a while."""
        for member in room.present():
            self.tell(member.seat, RoomState(role="none", code=room.code, event="ended", message=why))
            assert member.sid is not None
            self.release(member.sid)
            self.of.pop(member.sid, None)
            self.spotlit.pop(member.sid, None)
        self.tell(room.teacher, RoomState(role="none", code=room.code, event="ended", message=why))
        if room.teacher_sid is not None:
            self.of.pop(room.teacher_sid, None)
        room.ended = time.monotonic()
        self.rooms.pop(room.code, None)
        if len(self.archive) >= self.settings.max_rooms:
            self.archive.pop(min(self.archive, key=lambda c: self.archive[c].ended or 0.0))
        self.archive[room.code] = room

    def forget(self, sid: str) -> None:
        """Session ``sid`` was reclaimed: its tile stays (for the download) without it."""
        found = self.of.pop(sid, None)
        self.spotlit.pop(sid, None)
        if found is None:
            return
        room, tile = found
        if tile is None:
            room.teacher_sid = None
        else:
            room.members[tile].sid, room.members[tile].seat, room.members[tile].changed = None, None, True
            room.full_wall = True  # (gone from the wall)


def rows(room: Room) -> list[dict[str, Any]]:
    """Each student's name, setup and last losses (the wall's download)."""
    out = []
    for member in room.members.values():
        summary, config = member.summary or {}, member.config or {}
        metrics = summary.get("metrics") or {}
        out.append({"name": member.name, "lab": summary.get("lab", config.get("lab")), "optimizer": summary.get("optimizer"),
                    "learning_rate": summary.get("lr"), "epoch": summary.get("epoch"), "state": summary.get("state"),
                    "train_loss": metrics.get("train_loss"), "test_loss": metrics.get("test_loss", summary.get("loss")),
                    "test_accuracy": metrics.get("test_accuracy"), "diverged": summary.get("diverged"), "setup": config})
    return out
