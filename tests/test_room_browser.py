"""The classroom in a real Chromium against a real server: a teacher's page (1920x1080, the
projector) and a student's (1280x800) in one browser, plus two students over websockets.
The push and the wall are seen in screenshots, light and dark, under artifacts/room/."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from websockets.sync.client import connect

from tests.conftest import ARTIFACTS
from tests.wsutil import EPOCH, open_page

SHOTS = ARTIFACTS / "room"
# segno 1.6.1's QR code of this link (level M, mask 5), '#' dark: the page's encoder must match it
LINK = "http://127.0.0.1:8000/?join=ABCD-1234"
SEGNO = [
    "#######..#####..#...#.#######",
    "#.....#.#..#..#.##..#.#.....#",
    "#.###.#.####.......##.#.###.#",
    "#.###.#.#.###.#..#.##.#.###.#",
    "#.###.#..#.###...###..#.###.#",
    "#.....#..######..##...#.....#",
    "#######.#.#.#.#.#.#.#.#######",
    "........####.#.#..#..........",
    "#.....#.#.....####..###..###.",
    "#.#....#......#######...#.##.",
    ".##.###...#.#..###....#.#....",
    "..##.#...####.#.......#.#....",
    "#####.#...######...#.##.....#",
    "#.##....##.#####.###.##.#.###",
    ".#...###.##..####.#..#....#..",
    "..###...#....##.....#.##..#.#",
    "...#.##.#.#...#..#..##....#..",
    "##.#.#.#..###..#.###..#.#####",
    "####..#.##.######..##.......#",
    "#.##.#.#..###.#.#.#...###....",
    "#..#.###..###..#.########.###",
    "........####.#...#.##...##...",
    "#######..#...####..##.#.###..",
    "#.....#..#.#.#.#....#...#..#.",
    "#.###.#......#.###.######...#",
    "#.###.#..#.###..#.#.#..#....#",
    "#.###.#.....#..#..#.#.#.##.#.",
    "#.....#..##...###..#..#...#.#",
    "#######.##..#.##........###..",
]
HOSTILE = "<img src=x onerror=f()>"  # (23 characters: within the 24 a name may have)


def shot(page: Any, name: str) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path))
    return path


@pytest.fixture
def pages(browser: Any, server_url: str) -> Iterator[tuple[Any, Any]]:
    """The teacher's page (1920x1080) and a student's (1280x800); page errors fail the test."""
    contexts, errors = [], []
    out = []
    for size in ({"width": 1920, "height": 1080}, {"width": 1280, "height": 800}):
        context = browser.new_context(viewport=size)
        contexts.append(context)
        pg = context.new_page()
        pg.on("pageerror", lambda e: errors.append(str(e)))
        pg.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        pg.base_url = server_url
        pg.set_default_timeout(120_000)  # a safety net for a loaded machine; every wait is for an event
        out.append(pg)
    yield out[0], out[1]
    for context in contexts:
        context.close()
    assert not errors, f"page errors: {errors}"


class WsStudent:
    """A student without a page: joins, plays, and acks every frame on a thread of its own."""

    def __init__(self, url: str, code: str, name: str) -> None:
        self.ws = connect(url.replace("http", "ws", 1) + "/ws", max_size=None)
        self.joined = threading.Event()
        self.errors: list[str] = []
        self.ws.send(json.dumps({"type": "room", "action": "join", "code": code, "name": name}))
        self.thread = threading.Thread(target=self.read, daemon=True)
        self.thread.start()

    def read(self) -> None:
        try:
            for text in self.ws:
                message = json.loads(text)
                if message["type"] == "error":
                    self.errors.append(message["message"])
                if message["type"] == "frame":
                    self.ws.send('{"type":"ack"}')
                elif message["type"] == "room" and message.get("event") == "joined" and not self.joined.is_set():
                    self.joined.set()
                    self.ws.send(json.dumps({"type": "control", "action": "play"}))
        except Exception:
            pass  # (closed)

    def close(self) -> None:
        self.ws.close()
        self.thread.join(10)


def test_the_qr_code_matches_segno(pages: tuple[Any, Any]) -> None:
    teacher, _ = pages
    open_page(teacher)
    matrix = teacher.evaluate(f"""async () => (await import("/static/js/classroom/qr.js")).qrMatrix({json.dumps(LINK)}, 5)
                                   .map((row) => row.map((on) => (on ? "#" : ".")).join(""))""")
    assert matrix == SEGNO
    auto = teacher.evaluate(f"""async () => (await import("/static/js/classroom/qr.js")).qrMatrix({json.dumps(LINK)}).length""")
    assert auto == 29  # version 3


def test_teacher_and_student_pages(pages: tuple[Any, Any], server_url: str) -> None:
    teacher, student = pages
    open_page(teacher, "/#lab=mlp&dataset=spiral&learning_rate=0.03&optimizer=adam&hidden=6,6")
    teacher.click("#class-start")
    teacher.wait_for_function("() => document.body.dataset.roomCode")
    code = teacher.evaluate("() => document.body.dataset.roomCode")
    assert teacher.locator(".class-link").inner_text().endswith(f"/?join={code}")
    assert teacher.evaluate("() => document.querySelector('.class-qr').width") > 200  # the QR code is drawn

    # ---- a student opens the link and types a name -------------------------------------
    student.goto(f"{server_url}/?join={code}")
    student.wait_for_selector(".join-card")
    student.fill("#join-name", "Ana")
    shot(student, "student-join-light")
    student.click(".join-card button[type=submit]")
    student.wait_for_function("() => document.querySelector('.room-badge') && !document.querySelector('.room-badge').hidden")
    assert student.locator(".room-badge").inner_text().startswith(f"Class {code} · Ana")
    others = [WsStudent(server_url, code, name) for name in ("Bo", HOSTILE)]
    try:
        for other in others:
            assert other.joined.wait(120), other.errors

        # ---- the push reaches the student's page ---------------------------------------
        teacher.click("[data-w=push]")
        student.wait_for_function("() => location.hash.includes('dataset=spiral') && location.hash.includes('optimizer=adam')")
        student.wait_for_selector(".toast.room-toast")
        student.click("#play")
        student.wait_for_function(f"() => {EPOCH} >= 3")

        # ---- the wall: a tile per student, with its summary -------------------------------
        teacher.wait_for_function("() => Number(document.body.dataset.wallTiles) === 3")
        names = teacher.locator(".tile-name").all_inner_texts()
        assert sorted(names) == sorted(["Ana", "Bo", HOSTILE])
        assert teacher.locator(".wall img").count() == 0  # a name is text, never markup
        teacher.select_option("[data-w=sort]", "loss")
        teacher.wait_for_function("() => [...document.querySelectorAll('.tile-epoch')].every((e) => /epoch [1-9]/.test(e.textContent))")
        ana = teacher.locator(".tile", has_text="Ana")
        assert "adam" in ana.locator(".tile-opt").inner_text()
        shot(teacher, "teacher-wall-light")
        shot(student, "student-pushed-light")

        # ---- lock: the student's page shows it, and the server refuses a change -----------
        teacher.check("[data-w=lock]")
        student.wait_for_function("() => document.body.classList.contains('room-locked')")
        student.evaluate("() => document.querySelector('.room-badge').textContent")
        assert "locked" in student.locator(".room-badge").inner_text()
        shot(student, "student-locked-light")

        # ---- spotlight: Ana's run full-size on the projector --------------------------------
        ana.click()
        teacher.wait_for_function("() => Number(document.querySelector('.spotlight').dataset.epoch) >= 1")
        teacher.wait_for_selector(".spotlight .boundary")
        assert teacher.locator(".spotlight-head").inner_text().startswith("Spotlight: Ana")
        shot(teacher, "teacher-spotlight-light")

        # ---- dark ----------------------------------------------------------------------------
        for page in (teacher, student):
            page.click("#theme")
        shot(teacher, "teacher-spotlight-dark")
        teacher.click("[data-s=close]")
        teacher.wait_for_selector(".wall", state="visible")
        shot(teacher, "teacher-wall-dark")
        shot(student, "student-locked-dark")

        # ---- freeze with the f key -------------------------------------------------------------
        teacher.keyboard.press("f")
        student.wait_for_function("() => document.body.classList.contains('room-frozen') && document.body.dataset.state === 'paused'")
        teacher.keyboard.press("f")
        student.wait_for_function("() => !document.body.classList.contains('room-frozen') && document.body.dataset.state === 'running'")

        # ---- a challenge; the leader's run forked onto the projector, weights and all ----------
        teacher.fill("[data-w=goal]", "lowest test loss in 2 epochs")
        teacher.fill("[data-w=epochs]", "2")
        teacher.click("[data-w=startChallenge]")
        student.wait_for_function("() => document.body.dataset.state === 'paused'")
        student.click("#play")
        student.wait_for_function(f"() => {EPOCH} === 2 && document.body.dataset.state === 'paused'")
        # (Ana's is the only run that trained in the challenge: she leads)
        teacher.wait_for_function("() => document.querySelector('.leaderboard li')?.textContent.includes('Ana')")
        teacher.locator(".leaderboard li").first.locator("button").click()
        teacher.wait_for_selector(".toast:has-text('forked here')")
        teacher.wait_for_function(f"() => {EPOCH} === 2 && document.body.dataset.state === 'paused'")
        teacher.click("[data-w=view]")
        # its curves came with it: epochs 0 to 2 on the loss chart
        teacher.wait_for_function("() => document.querySelector('.loss-chart').data[0].x.at(-1) === 2")
        shot(teacher, "teacher-forked-winner-dark")
    finally:
        for other in others:
            other.close()
