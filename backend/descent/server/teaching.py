"""What the room messages do (descent/classroom.py): open, join, claim, push, lock, freeze,
spotlight, challenge, adopt, end, leave; and what a room changes for its members' own
messages (a locked student's configure, a frozen one's play: refused here, server-side).

Only the connection bound to a room as its teacher may act on it: binding is by session,
on the server, so a student's page cannot act as the teacher without the teacher token,
which only the teacher's connection is ever sent."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError

from descent.classroom import (
    TEACHER_ACTIONS,
    Challenge,
    RoomAdopt,
    RoomChallenge,
    RoomClaim,
    RoomEnd,
    RoomFreeze,
    RoomJoin,
    RoomLock,
    RoomPush,
    RoomShare,
    RoomSpotlight,
    RoomState,
)
from descent.errors import describe
from descent.labs import LAB_NAMES, config_model
from descent.protocol import Command, Configure, Control, Error
from descent.server.rooms import Member, Room, Rooms, Seat, new_code

LOCKED = "your teacher locked the controls: you may play, pause, step and reset"
FROZEN = "your teacher paused the class: wait for the teacher to resume it"


@dataclass(frozen=True)
class Rules:
    """What a student's room asks of its own messages (a front end checks them without the
    room: on a cluster the room is elsewhere, and these are sent to the student's front end)."""

    locked: bool
    frozen: bool
    spotlit: bool  # its teacher watches its frames


def rules_of(rooms: Rooms, sid: str) -> Rules | None:
    """The rules of session ``sid``'s room, if it is a student in one (also read from other
    threads: lookups only)."""
    found = rooms.of.get(sid)
    if found is None or found[1] is None:
        return None
    return Rules(found[0].locked, found[0].frozen, sid in rooms.spotlit)


def refusal(rules: Rules | None, message: BaseModel) -> Error | None:
    """Why a student's own message is refused by its room (None: it goes to its session)."""
    if rules is None:
        return None
    if rules.locked and isinstance(message, (Configure, Command)):
        return Error(message=LOCKED, loc=[message.type])
    if rules.frozen and isinstance(message, Control) and message.action in ("play", "step"):
        return Error(message=FROZEN, loc=["action"])
    return None


def handle(rooms: Rooms, seat: Seat, message: Any) -> None:
    """A room message from ``seat``: done, or an error to it naming what is wrong."""
    now = time.monotonic()
    action = message.action
    try:
        if action == "create":
            create(rooms, seat, now)
        elif action == "join":
            join(rooms, seat, message, now)
        elif action == "claim":
            claim(rooms, seat, message, now)
        elif action == "leave":
            leave(rooms, seat)
        elif action in TEACHER_ACTIONS:
            found = rooms.of.get(seat.sid)
            if found is None or found[1] is not None:
                raise Refused(f"only the room's teacher may {action}")
            teach(rooms, found[0], seat, message)
    except Refused as e:
        rooms.tell(seat, Error(message=str(e), loc=["room", action, *e.loc]))


class Refused(Exception):
    def __init__(self, message: str, *loc: str | int) -> None:
        super().__init__(message)
        self.loc = list(loc)


def create(rooms: Rooms, seat: Seat, now: float) -> None:
    found = rooms.of.get(seat.sid)
    if found is not None and found[1] is None:  # (already its teacher: the room again)
        rooms.tell(seat, found[0].state("teacher", "created", teacher_token=found[0].token))
        return
    if len(rooms.rooms) >= rooms.settings.max_rooms:
        raise Refused(f"the server has as many rooms as it may ({rooms.settings.max_rooms}); try again later")
    leave(rooms, seat, quiet=True)
    code = new_code()
    while code in rooms.rooms or code in rooms.archive:
        code = new_code()
    room = Room(code, secrets.token_urlsafe(24), seat.sid, now, teacher=seat)
    rooms.rooms[code] = room
    rooms.of[seat.sid] = (room, None)
    rooms.tell(seat, room.state("teacher", "created", teacher_token=room.token))


