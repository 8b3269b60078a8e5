"""Lab commands with bad arguments, for every command of every lab (real sessions, real
training): an error that names the field and what it allows, and the session goes on with
its weights and history. Also faults inside a command, the websocket path and the schema."""

from __future__ import annotations

import math
from typing import Any

import pytest
import torch
from torch import nn

from descent.history import Cursor
from descent.labs import LAB_NAMES, schema
from descent.protocol import client_message
from descent.runtime.session import Session
from tests.wsutil import greet, of_type, serve, step_epoch, until

HUGE = 10**400  # 401 digits: math.isfinite(HUGE) raises OverflowError
SETUPS: dict[str, dict[str, Any]] = {
    "mlp": {"lab": "mlp"},  # hidden [4, 2] on x1, x2: layers 2->4, 4->2, 2->1
    "attention": {"lab": "attention", "task": "reverse", "length": 4, "layers": 1, "d_model": 16, "ffn": 16, "batch_size": 8},
    "arena": {"lab": "arena", "surface": "bowl", "racers": ["sgd 0.1"]},
    "backprop": {"lab": "backprop"},
    "rnn": {"lab": "rnn", "length": 6, "hidden": 8, "batch_size": 8},
    "cnn": {"lab": "cnn", "blocks": ["conv2k3", "act", "gap"], "batch_size": 64},
}
GOOD_WEIGHT = {"layer": 0, "kind": "weight", "to": 1, "from": 0, "value": 0.5}

