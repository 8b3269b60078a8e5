"""A classroom across the front ends of a Ray cluster, simulated on this machine as in
tests/test_ray.py (a head and two worker nodes as raylets, two real front ends on two ports,
real websocket clients, real training): the room lives in the rooms actor every front end
shares (server/rayrooms.py), so

- a teacher on front end A opens a room; students through B and A join it with the code;
- the teacher's wall shows all of them with live summaries; a push, a lock and a challenge
  reach the students on B; the leaderboard ranks students of both front ends; the teacher
  forks a student's run on B onto its page (its weights, through the other front end);
- a student reloading through the other front end is back in the room with the same tile;
- the teacher's front end killed, the teacher resumes through the other: the room is kept
  (its members, their tiles, the lock), and so are the students of the dead front end.

Every wait is for messages or epochs; its limit is a safety net only."""

from __future__ import annotations

import json
import os
import signal
import time
from typing import Any

import httpx
import ray

from bench.common import run_in_thread
from descent.classroom import RoomCreate, RoomDuty, RoomJoin, RoomLock
from descent.server.rayclassroom import ROOMS
from descent.server.rayrooms import GONE_AFTER, RoomsActor
from descent.server.teaching import LOCKED, Rules
from descent.settings import Settings
from tests import test_ray
from tests.test_ray import Rig, joined, settled
from tests.test_room_protocol import BUDGET, SETUP, ask, challenge, freeze_and_resume, got, has, spotlit, tiles_seen
from tests.wsutil import Client, read_until

rig = test_ray.rig  # (the module's own cluster and two front ends)
PUSHED = {**SETUP, "optimizer": "sgd", "learning_rate": 0.3}


def shared_rooms() -> dict[str, Any]:
    """The rooms as the cluster's rooms actor holds them."""
    return ray.get(ray.get_actor(ROOMS, namespace="descent").rooms_of.remote())


async def open_room(url: str) -> tuple[Client, str, str]:
    """A teacher on the front end at ``url``, with a room: (its client, the code, the teacher token)."""
    teacher = await Client.connect(url)
    await teacher.send({"type": "configure", "config": SETUP})  # (not playing: a fork's epoch on it is the fork's)
    await ask([teacher], teacher, {"type": "room", "action": "create"}, has(teacher, "room", event="created"), "a room")
    room = got(teacher, "room", event="created")[0]
    return teacher, room["code"], room["teacher_token"]


async def join(everyone: list[Client], student: Client, code: str, name: str) -> dict[str, Any]:
    await ask(everyone, student, {"type": "room", "action": "join", "code": code, "name": name},
              lambda: has(student, "room", event="joined")() or student.errors(), f"{name} joining")
    assert student.errors() == [], student.errors()  # (a front end that does not know the room: "no open room has the code")
    joined_as: dict[str, Any] = got(student, "room", event="joined")[-1]
    return joined_as


def epochs(teacher: Client, tiles: list[str]) -> dict[str, int] | None:
    """Each of ``tiles``' epoch on the teacher's wall, if every one is there, connected, with a summary."""
    seen = tiles_seen(teacher)
    if not all(t in seen and seen[t]["connected"] and seen[t]["summary"] for t in tiles):
        return None
    return {t: seen[t]["summary"]["epoch"] for t in tiles}


async def live(clients: list[Client], teacher: Client, tiles: list[str]) -> None:
    """Read until the teacher's wall shows ``tiles`` connected, and each one's epoch moving on."""
    await read_until(clients, lambda: epochs(teacher, tiles), what=f"{len(tiles)} connected tiles on the wall")
    before = epochs(teacher, tiles)
    assert before is not None
    await read_until(clients, lambda: (now := epochs(teacher, tiles)) and all(now[t] > before[t] for t in tiles),
                     what=f"{len(tiles)} tiles updated live")


def test_a_class_across_two_front_ends(rig: Rig) -> None:
    run_in_thread(class_across(settled(rig)))


