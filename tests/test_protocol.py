"""The websocket protocol through Starlette's TestClient."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from pydantic import TypeAdapter

from descent.protocol import ServerMessage
from descent.runtime.frames import ACK_WINDOW
from tests.wsutil import of_type, until

server_message = TypeAdapter(ServerMessage)


def receive(ws: Any, want: Callable[[dict], bool]) -> dict:
    """``until``, with every message read validated against the protocol's schema."""
    return until(ws, want, each=server_message.validate_python)


@contextmanager
def open_session(client: Any) -> Iterator[Any]:
    """A connected session past its first frame; closed even when the test fails."""
    with client.websocket_connect("/ws") as ws:
        hello = ws.receive_json()
        assert hello["type"] == "hello" and hello["protocol"] == 1 and hello["device"] == "cpu" and hello["session"]
        receive(ws, of_type("frame"))  # the first frame follows config and status
        yield ws


def test_healthz_and_schema(client: Any) -> None:
    health = client.get("/healthz").json()
    assert health["status"] == "ok" and health["device"] == "cpu" and health["version"]
    schema = client.get("/api/schema").json()
    assert {"client", "server", "labs"} <= set(schema)
    tags = schema["client"]["discriminator"]["mapping"]
    assert {"configure", "control", "subscribe"} <= set(tags)
    mlp = schema["labs"]["mlp"]["config"]["properties"]
    assert set(mlp["dataset"]["enum"]) == {"circle", "xor", "gauss", "spiral", "moons", "checkerboard", "plane", "multigauss",
                                           "blobs", "spirals"}
    assert (mlp["classes"]["minimum"], mlp["classes"]["maximum"]) == (3, 6) and "multiclass" in mlp["classes"]["description"]
    views = schema["labs"]["mlp"]["views"]
    assert "boundary" in views["properties"] and "confidence" in views["$defs"]["ClassHeatmap"]["properties"]


def test_plotly_is_served_locally(client: Any) -> None:
    r = client.get("/vendor/plotly.min.js")
    assert r.status_code == 200 and len(r.content) > 1_000_000
    page = client.get("/").text
    # (preloaded by the page, then loaded beside the shell: frontend/js/view/plotly.js)
    assert '"/vendor/plotly.min.js"' in page and "cdn" not in page.lower()


def test_first_contact(client: Any) -> None:
    with client.websocket_connect("/ws") as ws:
        assert ws.receive_json()["type"] == "hello"
        config = ws.receive_json()
        assert config["type"] == "config" and config["config"]["lab"] == "mlp"
        assert ws.receive_json()["type"] == "status"
        frame = receive(ws, of_type("frame"))
        assert frame["history"]["reset"] and frame["views"]["data"]["train"]["x1"]
        assert {"train_loss", "test_loss"} <= set(frame["metrics"])


@pytest.mark.parametrize("dataset", ["xor", "circle"])
def test_loss_falls_over_steps(client: Any, dataset: str) -> None:
    with open_session(client) as ws:
        ws.send_json({"type": "configure", "config": {"dataset": dataset, "learning_rate": 0.1}})
        receive(ws, of_type("config"))
        first = receive(ws, lambda m: m["type"] == "frame" and m["epoch"] == 0)
        start = first["metrics"]["train_loss"]
        for _ in range(30):  # within the per-connection burst limit
            ws.send_json({"type": "control", "action": "step"})
        frame = receive(ws, lambda m: m["type"] == "frame" and m["epoch"] == 30)
        assert frame["metrics"]["train_loss"] < 0.6 * start
        assert frame["step"] == 30 * 25  # 250 training points, batch 10


def test_play_streams_frames_then_pause(client: Any) -> None:
    with open_session(client) as ws:
        ws.send_json({"type": "control", "action": "play"})
        assert receive(ws, of_type("status"))["state"] == "running"
        epochs = [receive(ws, of_type("frame"))["epoch"] for _ in range(5)]
        assert epochs == sorted(epochs) and epochs[-1] > epochs[0]
        ws.send_json({"type": "control", "action": "pause"})
        assert receive(ws, of_type("status"))["state"] == "paused"


def test_lr_change_keeps_network_architecture_change_resets(client: Any) -> None:
    with open_session(client) as ws:
        for _ in range(3):
            ws.send_json({"type": "control", "action": "step"})
        receive(ws, lambda m: m["type"] == "frame" and m["epoch"] == 3)
        ws.send_json({"type": "configure", "config": {"learning_rate": 0.3}})
        msg = receive(ws, of_type("config"))
        assert msg["rebuilt"] == "none" and msg["changed"] == ["learning_rate"]
        frame = receive(ws, of_type("frame"))
        assert frame["epoch"] == 3 and frame["lr"] == 0.3
        ws.send_json({"type": "configure", "config": {"optimizer": "adam"}})
        assert receive(ws, of_type("config"))["rebuilt"] == "optimizer"
        assert receive(ws, of_type("frame"))["epoch"] == 3
        ws.send_json({"type": "configure", "config": {"hidden": [6, 6, 6]}})
        assert receive(ws, of_type("config"))["rebuilt"] == "network"
        frame = receive(ws, of_type("frame"))
        assert frame["epoch"] == 0 and frame["history"]["reset"] and len(frame["views"]["grad_norms"]) == 4