def join(rooms: Rooms, seat: Seat, message: RoomJoin, now: float) -> None:
    barred = rooms.may_try(seat.client, now)
    if barred:
        raise Refused(barred, "code")
    room = rooms.rooms.get(message.code)
    if room is None:
        raise Refused(rooms.attempt_refused(seat.client, now) or f"no open room has the code {message.code}", "code")
    found = rooms.of.get(seat.sid)
    if found is not None and found[0] is room:
        if found[1] is None:
            raise Refused("you are this room's teacher", "code")
        member = room.members[found[1]]
        member.name, member.changed = message.name, True
    else:
        if len(room.present()) >= rooms.settings.max_room_students:
            raise Refused(f"this room is full ({rooms.settings.max_room_students} students)", "code")
        leave(rooms, seat, quiet=True)
        room.tiles_made += 1
        member = Member(f"t{room.tiles_made}", message.name, seat.sid, seat)
        room.members[member.tile] = member
        rooms.of[seat.sid] = (room, member.tile)
    rooms.duty(room, member)
    if room.frozen:  # (a latecomer to a paused class waits with the others)
        rooms.host.handle(seat.sid, Control(type="control", action="pause"))
    rooms.tell(seat, room.state("student", "joined", member))
    rooms.tell(room.teacher, room.state("teacher", "joined", message=f"{member.name} joined"))


def claim(rooms: Rooms, seat: Seat, message: RoomClaim, now: float) -> None:
    """A reloaded teacher's page (a new session) takes its room back with the token."""
    barred = rooms.may_try(seat.client, now)
    if barred:
        raise Refused(barred, "teacher_token")
    room = rooms.rooms.get(message.code.strip().upper())
    if room is None or not secrets.compare_digest(room.token.encode(), message.teacher_token.encode()):
        raise Refused(rooms.attempt_refused(seat.client, now) or "unknown room or wrong teacher token", "teacher_token")
    if room.teacher_sid is not None and room.teacher_sid != seat.sid:
        rooms.of.pop(room.teacher_sid, None)
    leave(rooms, seat, quiet=True)
    room.teacher_sid, room.teacher, room.teacher_left, room.full_wall = seat.sid, seat, None, True
    rooms.of[seat.sid] = (room, None)
    rooms.tell(seat, room.state("teacher", "claimed", teacher_token=room.token))
    if board := room.ranking():
        rooms.tell(seat, board)


def leave(rooms: Rooms, seat: Seat, quiet: bool = False) -> None:
    """A student leaves its room (its tile goes); quietly when joining or opening another."""
    found = rooms.member(seat.sid)
    if found is None:
        if not quiet:
            rooms.tell(seat, RoomState(role="none", event="left"))
        return
    room, member = found
    del room.members[member.tile]
    rooms.of.pop(seat.sid, None)
    rooms.spotlit.pop(seat.sid, None)
    rooms.release(seat.sid)
    room.full_wall = True
    rooms.tell(room.teacher, room.state("teacher", "left", message=f"{member.name} left"))
    if not quiet:
        rooms.tell(seat, RoomState(role="none", code=room.code, event="left"))


def checked_config(config: dict[str, Any], action: str) -> dict[str, Any]:
    """A pushed setup, validated as its lab's config (the error names the field)."""
    lab = config.get("lab")
    if lab not in LAB_NAMES:
        raise Refused(f"room.{action}.config.lab: unknown lab; allowed: {', '.join(LAB_NAMES)}", "config", "lab")
    model = config_model(str(lab))
    try:
        return model.model_validate(config).model_dump()
    except ValidationError as e:
        text, loc = describe(e, ("room", action, "config"), model)
        raise Refused(text, *loc[2:]) from None


def push(rooms: Rooms, room: Room, config: dict[str, Any]) -> None:
    """Every student's run resets to ``config``."""
    for member in room.present():
        assert member.sid is not None
        rooms.host.handle(member.sid, Configure(type="configure", config=config))
        rooms.host.handle(member.sid, Control(type="control", action="reset"))


