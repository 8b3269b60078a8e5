"""The classroom over real websockets against a real uvicorn server (worker processes, real
training): a teacher and three students. Every wait is for messages or epochs; its limit is
a safety net only."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from pydantic import TypeAdapter

from bench.common import run_in_thread
from descent.protocol import ServerMessage
from descent.server.teaching import FROZEN, LOCKED
from tests.wsutil import Client, Message, read_until, serve, until

server_message = TypeAdapter(ServerMessage)
BUDGET = 6  # the challenge's epochs
SETUP = {"lab": "mlp", "dataset": "xor", "learning_rate": 0.1, "optimizer": "adam", "hidden": [4]}


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    from bench.common import running_server

    with running_server({"DESCENT_DEVICE": "cpu"}, "room-server") as (base, _, _):
        yield base


def ws_url(base: str) -> str:
    return base.replace("http", "ws", 1) + "/ws"


def got(client: Client, kind: str, **fields: Any) -> list[Message]:
    return [m for m in client.messages if m["type"] == kind and all(m.get(k) == v for k, v in fields.items())]


def has(client: Client, kind: str, **fields: Any) -> Callable[[], bool]:
    return lambda: bool(got(client, kind, **fields))


def tiles_seen(teacher: Client) -> dict[str, dict[str, Any]]:
    """Each tile's latest state on the teacher's wall."""
    tiles: dict[str, dict[str, Any]] = {}
    for wall in got(teacher, "wall"):
        if wall["full"]:
            tiles = {}
        for tile in wall["tiles"]:
            tiles[tile["tile"]] = tile
    return tiles


async def ask(clients: list[Client], sender: Client, message: Message, done: Callable[[], object], what: str) -> None:
    await sender.send(message)
    await read_until(clients, done, what=what)


async def spotlit(everyone: list[Client], teacher: Client, tile: str) -> list[Message]:
    """The teacher watches ``tile`` until 3 of its frames came, then stops; those frames."""
    await ask(everyone, teacher, {"type": "room", "action": "spotlight", "tile": tile},
              lambda: len([m for m in got(teacher, "spotlight") if m["frame"]]) >= 3, "spotlit frames")
    lit = [m for m in got(teacher, "spotlight") if m["frame"]]
    await ask(everyone, teacher, {"type": "room", "action": "spotlight", "tile": None},
              lambda: any(m["frame"] is None for m in got(teacher, "spotlight")), "the spotlight's end")
    return lit


async def freeze_and_resume(everyone: list[Client], teacher: Client, students: list[Client], tries: Client) -> None:
    """The teacher freezes the class (every run pauses; ``tries`` to play, refused), then resumes it."""
    await ask(everyone, teacher, {"type": "room", "action": "freeze", "frozen": True},
              lambda: all(s.frame.get("state") == "paused" for s in students), "every run paused")
    await ask(everyone, tries, {"type": "control", "action": "play"}, lambda: FROZEN in tries.errors(), "play refused while frozen")
    await ask(everyone, teacher, {"type": "room", "action": "freeze", "frozen": False},
              lambda: all(s.frame.get("state") == "running" for s in students), "every run playing again")


async def challenge(everyone: list[Client], teacher: Client, students: list[Client]) -> Message:
    """A challenge of BUDGET epochs on SETUP: every student plays, every run stops at the
    budget; the teacher's leaderboard of the finished runs (checked sorted by loss)."""
    await ask(everyone, teacher, {"type": "room", "action": "challenge", "goal": "lowest test loss", "epochs": BUDGET,
                                  "config": SETUP},
              lambda: all(got(s, "room", event="challenge") for s in students), "the challenge")
    for student in students:
        await student.send({"type": "control", "action": "play"})
    await read_until(everyone, lambda: all(s.frame.get("epoch") == BUDGET and s.frame.get("state") == "paused" for s in students),
                     what="every run stopped at the budget")
    await read_until(everyone, lambda: (b := got(teacher, "leaderboard")) and all(r["done"] for r in b[-1]["ranking"])
                     and len(b[-1]["ranking"]) == len(students), what="a leaderboard of finished runs")
    board = got(teacher, "leaderboard")[-1]
    losses = [r["loss"] for r in board["ranking"]]
    assert losses == sorted(losses), board
    return board


def test_a_class_of_three(url: str) -> None:
    run_in_thread(class_of_three(url))  # (a browser test earlier in the session leaves a loop on this thread)


