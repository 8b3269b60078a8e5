"""Optimizer and schedule over the websocket: schema, lr on every frame, mid-run changes."""

from __future__ import annotations

from typing import Any

from descent.nn.optimizers import OPTIMIZERS
from descent.nn.schedules import SCHEDULES
from tests.wsutil import of_type, until


def test_schema_documents_optimizer_schedule_and_their_parameters(client: Any) -> None:
    config = client.get("/api/schema").json()["labs"]["mlp"]["config"]
    props = config["properties"]
    assert set(props["optimizer"]["enum"]) == set(OPTIMIZERS.names())
    assert set(props["schedule"]["enum"]) == set(SCHEDULES.names())
    for field in ("beta1", "beta2", "rho", "eps", "gamma", "milestones", "warmup_steps", "schedule_steps"):
        assert props[field].get("description"), field
    assert props["optimizer"]["x-uses"]["adadelta"] == ["rho", "eps", "weight_decay"]
    assert props["schedule"]["x-uses"]["multistep"] == ["milestones", "gamma"]


def test_frames_carry_lr_and_schedule_changes_keep_the_run(client: Any) -> None:
    with client.websocket_connect("/ws") as ws:
        until(ws, of_type("frame"))
        ws.send_json({"type": "configure", "config": {"schedule": "step", "step_size": 25, "gamma": 0.5, "learning_rate": 0.1}})
        assert until(ws, of_type("config"))["rebuilt"] == "optimizer"
        frame = until(ws, lambda m: m["type"] == "frame" and "schedule" in m["views"])
        assert frame["views"]["schedule"]["lr"][:2] == [0.1, 0.1]
        for _ in range(2):
            ws.send_json({"type": "control", "action": "step"})  # one epoch = 25 steps
        frame = until(ws, lambda m: m["type"] == "frame" and m["epoch"] == 2)
        assert frame["step"] == 50 and frame["lr"] == 0.025
        ws.send_json({"type": "configure", "config": {"optimizer": "yogi"}})
        msg = until(ws, of_type("config"))
        assert msg["rebuilt"] == "optimizer" and msg["changed"] == ["optimizer"]
        frame = until(ws, of_type("frame"))
        assert frame["epoch"] == 2 and frame["step"] == 50 and frame["lr"] == 0.025  # kept, same step axis
        ws.send_json({"type": "configure", "config": {"beta2": 1.0}})
        error = until(ws, of_type("error"))
        assert error["loc"] == ["config", "beta2"] and "less than 1" in error["message"]
        ws.send_json({"type": "control", "action": "step"})
        frame = until(ws, lambda m: m["type"] == "frame" and m["epoch"] == 3)
        assert frame["lr"] == 0.0125 and frame["views"]["optimizer_state"][1]["key"] == "exp_avg_sq"
