"""The embed API in real Chromium against real servers: the example course page, served from
a second origin (a plain http.server on another port), drives an embedded Descent with
postMessage (docs/embed.md): set the learning rate, play, frame events with rising epochs,
pause, errors naming the field for bad messages, lessons, and, against a server that allows
only another origin, no effect at all. Screenshots of the example page, light and dark.

Waits are for messages (the course page keeps every message it gets in ``window.got``);
their limits are only a safety net."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from descent.server.app import FRONTEND
from tests.conftest import ARTIFACTS

EVENTS = ["frame", "status", "diverged", "config", "error"]
# Every message from Descent's frame, kept on the course page (the frame gets the same
# script from Playwright, and ignores it).
INBOX = """if (window.top === window) {
  window.got = [];
  addEventListener("message", (e) => { if (e.data && e.data.descent !== undefined) got.push({ origin: e.origin, at: performance.now(), ...e.data }); });
}"""


@contextmanager
def course_site() -> Iterator[str]:
    """A second origin on loopback serving the example course page and its script, as a
    course's own web server would (no Descent, no CSP)."""
    files = {"/embed-example.html": FRONTEND / "embed-example.html", "/static/embed-example.js": FRONTEND / "embed-example.js"}

    class Files(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = files.get(self.path.split("?")[0])
            if path is None:
                self.send_error(404)
                return
            body = path.read_bytes()
            self.send_response(200)
            self.send_header("content-type", "text/javascript" if path.suffix == ".js" else "text/html")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Files)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def open_course(pg: Any, site: str, descent: str) -> None:
    pg.add_init_script(INBOX)
    pg.goto(f"{site}/embed-example.html?descent={descent}")


def post(pg: Any, message: dict[str, Any]) -> None:
    """Post ``message`` to Descent's frame, as the course page would."""
    pg.evaluate("""(m) => { const f = document.getElementById("descent");
      f.contentWindow.postMessage(m, new URL(f.src).origin); }""", message)


def reply(pg: Any, id: str) -> dict[str, Any]:
    """The answer to the message with ``id`` (waits for it)."""
    pg.wait_for_function("(id) => got.some((m) => m.id === id)", arg=id)
    found: dict[str, Any] = pg.evaluate("(id) => got.find((m) => m.id === id)", id)
    return found