async def class_of_three(base: str) -> None:
    teacher = await Client.connect(ws_url(base))
    students = [await Client.connect(ws_url(base)) for _ in range(3)]
    everyone = [teacher, *students]
    names = ["Ana", "<b>Bo</b>", "Cy  "]

    # ---- open the room and join it -------------------------------------------------
    await ask(everyone, teacher, {"type": "room", "action": "create"}, has(teacher, "room", event="created"), "a room")
    room = got(teacher, "room", event="created")[0]
    code, token = room["code"], room["teacher_token"]
    assert room["role"] == "teacher" and len(code) == 9 and code[4] == "-" and len(token) >= 24
    for student, name in zip(students, names, strict=True):
        await ask(everyone, student, {"type": "room", "action": "join", "code": code.lower(), "name": name},
                  has(student, "room", event="joined"), "a join")
    joined = [got(s, "room", event="joined")[0] for s in students]
    assert [j["name"] for j in joined] == ["Ana", "<b>Bo</b>", "Cy"]  # kept as text (the page renders it as text)
    assert len({j["tile"] for j in joined}) == 3 and all(j["role"] == "student" and j["code"] == code for j in joined)

    # ---- push reaches all ---------------------------------------------------------------
    await ask(everyone, teacher, {"type": "room", "action": "push", "config": SETUP},
              lambda: all(got(s, "room", event="pushed") for s in students), "the push")
    await read_until(everyone, lambda: all(any(m["type"] == "config" and m["config"]["dataset"] == "xor"
                                               and m["config"]["optimizer"] == "adam" for m in s.messages) for s in students),
                     what="every student's run on the pushed setup")
    for student in students:
        await student.send({"type": "control", "action": "play"})

    # ---- the wall receives every student's summaries -------------------------------------
    await read_until(everyone, lambda: len([t for t in tiles_seen(teacher).values()
                                            if (t["summary"] or {}).get("epoch", 0) >= 2 and t["summary"]["state"] == "running"]) == 3,
                     what="three running tiles on the wall")
    for tile in tiles_seen(teacher).values():
        summary = tile["summary"]
        assert summary["lab"] == "mlp" and summary["optimizer"] == "adam" and summary["lr"] == pytest.approx(0.1)
        assert summary["thumb_size"] == 16 and len(summary["spark"]) >= 1 and summary["loss"] is not None
        assert len(json.dumps(tile)) < 1200, "a tile is a summary, not a frame"
    assert not any(m["type"] == "summary" for s in students for m in s.messages)  # (summaries go to the room only)

    # ---- lock is enforced by the server ----------------------------------------------------
    ana, bo, cy = students
    await ask(everyone, teacher, {"type": "room", "action": "lock", "locked": True},
              lambda: all(got(s, "room", event="locked") for s in students), "the lock")
    await ask(everyone, ana, {"type": "configure", "config": {"learning_rate": 3}},
              lambda: LOCKED in ana.errors(), "the locked student's error")
    await ask(everyone, ana, {"type": "control", "action": "pause"},
              lambda: any(m["type"] == "status" and m["state"] == "paused" for m in ana.messages), "pause while locked")
    assert not any(m["type"] == "config" and m["config"]["learning_rate"] == 3 for m in ana.messages)
    await ask(everyone, teacher, {"type": "room", "action": "lock", "locked": False},
              lambda: all(got(s, "room", event="unlocked") for s in students), "the unlock")
    await ask(everyone, ana, {"type": "configure", "config": {"learning_rate": 0.05}},
              lambda: any(m["type"] == "config" and m["config"]["learning_rate"] == 0.05 for m in ana.messages), "a configure")
    await ana.send({"type": "control", "action": "play"})

    # ---- a student cannot act as the teacher ---------------------------------------------------
    for message in ({"type": "room", "action": "push", "config": SETUP}, {"type": "room", "action": "lock", "locked": True},
                    {"type": "room", "action": "end"}, {"type": "room", "action": "spotlight", "tile": joined[0]["tile"]}):
        await ask(everyone, bo, message, lambda m=message: any(e.startswith(f"only the room's teacher may {m['action']}")
                                                             for e in bo.errors()), "the refusal")
    await ask(everyone, bo, {"type": "room", "action": "claim", "code": code, "teacher_token": "guess" * 6},
              lambda: "unknown room or wrong teacher token" in bo.errors(), "a wrong token refused")
    assert not got(teacher, "room", event="ended") and not got(teacher, "spotlight")
    assert all(token not in json.dumps(m) for s in students for m in s.log), "a student never sees the teacher token"

    # ---- spotlight: the teacher gets one student's full frames -----------------------------------
    lit = await spotlit(everyone, teacher, joined[2]["tile"])
    assert {m["tile"] for m in lit} == {joined[2]["tile"]} and lit[0]["name"] == "Cy"
    assert lit[0]["frame"]["views"]["boundary"] and lit[0]["frame"]["history"]["reset"]  # a full frame first
    server_message.validate_python(lit[0])

    # ---- freeze and resume -----------------------------------------------------------------------
    await freeze_and_resume(everyone, teacher, students, bo)

    # ---- a challenge: runs stop at the budget, ranked by test loss --------------------------------
    board = await challenge(everyone, teacher, students)
    assert board["epochs"] == BUDGET and {r["epoch"] for r in board["ranking"]} == {BUDGET}
    assert any("budget of 6 epochs" in (m.get("reason") or "") for m in ana.messages if m["type"] == "status")
    await ask(everyone, ana, {"type": "control", "action": "play"}, lambda: any("budget" in e for e in ana.errors()),
              "play past the budget refused")
    assert ana.epoch == BUDGET
    # the winner's run forked onto the teacher's page: its setup, and its weights (its epoch, step and curves)
    winner = next(s for s, j in zip(students, joined) if j["tile"] == board["ranking"][0]["tile"])
    await ask(everyone, teacher, {"type": "room", "action": "adopt", "tile": board["ranking"][0]["tile"]},
              lambda: has(teacher, "room", event="adopt")() and teacher.frame.get("epoch") == BUDGET, "the winner's run")
    assert got(teacher, "room", event="adopt")[0]["config"]["dataset"] == "xor"
    assert teacher.frame["step"] == winner.frame["step"] and teacher.frame["state"] == "paused"
    assert teacher.frame["metrics"]["test_loss"] == winner.frame["metrics"]["test_loss"]
    assert not any(m["type"] == "shared" for s in [teacher, *students] for m in s.messages), "a run's copy never reaches a page"

    # ---- rejoin after a reload: the same session, the same tile ------------------------------------
    await bo.ws.close()
    await read_until([teacher], lambda: not tiles_seen(teacher)[joined[1]["tile"]]["connected"], what="Bo's tile offline")
    bo2 = await Client.connect(ws_url(base), resume=bo.hello["token"])
    assert bo2.hello["resumed"]
    everyone = [teacher, ana, bo2, cy]
    await read_until(everyone, has(bo2, "room", event="joined"), what="Bo back in the room")
    assert got(bo2, "room", event="joined")[0]["tile"] == joined[1]["tile"]
    await read_until(everyone, lambda: tiles_seen(teacher)[joined[1]["tile"]]["connected"], what="Bo's tile online")

    await teacher.ws.close()
    teacher2 = await Client.connect(ws_url(base), resume=teacher.hello["token"])
    everyone = [teacher2, ana, bo2, cy]
    await read_until(everyone, lambda: got(teacher2, "room", event="claimed") and got(teacher2, "wall"), what="the teacher back")
    assert got(teacher2, "room", event="claimed")[0]["teacher_token"] == token and len(tiles_seen(teacher2)) == 3

    # ---- the wall's download (teacher token only), then the end -----------------------------------
    async with httpx.AsyncClient(base_url=base) as http:
        assert (await http.get(f"/api/rooms/{code}/wall")).status_code == 403
        assert (await http.get(f"/api/rooms/{code}/wall", headers={"X-Teacher-Token": "x" * 32})).status_code == 403
        csv = await http.get(f"/api/rooms/{code}/wall?format=csv", headers={"X-Teacher-Token": token})
        assert csv.status_code == 200 and csv.text.splitlines()[0].startswith("name,lab,optimizer")
        assert len(csv.text.strip().splitlines()) == 4 and "<b>Bo</b>" in csv.text
        data = (await http.get(f"/api/rooms/{code}/wall?format=json", headers={"X-Teacher-Token": token})).json()
        assert sorted(s["name"] for s in data["students"]) == ["<b>Bo</b>", "Ana", "Cy"]
        assert all(s["epoch"] == BUDGET and s["test_loss"] is not None and s["setup"]["dataset"] == "xor" for s in data["students"])
    await ask(everyone, teacher2, {"type": "room", "action": "end"},
              lambda: all(got(c, "room", event="ended") for c in everyone), "the room's end")
    await ask(everyone, ana, {"type": "configure", "config": {"learning_rate": 0.2}},
              lambda: any(m["type"] == "config" and m["config"]["learning_rate"] == 0.2 for m in ana.messages),
              "a student on its own again")
    for client in everyone:
        await client.ws.close()


