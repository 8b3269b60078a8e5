"""The recurrent lab over a real server's websocket: each task trains, bad input gets an error
naming the field, and the session lives on."""

from __future__ import annotations

from typing import Any

import pytest
from websockets.sync.client import connect

from tests.wsutil import Message


def until(ws: Any, want: Any, limit: int = 3000) -> Message:
    import json

    for _ in range(limit):
        message = json.loads(ws.recv(timeout=120))
        if want(message):
            return message
    raise AssertionError("no wanted message")


def ws_url(server_url: str) -> str:
    return server_url.replace("http", "ws", 1) + "/ws"


def send(ws: Any, message: dict) -> None:
    import json

    ws.send(json.dumps(message))


@pytest.mark.parametrize("task", ["delay", "sine", "parity", "text"])
def test_each_task_trains_over_a_real_server(server_url: str, task: str) -> None:
    with connect(ws_url(server_url), max_size=2**24) as ws:
        until(ws, lambda m: m["type"] == "hello")
        send(ws, {"type": "configure", "config": {"lab": "rnn", "task": task, "length": 10, "hidden": 16}})
        config = until(ws, lambda m: m["type"] == "config" and m["config"]["lab"] == "rnn")
        assert config["config"]["task"] == task
        first = until(ws, lambda m: m["type"] == "frame" and m["lab"] == "rnn")
        views = first["views"]
        assert views["inside"]["hidden"]["shape"] == [1, 10, 16] and views["inside"]["gates"]["shape"] == [3, 10, 16]
        assert len(views["bptt"]["norms"]) == 1 and len(views["bptt"]["norms"][0]) == 10
        loss0 = first["metrics"]["test_loss"]
        send(ws, {"type": "control", "action": "play"})
        later = until(ws, lambda m: m["type"] == "frame" and m["epoch"] >= 5)
        assert later["metrics"]["test_loss"] < loss0
        assert later["views"]["clip"]["step"] and later["history"] is not None
        assert (later["views"]["sample"] is not None) == (task == "text")


def test_bad_input_errors_and_the_session_lives(server_url: str) -> None:
    with connect(ws_url(server_url), max_size=2**24) as ws:
        until(ws, lambda m: m["type"] == "hello")
        send(ws, {"type": "configure", "config": {"lab": "rnn"}})
        until(ws, lambda m: m["type"] == "config" and m["config"]["lab"] == "rnn")
        send(ws, {"type": "control", "action": "play"})
        for patch, words in [({"hidden": 65}, "hidden"), ({"task": "text", "bidirectional": True}, "bidirectional"),
                             ({"bptt": 50}, "bptt 50: at most the sequence length 12"), ({"cell": "transformer"}, "cell"),
                             ({"layers": 3, "hidden": 64, "length": 100, "batch_size": 256, "cell": "lstm"}, "batch_size")]:
            send(ws, {"type": "configure", "config": patch})
            error = until(ws, lambda m: m["type"] == "error")
            assert words in error["message"] + str(error.get("loc")), error
        step = until(ws, lambda m: m["type"] == "frame")["step"]
        frame = until(ws, lambda m: m["type"] == "frame" and m["step"] > step)
        assert frame["state"] == "running" and frame["lab"] == "rnn"
        # a good change applies: LSTM, 2 layers, truncated BPTT, view of layer 2
        send(ws, {"type": "configure", "config": {"cell": "lstm", "layers": 2, "bptt": 4, "view_layer": 2}})
        frame = until(ws, lambda m: m["type"] == "frame" and m["views"]["inside"]["layer"] == 2 and m["views"]["bptt"]["cuts"] == [4, 8])
        assert frame["views"]["inside"]["gate_names"] == ["input", "forget", "candidate", "output"]
        assert frame["views"]["inside"]["cell"]["shape"] == [1, 12, 32]
