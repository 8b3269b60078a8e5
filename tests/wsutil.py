"""Helpers for websocket tests: an app with chosen settings, and reading until a message."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from fastapi.testclient import TestClient

Message = dict[str, Any]


@contextmanager
def serve(**settings: Any) -> Iterator[TestClient]:
    """A TestClient of the app with these settings (CPU)."""
    from descent.server.app import create_app
    from descent.settings import Settings

    with TestClient(create_app(Settings(**{"device": "cpu", "worker_processes": 0, **settings}))) as client:
        yield client


def until(ws: Any, want: Callable[[Message], bool], limit: int = 2000) -> Message:
    """Read messages until one satisfies ``want``; fail after ``limit`` others."""
    for _ in range(limit):
        message = ws.receive_json()
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
            import time

            time.sleep(session.lab.due_in())
