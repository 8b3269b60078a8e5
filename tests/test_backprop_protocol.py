"""Backprop by hand over the real websocket protocol (Starlette TestClient): switch to the
lab, step phase by phase and whole steps, frames carry the numbers; bad input is refused
with the field named and the run kept."""

from __future__ import annotations

from typing import Any

import pytest

from descent.server.schema import json_schema
from tests.wsutil import open_lab, until


def frame_in(ws: Any, phase: str) -> dict:
    return until(ws, lambda m: m["type"] == "frame" and m["views"]["phase"] == phase)


def test_schema_documents_the_lab() -> None:
    lab = json_schema()["labs"]["backprop"]
    assert {"preset", "learning_rate", "forget_zero_grad", "speed"} <= set(lab["config"]["properties"])
    assert {"phase", "params", "forward", "loss"} <= set(lab["views"]["properties"])


def test_phases_then_steps_carry_the_numbers(client: Any) -> None:
    with client.websocket_connect("/ws") as ws:
        msg = open_lab(ws, "backprop", preset="2-2-1", learning_rate=0.5)
        assert msg["rebuilt"] == "lab"
        first = frame_in(ws, "ready")
        assert first["views"]["presets"]["linear"] == "linear regression y = 2x + 1"
        ws.send_json({"type": "command", "name": "phase", "args": {}})
        forward = frame_in(ws, "forward")["views"]["forward"]
        assert {q["name"]: q["value"] for q in forward}["y3"] == pytest.approx(0.75136507, abs=1e-8)
        ws.send_json({"type": "command", "name": "phase", "args": {}})
        assert frame_in(ws, "loss")["views"]["loss"]["value"] == pytest.approx(0.274811083, abs=1e-9)
        ws.send_json({"type": "command", "name": "phase", "args": {}})
        w5 = next(p for p in frame_in(ws, "backward")["views"]["params"] if p["name"] == "w5")
        assert w5["grad"] == pytest.approx(0.082167041, abs=1e-9) and w5["chain"]["value"] == pytest.approx(w5["grad"])
        ws.send_json({"type": "command", "name": "phase", "args": {}})
        frame = frame_in(ws, "update")
        w5 = next(p for p in frame["views"]["params"] if p["name"] == "w5")
        assert w5["update"]["new"] == pytest.approx(0.4 - 0.5 * 0.082167041, abs=1e-9) == w5["value"]
        assert frame["step"] == 1 and frame["metrics"]["loss"] == pytest.approx(0.274811083, abs=1e-9)
        # the shell's step control: one whole step
        ws.send_json({"type": "control", "action": "step"})
        frame = until(ws, lambda m: m["type"] == "frame" and m["step"] == 2)
        assert frame["views"]["phase"] == "update"
        assert frame["history"]["epoch"][-1] == 2 and len(frame["history"]["series"]["loss"]) >= 1


def test_play_converges_and_forget_zero_grad_accumulates(client: Any) -> None:
    with client.websocket_connect("/ws") as ws:
        open_lab(ws, "backprop", preset="linear", learning_rate=0.1, speed=30)
        ws.send_json({"type": "control", "action": "play"})
        frame = until(ws, lambda m: m["type"] == "frame" and m["step"] >= 40)
        ws.send_json({"type": "control", "action": "pause"})
        values = {p["name"]: p["value"] for p in frame["views"]["params"]}
        assert values["w"] == pytest.approx(2, abs=0.05) and values["b"] == pytest.approx(1, abs=0.05)
        ws.send_json({"type": "configure", "config": {"forget_zero_grad": True}})
        assert until(ws, lambda m: m["type"] == "config")["changed"] == ["forget_zero_grad"]
        for _ in range(3):  # forward, loss, backward (no zero_grad)
            ws.send_json({"type": "command", "name": "phase", "args": {}})
        views = frame_in(ws, "backward")["views"]
        assert views["zero_grad"] is False
        for p in views["params"]:
            assert p["grad"] == pytest.approx(p["grad_before"] + p["chain"]["value"], rel=1e-12, abs=1e-15)


def test_bad_input_names_the_field_and_keeps_the_run(client: Any) -> None:
    with client.websocket_connect("/ws") as ws:
        open_lab(ws, "backprop", preset="2-2-1")
        ws.send_json({"type": "command", "name": "step", "args": {}})
        until(ws, lambda m: m["type"] == "frame" and m["step"] == 1)
        for patch, words in (
            ({"preset": "3-3-1"}, ["config.preset", "'linear' or '2-2-1'"]),
            ({"learning_rate": 50}, ["config.learning_rate", "10"]),
            ({"forget_zero_grad": "perhaps"}, ["config.forget_zero_grad"]),
        ):
            ws.send_json({"type": "configure", "config": patch})
            error = until(ws, lambda m: m["type"] == "error")
            assert all(w in error["message"] for w in words), error["message"]
        ws.send_json({"type": "command", "name": "jump", "args": {}})
        assert "allowed: phase, step" in until(ws, lambda m: m["type"] == "error")["message"]
        ws.send_json({"type": "command", "name": "step", "args": {}})
        frame = until(ws, lambda m: m["type"] == "frame" and m["step"] == 2)
        assert frame["views"]["preset"] == "2-2-1"
