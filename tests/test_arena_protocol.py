"""The arena over the real websocket protocol (Starlette TestClient): switching lab, racing,
divergence of a whole race, bad input that keeps the race, and trajectories in the history."""

from __future__ import annotations

from typing import Any

from descent.server.schema import json_schema
from tests.wsutil import open_lab, until


def test_schema_documents_the_arena() -> None:
    labs = json_schema()["labs"]
    assert "arena" in labs
    assert {"surface", "start", "racers", "noise", "speed"} <= set(labs["arena"]["config"]["properties"])
    assert "racers" in labs["arena"]["views"]["properties"]


def test_race_streams_trajectories_then_diverges(client: Any) -> None:
    with client.websocket_connect("/ws") as ws:
        msg = open_lab(ws, "arena", surface="bowl", speed=1000, racers=["sgd 1.1"])
        assert msg["rebuilt"] == "lab" and msg["config"]["racers"][0]["learning_rate"] == 1.1
        first = until(ws, lambda m: m["type"] == "frame" and "surface" in m["views"])
        assert first["views"]["surface"]["name"] == "bowl"
        ws.send_json({"type": "control", "action": "play"})
        status = until(ws, lambda m: m["type"] == "status" and m["state"] == "diverged")
        assert "every racer diverged" in status["reason"] and "lr 1.1" in status["reason"]
        frame = until(ws, lambda m: m["type"] == "frame" and m["state"] == "diverged")
        assert frame["views"]["racers"][0]["status"] == "diverged"
        assert "surface" not in frame["views"]  # the grid goes once per surface


def test_bad_input_gets_an_error_and_the_race_goes_on(client: Any) -> None:
    with client.websocket_connect("/ws") as ws:
        open_lab(ws, "arena", surface="bowl", speed=1000, racers=["sgd 0.01", "adam 0.05"])
        ws.send_json({"type": "control", "action": "play"})
        before = until(ws, lambda m: m["type"] == "frame" and m["step"] > 5)
        for patch, field in (
            ({"surface": "volcano"}, "config.surface"),
            ({"start": [9, 9]}, "config.start"),
            ({"racers": ["sgd 0.1"] * 7}, "config.racers"),
            ({"racers": [{"optimizer": "sgd", "learning_rate": -1}]}, "config.racers.0.learning_rate"),
        ):
            ws.send_json({"type": "configure", "config": patch})
            error = until(ws, lambda m: m["type"] == "error")
            assert error["message"].startswith(field)
        after = until(ws, lambda m: m["type"] == "frame" and m["step"] > before["step"] + 5)
        assert after["state"] == "running" and len(after["views"]["racers"]) == 2


def test_history_carries_only_new_trajectory_points(client: Any) -> None:
    with client.websocket_connect("/ws") as ws:
        open_lab(ws, "arena", surface="ravine", speed=300, racers=["sgd 0.1", "momentum 0.05"])
        ws.send_json({"type": "control", "action": "play"})
        steps: list[int] = []
        for _ in range(5):
            frame = until(ws, lambda m: m["type"] == "frame" and m["history"])
            if frame["history"]["reset"]:
                steps = []
            steps += frame["history"]["epoch"]
            assert {"x0", "y0", "gap0", "x1", "y1", "gap1"} == set(frame["history"]["series"])
        assert steps == list(range(steps[0], steps[0] + len(steps)))  # no point sent twice, none missed


def test_start_click_patch_restarts_from_that_point(client: Any) -> None:
    with client.websocket_connect("/ws") as ws:
        open_lab(ws, "arena", surface="himmelblau", racers=["sgd 0.01"])
        ws.send_json({"type": "configure", "config": {"start": [2.5, -4.0]}})
        msg = until(ws, lambda m: m["type"] == "config")
        assert msg["changed"] == ["start"] and msg["rebuilt"] == "network"
        frame = until(ws, lambda m: m["type"] == "frame" and "surface" in m["views"])
        assert frame["views"]["racers"][0]["point"] == [2.5, -4.0]
        assert frame["views"]["surface"]["start"] == [2.5, -4.0]