async def class_across(rig: Rig) -> None:
    a, b = rig.urls
    teacher, code, token = await open_room(a)
    students = [await joined(b, SETUP), await joined(b, SETUP), await joined(a, SETUP)]
    ana, bo, cy = students  # (Ana and Bo through B, Cy through A, the teacher's)
    everyone = [teacher, *students]
    tiles = [(await join(everyone, s, code, name))["tile"] for s, name in zip(students, ("Ana", "Bo", "Cy"), strict=True)]
    assert len(set(tiles)) == 3

    # ---- the wall: every student, from both front ends, with live summaries --------------------
    await live(everyone, teacher, tiles)
    assert {t["name"] for t in tiles_seen(teacher).values()} == {"Ana", "Bo", "Cy"}
    assert not any(m["type"] == "summary" for s in students for m in s.messages)
    assert all(token not in str(m) for s in students for m in s.log), "a student never sees the teacher token"

    # ---- a push and a lock reach the students on B -------------------------------------------
    await ask(everyone, teacher, {"type": "room", "action": "push", "config": PUSHED},
              lambda: all(any(m["type"] == "config" and m["config"]["optimizer"] == "sgd" for m in s.messages) for s in students)
              and all(got(s, "room", event="pushed") for s in students), "every run on the pushed setup")
    await ask(everyone, teacher, {"type": "room", "action": "lock", "locked": True},
              lambda: all(got(s, "room", event="locked") for s in students), "the lock")
    for student in (ana, cy):  # (through B, and through A)
        await ask(everyone, student, {"type": "configure", "config": {"learning_rate": 3}},
                  lambda s=student: LOCKED in s.errors(), "the locked student's refusal")
    await ask(everyone, teacher, {"type": "room", "action": "lock", "locked": False},
              lambda: all(got(s, "room", event="unlocked") for s in students), "the unlock")
    await ask(everyone, bo, {"type": "configure", "config": {"learning_rate": 0.05}},
              lambda: any(m["type"] == "config" and m["config"]["learning_rate"] == 0.05 for m in bo.messages), "Bo's own setup")
    assert not any(m["type"] == "config" and m["config"]["learning_rate"] == 3 for s in students for m in s.messages)

    # ---- spotlight (Bo on B, full-size on the teacher's page on A) and freeze -------------------
    lit = await spotlit(everyone, teacher, tiles[1])
    assert {m["tile"] for m in lit} == {tiles[1]} and lit[0]["name"] == "Bo" and lit[0]["frame"]["history"]["reset"]
    await freeze_and_resume(everyone, teacher, students, ana)

    # ---- a challenge: the leaderboard ranks the students of both front ends --------------------
    board = await challenge(everyone, teacher, students)
    assert {r["tile"] for r in board["ranking"]} == set(tiles)
    assert got(cy, "leaderboard") and got(ana, "leaderboard")  # (both front ends' students see it)

    # ---- fork it here: Ana's run (on B) forked onto the teacher's page (on A) ------------------
    await ask(everyone, teacher, {"type": "room", "action": "adopt", "tile": tiles[0]},
              lambda: has(teacher, "room", event="adopt")() and teacher.epoch == BUDGET, "Ana's run on the teacher's page")
    assert teacher.frame["step"] == ana.frame["step"] and teacher.frame["metrics"]["test_loss"] == ana.frame["metrics"]["test_loss"]
    assert not any(m["type"] == "shared" for c in everyone for m in c.messages), "a run's copy never reaches a page"

    # ---- Cy reloads through the other front end: the same session, the same tile ---------------
    await cy.ws.close()
    await read_until([teacher, ana, bo], lambda: not tiles_seen(teacher)[tiles[2]]["connected"], what="Cy's tile offline")
    cy2 = await Client.connect(b, resume=cy.hello["token"])
    assert cy2.hello["resumed"] and cy2.hello["session"] == cy.sid
    everyone = [teacher, ana, bo, cy2]
    await read_until(everyone, has(cy2, "room", event="joined"), what="Cy back in the room")
    assert got(cy2, "room", event="joined")[0]["tile"] == tiles[2]
    await read_until(everyone, lambda: tiles_seen(teacher)[tiles[2]]["connected"], what="Cy's tile online again")
    async with httpx.AsyncClient(base_url=b.replace("ws", "http", 1).removesuffix("/ws")) as http:  # (the wall, through B)
        assert (await http.get(f"/api/rooms/{code}/wall", headers={"X-Teacher-Token": "x" * 32})).status_code == 403
        data = (await http.get(f"/api/rooms/{code}/wall?format=json", headers={"X-Teacher-Token": token})).json()
        assert sorted(s["name"] for s in data["students"]) == ["Ana", "Bo", "Cy"]
        assert all(s["epoch"] == BUDGET and s["setup"]["dataset"] == "xor" for s in data["students"])
    await ask(everyone, teacher, {"type": "room", "action": "end"},
              lambda: all(got(c, "room", event="ended") for c in everyone), "the room's end")
    for client in everyone:
        await client.ws.close()


def test_the_room_outlives_its_teachers_front_end(rig: Rig) -> None:
    run_in_thread(teacher_moves(settled(rig)))