# (lab, command, args, what the error must name)
BAD: list[tuple[str, str, Any, str]] = [
    # set_weight: the issue's case, then each field's kind of wrong
    ("mlp", "set_weight", {**GOOD_WEIGHT, "value": HUGE}, "args.value: out of range; allowed [-100, 100]"),
    ("mlp", "set_weight", {**GOOD_WEIGHT, "value": -HUGE}, "args.value: out of range; allowed [-100, 100]"),
    ("mlp", "set_weight", {**GOOD_WEIGHT, "value": float("nan")}, "args.value: a finite number in [-100, 100]"),
    ("mlp", "set_weight", {**GOOD_WEIGHT, "value": float("inf")}, "args.value: a finite number in [-100, 100]"),
    ("mlp", "set_weight", {**GOOD_WEIGHT, "value": 1e300}, "args.value: out of range; allowed [-100, 100]"),
    ("mlp", "set_weight", {**GOOD_WEIGHT, "value": "0.5"}, "args.value: a finite number"),
    ("mlp", "set_weight", {**GOOD_WEIGHT, "value": True}, "args.value: a finite number"),
    ("mlp", "set_weight", {**GOOD_WEIGHT, "value": [1]}, "args.value: a finite number"),
    ("mlp", "set_weight", {k: v for k, v in GOOD_WEIGHT.items() if k != "value"}, "args.value: Field required"),
    ("mlp", "set_weight", {**GOOD_WEIGHT, "layer": HUGE}, "args.layer: Input should be less than or equal to 6"),
    ("mlp", "set_weight", {**GOOD_WEIGHT, "layer": -1}, "args.layer: Input should be greater than or equal to 0"),
    ("mlp", "set_weight", {**GOOD_WEIGHT, "layer": 3}, "args.layer: an integer in [0, 2]"),  # this network's layers
    ("mlp", "set_weight", {**GOOD_WEIGHT, "layer": 0.0}, "args.layer: Input should be a valid integer"),
    ("mlp", "set_weight", {**GOOD_WEIGHT, "layer": "0"}, "args.layer: Input should be a valid integer"),
    ("mlp", "set_weight", {**GOOD_WEIGHT, "layer": None}, "args.layer: Input should be a valid integer"),
    ("mlp", "set_weight", {**GOOD_WEIGHT, "to": HUGE}, "args.to: Input should be less than or equal to 7"),
    ("mlp", "set_weight", {**GOOD_WEIGHT, "to": 4}, "args.to: an integer in [0, 3]"),
    ("mlp", "set_weight", {**GOOD_WEIGHT, "from": HUGE}, "args.from: Input should be less than or equal to"),
    ("mlp", "set_weight", {**GOOD_WEIGHT, "from": 2}, "args.from: an integer in [0, 1]"),
    ("mlp", "set_weight", {**GOOD_WEIGHT, "from": None}, "args.from: an integer in [0, 1]"),  # a weight needs one
    ("mlp", "set_weight", {**GOOD_WEIGHT, "kind": "gain"}, "args.kind: Input should be 'weight' or 'bias'"),
    ("mlp", "set_weight", {**GOOD_WEIGHT, "bogus": 1}, "args.bogus: unknown key; allowed keys: layer, kind, to, from, value"),
    ("mlp", "set_weight", [1, 2], "args: Input should be a valid dictionary"),
    ("mlp", "code", {"x": HUGE}, "args.x: unknown key; allowed keys: none"),
    ("mlp", "unfork", {"x": float("nan")}, "args.x: unknown key; allowed keys: none"),
    ("mlp", "fork", {}, "args.patch: Field required"),
    ("mlp", "fork", {"patch": "adam"}, "args.patch: Input should be a valid dictionary"),
    ("mlp", "fork", {"patch": {"hidden": [3]}}, "args.patch.hidden: a fork changes only how the network is trained; allowed keys:"),
    ("mlp", "fork", {"patch": {"learning_rate": HUGE}}, "args.patch.learning_rate: Input should be a valid number"),  # (as in a config)
    ("mlp", "fork", {"patch": {"learning_rate": float("nan")}}, "args.patch.learning_rate: Input should be a finite number"),
    ("mlp", "fork", {"patch": {"learning_rate": None}}, "args.patch.learning_rate: Input should be a valid number"),
    ("mlp", "fork", {"patch": {"momentum": "fast"}}, "args.patch.momentum: Input should be a valid number"),
    ("mlp", "fork", {"patch": {"optimizer": "sgd2"}}, "args.patch.optimizer: Input should be"),
    ("mlp", "fork", {"patch": {"schedule_steps": HUGE}}, "args.patch.schedule_steps: Input should be less than or equal to 20000"),
    ("mlp", "fork", {"patch": {"schedule": "warmup_cosine", "warmup_steps": 500, "schedule_steps": 100}},
     "args.patch: warmup_steps 500: must be less than the schedule horizon minus one, 99"),  # the patched config as a whole
    ("mlp", "fork", {"patch": {"learning_rate": 0.1}, "extra": 1}, "args.extra: unknown key; allowed keys: patch"),
    ("attention", "probe", {"tokens": HUGE}, "args.tokens: Input should be a valid string"),
    ("attention", "probe", {"tokens": None}, "args.tokens: Input should be a valid string"),
    ("attention", "probe", {"tokens": "1" * 201}, "args.tokens: String should have at most 200 characters"),
    ("attention", "probe", {}, "args.tokens: Field required"),
    ("attention", "probe", {"tokens": "1234", "n": 1}, "args.n: unknown key; allowed keys: tokens"),
    ("attention", "probe", {"tokens": "12x4"}, "'x' is not in the reverse vocabulary"),  # the lab's own check, after
    ("backprop", "phase", {"n": HUGE}, "args.n: unknown key; allowed keys: none"),
    ("backprop", "step", {"n": float("inf")}, "args.n: unknown key; allowed keys: none"),
    ("cnn", "predict", {"pixels": "ink"}, "args.pixels: Input should be a valid list"),
    ("cnn", "predict", {"pixels": [0.5] * 63}, "args.pixels: 63 values; this dataset's images are 8x8, so 64 values in [0, 1]"),
    ("cnn", "predict", {"pixels": [0.5] * 63 + [HUGE]}, "args.pixels.63: Input should be a valid number"),
    *((lab, "__init__", {"n": HUGE}, "name: unknown command '__init__' for this lab") for lab in LAB_NAMES),
    ("arena", "step", {}, "name: unknown command 'step' for this lab; allowed: none"),
]


def trained(lab: str) -> tuple[Session, list[dict[str, Any]]]:
    """A session of ``lab`` three epochs in, and what it sent."""
    sent: list[dict[str, Any]] = []
    session = Session("c", torch.device("cpu"), sent.append)
    session.configure(SETUPS[lab])
    assert session.lab.config.lab == lab, sent  # type: ignore[attr-defined]
    for _ in range(3):
        train_on(session)
    return session, sent


def train_on(session: Session) -> None:
    """One more step at least (the arena and backprop pace their step control, so theirs
    step unpaced: the arena's advance, backprop's own step command)."""
    steps = session.lab.step_count
    lab = session.lab.config.lab  # type: ignore[attr-defined]
    if lab == "backprop":
        command(session, "step", {})
    elif lab == "arena":
        session.lab.advance(1)  # type: ignore[attr-defined]
    else:
        step_epoch(session)
    assert session.lab.step_count > steps and session.failed is None


