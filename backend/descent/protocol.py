"""The websocket protocol: every message, client -> server and server -> client (torch-free).

JSON text messages with a ``type`` field. Lab-specific parts (``configure.config`` and
``frame.views``) are documented per lab in /api/schema under ``labs``.

Resuming: ``hello.token`` is a secret that names the session. Connecting to
``/ws?resume=<token>`` within ``limits.resume_grace_seconds`` of losing the connection
takes the same session back (weights, history, config; a run that was playing plays on);
``hello.resumed`` says whether it worked and ``hello.resume_error`` why not (then the
connection got a fresh session). Binary frames are refused; client messages beyond
``limits`` get an ``error`` and are dropped, the session goes on.

Rooms (a teacher's class): the ``room`` messages of descent/classroom.py.

Close codes: 1008 origin not allowed; 1009 message too large for the transport;
1013 server full (retry later); 4000 closed after ``limits.idle_timeout_seconds`` without
a client message; 4008 the client did not read what it was sent."""

from __future__ import annotations

import json
import math
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from descent import PROTOCOL_VERSION
from descent.classroom import Leaderboard, RoomMessage, RoomState, Spotlight, Wall

RunState = Literal["running", "paused", "diverged"]
Rebuilt = Literal["none", "optimizer", "network", "lab"]  # what a config change rebuilt


class _Message(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


# ---- client -> server -------------------------------------------------------------


class Configure(_Message):
    """A full config or a partial patch; ``config.lab`` switches lab (unset keys take defaults)."""

    type: Literal["configure"]
    config: dict[str, Any]


class Control(_Message):
    type: Literal["control"]
    action: Literal["play", "pause", "step", "reset"]


class Subscribe(_Message):
    """How often the client wants frames."""

    type: Literal["subscribe"]
    frame_rate: float = Field(default=30, ge=1, le=60, description="frames per second")


class Ack(_Message):
    """The page drew the last frame. A client that acks has at most two frames in flight, so
    a slow page gets fewer frames and never a backlog (acks are exempt from the message rate
    limit; at most one per frame received). A client that never acks gets frames at its
    frame rate, and is closed (4008) if it does not read them."""

    type: Literal["ack"]


class Command(_Message):
    """A lab-specific action that is not part of the config (edit a weight, probe an input ...).
    Each lab documents its commands; an unknown name gets an error listing the lab's commands."""

    type: Literal["command"]
    name: str = Field(max_length=64)
    args: dict[str, Any] = {}


ClientMessage = Annotated[Configure | Control | Subscribe | Command | Ack | RoomMessage, Field(discriminator="type")]
client_message = TypeAdapter(ClientMessage)


# ---- server -> client -------------------------------------------------------------


class Hello(_Message):
    type: Literal["hello"] = "hello"
    protocol: int = PROTOCOL_VERSION
    session: str = Field(description="the session's public id (for logs and bug reports)")
    token: str = Field(description="secret: connect to /ws?resume=<token> to take this session back")
    resumed: bool = Field(default=False, description="this connection took back the session it asked for")
    resume_error: str | None = Field(default=None, description="why a requested resume did not happen")
    device: str
    version: str
    labs: list[str] = Field(description="the labs this server offers, in the order of the page's tabs")
    limits: dict[str, int | float] = Field(default={}, description="the server's limits (message size and rate, parameters, steps/s, grace and idle times)")


class ConfigMessage(_Message):
    """The session's whole config after a change; ``rebuilt`` says what was rebuilt."""

    type: Literal["config"] = "config"
    config: dict[str, Any]
    rebuilt: Rebuilt
    changed: list[str] = []


class Status(_Message):
    type: Literal["status"] = "status"
    state: RunState
    step: int
    epoch: int
    lr: float | None = None
    reason: str | None = None


class Error(_Message):
    type: Literal["error"] = "error"
    message: str
    loc: list[str | int] = []


class History(_Message):
    """Loss history since the last frame; ``reset`` means replace, not append."""

    reset: bool
    epoch: list[int]
    series: dict[str, list[float | None]]


class Frame(_Message):
    type: Literal["frame"] = "frame"
    lab: str
    state: RunState
    step: int = Field(description="optimizer steps since the last reset")
    epoch: int
    lr: float
    metrics: dict[str, float | None]
    history: History | None = None
    views: dict[str, Any] = Field(description="lab-specific, see labs.<lab>.views")


def frame_message(lab: str, state: RunState, step: int, epoch: int, lr: float, metrics: dict[str, float | None],
                  history: dict[str, Any] | None, views: dict[str, Any]) -> dict[str, Any]:
    """A ``Frame`` as the dict the transport encodes, built without validation: frames are
    the hot path (tens a second per session, their views large; a model costs ~50 µs more
    each). Its keys are the model's fields, in order (tests/test_protocol.py checks)."""
    return {"type": "frame", "lab": lab, "state": state, "step": step, "epoch": epoch, "lr": lr, "metrics": metrics,
            "history": history, "views": views}


class Reply(_Message):
    """A lab command's answer (fields depend on the command)."""

    model_config = ConfigDict(extra="allow")
    type: Literal["reply"] = "reply"
    name: str


ServerMessage = Annotated[Hello | ConfigMessage | Status | Error | Frame | Reply | RoomState | Wall | Leaderboard | Spotlight,
                          Field(discriminator="type")]


def finite(value: Any) -> Any:
    """``value`` with every NaN or infinity replaced by None (JSON has no such numbers)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite(v) for v in value]
    return value


def to_dict(message: BaseModel) -> dict[str, Any]:
    """A server message as the dict ``to_json`` encodes: its fields (a reply's extra ones
    too) as they are, not copied (a frame's views can be large)."""
    return dict(message)


COMPACT = (",", ":")  # no spaces: a frame is ~10% smaller on the wire and quicker to encode


def to_json(message: dict[str, Any] | BaseModel) -> str:
    """A server message as compact JSON text; a diverged run's NaN losses go out as null."""
    if isinstance(message, BaseModel):
        message = to_dict(message)
    try:
        return json.dumps(message, allow_nan=False, separators=COMPACT)
    except ValueError:
        return json.dumps(finite(message), allow_nan=False, separators=COMPACT)