def teach(rooms: Rooms, room: Room, seat: Seat, message: Any) -> None:
    """A teacher's action on its room."""
    if isinstance(message, RoomPush):
        if message.config is None and message.lesson is None:
            raise Refused("room.push: send a config, a lesson or both")
        config = checked_config(message.config, "push") if message.config is not None else None
        if config is not None:
            push(rooms, room, config)
        what = f"the lesson {message.lesson}" if message.lesson else f"a new {config['lab'] if config else ''} setup"
        rooms.students(room, "pushed", f"Your teacher sent {what}", lesson=message.lesson, step=message.step)
        rooms.tell(seat, room.state("teacher", "pushed", message=f"sent to {len(room.present())} students"))
    elif isinstance(message, RoomLock):
        room.locked = message.locked
        event = "locked" if room.locked else "unlocked"
        rooms.students(room, event, "Your teacher locked the controls" if room.locked else "Now try your own settings")
        rooms.tell(seat, room.state("teacher", event))
    elif isinstance(message, RoomFreeze):
        freeze(rooms, room, message.frozen)
        event = "frozen" if room.frozen else "resumed"
        rooms.students(room, event, "Your teacher paused the class" if room.frozen else "Your teacher resumed the class")
        rooms.tell(seat, room.state("teacher", event))
    elif isinstance(message, RoomSpotlight):
        spotlight(rooms, room, message.tile)
    elif isinstance(message, RoomChallenge):
        config = checked_config(message.config, "challenge") if message.config is not None else None
        room.challenge = Challenge(goal=message.goal, epochs=message.epochs) if message.epochs else None
        for each in room.present():  # (the budget first: a run past it pauses, then resets)
            rooms.duty(room, each)
        if config is not None:
            push(rooms, room, config)
        text = f"Challenge: {message.goal} ({message.epochs} epochs)" if room.challenge else "The challenge is over"
        rooms.students(room, "challenge", text)
        rooms.tell(seat, room.state("teacher", "challenge"))
        room.ranking_changed = room.challenge is not None
    elif isinstance(message, RoomAdopt):
        chosen = room.members.get(message.tile)
        if chosen is None or chosen.sid is None or room.teacher_sid is None:
            raise Refused(f"no student's run at tile {message.tile!r}", "tile")
        room.adopting = chosen.tile  # its session sends a copy (``shared``); rooms.shared forks it here
        rooms.host.handle(chosen.sid, RoomShare())
    elif isinstance(message, RoomEnd):
        rooms.end(room, "your teacher ended the class")


def freeze(rooms: Rooms, room: Room, frozen: bool) -> None:
    """Pause every run (remembering which ran), or play again those that ran."""
    room.frozen = frozen
    for member in room.present():
        assert member.sid is not None
        state = (member.summary or {}).get("state")
        if frozen:
            member.was_running = state in ("running", None)
            rooms.host.handle(member.sid, Control(type="control", action="pause"))
        elif member.was_running:
            rooms.host.handle(member.sid, Control(type="control", action="play"))


def spotlight(rooms: Rooms, room: Room, tile: str | None) -> None:
    """The teacher watches ``tile``'s frames (a full one first), or none."""
    for sid in [s for s, r in rooms.spotlit.items() if r is room]:
        del rooms.spotlit[sid]
    old, room.spotlight = room.spotlight, None
    if old is not None and old in room.members and tile is None:
        rooms.tell(room.teacher, {"type": "spotlight", "tile": old, "name": room.members[old].name, "frame": None})
    if tile is None:
        return
    member = room.members.get(tile)
    if member is None or member.sid is None:
        raise Refused(f"no student at tile {tile!r}", "tile")
    room.spotlight, room.spotlight_ready = tile, False
    rooms.spotlit[member.sid] = room
    rooms.duty(room, member, refresh=True)


def reconnected(rooms: Rooms, seat: Seat) -> None:
    """A connection resumed a session that is in a room: it takes its place again."""
    found = rooms.of.get(seat.sid)
    if found is None:
        return
    room, tile = found
    if tile is None:
        room.teacher, room.teacher_left, room.full_wall = seat, None, True
        rooms.tell(seat, room.state("teacher", "claimed", teacher_token=room.token))
        if board := room.ranking():
            rooms.tell(seat, board)
        return
    member = room.members[tile]
    member.seat, member.changed = seat, True
    rooms.duty(room, member)  # (again: a session restored in a new worker process lost it)
    rooms.tell(seat, room.state("student", "joined", member))


def left(rooms: Rooms, seat: Seat) -> None:
    """A connection went (its session awaits resume): the teacher's wall shows it."""
    found = rooms.of.get(seat.sid)
    if found is None:
        return
    room, tile = found
    if tile is None:
        if room.teacher == seat:  # (not a newer connection's: seats compare by connection)
            room.teacher, room.teacher_left = None, time.monotonic()
            spotlight(rooms, room, None)
    elif room.members[tile].seat == seat:
        room.members[tile].seat, room.members[tile].changed = None, True