def tensors(lab: Any) -> list[torch.Tensor]:
    """Copies of every tensor the lab holds directly or in its modules (weights and the like)."""
    found: list[torch.Tensor] = []
    for value in vars(lab).values():
        if isinstance(value, nn.Module):
            found += [p.detach().clone() for p in value.state_dict().values()]
        elif isinstance(value, torch.Tensor):
            found.append(value.detach().clone())
        elif isinstance(value, list) and value and all(isinstance(v, torch.Tensor) for v in value):
            found += [v.detach().clone() for v in value]
    return found


def state(session: Session) -> tuple[Any, ...]:
    lab = session.lab
    history = lab.history.since(Cursor())
    return lab, lab.epoch, lab.step_count, history["epoch"], session.state


def command(session: Session, name: str, args: Any) -> None:
    """As the transport does: the parsed message, handled by the session."""
    session.handle(client_message.validate_python({"type": "command", "name": name, "args": {}}).model_copy(update={"args": args}))


@pytest.fixture(scope="module")
def sessions() -> dict[str, tuple[Session, list[dict[str, Any]]]]:
    """One trained session per lab, shared by the bad-argument cases (each leaves it as it was)."""
    return {}


@pytest.mark.parametrize(("lab", "name", "args", "needle"), BAD, ids=[f"{b[0]}-{b[1]}-{i}" for i, b in enumerate(BAD)])
def test_bad_arguments_get_an_error_naming_the_field_and_the_run_goes_on(
    sessions: dict[str, tuple[Session, list[dict[str, Any]]]], lab: str, name: str, args: Any, needle: str
) -> None:
    if lab not in sessions:
        sessions[lab] = trained(lab)
    session, sent = sessions[lab]
    before, weights = state(session), tensors(session.lab)
    seen = len(sent)
    command(session, name, args)
    errors = [m for m in sent[seen:] if m["type"] == "error"]
    assert len(errors) == 1 and needle in errors[0]["message"], sent[seen:]
    assert errors[0]["loc"][:2] == ["command", name]
    field = needle.split(":")[0]
    if field.startswith("args"):  # (the loc says it too)
        assert ".".join(map(str, errors[0]["loc"][2:])) == field
    assert session.failed is None
    assert state(session) == before  # the same lab, epoch, steps, history and run state
    assert all(torch.equal(a, b) for a, b in zip(weights, tensors(session.lab), strict=True))
    train_on(session)  # and it trains on


def test_the_issues_set_weight_keeps_epoch_81_and_its_history() -> None:
    """The report: a 401-digit value failed the lab, and reset lost 81 epochs."""
    sent: list[dict[str, Any]] = []
    session = Session("c", torch.device("cpu"), sent.append)
    session.lab.step(81 * session.lab.steps_per_epoch)
    assert session.lab.epoch == 81
    command(session, "set_weight", {"layer": 0, "to": 0, "from": 0, "value": int("9" * 401)})
    assert sent[-1] == {"type": "error", "message": "args.value: out of range; allowed [-100, 100]",
                        "loc": ["command", "set_weight", "args", "value"]}
    assert session.failed is None and session.lab.epoch == 81
    assert session.lab.history.since(Cursor())["epoch"][-1] == 81
    command(session, "set_weight", {"layer": 0, "to": 0, "from": 0, "value": 99})  # a good one still works
    assert sent[-1]["type"] == "reply" and float(session.lab.linears[0].weight[0, 0]) == 99


def test_good_commands_still_run() -> None:
    session, sent = trained("mlp")
    command(session, "set_weight", {**GOOD_WEIGHT, "value": 7})
    assert sent[-1] == {"type": "reply", "name": "set_weight", "layer": 0, "kind": "weight", "to": 1, "from": 0, "value": 7.0}
    command(session, "set_weight", {"layer": 2, "kind": "bias", "to": 0, "value": -0.25})
    assert float(session.lab.linears[2].bias[0]) == -0.25
    command(session, "fork", {"patch": {"optimizer": "adam", "learning_rate": 0.01}})
    assert sent[-1]["label"] == "fork: optimizer adam, lr 0.01"
    command(session, "unfork", {})
    assert sent[-1] == {"type": "reply", "name": "unfork", "label": None}
    session, sent = trained("attention")
    command(session, "probe", {"tokens": "1234"})
    assert sent[-1]["type"] == "reply" and len(sent[-1]["output"]) == 4
    session, sent = trained("backprop")
    command(session, "phase", {})
    assert session.lab.phase == "forward" and session.failed is None