async def teacher_moves(rig: Rig) -> None:
    a, b = rig.urls
    teacher, code, token = await open_room(a)
    dee, eve = await joined(b, SETUP), await joined(a, SETUP)  # (Dee through B, Eve through A)
    everyone = [teacher, dee, eve]
    tiles = [(await join(everyone, s, code, name))["tile"] for s, name in ((dee, "Dee"), (eve, "Eve"))]
    await ask(everyone, teacher, {"type": "room", "action": "lock", "locked": True},
              lambda: all(got(s, "room", event="locked") for s in (dee, eve)), "the lock")
    await live(everyone, teacher, tiles)

    os.kill(rig.servers[0].pid, signal.SIGKILL)  # the teacher's front end (and Eve's) dies
    teacher2 = await Client.connect(b, resume=teacher.hello["token"])
    assert teacher2.hello["resumed"] and teacher2.hello["session"] == teacher.sid
    everyone = [teacher2, dee]
    await read_until(everyone, has(teacher2, "room", event="claimed"), what="the teacher back in its room")
    claimed = got(teacher2, "room", event="claimed")[0]
    assert claimed["code"] == code and claimed["teacher_token"] == token and claimed["locked"] is True
    await read_until(everyone, lambda: set(tiles_seen(teacher2)) == set(tiles), what="the wall with both tiles")
    await ask(everyone, dee, {"type": "configure", "config": {"learning_rate": 3}},
              lambda: LOCKED in dee.errors(), "still locked")

    eve2 = await Client.connect(b, resume=eve.hello["token"])  # (Eve's page reconnects too)
    assert eve2.hello["resumed"]
    everyone.append(eve2)
    await read_until(everyone, has(eve2, "room", event="joined"), what="Eve back in the room")
    assert got(eve2, "room", event="joined")[0]["tile"] == tiles[1] and got(eve2, "room", event="joined")[0]["locked"]
    await ask(everyone, eve2, {"type": "control", "action": "play"}, lambda: eve2.frame.get("state") == "running", "Eve playing")
    await live(everyone, teacher2, tiles)  # (both now through B)
    room = shared_rooms()[code]
    assert room["teacher"] == teacher.sid and room["locked"] and {m[1] for m in room["members"].values()} == {dee.sid, eve.sid}
    for client in everyone:
        await client.ws.close()


def test_the_rooms_actor_as_plain_python() -> None:
    """RoomsActor without Ray: a student's rules reach its front end before the message that
    tells it; a front end that stops polling leaves its seats, which take their places again
    when it polls again; a front end that no longer serves a session cannot reclaim it."""
    actor = RoomsActor(Settings(device="cpu", room_wall_seconds=60).model_dump())  # (its clock: not within this test)
    actor.apply("A", [("room", "t", "10.0.0.1", 1, RoomCreate(type="room", action="create"))])
    (put,) = actor.take("A", 0)
    code = json.loads(put[3])["code"]
    actor.apply("B", [("room", "s", "10.0.0.2", 1, RoomJoin(type="room", action="join", code=code, name="Ana"))])
    actor.apply("A", [("room", "t", "10.0.0.1", 1, RoomLock(type="room", action="lock", locked=True))])
    items = actor.take("B", 0)
    # the rules first (on joining, then locked), then the duty, and the room's messages: joined, locked
    assert [i[0] for i in items] == ["rules", "rules", "handle", "put", "put"], items
    assert [i[1:] for i in items[:2]] == [("s", Rules(locked=False, frozen=False, spotlit=False)), ("s", Rules(True, False, False))]
    assert isinstance(items[2][2], RoomDuty) and json.loads(items[4][3])["event"] == "locked"

    actor.polled["A"] -= GONE_AFTER + 1  # (A stopped polling)
    with actor.ready:
        actor._bury(time.monotonic())
    room = actor.rooms.rooms[code]
    assert room.teacher is None and room.teacher_left is not None and actor.take("A", 0) == [("again", "")]
    actor.apply("A", [("reconnected", "t", "10.0.0.1", 1)])  # (A was only slow: its seats come back)
    assert room.teacher is not None and json.loads(actor.take("A", 0)[0][3])["event"] == "claimed"

    actor.apply("B", [("reconnected", "s", "10.0.0.2", 2)])
    actor.apply("A", [("forget", "s")])  # (A's stale entry for Ana expires: B serves her now)
    assert shared_room(actor, code)["members"]["t1"] == ("Ana", "s", True)
    actor.apply("B", [("forget", "s")])
    assert shared_room(actor, code)["members"]["t1"] == ("Ana", None, False)


def test_failed_joins_are_counted_across_front_ends() -> None:
    """The rooms actor counts a client address's failed joins whichever front end they come through."""
    actor = RoomsActor(Settings(device="cpu", room_wall_seconds=60, room_join_attempts=2).model_dump())
    for owner, n in (("A", 0), ("B", 1), ("A", 2)):
        actor.apply(owner, [("room", f"s{n}", "10.0.0.9", 1, RoomJoin(type="room", action="join", code=f"ZZZZ-000{n}", name="x"))])
    a, b = ([json.loads(item[3])["message"] for item in actor.take(owner, 0)] for owner in ("A", "B"))
    assert b == ["no open room has the code ZZZZ-0001"]  # (the burst of 2: one through A, one through B)
    assert a[0] == "no open room has the code ZZZZ-0000" and a[1].startswith("too many failed attempts: wait"), a


def shared_room(actor: RoomsActor, code: str) -> dict[str, Any]:
    return actor.rooms_of()[code]