def got(pg: Any, type: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = pg.evaluate("(t) => got.filter((m) => m.type === t)", type)
    return found


def wait_for(pg: Any, predicate: str, since: int = 0) -> dict[str, Any]:
    """The first message kept (from the ``since``-th on) that satisfies the JS ``predicate``
    (``m => ...``), once there is one."""
    pg.wait_for_function(f"(n) => got.slice(n).some({predicate})", arg=since)
    found: dict[str, Any] = pg.evaluate(f"(n) => got.slice(n).find({predicate})", since)
    return found


def count(pg: Any) -> int:
    """How many messages the course page has got so far (for ``wait_for(since=...)``)."""
    n: int = pg.evaluate("() => got.length")
    return n


def test_a_course_page_on_another_origin_drives_the_embed(page: Any) -> None:
    with course_site() as site:
        open_course(page, site, page.base_url)
        ready = wait_for(page, "(m) => m.type === 'ready'")
        assert ready["origin"] == page.base_url and ready["descent"] == 1
        assert ready["lab"] == "mlp" and ready["config"]["learning_rate"] == 0.03 and ready["state"] == "paused"
        subscribed = wait_for(page, "(m) => m.type === 'subscribed'")  # the example's own, sent on load
        assert subscribed["events"] == EVENTS and subscribed["frame_rate"] == 5

        page.click("#try-high")  # the example's button: configure lr = 3, then play
        answer = wait_for(page, "(m) => m.type === 'config' && m.id")
        assert answer["config"]["learning_rate"] == 3 and answer["changed"] == ["learning_rate"]
        assert answer["rebuilt"] in ("none", "optimizer")  # the network is kept
        page.wait_for_function("() => got.filter((m) => m.type === 'frame' && m.lr === 3 && m.state === 'running').length >= 10")
        frames = [f for f in got(page, "frame") if f["lr"] == 3 and f["state"] == "running"]
        epochs = [f["epoch"] for f in frames]
        assert epochs == sorted(epochs) and epochs[-1] > epochs[0], epochs  # rising
        first = frames[0]
        assert first["lab"] == "mlp" and set(first["losses"]) == {"train", "test"} and "train_loss" in first["metrics"]
        assert first["accuracy"] is None or set(first["accuracy"]) == {"train", "test"}
        assert any(s["state"] == "running" for s in got(page, "status"))
        page.wait_for_function("() => document.getElementById('lr').textContent === '3' && Number(document.getElementById('epoch').textContent) > 0")

        # frame events come at most at the subscribed rate (5 a second), whatever the page gets
        # (~30): an upper bound only, with room for a second's stall in delivering them
        times = [f["at"] for f in got(page, "frame")]
        span = (times[-1] - times[0]) / 1000
        assert len(times) <= span * 5 + 6, (len(times), span)

        before = count(page)
        page.click("#pause")
        paused = wait_for(page, "(m) => m.type === 'status' && m.state === 'paused'", since=before)
        # the frame at the pause reaches the course page too, though it came within the interval
        # of the frame event before it (a paused readout shows where the run stopped)
        last = wait_for(page, "(m) => m.type === 'frame' && m.state === 'paused'", since=before)
        assert last["epoch"] == paused["epoch"] and last["step"] == paused["step"]
        post(page, {"descent": 1, "type": "get", "id": "after-pause"})
        state = reply(page, "after-pause")
        assert state["type"] == "state" and state["state"] == "paused" and state["config"]["learning_rate"] == 3

        # step: one epoch, told by an ok and then a frame past the epoch it paused at
        post(page, {"descent": 1, "type": "control", "action": "step", "id": "step"})
        assert reply(page, "step")["type"] == "ok"
        page.wait_for_function("(e) => got.some((m) => m.type === 'frame' && m.epoch > e)", arg=paused["epoch"])


def test_bad_messages_get_errors_naming_the_field_and_nothing_is_lost(page: Any) -> None:
    with course_site() as site:
        open_course(page, site, page.base_url)
        wait_for(page, "(m) => m.type === 'subscribed'")
        post(page, {"descent": 1, "type": "configure", "config": {"learning_rate": 3}, "id": "good"})
        assert reply(page, "good")["config"]["learning_rate"] == 3

        bad = {
            "action": {"descent": 1, "type": "control", "action": "jump", "id": "b1"},
            "descent": {"descent": 2, "type": "get", "id": "b2"},
            "type": {"descent": 1, "type": "warp", "id": "b3"},
            "events": {"descent": 1, "type": "subscribe", "events": ["frames"], "id": "b4"},
            "frame_rate": {"descent": 1, "type": "subscribe", "events": ["frame"], "frame_rate": 500, "id": "b5"},
            "config": {"descent": 1, "type": "configure", "config": [1, 2], "id": "b6"},
            "speed": {"descent": 1, "type": "control", "action": "play", "speed": 2, "id": "b7"},
            "id": {"descent": 1, "type": "get", "id": {"nested": True}},
        }
        for message in bad.values():
            post(page, message)
        for field, message in bad.items():
            if field == "id":
                continue
            error = reply(page, message["id"])
            assert error["type"] == "error" and error["loc"] == [field] and error["message"].startswith(f"{field}: "), error
        assert "play, pause, step, reset" in reply(page, "b1")["message"]
        assert "allowed: 1" in reply(page, "b2")["message"]
        assert "configure, control, lesson, subscribe, get" in reply(page, "b3")["message"]
        assert "frame, status, diverged, config, error" in reply(page, "b4")["message"]
        assert "0.1 to 30" in reply(page, "b5")["message"]
        id_error = wait_for(page, "(m) => m.type === 'error' && m.loc[0] === 'id'")
        assert id_error.get("id") is None and "at most 64 characters" in id_error["message"]

        # the server's own validation, through the page's path: the error names the field and its range
        post(page, {"descent": 1, "type": "configure", "config": {"learning_rate": 99}, "id": "too-high"})
        refused = reply(page, "too-high")
        assert refused["type"] == "error" and refused["loc"][:2] == ["config", "learning_rate"], refused
        assert "10" in refused["message"]
        post(page, {"descent": 1, "type": "configure", "config": {"lab": "nope"}, "id": "no-lab"})
        assert reply(page, "no-lab")["loc"] == ["config", "lab"] and "mlp" in reply(page, "no-lab")["message"]

        # not ours (no descent field): ignored, not answered; and the last good config is kept
        post(page, {"type": "get", "id": "not-ours"})
        post(page, {"descent": 1, "type": "get", "id": "after"})
        state = reply(page, "after")
        assert state["config"]["learning_rate"] == 3 and state["state"] == "paused"
        assert not page.evaluate("() => got.some((m) => m.id === 'not-ours')")
        frame = page.frames[1]
        assert "learning_rate=3" in frame.url  # the page's own state followed the accepted config only

        # lessons: an unknown one lists those there are; a known one shows its card and preset
        post(page, {"descent": 1, "type": "lesson", "lesson": "nope", "id": "l0"})
        unknown = reply(page, "l0")
        assert unknown["loc"] == ["lesson"] and "lr-too-high" in unknown["message"]
        post(page, {"descent": 1, "type": "lesson", "lesson": "lr-too-high", "step": 9, "id": "l1"})
        assert reply(page, "l1")["loc"] == ["step"]
        post(page, {"descent": 1, "type": "lesson", "lesson": "lr-too-high", "id": "l2"})
        preset = reply(page, "l2")
        assert preset["type"] == "config" and preset["config"]["dataset"] == "plane" and preset["config"]["learning_rate"] == 0.003
        frame.wait_for_selector(".lesson[data-lesson='lr-too-high']")
        post(page, {"descent": 1, "type": "lesson", "lesson": "lr-too-high", "step": 1, "id": "l3"})
        assert reply(page, "l3")["config"]["learning_rate"] == 0.03
        assert frame.locator(".lesson").count() == 1  # the same card, its step marked done
        assert frame.locator(".lesson li.done").count() == 1

        # the lesson's last step (lr 10) diverges: a diverged event; then play is refused by
        # the server, which comes as an error event (a control's reply is only "sent")
        post(page, {"descent": 1, "type": "subscribe", "events": ["diverged", "error"], "id": "s2"})
        subscribed = reply(page, "s2")
        assert subscribed["events"] == ["diverged", "error"] and subscribed["frame_rate"] == 4
        post(page, {"descent": 1, "type": "lesson", "lesson": "lr-too-high", "step": 2, "id": "l4"})
        assert reply(page, "l4")["config"]["learning_rate"] == 10
        post(page, {"descent": 1, "type": "control", "action": "play", "id": "go"})
        assert reply(page, "go")["type"] == "ok"
        diverged = wait_for(page, "(m) => m.type === 'diverged'")
        assert diverged["lr"] == 10 and diverged["reason"] and diverged.get("id") is None
        post(page, {"descent": 1, "type": "control", "action": "play", "id": "again"})
        assert reply(page, "again")["type"] == "ok"
        refused = wait_for(page, "(m) => m.type === 'error' && m.loc[0] === 'action' && m.id === undefined")
        assert "the run diverged" in refused["message"] and refused.get("id") is None, refused


def test_an_origin_not_allowed_has_no_effect(browser: Any) -> None:
    from bench.common import running_server

    env = {"DESCENT_DEVICE": "cpu", "DESCENT_WORKER_PROCESSES": "0", "DESCENT_EMBED_ORIGINS": "https://course.example.edu"}
    with running_server(env, "embed-allowlist") as (descent, _, _), course_site() as site:
        context = browser.new_context(viewport={"width": 1280, "height": 800})
        try:
            pg = context.new_page()
            pg.set_default_timeout(60_000)
            open_course(pg, site, descent)
            refused = wait_for(pg, "(m) => m.type === 'error'")  # the example's subscribe, on load
            assert refused["loc"] == ["origin"] and site in refused["message"] and "https://course.example.edu" in refused["message"]
            post(pg, {"descent": 1, "type": "configure", "config": {"learning_rate": 3}, "id": "c"})
            post(pg, {"descent": 1, "type": "control", "action": "play", "id": "p"})
            assert reply(pg, "c")["loc"] == ["origin"] and reply(pg, "p")["loc"] == ["origin"]
            # The page's own step button: the server answers in order, so had the configure or
            # play been passed on, their effect would show before this step's epoch does.
            frame = pg.frames[1]
            frame.click("#step")
            frame.wait_for_function("() => document.body.dataset.epoch === '1'")
            assert frame.evaluate("() => [document.body.dataset.state, document.body.dataset.lr]") == ["paused", "0.03"]
            assert not any(m["type"] in ("ready", "subscribed", "config", "ok", "frame") for m in pg.evaluate("() => got"))
            assert pg.is_disabled("#try-high")  # the example waits for a subscription that never comes

            # the server's own origin may always drive its embeds
            own = context.new_page()
            own.set_default_timeout(60_000)
            own.add_init_script(INBOX)
            own.goto(f"{descent}/embed-example.html")
            assert wait_for(own, "(m) => m.type === 'subscribed'")["origin"] == descent
        finally:
            context.close()


def test_the_example_served_by_descent_itself_works_under_its_csp(page: Any) -> None:
    page.add_init_script(INBOX)
    page.goto(page.base_url + "/embed-example.html")  # (a CSP violation is a console error: it fails the test)
    wait_for(page, "(m) => m.type === 'subscribed'")
    page.click("#try-high")
    page.wait_for_function("() => document.getElementById('lr').textContent === '3' && Number(document.getElementById('epoch').textContent) >= 3")
    before = count(page)
    page.click("#pause")
    wait_for(page, "(m) => m.type === 'status' && m.state === 'paused'", since=before)


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_screenshots_of_the_example(browser: Any, server_url: str, theme: str) -> None:
    with course_site() as site:
        context = browser.new_context(viewport={"width": 1280, "height": 800}, color_scheme=theme)
        try:
            pg = context.new_page()
            pg.set_default_timeout(60_000)
            open_course(pg, site, server_url)
            wait_for(pg, "(m) => m.type === 'subscribed'")
            pg.click("#try-high")
            pg.wait_for_function("() => got.filter((m) => m.type === 'frame' && m.lr === 3 && m.epoch >= 30).length >= 2")
            before = count(pg)
            pg.click("#pause")
            paused = wait_for(pg, "(m) => m.type === 'status' && m.state === 'paused'", since=before)
            # the page and the course page's readout both show where the run stopped
            pg.frames[1].wait_for_function("(e) => document.body.dataset.epoch === String(e)", arg=paused["epoch"])
            pg.wait_for_function("(e) => document.getElementById('epoch').textContent === String(e)", arg=paused["epoch"])
            assert pg.evaluate("() => document.documentElement.dataset.theme") == theme
            assert pg.frames[1].evaluate("() => document.documentElement.dataset.theme") == theme
            (ARTIFACTS / "embed").mkdir(parents=True, exist_ok=True)
            pg.screenshot(path=str(ARTIFACTS / "embed" / f"example-1280-{theme}.png"))
            pg.set_viewport_size({"width": 1920, "height": 1080})
            pg.wait_for_timeout(500)  # (the layout settles; nothing is measured)
            pg.screenshot(path=str(ARTIFACTS / "embed" / f"example-1920-{theme}.png"))
        finally:
            context.close()
