"""The convolution lab over a real server's websocket: configure, train, accuracy rises;
filters change; a drawing is predicted; every bad input is an error and the session lives."""

from __future__ import annotations

import base64
import json
from typing import Any

import numpy as np


def read_until(ws: Any, want: Any, limit: int = 3000) -> dict:
    for _ in range(limit):
        message = json.loads(ws.recv(timeout=120))
        if want(message):
            return message
    raise AssertionError("no wanted message")


def filters(frame: dict) -> np.ndarray:
    f = frame["views"]["filters"][0]
    return np.frombuffer(base64.b64decode(f["data"]), np.uint8).reshape(f["shape"])


def test_train_predict_and_refuse_on_a_real_server(server_url: str) -> None:
    import httpx
    from websockets.sync.client import connect

    schema = httpx.get(f"{server_url}/api/schema", timeout=60).json()["labs"]["cnn"]
    assert schema["config"]["x-presets"]["lenet"]["label"] == "LeNet-style"
    assert "probabilities" in schema["views"]["commands"]["predict"]["properties"]

    with connect(server_url.replace("http", "ws") + "/ws", max_size=None) as ws:
        assert json.loads(ws.recv())["type"] == "hello"
        ws.send(json.dumps({"type": "subscribe", "frame_rate": 30}))
        ws.send(json.dumps({"type": "configure", "config": {"lab": "cnn"}}))
        config = read_until(ws, lambda m: m["type"] == "config" and m["config"]["lab"] == "cnn")
        assert config["config"]["dataset"] == "digits" and config["config"]["blocks"][0] == "conv8k5p2"
        first = read_until(ws, lambda m: m["type"] == "frame" and m["lab"] == "cnn")
        views = first["views"]
        assert [row["shape"] for row in views["layers"]][:3] == [[8, 8, 8], [8, 8, 8], [8, 4, 4]]
        assert views["layers"][0]["formula"] == "(8 + 2·2 − 5)/1 + 1 = 8" and views["layers"][0]["rf"] == 5
        start = first["metrics"]["test_accuracy"]

        ws.send(json.dumps({"type": "control", "action": "play"}))
        later = read_until(ws, lambda m: m["type"] == "frame" and m["epoch"] >= 8)
        assert later["metrics"]["test_accuracy"] > max(0.85, start + 0.5)
        assert np.abs(filters(later).astype(int) - filters(first)).max() > 5
        assert later["history"] is not None

        # a drawing: its prediction and maps
        ws.send(json.dumps({"type": "command", "name": "predict", "args": {"pixels": [0.5] * 64}}))
        reply = read_until(ws, lambda m: m["type"] == "reply")
        assert reply["name"] == "predict" and len(reply["probabilities"]) == 10 and [m["layer"] for m in reply["maps"]] == [0]

        # bad inputs: each an error naming the field; the session goes on training
        bad: list[tuple[dict, str]] = [
            ({"type": "configure", "config": {"blocks": ["conv8k3", "conv8k7", "gap"]}}, "(H + 2P − K)/S + 1 = (6 + 2·0 − 7)/1 + 1"),
            ({"type": "configure", "config": {"blocks": ["conv20k3", "gap"]}}, "channels 20 is out of range; allowed 1-16"),
            ({"type": "configure", "config": {"blocks": ["conv8k3s9", "gap"]}}, "stride 9 is out of range; allowed 1-3"),
            ({"type": "configure", "config": {"blocks": ["conv8k3p7", "gap"]}}, "padding 7 is out of range; allowed 0-3"),
            ({"type": "configure", "config": {"blocks": ["wat"]}}, "unknown block"),
            ({"type": "configure", "config": {"blocks": ["act"] * 40}}, "blocks"),
            ({"type": "configure", "config": {"batch_size": 100000}}, "batch_size"),
            ({"type": "configure", "config": {"dataset": "digits16", "batch_size": 256, "blocks": ["conv16k7p3"] * 15 + ["gap"]}},
             "one training step of this setup costs about"),
            ({"type": "configure", "config": {"dataset": "cifar"}}, "dataset"),
            ({"type": "configure", "config": {"show": [0, 1, 2, 3, 4]}}, "config.show"),
            ({"type": "configure", "config": {"show": [99]}}, "config.show.0"),
            ({"type": "command", "name": "predict", "args": {"pixels": [0.5] * 63}}, "64 values"),
            ({"type": "command", "name": "predict", "args": {"pixels": [9.0] * 64}}, "out of range"),
            ({"type": "command", "name": "predict", "args": {"pixels": "no"}}, "pixels"),
        ]
        for message, text in bad:
            ws.send(json.dumps(message))
            error = read_until(ws, lambda m: m["type"] == "error")
            assert text in error["message"], (message, error)
        step = later["step"]
        assert read_until(ws, lambda m: m["type"] == "frame" and m["step"] > step)["state"] == "running"

        # the page shows other layers: frames carry only those, and the run goes on (no reset)
        assert [m["layer"] for m in later["views"]["example"]["maps"]] == [0] and [f["layer"] for f in later["views"]["filters"]] == [0]
        ws.send(json.dumps({"type": "configure", "config": {"show": [2, 3]}}))
        changed = read_until(ws, lambda m: m["type"] == "config" and m["config"]["show"] == [2, 3])
        shown = read_until(ws, lambda m: m["type"] == "frame" and [x["layer"] for x in m["views"]["example"]["maps"]] == [2, 3])
        assert [f["layer"] for f in shown["views"]["filters"]] == [3] and shown["step"] > step and shown["epoch"] >= 8
        assert changed["rebuilt"] == "none" and changed["changed"] == ["show"]

        # a change of network on the fly: the 16x16 digits with the NiN preset
        nin = ["conv16k3p1", "act", "conv8k1", "act", "max2", "conv16k3p1", "act", "conv16k1", "act", "gap"]
        ws.send(json.dumps({"type": "configure", "config": {"dataset": "digits16", "blocks": nin}}))
        config = read_until(ws, lambda m: m["type"] == "config" and m["config"]["dataset"] == "digits16")
        frame = read_until(ws, lambda m: m["type"] == "frame" and m["views"]["size"] == 16)
        assert frame["views"]["layers"][4]["shape"] == [8, 8, 8] and frame["views"]["layers"][-1]["shape"] == [10]
