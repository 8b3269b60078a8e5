"""The classroom's messages (torch-free, part of the protocol): a teacher's room that every
student's page follows.

Client -> server: ``{"type": "room", "action": ...}``. Anyone may ``create`` a room (that
connection becomes its teacher and gets ``teacher_token``) or ``join`` one by its code with
a display name (it becomes a student: a tile on the wall). Only the teacher's connection
(or one that ``claim``s the room with the teacher token after a reload) may ``push``,
``lock``, ``freeze``, ``spotlight``, ``challenge``, ``adopt`` or ``end``; a student gets an
``error`` for those. A student's reload resumes its session (``/ws?resume=``) and with it
its tile. Server -> client: ``room`` (this client's view of its room, after every change),
``wall`` (the teacher's tiles: each student's summary, a few hundred bytes), ``leaderboard``
(a challenge's ranking by test loss) and ``spotlight`` (one student's frames, read-only)."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

CODE = re.compile(r"^[A-Z]{4}-[0-9]{4}$")  # ABCD-1234: letters without I and O, then digits
MAX_NAME = 24


class _Message(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


# ---- client -> server -------------------------------------------------------------


class RoomCreate(_Message):
    """Open a room: this connection becomes its teacher."""

    type: Literal["room"]
    action: Literal["create"]


class RoomJoin(_Message):
    """Join a room as a student, with a display name (shown as text, never as HTML)."""

    type: Literal["room"]
    action: Literal["join"]
    code: str = Field(max_length=16, description="the join code, e.g. ABCD-1234")
    name: str = Field(min_length=1, max_length=MAX_NAME, description=f"display name, 1 to {MAX_NAME} characters")

    @field_validator("code")
    @classmethod
    def _code(cls, value: str) -> str:
        value = value.strip().upper()
        if not CODE.match(value):
            raise ValueError("a join code is four letters, a dash and four digits (ABCD-1234)")
        return value

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        value = " ".join(value.split())  # (no newlines, tabs or runs of spaces)
        if not value or any(ord(c) < 32 or 0x7F <= ord(c) < 0xA0 for c in value):
            raise ValueError("a name is printable text")
        return value


class RoomClaim(_Message):
    """The teacher's page, reloaded, takes its room back with the teacher token."""

    type: Literal["room"]
    action: Literal["claim"]
    code: str = Field(max_length=16)
    teacher_token: str = Field(max_length=64)


class RoomPush(_Message):
    """Send every student a setup: a config (any lab; their runs reset to it) and/or a lesson step."""

    type: Literal["room"]
    action: Literal["push"]
    config: dict[str, Any] | None = None
    lesson: str | None = Field(default=None, max_length=64, pattern=r"^[a-z0-9-]+$")
    step: int = Field(default=0, ge=0, le=99, description="the lesson's step")


class RoomLock(_Message):
    """Lock the students' controls (they may only play, pause, step and reset) or unlock them."""

    type: Literal["room"]
    action: Literal["lock"]
    locked: bool


class RoomFreeze(_Message):
    """Pause every student's run (and refuse play) or let them play again."""

    type: Literal["room"]
    action: Literal["freeze"]
    frozen: bool


class RoomSpotlight(_Message):
    """Receive one student's full frames (read-only); ``tile`` null stops."""

    type: Literal["room"]
    action: Literal["spotlight"]
    tile: str | None = Field(default=None, max_length=16)


class RoomChallenge(_Message):
    """Set a goal and an epoch budget (students' runs stop at it; ranked by test loss), with an
    optional setup pushed to everyone; ``epochs`` null ends the challenge."""

    type: Literal["room"]
    action: Literal["challenge"]
    goal: str = Field(default="", max_length=200)
    epochs: int | None = Field(default=None, ge=1, le=100_000, description="the epoch budget")
    config: dict[str, Any] | None = None


class RoomAdopt(_Message):
    """Fork a student's run onto the teacher's page (the projector): its setup, weights,
    optimizer state and history, from where it is now; then Show the code gives its script."""

    type: Literal["room"]
    action: Literal["adopt"]
    tile: str = Field(max_length=16)