def test_a_fault_inside_a_command_is_an_error_and_the_edit_goes_back() -> None:
    """Not only a bad argument: whatever a command raises (here scoring the edited network)
    is an error reply, and set_weight, all or nothing, puts the weight back."""
    session, sent = trained("mlp")
    before, weights = state(session), tensors(session.lab)

    def broken() -> dict[str, float]:
        raise RuntimeError("injected fault")

    session.lab.evaluate = broken  # type: ignore[method-assign]
    command(session, "set_weight", {**GOOD_WEIGHT, "value": 3})
    assert sent[-1] == {"type": "error", "message": "set_weight failed (RuntimeError: injected fault)", "loc": ["command", "set_weight"]}
    del session.lab.evaluate
    assert session.failed is None and state(session) == before
    assert all(torch.equal(a, b) for a, b in zip(weights, tensors(session.lab), strict=True))
    # a probe that breaks: the model is back in train mode, the session goes on
    session, sent = trained("attention")
    session.lab._maps_view = lambda maps, ids: (_ for _ in ()).throw(OverflowError("injected"))  # type: ignore[method-assign]
    command(session, "probe", {"tokens": "1234"})
    assert sent[-1]["message"] == "probe failed (OverflowError: injected)" and session.failed is None
    assert session.lab.model.training


def test_a_fault_inside_a_training_step_command_fails_the_session_as_a_step_would() -> None:
    """backprop's phase and step run the step itself: a fault there may leave the step half
    done, so the session fails (and reset restarts it), as when step() raises."""
    session, sent = trained("backprop")

    def broken() -> None:
        raise RuntimeError("injected fault")

    session.lab.advance_phase = broken  # type: ignore[method-assign]
    command(session, "phase", {})
    assert session.failed and "injected fault" in session.failed
    session.control("reset")
    assert session.failed is None


def test_arguments_over_the_websocket() -> None:
    with serve() as client, client.websocket_connect("/ws") as ws:
        greet(ws)
        for _ in range(2):
            ws.send_json({"type": "control", "action": "step"})
            until(ws, of_type("status"))
        frame = until(ws, lambda m: m["type"] == "frame" and m["epoch"] == 2)
        weight = frame["views"]["weights"][0][1][0]
        # the issue's message, as raw JSON text (401 digits)
        ws.send_text('{"type": "command", "name": "set_weight", "args": {"layer": 0, "to": 1, "from": 0, "value": ' + "9" * 401 + "}}")
        error = until(ws, of_type("error"))
        assert error["message"] == "args.value: out of range; allowed [-100, 100]"
        assert error["loc"] == ["command", "set_weight", "args", "value"]
        ws.send_json({"type": "command", "name": "set_weight", "args": {"layer": HUGE, "to": 1, "from": 0, "value": 1}})
        assert until(ws, of_type("error"))["message"].startswith("args.layer: Input should be less than or equal to 6")
        ws.send_json({"type": "command", "name": "fork", "args": {"patch": {"learning_rate": 0.1}, "x": 1}})
        assert until(ws, of_type("error"))["message"] == "args.x: unknown key; allowed keys: patch"
        ws.send_json({"type": "control", "action": "pause"})
        status = until(ws, of_type("status"))
        assert status["state"] == "paused" and status["epoch"] == 2  # the run is where it was
        ws.send_json({"type": "control", "action": "step"})
        frame = until(ws, lambda m: m["type"] == "frame" and m["epoch"] == 3)
        assert frame["history"]["epoch"][-1] == 3 and math.isfinite(frame["views"]["weights"][0][1][0])
        assert weight is not None


def test_the_command_models_are_in_the_schema() -> None:
    with serve() as client:
        labs = client.get("/api/schema").json()["labs"]
    assert set(labs["mlp"]["commands"]) == {"set_weight", "code", "fork", "unfork"}
    weight = labs["mlp"]["commands"]["set_weight"]
    assert weight["additionalProperties"] is False and set(weight["required"]) == {"layer", "to", "value"}
    assert (weight["properties"]["value"]["minimum"], weight["properties"]["value"]["maximum"]) == (-100, 100)
    patch = labs["mlp"]["commands"]["fork"]["$defs"]["ForkPatch"]["properties"]
    assert patch["learning_rate"]["maximum"] == 10 and "hidden" not in patch
    assert labs["attention"]["commands"]["probe"]["properties"]["tokens"]["maxLength"] == 200
    assert set(labs["backprop"]["commands"]) == {"phase", "step"} and labs["arena"]["commands"] == {}
    for name in LAB_NAMES:  # each lab's commands are the models it validates with
        assert set(labs[name]["commands"]) == set(schema(name).COMMANDS)