BAD_INPUTS: list[tuple[str, str]] = [
    (json.dumps({"type": "configure", "config": {"dataset": "galaxy"}}), "circle"),
    (json.dumps({"type": "configure", "config": {"hidden": [4] * 100}}), "hidden"),
    (json.dumps({"type": "configure", "config": {"hidden": [10000]}}), "less than or equal to 8"),
    (json.dumps({"type": "configure", "config": {"learning_rate": -1}}), "learning_rate"),
    ('{"type": "configure", "config": {"learning_rate": NaN}}', "learning_rate"),
    (json.dumps({"type": "configure", "config": {"batch_size": 300}}), "batch_size"),
    (json.dumps({"type": "configure", "config": {"lab": "quantum"}}), "allowed: mlp"),
    (json.dumps({"type": "configure", "config": {"no_such_key": 1}}), "allowed keys"),
    ("{not json", "malformed JSON"),
    (json.dumps({"type": "teleport"}), "configure"),
    (json.dumps({"type": "control", "action": "explode"}), "play"),
    (json.dumps([1, 2, 3]), "type"),
    ("x" * 100_000, "too large"),
]


def test_bad_input_gets_an_error_and_the_session_lives(client: Any) -> None:
    with open_session(client) as ws:
        ws.send_json({"type": "configure", "config": {"dataset": "xor", "learning_rate": 0.1}})
        good = receive(ws, of_type("config"))["config"]
        for _ in range(2):
            ws.send_json({"type": "control", "action": "step"})
        receive(ws, lambda m: m["type"] == "frame" and m["epoch"] == 2)
        for text, needle in BAD_INPUTS:
            ws.send_text(text)
            error = receive(ws, of_type("error"))
            assert needle in error["message"], (text[:80], error)
        # still alive, same config, same history: training continues from epoch 2
        ws.send_json({"type": "control", "action": "step"})
        frame = receive(ws, lambda m: m["type"] == "frame" and m["epoch"] == 3)
        assert frame["lr"] == 0.1
        ws.send_json({"type": "configure", "config": {}})
        assert receive(ws, of_type("config"))["config"] == good


def test_divergence_pauses_and_reset_recovers(client: Any) -> None:
    with open_session(client) as ws:
        ws.send_json({"type": "configure", "config": {"problem": "regression", "dataset": "plane", "hidden": [8, 8],
                                                      "activation": "relu", "features": ["x1", "x2", "x1sq", "x2sq", "x1x2"],
                                                      "learning_rate": 10}})
        receive(ws, of_type("config"))
        ws.send_json({"type": "control", "action": "play"})
        status = receive(ws, lambda m: m["type"] == "status" and m["state"] == "diverged")
        assert status["lr"] == 10 and "loss" in status["reason"]
        ws.send_json({"type": "control", "action": "play"})
        assert "diverged" in receive(ws, of_type("error"))["message"]
        ws.send_json({"type": "control", "action": "reset"})
        assert receive(ws, of_type("status"))["state"] == "paused"
        frame = receive(ws, of_type("frame"))
        assert frame["state"] == "paused" and frame["epoch"] == 0


def test_frames_never_pile_up_for_a_slow_client(client: Any) -> None:
    """A client that acks frames has at most two in flight: a page that stops drawing for a
    while finds two old frames waiting, and the one after them is fresh."""
    import time

    with open_session(client) as ws:
        ws.send_json({"type": "ack"})
        ws.send_json({"type": "control", "action": "play"})
        # draw nothing while training runs: the window (two frames) fills and stops
        stale = [receive(ws, of_type("frame"))["epoch"] for _ in range(ACK_WINDOW)]
        # (reading is not acking: the server sees a page that has not drawn them yet)
        (session,) = client.app.state.worker.sessions.values()
        deadline = time.monotonic() + 120  # (a safety net: we wait for epochs, not for time)
        while session.lab.epoch < max(stale) + 20 and time.monotonic() < deadline:
            time.sleep(0.02)
        trained = session.lab.epoch
        assert trained >= max(stale) + 20
        for _ in range(ACK_WINDOW):
            ws.send_json({"type": "ack"})  # from here on, every frame must be acked
        fresh = receive(ws, of_type("frame"))["epoch"]
        ws.send_json({"type": "ack"})
        after = receive(ws, of_type("frame"))["epoch"]
        # 20 epochs after the frames that waited, the next ones follow the training, not a
        # queue of old ones
        assert fresh >= trained, (stale, trained, fresh)
        assert after >= fresh


def test_acks_are_not_rate_limited(client: Any) -> None:
    with open_session(client) as ws:
        for _ in range(200):
            ws.send_json({"type": "ack"})
        ws.send_json({"type": "control", "action": "step"})
        # (acks for frames never sent are dropped and told "too many acks", but they do not
        # spend the message budget: the control after them still goes through)

        def acked(m: dict) -> bool:  # a client that acks draws every frame it gets
            if m["type"] == "frame":
                ws.send_json({"type": "ack"})
            return m["type"] == "error" and "too many messages" in m["message"] or (m["type"] == "frame" and m["epoch"] == 1)

        frame = receive(ws, acked)
        assert frame["type"] == "frame"


def test_non_finite_numbers_go_out_as_null() -> None:
    from descent.protocol import to_json

    assert json.loads(to_json({"type": "frame", "metrics": {"train_loss": float("nan")}, "g": [1.0, float("inf")]})) == {
        "type": "frame", "metrics": {"train_loss": None}, "g": [1.0, None]}


def test_frames_are_built_as_the_frame_model_says() -> None:
    """Frames skip validation (the hot path): their builder must still give the model's
    fields, in order, and a frame that validates against it."""
    from descent.protocol import Frame, frame_message

    frame = frame_message("mlp", "paused", 3, 1, 0.03, {"loss": 0.5}, None, {})
    assert list(frame) == list(Frame.model_fields)
    server_message.validate_python(frame)
