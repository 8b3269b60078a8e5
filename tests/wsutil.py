"""The tests' shared helpers, in one module:

- an app in this process (``serve``, a TestClient) and reading its websocket until a
  message (``until``, ``of_type``, ``greet``, ``open_lab``, ...);
- waiting for a condition (``wait_for``);
- page-like clients of a real server (``Client``, ``read_until``, ``training``);
- the page in Chromium (``open_page``, ``EPOCH``, ``STEP``).

Every wait is for an event (a message, a count, a condition); its limit is a safety net only."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import websockets
from fastapi.testclient import TestClient

Message = dict[str, Any]

# ---- an app in this process -----------------------------------------------------------


@contextmanager
def serve(**settings: Any) -> Iterator[TestClient]:
    """A TestClient of the app with these settings (CPU)."""
    from descent.server.app import create_app
    from descent.settings import Settings

    with TestClient(create_app(Settings(**{"device": "cpu", "worker_processes": 0, **settings}))) as client:
        yield client


def until(ws: Any, want: Callable[[Message], bool], limit: int = 2000,
          each: Callable[[Message], object] | None = None) -> Message:
    """Read messages until one satisfies ``want``; fail after ``limit`` others. ``each``,
    if given, sees every message read (a schema check, say)."""
    for _ in range(limit):
        message = ws.receive_json()
        if each is not None:
            each(message)
        if want(message):
            return message
    raise AssertionError(f"no wanted message in {limit}")


def of_type(kind: str, **fields: Any) -> Callable[[Message], bool]:
    return lambda m: m["type"] == kind and all(m.get(k) == v for k, v in fields.items())


def greet(ws: Any) -> Message:
    """Read the hello and the session's introduction (config, status); return the hello."""
    hello = ws.receive_json()
    assert hello["type"] == "hello", hello
    until(ws, of_type("status"))
    return hello


def alive(ws: Any) -> Message:
    """Prove the session still answers: pause gets a status back."""
    ws.send_json({"type": "control", "action": "pause"})
    return until(ws, of_type("status"))


def open_lab(ws: Any, lab: str, **config: Any) -> Message:
    """Read the hello, ask for 60 frames/s and switch to ``lab``; return its config message."""
    ws.receive_json()  # hello
    ws.send_json({"type": "subscribe", "frame_rate": 60})
    ws.send_json({"type": "configure", "config": {"lab": lab, **config}})
    return until(ws, lambda m: m["type"] == "config" and m["config"]["lab"] == lab)


def step_epoch(session: Any) -> None:
    """Press 'step' on a Session held directly and train the epoch it owes, as the worker
    would across rounds (a step press no longer trains inside the message)."""
    session.control("step")
    while session.wants_training and not session.running:
        session.budget.earn(1.0, 1)
        before = session.lab.step_count
        session.tick(1.0)
        if session.lab.step_count == before and session.lab.due_in() > 0:  # a paced lab: its next step later
            time.sleep(session.lab.due_in())


def wait_for(condition: Callable[[], object], seconds: float = 60.0, what: str = "the condition") -> None:
    """Poll ``condition`` until it holds; fail after ``seconds``."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {seconds} s")
        time.sleep(0.05)


# ---- page-like clients of a real server ------------------------------------------------

# Generous: a fresh worker process imports torch slowly on a loaded machine.
LIMIT = 300.0  # seconds: a safety net only (at a load average of 18, four labs took over 120 s to pass epoch 2)


class Client:
    """A page-like websocket client of a real server: it acks each frame (unless ``acks``
    is off: an ack counts as input, so such a client goes idle) and keeps the last frame
    and every other message."""

    def __init__(self, ws: Any, acks: bool = True) -> None:
        self.ws = ws
        self.acks = acks
        self.hello: Message = {}
        self.frame: Message = {}  # the last frame
        self.frames = 0
        self.messages: list[Message] = []  # every message but frames (the hello too, unless ``connect`` read it)
        self.log: list[Message] = []  # every message, frames too, in order

    @classmethod
    async def connect(cls, url: str, resume: str | None = None, acks: bool = True) -> Client:
        """A client of the websocket at ``url`` (resuming the session of token ``resume``), past its hello."""
        client = cls(await websockets.connect(url + (f"?resume={resume}" if resume else ""), max_size=None), acks)
        client.hello = json.loads(await client.ws.recv())
        return client

    @property
    def sid(self) -> str:
        return self.hello["session"]

    @property
    def epoch(self) -> int:
        return self.frame.get("epoch", -1)

    @property
    def step(self) -> int:
        return self.frame.get("step", -1)

    async def send(self, message: Message) -> None:
        await self.ws.send(json.dumps(message))

    async def read_for(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            try:
                message = json.loads(await asyncio.wait_for(self.ws.recv(), left))
            except (TimeoutError, websockets.ConnectionClosed):
                return
            self.log.append(message)
            if message["type"] == "frame":
                self.frame, self.frames = message, self.frames + 1
                if self.acks:
                    await self.send({"type": "ack"})
            else:
                self.messages.append(message)

    def errors(self) -> list[str]:
        return [m["message"] for m in self.messages if m["type"] == "error"]


async def read_until(clients: list[Client], done: Callable[[], object], limit: float = LIMIT, what: str = "") -> None:
    """Read (every client) until ``done()`` holds; fail after ``limit`` seconds, with each
    client's epoch and last errors."""
    deadline = time.monotonic() + limit
    while not done():
        assert time.monotonic() < deadline, (
            f"timed out waiting for {what or 'the condition'}; (epoch, last errors) of each client: "
            f"{[(c.epoch, c.errors()[-3:]) for c in clients]}")
        await asyncio.gather(*(c.read_for(0.2) for c in clients), asyncio.sleep(0.05))


async def training(clients: list[Client], past: int, watching: list[Client] | None = None) -> None:
    """Read (every client) until each of ``watching`` (all the clients by default) is running
    past epoch ``past``."""
    watched = clients if watching is None else watching
    await read_until(clients, lambda: all(c.epoch > past and c.frame.get("state") == "running" for c in watched),
                     what=f"{len(watched)} client(s) running past epoch {past}")


# ---- the page in Chromium (the ``page`` fixture of conftest.py) ---------------------------

EPOCH = "Number(document.body.dataset.epoch ?? -1)"  # the page's epoch: -1 until its first frame is drawn
STEP = "Number(document.body.dataset.step ?? -1)"


def open_page(page: Any, hash: str = "", *ready: str) -> None:
    """Load the page (``hash``: what follows the server's address, e.g. "/#lab=arena") and
    wait until it has drawn a frame of its lab, and each ``ready`` expression holds."""
    page.goto(page.base_url + hash)
    page.wait_for_function(f"() => {EPOCH} >= 0 && document.body.dataset.lab")
    for condition in ready:
        page.wait_for_function(f"() => {condition}")


def fork_in_page(page: Any, key: str, value: str) -> None:
    """Start a second run from the page's fork picker (``value``: an option's label or value)
    and wait until the page shows it running ("End fork")."""
    page.click("[data-ref=forkButton]")
    page.select_option("[data-ref=forkKey]", key)
    page.select_option("[data-ref=forkValue]", value)
    page.click("[data-ref=forkGo]")
    page.wait_for_selector("[data-ref=unfork]:not([hidden])")