class RoomEnd(_Message):
    """The teacher ends the room; a student leaves it."""

    type: Literal["room"]
    action: Literal["end", "leave"]


RoomMessage = Annotated[RoomCreate | RoomJoin | RoomClaim | RoomPush | RoomLock | RoomFreeze | RoomSpotlight
                        | RoomChallenge | RoomAdopt | RoomEnd, Field(discriminator="action")]
TEACHER_ACTIONS = frozenset({"push", "lock", "freeze", "spotlight", "challenge", "adopt", "end"})


# ---- server -> client -------------------------------------------------------------


class Challenge(_Message):
    goal: str
    epochs: int


class RoomState(_Message):
    """This client's view of its room, sent on joining and after each change. ``event`` says
    what happened (a toast on the page); ``teacher_token`` goes to the teacher only."""

    type: Literal["room"] = "room"
    role: Literal["teacher", "student", "none"]
    code: str | None = None
    tile: str | None = Field(default=None, description="the student's tile")
    name: str | None = None
    teacher_token: str | None = Field(default=None, description="secret: claim the room back after a reload")
    locked: bool = False
    frozen: bool = False
    challenge: Challenge | None = None
    students: int = 0
    event: str = Field(description="created, joined, claimed, pushed, locked, unlocked, frozen, resumed, challenge, adopt, ended, left")
    message: str | None = None
    lesson: str | None = Field(default=None, description="pushed: the lesson the page starts")
    step: int = 0
    config: dict[str, Any] | None = Field(default=None, description="adopt: the student's setup")


class Summary(_Message):
    """What a worker computes of a student's run for the wall (throttled, a few hundred bytes)."""

    type: Literal["summary"] = "summary"
    lab: str
    state: str
    epoch: int
    step: int
    lr: float | None
    optimizer: str | None
    loss: float | None = Field(description="the test loss (the leaderboard's measure), or the lab's main loss")
    metrics: dict[str, float | None]
    spark: list[float | None] = Field(description="the loss curve, at most 32 points")
    thumb: str | None = Field(default=None, description="the main picture, base64-uint8 of thumb_size × thumb_size")
    thumb_size: int = 0
    diverged: bool


class Tile(_Message):
    tile: str
    name: str
    connected: bool
    locked: bool = False
    summary: dict[str, Any] | None = None


class Wall(_Message):
    """The teacher's wall: the tiles that changed (``full``: every tile, the others are gone)."""

    type: Literal["wall"] = "wall"
    full: bool
    tiles: list[Tile]


class Rank(_Message):
    tile: str
    name: str
    loss: float | None
    epoch: int
    done: bool


class Leaderboard(_Message):
    type: Literal["leaderboard"] = "leaderboard"
    goal: str
    epochs: int
    ranking: list[Rank]


class Spotlight(_Message):
    """A student's frame, as that student got it (``frame`` null: the spotlight ended)."""

    type: Literal["spotlight"] = "spotlight"
    tile: str
    name: str
    config: dict[str, Any] | None = Field(default=None, description="the student's setup, with the first (full) frame")
    frame: dict[str, Any] | None = None


# ---- server -> session (never from a client) ---------------------------------------


class RoomDuty(_Message):
    """What a session in a room does besides its own run: send a ``Summary`` every
    ``summary_interval`` seconds, stop at ``epoch_limit`` epochs, send a full frame now."""

    type: Literal["room_duty"] = "room_duty"
    summary_interval: float | None = None
    epoch_limit: int | None = None
    refresh: bool = False


class RoomShare(_Message):
    """Send a copy of the run to the server (a ``shared`` message: its snapshot, base64), for the teacher to fork."""

    type: Literal["room_share"] = "room_share"


class RoomTake(_Message):
    """Become a copy of a student's run (its ``snapshot``, taken by this server), paused."""

    type: Literal["room_take"] = "room_take"
    snapshot: str = Field(description="base64 of the student's session snapshot")
    config: dict[str, Any]
