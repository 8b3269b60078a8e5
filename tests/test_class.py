"""Serving a class: admission past training capacity, round-robin fairness between running
sessions, and paused sessions costing the worker nothing. Real labs, real training."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import torch
from starlette.websockets import WebSocketDisconnect

from descent.runtime.session import Session
from descent.runtime.worker import Worker
from tests.wsutil import of_type, serve, until, wait_for

FULL = "the server is full: the sessions training now take 1 places, at most 1; try again in a moment"


# ---- admission ----------------------------------------------------------------------


def test_past_training_capacity_a_new_user_is_told_to_try_again() -> None:
    with serve(max_running_sessions=1) as client:
        with client.websocket_connect("/ws") as ws1:
            assert ws1.receive_json()["type"] == "hello"
            assert ws1.receive_json()["type"] == "config"
            ws1.send_json({"type": "control", "action": "play"})
            until(ws1, of_type("status", state="running"))
            with client.websocket_connect("/ws") as ws2:
                error = ws2.receive_json()
                assert error == {"type": "error", "message": FULL, "loc": []}
                with pytest.raises(WebSocketDisconnect) as closed:
                    ws2.receive_json()
                assert closed.value.code == 1013 and closed.value.reason == FULL
            assert client.get("/healthz").json()["sessions"] == 1  # the refused one holds nothing
            until(ws1, of_type("frame", state="running"))  # the first user trains on
            ws1.send_json({"type": "control", "action": "pause"})
            until(ws1, of_type("status", state="paused"))
            with client.websocket_connect("/ws") as ws3:  # room again: admitted
                hello = ws3.receive_json()
                assert hello["type"] == "hello" and hello["limits"]["max_running_sessions"] == 1


def test_play_past_capacity_is_refused_and_the_session_keeps_its_place() -> None:
    with serve(max_running_sessions=1) as client:
        with client.websocket_connect("/ws") as ws1, client.websocket_connect("/ws") as ws2:
            for ws in (ws1, ws2):
                assert ws.receive_json()["type"] == "hello"
                until(ws, of_type("frame"))
            ws1.send_json({"type": "control", "action": "play"})
            until(ws1, of_type("status", state="running"))
            ws2.send_json({"type": "control", "action": "play"})
            error = until(ws2, of_type("error"))
            assert error["message"] == FULL and error["loc"] == ["action"]
            assert until(ws2, of_type("status"))["state"] == "paused"
            ws1.send_json({"type": "control", "action": "play"})  # already running: no refusal
            ws1.send_json({"type": "control", "action": "pause"})
            until(ws1, of_type("status", state="paused"))
            ws2.send_json({"type": "control", "action": "play"})  # the place freed up
            until(ws2, of_type("status", state="running"))
            for _ in range(500):  # it trains (the first frame may leave before its first quantum)
                frame = until(ws2, of_type("frame", state="running"))
                if frame["step"] > 0:
                    break
            assert frame["step"] > 0


# ---- the worker: fairness and idle cost ---------------------------------------------


@contextmanager
def worker_with(n: int) -> Iterator[tuple[Worker, list[Session]]]:
    """A started worker holding ``n`` real sessions whose frames are taken at once (as a
    transport that keeps up would)."""
    worker = Worker()
    worker.start()
    try:
        sessions: list[Session] = []

        def make(i: int) -> Session:
            s = Session(f"s{i}", torch.device("cpu"), lambda m: None)
            s.send = lambda m, s=s: s.ack() if m["type"] == "frame" else None  # (a page that keeps up)
            worker.add(s)
            return s

        for i in range(n):
            sessions.append(worker.submit(lambda i=i: make(i)).result())
        yield worker, sessions
    finally:
        worker.stop()


def test_running_sessions_are_served_round_robin() -> None:
    with worker_with(3) as (worker, (a, b, c)):
        worker.submit(lambda: (a.control("play"), b.control("play"))).result()
        # enough rounds for time slices lost to other processes to average out
        wait_for(lambda: a.lab.step_count > 3000 and b.lab.step_count > 3000, seconds=120)
        worker.submit(lambda: (a.control("pause"), b.control("pause"))).result()
        steps = (a.lab.step_count, b.lab.step_count)
        # each round gives both a quantum of the same length: their counts stay close
        assert max(steps) / min(steps) < 1.5, steps
        assert c.lab.step_count == 0  # paused all along: never trained


def counting_rounds(worker: Worker) -> list[int]:
    """Count the worker's rounds (each pass of its loop ends in one): a thread that polls
    would make rounds with nothing to do."""
    rounds = [0]
    serve_round = worker._serve

    def counted() -> None:
        rounds[0] += 1
        serve_round()

    worker._serve = counted  # type: ignore[method-assign]
    return rounds


def test_paused_sessions_cost_the_worker_nothing() -> None:
    """Work counts, not CPU time: with only paused sessions the thread sleeps on its command
    queue (it makes no round until a command comes), however fast the machine."""
    with worker_with(4) as (worker, sessions):
        rounds = counting_rounds(worker)
        worker.submit(lambda: [s.start() for s in sessions]).result()  # each owes a first frame
        # the first frames go out, then nothing is due: the thread may sleep until a command
        wait_for(lambda: worker.submit(worker._wait_time).result() is None, seconds=60)
        before = worker.submit(lambda: rounds[0]).result()
        time.sleep(1.0)  # a polling thread would make rounds here (a slow machine, fewer: never more)
        idle = worker.submit(lambda: rounds[0]).result() - before
        assert idle <= 1, idle  # (the round that ran the command reading the count)

        worker.submit(lambda: sessions[0].control("play")).result()
        # the count sees a training thread: rounds go on by themselves while one session plays
        start = worker.submit(lambda: rounds[0]).result()
        wait_for(lambda: rounds[0] >= start + 20 and sessions[0].lab.step_count > 0, seconds=60)
        worker.submit(lambda: sessions[0].control("pause")).result()
        wait_for(lambda: worker.submit(worker._wait_time).result() is None, seconds=60)  # asleep again


def test_a_returning_session_resumes_training_only_if_there_is_room() -> None:
    worker = Worker(max_running=1)
    worker.start()
    try:
        sent: list[dict] = []

        def make(i: int) -> Session:
            s = Session(f"r{i}", torch.device("cpu"), sent.append)
            worker.add(s)
            return s

        a, b = (worker.submit(lambda i=i: make(i)).result() for i in range(2))
        worker.submit(lambda: (b.control("play"), b.detach())).result()  # b left while training
        assert b.state == "paused"
        worker.submit(lambda: a.control("play")).result()  # a takes the only place
        worker.submit(lambda: b.attach(sent.append)).result()
        assert (a.state, b.state) == ("running", "paused")  # b comes back paused, not over the limit
        worker.submit(lambda: (a.control("pause"), b.detach(), b.control("play"), b.detach())).result()
        worker.submit(lambda: b.attach(sent.append)).result()  # room now: it plays on
        assert b.state == "running"
    finally:
        worker.stop()