def test_failed_joins_are_rate_limited() -> None:
    with serve(room_join_attempts=3) as client, client.websocket_connect("/ws") as ws:  # (a burst of 3 failures)
        ws.receive_json()
        errors = []
        for n in range(4):
            ws.send_json({"type": "room", "action": "join", "code": f"ZZZZ-000{n}", "name": "x"})
            errors.append(until(ws, lambda m: m["type"] == "error"))
        assert [e["message"] for e in errors[:3]] == [f"no open room has the code ZZZZ-000{n}" for n in range(3)]
        assert errors[3]["message"].startswith("too many failed attempts: wait") and errors[3]["loc"] == ["room", "join", "code"]
        ws.send_json({"type": "room", "action": "claim", "code": "ZZZZ-0000", "teacher_token": "x"})
        assert until(ws, lambda m: m["type"] == "error")["message"].startswith("too many failed attempts")


def test_room_messages_are_validated_naming_the_field() -> None:
    with serve() as client, client.websocket_connect("/ws") as ws:
        ws.receive_json()
        cases = [
            ({"type": "room", "action": "join", "code": "ABCD-1234", "name": "x" * 25}, ["room", "join", "name"]),
            ({"type": "room", "action": "join", "code": "AB-12", "name": "x"}, ["room", "join", "code"]),
            ({"type": "room", "action": "join", "code": "ABCD-1234", "name": "a\u0007b"}, ["room", "join", "name"]),
            ({"type": "room", "action": "challenge", "epochs": 0}, ["room", "challenge", "epochs"]),
            ({"type": "room", "action": "shout"}, ["room"]),
        ]
        for message, loc in cases:
            ws.send_json(message)
            error = until(ws, lambda m: m["type"] == "error")
            assert error["loc"] == loc, error
        ws.send_json({"type": "room", "action": "create"})
        room = until(ws, lambda m: m["type"] == "room")
        ws.send_json({"type": "room", "action": "push", "config": {"lab": "mlp", "learning_rate": -1}})
        error = until(ws, lambda m: m["type"] == "error")
        assert error["loc"] == ["room", "push", "config", "learning_rate"] and "learning_rate" in error["message"]
        ws.send_json({"type": "room", "action": "push", "config": {"lab": "nope"}})
        assert until(ws, lambda m: m["type"] == "error")["loc"] == ["room", "push", "config", "lab"]
        assert room["role"] == "teacher"


