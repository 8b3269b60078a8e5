"""The attention lab over the websocket: switch to it, play, maps arrive and change; probe; bad input."""

from __future__ import annotations

import base64

import numpy as np
from fastapi.testclient import TestClient

from tests.wsutil import of_type, until


def maps_of(frame: dict) -> np.ndarray:
    m = frame["views"]["maps"]
    return np.frombuffer(base64.b64decode(m["data"]), dtype=np.uint8).reshape(m["shape"])


def test_switch_play_maps_appear_and_change(client: TestClient) -> None:
    with client.websocket_connect("/ws") as ws:
        assert ws.receive_json()["type"] == "hello"
        ws.send_json({"type": "configure", "config": {"lab": "attention"}})
        config = until(ws, lambda m: m["type"] == "config" and m["config"]["lab"] == "attention")
        assert config["rebuilt"] == "lab" and config["config"]["task"] == "reverse"
        first = until(ws, lambda m: m["type"] == "frame" and m["lab"] == "attention")
        views = first["views"]
        assert views["maps"]["shape"] == [2, 2, 17, 17] and len(views["maps"]["tokens"]) == 17
        assert views["ideal"] is not None and views["vocab"][-2:] == ["|", "_"]
        assert views["timelapse"]["reset"] and views["timelapse"]["epochs"] == [0]
        before = maps_of(first)

        ws.send_json({"type": "control", "action": "play"})
        later = until(ws, lambda m: m["type"] == "frame" and m["epoch"] >= 3)
        assert np.abs(maps_of(later).astype(int) - before).max() > 10
        assert later["history"] is not None and "entropy_2_2" in later["history"]["series"]
        assert set(later["metrics"]) >= {"test_loss", "test_accuracy", "perplexity"}

        # a bad setup: an error naming the allowed values, and the run goes on
        ws.send_json({"type": "configure", "config": {"heads": 3}})
        error = until(ws, of_type("error"))
        assert "heads 3 does not divide d_model 32" in error["message"] and "[1, 2, 4, 8]" in error["message"]
        step = later["step"]
        after = until(ws, lambda m: m["type"] == "frame" and m["step"] > step)
        assert after["views"]["maps"]["shape"] == [2, 2, 17, 17]

        # type your own input
        ws.send_json({"type": "command", "name": "probe", "args": {"tokens": "12345678"}})
        reply = until(ws, of_type("reply"))
        assert reply["name"] == "probe" and reply["maps"]["shape"] == [2, 2, 17, 17] and len(reply["output"]) == 8
        ws.send_json({"type": "command", "name": "probe", "args": {"tokens": "1234567Z"}})
        error = until(ws, of_type("error"))
        assert error["loc"] == ["command", "probe"] and "allowed: 0 1 2 3 4 5 6 7 8 9" in error["message"]
        step = until(ws, of_type("frame"))["step"]
        assert until(ws, lambda m: m["type"] == "frame" and m["step"] > step)["state"] == "running"


def test_schema_documents_the_maps(client: TestClient) -> None:
    schema = client.get("/api/schema").json()["labs"]["attention"]
    maps = schema["views"]["$defs"]["Maps"]["properties"]
    assert "(layers, heads, T, T)" in maps["shape"]["description"]
    assert "base64" in maps["data"]["description"]
    assert schema["config"]["tasks"]["text"]["causal_only"] is True
    assert "continuation" in schema["views"]["commands"]["probe"]["properties"]
