"""Property-based tests (hypothesis) over the message and config schemas: any input gives
a valid session state or an error, never a crash, a failed lab or a dead session.

Sessions here are real (real labs, real torch on the CPU); messages go through the same
``parse`` the transport uses, then ``Session.handle``."""

from __future__ import annotations

import json
import math
import time
from typing import Any

import pytest
import torch
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter

from descent.labs import LAB_NAMES, config_model
from descent.protocol import Error, ServerMessage, to_dict
from descent.runtime.session import Session
from descent.server.socket import parse
from descent.settings import Settings
from tests.wsutil import alive, greet, of_type, serve, step_epoch, until

SERVER_MESSAGE = TypeAdapter(ServerMessage)
FUZZ = settings(max_examples=120, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])

# ---- strategies -----------------------------------------------------------------------

scalars = st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats() | st.text(max_size=12)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)


def near(prop: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Values around what a config property allows: inside, on and just past its bounds."""
    if "const" in prop:
        return st.just(prop["const"])
    if "enum" in prop:
        return st.sampled_from(prop["enum"])
    kind = prop.get("type")
    low = prop.get("minimum", prop.get("exclusiveMinimum", -10))
    high = prop.get("maximum", prop.get("exclusiveMaximum", 10))
    if kind == "integer":
        return st.integers(int(low) - 2, int(high) + 2)
    if kind == "number":
        span = max(1.0, float(high) - float(low))
        return st.floats(float(low) - span, float(high) + span) | st.sampled_from([low, high, math.nan, math.inf])
    if kind == "boolean":
        return st.booleans()
    if kind == "array":
        items = near(prop.get("items", {}))
        return st.lists(items, max_size=int(prop.get("maxItems", 4)) + 2)
    if "anyOf" in prop:
        return st.one_of([near(p) for p in prop["anyOf"]])
    return json_values


def patches(lab: str) -> st.SearchStrategy[dict[str, Any]]:
    """Config patches for ``lab``: mostly its own keys with near-valid values, some junk."""
    props = config_model(lab).model_json_schema()["properties"]
    plausible = st.sampled_from(sorted(props)).flatmap(lambda k: st.tuples(st.just(k), near(props[k])))
    anything = st.sampled_from(sorted(props)).flatmap(lambda k: st.tuples(st.just(k), json_values))
    junk = st.tuples(st.text(max_size=8), json_values)
    # mostly plausible patches (so many are accepted and rebuild labs), some hostile ones
    return st.one_of(
        st.lists(plausible, max_size=3),
        st.lists(plausible, max_size=3),
        st.lists(plausible | anything | junk, max_size=5),
    ).map(dict)


any_patch = st.sampled_from(LAB_NAMES).flatmap(patches) | st.dictionaries(st.sampled_from(["lab"]), json_values | st.sampled_from(LAB_NAMES))
client_messages = st.one_of(
    any_patch.map(lambda p: {"type": "configure", "config": p}),
    st.sampled_from(["play", "pause", "step", "reset"]).map(lambda a: {"type": "control", "action": a}),
    (st.floats() | json_values).map(lambda r: {"type": "subscribe", "frame_rate": r}),
    st.fixed_dictionaries({"type": st.just("command"), "name": st.text(max_size=70), "args": json_values}),
    st.dictionaries(st.sampled_from(["type", "config", "action", "name", "args", "x"]), json_values, max_size=3),
    json_values,
)


# ---- helpers ----------------------------------------------------------------------------


def new_session() -> tuple[Session, list[dict[str, Any]]]:
    sent: list[dict[str, Any]] = []
    return Session("fuzz", torch.device("cpu"), sent.append, Settings()), sent


def deliver(session: Session, message: Any) -> dict[str, Any] | None:
    """What the transport does with a client text message; returns the transport's error."""
    reply = parse(json.dumps(message), Settings().max_message_bytes)
    if isinstance(reply, Error):
        return to_dict(reply)
    session.handle(reply)
    return None


def check_contract(sent: list[dict[str, Any]]) -> None:
    """Every server message fits the published schema and is strict JSON."""
    for message in sent:
        SERVER_MESSAGE.validate_python(message)
        json.dumps(message, allow_nan=False)
        if message["type"] == "error":
            assert message["message"]


def check_alive(session: Session) -> None:
    """A valid state, and it still trains after a reset."""
    assert session.failed is None, session.failed
    lab = session.lab.config.lab  # type: ignore[attr-defined]
    config_model(lab).model_validate(session.lab.config.model_dump())
    assert session.state in ("running", "paused", "diverged")
    session.control("reset")
    session.control("play")
    steps = session.lab.step_count
    deadline = time.monotonic() + 60  # (a safety net) a lab may pace itself (the arena races at a set speed)
    while session.lab.step_count == steps and time.monotonic() < deadline:
        session.budget.earn(0.002, 1)  # (the worker credits each round's time)
        session.tick(0.002)
    assert session.lab.step_count > steps


# ---- properties -------------------------------------------------------------------------


@FUZZ
@given(st.text(max_size=400) | json_values.map(json.dumps))
def test_parse_never_raises(text: str) -> None:
    reply = parse(text, 1024)
    if isinstance(reply, Error):
        assert reply.type == "error" and reply.message


@FUZZ
@given(st.lists(client_messages, min_size=1, max_size=4))
def test_any_message_sequence_leaves_a_live_session(messages: list[Any]) -> None:
    session, sent = new_session()
    for message in messages:
        refused = deliver(session, message)
        event("refused by the transport" if refused else f"{message['type']} handled")
    session.send_frame(time.perf_counter())
    check_contract(sent)
    check_alive(session)


@FUZZ
@given(st.sampled_from(LAB_NAMES).flatmap(lambda lab: st.tuples(st.just(lab), patches(lab))))
def test_a_config_patch_applies_whole_or_not_at_all(lab_and_patch: tuple[str, dict[str, Any]]) -> None:
    lab, patch = lab_and_patch
    session, sent = new_session()
    session.configure({"lab": lab})
    step_epoch(session)
    before = session.lab.config.model_dump()
    steps, history = session.lab.step_count, list(session.lab.history.x)
    del sent[:]
    session.configure(patch)
    replies = [m for m in sent if m["type"] in ("config", "error")]
    assert len(replies) == 1, sent
    event(replies[0]["type"])
    if replies[0]["type"] == "error":  # refused: nothing lost
        assert replies[0]["loc"][:1] == ["config"]
        assert session.lab.config.model_dump() == before
        assert (session.lab.step_count, session.lab.history.x) == (steps, history)
    else:  # accepted: exactly the merged config
        expected = config_model(lab).model_validate({**before, **patch}).model_dump()
        assert replies[0]["config"] == expected == session.lab.config.model_dump()
    check_contract(sent)
    check_alive(session)


# ---- malformed and oversized frames through the transport -------------------------------

NASTY = [
    "",
    " ",
    "null",
    "[]",
    '"configure"',
    "{",
    '{"type": "configure"',
    "[" * 20000 + "]" * 20000,
    '{"a":' * 5000 + "1" + "}" * 5000,
    "1" * 5000,  # an integer past Python's digit limit
    '{"type": "configure", "config": {"learning_rate": NaN}}',
    '{"type": "configure", "config": {"learning_rate": 1e400}}',
    '{"type": "configure", "config": {"lab": ["mlp"]}}',
    '{"type": "configure", "config": {"lab": {"x": 1}}}',
    '{"type": "configure", "config": {"hidden": [8, 8, 8, 8, 8, 8, 8, 8, 8]}}',
    '{"type": "configure", "config": {"batch_size": 100000000000000000000}}',
    '{"type": "configure", "config": []}',
    '{"type": "control", "action": "play", "action": "explode"}',
    '{"type": "subscribe", "frame_rate": -Infinity}',
    '{"type": "command", "name": "' + "n" * 100 + '", "args": {}}',
    '{"type": "command", "name": "__init__", "args": {}}',
    '{"type": "command", "name": "../../etc/passwd", "args": {"path": "/etc/passwd"}}',
    '{"type": "\\u0000"}',
    "\ufeff{}",
    "x" * 70000,  # over max_message_bytes
]


def test_nasty_frames_get_errors_and_the_session_lives() -> None:
    with serve() as client:
        with client.websocket_connect("/ws") as ws:
            greet(ws)
            for i, text in enumerate(NASTY):
                ws.send_text(text)
                if i % 10 == 9:
                    assert alive(ws)  # (also keeps us under the message rate limit)
            ws.send_bytes(bytes(range(256)))
            assert alive(ws)["state"] == "paused"
            ws.send_json({"type": "control", "action": "step"})
            until(ws, of_type("status", epoch=1))  # it still trains (the epoch a step press owes)


@settings(max_examples=40, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(st.lists(st.text(max_size=200) | st.binary(max_size=200), min_size=1, max_size=8))
def test_random_frames_over_the_websocket(frames: list[str | bytes]) -> None:
    with serve() as client:
        with client.websocket_connect("/ws") as ws:
            greet(ws)
            for frame in frames:
                ws.send_bytes(frame) if isinstance(frame, bytes) else ws.send_text(frame)
            assert alive(ws)


# ---- the real transport: frames a browser would never send --------------------------------


def test_oversized_and_broken_frames_on_a_real_server(server_url: str) -> None:
    import socket

    import httpx
    from websockets.exceptions import ConnectionClosed
    from websockets.sync.client import connect

    ws_url = server_url.replace("http", "ws") + "/ws"
    with connect(ws_url, max_size=None) as ws:
        hello = json.loads(ws.recv())
        ws.send("x" * (4 * 64 * 1024 + 1))  # past what the transport buffers
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                ws.recv(timeout=10)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009
    # a websocket frame with a reserved opcode, then garbage on a raw socket
    host, port = server_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as raw:
        raw.sendall(
            b"GET /ws HTTP/1.1\r\nHost: " + host.encode() + b"\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )
        assert raw.recv(4096).startswith(b"HTTP/1.1 101")
        raw.sendall(b"\x83\x80abcd" + b"\xff" * 64)  # opcode 3 is reserved
        raw.settimeout(10)
        while raw.recv(4096):  # the server answers and closes
            pass
    with socket.create_connection((host, int(port)), timeout=10) as raw:
        raw.sendall(b"\x16\x03\x01\x00\xa5" + bytes(range(256)) + b"\r\n\r\n")
        raw.settimeout(10)
        raw.recv(4096)
    assert httpx.get(f"{server_url}/healthz").json()["status"] == "ok"
    with connect(f"{ws_url}?resume={hello['token']}") as ws:  # the session survived its connection
        again = json.loads(ws.recv())
        assert again["resumed"] is True and again["session"] == hello["session"]