def test_rooms_are_bounded_and_end_when_the_teacher_is_gone() -> None:
    with serve(max_rooms=1, max_room_students=1, room_teacher_grace_seconds=0.5) as client:
        with client.websocket_connect("/ws") as teacher, client.websocket_connect("/ws") as ana, \
                client.websocket_connect("/ws") as bo:
            for ws in (teacher, ana, bo):
                ws.receive_json()
            teacher.send_json({"type": "room", "action": "create"})
            code = until(teacher, lambda m: m["type"] == "room")["code"]
            bo.send_json({"type": "room", "action": "create"})
            assert until(bo, lambda m: m["type"] == "error")["message"].startswith("the server has as many rooms as it may (1)")
            ana.send_json({"type": "room", "action": "join", "code": code, "name": "Ana"})
            assert until(ana, lambda m: m["type"] == "room")["event"] == "joined"
            bo.send_json({"type": "room", "action": "join", "code": code, "name": "Bo"})
            assert until(bo, lambda m: m["type"] == "error")["message"] == "this room is full (1 students)"
            teacher.close()
            ended = until(ana, lambda m: m["type"] == "room" and m["event"] == "ended")
            assert ended["role"] == "none" and ended["message"] == "the class ended: the teacher left"
            bo.send_json({"type": "room", "action": "create"})  # (the ended room no longer counts)
            assert until(bo, lambda m: m["type"] == "room")["role"] == "teacher"


def test_a_pushed_lesson_reaches_the_student_and_a_student_may_leave() -> None:
    with serve() as client, client.websocket_connect("/ws") as teacher, client.websocket_connect("/ws") as ana:
        for ws in (teacher, ana):
            ws.receive_json()
        teacher.send_json({"type": "room", "action": "create"})
        code = until(teacher, lambda m: m["type"] == "room")["code"]
        ana.send_json({"type": "room", "action": "join", "code": code, "name": "Ana"})
        until(ana, lambda m: m["type"] == "room" and m["event"] == "joined")
        teacher.send_json({"type": "room", "action": "push", "lesson": "lr-too-high", "step": 1})
        pushed = until(ana, lambda m: m["type"] == "room" and m["event"] == "pushed")
        assert pushed["lesson"] == "lr-too-high" and pushed["step"] == 1 and "lr-too-high" in pushed["message"]
        ana.send_json({"type": "room", "action": "leave"})
        assert until(ana, lambda m: m["type"] == "room")["event"] == "left"
        left = until(teacher, lambda m: m["type"] == "room" and m["event"] == "left")
        assert left["students"] == 0 and left["message"] == "Ana left"
        ana.send_json({"type": "configure", "config": {"learning_rate": 0.5}})  # (no room's rules any more)
        assert until(ana, lambda m: m["type"] in ("config", "error"))["type"] == "config"
