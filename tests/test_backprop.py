"""Backprop by hand: every number the lab shows (forward values, loss, each gradient's
chain-rule product, each update) against a hand computation in plain floats written here
independently of autograd and of the lab's own formulas; autograd's .grad against the
chain-rule products; forget_zero_grad accumulating; linear regression reaching y = 2x + 1."""

from __future__ import annotations

import math

import pytest
import torch
from pydantic import ValidationError

from descent.labs.backprop.lab import Lab
from descent.labs.backprop.schema import PHASES, Config, Views

CPU = torch.device("cpu")


def sig(a: float) -> float:
    return 1 / (1 + math.exp(-a))


def by_hand_221(p: dict[str, float], lr: float) -> dict[str, dict[str, float]]:
    """One SGD step of the 2-2-1 sigmoid network on x = (0.05, 0.10), target 0.01, L = ½(y3 − y)²."""
    x1, x2, t = 0.05, 0.10, 0.01
    a1 = p["w1"] * x1 + p["w2"] * x2 + p["b1"]
    a2 = p["w3"] * x1 + p["w4"] * x2 + p["b2"]
    h1, h2 = sig(a1), sig(a2)
    a3 = p["w5"] * h1 + p["w6"] * h2 + p["b3"]
    out = sig(a3)
    loss = 0.5 * (out - t) ** 2
    delta3 = (out - t) * out * (1 - out)  # dL/da3
    delta1 = delta3 * p["w5"] * h1 * (1 - h1)  # dL/da1
    delta2 = delta3 * p["w6"] * h2 * (1 - h2)  # dL/da2
    grads = {
        "w1": delta1 * x1, "w2": delta1 * x2, "b1": delta1,
        "w3": delta2 * x1, "w4": delta2 * x2, "b2": delta2,
        "w5": delta3 * h1, "w6": delta3 * h2, "b3": delta3,
    }
    return {
        "forward": {"a1": a1, "y1": h1, "a2": a2, "y2": h2, "a3": a3, "y3": out},
        "loss": {"L": loss},
        "grad": grads,
        "new": {k: p[k] - lr * g for k, g in grads.items()},
    }


def params(lab: Lab) -> dict[str, float]:
    return {p["name"]: p["value"] for p in lab.views(False)["params"]}


def table(views: dict, key: str) -> dict:
    return {p["name"]: p[key] for p in views["params"]}


def test_221_numbers_match_a_hand_computation_phase_by_phase() -> None:
    lab = Lab(Config(preset="2-2-1", learning_rate=0.5), CPU)
    start = params(lab)
    assert start == {"w1": 0.15, "w2": 0.20, "w3": 0.25, "w4": 0.30, "w5": 0.40, "w6": 0.45, "b1": 0.35, "b2": 0.35, "b3": 0.60}
    want = by_hand_221(start, 0.5)
    # classic worked-example figures: y1 = 0.593269992, y3 = 0.75136507
    assert want["forward"]["y1"] == pytest.approx(0.593269992, abs=1e-9)
    assert want["forward"]["y3"] == pytest.approx(0.75136507, abs=1e-8)

    lab.command("phase", {})
    v = lab.views(False)
    assert (v["phase"], v["next_phase"], v["loss"]) == ("forward", "loss", None)
    assert {q["name"]: q["value"] for q in v["forward"]} == pytest.approx(want["forward"], abs=1e-12)
    assert all(p["grad"] is None and p["chain"] is None for p in v["params"])

    lab.command("phase", {})
    v = lab.views(False)
    assert v["phase"] == "loss" and v["loss"]["value"] == pytest.approx(want["loss"]["L"], abs=1e-12)
    assert v["loss"]["numbers"] == "½·(0.751365 − 0.01)²"

    lab.command("phase", {})
    v = lab.views(False)
    assert v["phase"] == "backward" and v["zero_grad"] is True
    chain = {p["name"]: p["chain"] for p in v["params"]}
    for name, g in want["grad"].items():
        assert table(v, "grad")[name] == pytest.approx(g, rel=1e-12, abs=1e-15), name  # autograd
        assert chain[name]["value"] == pytest.approx(g, rel=1e-12, abs=1e-15), name  # the product shown
        assert math.prod(chain[name]["terms"][0]) == pytest.approx(g, rel=1e-12, abs=1e-15), name
    assert chain["w5"]["factors"] == ["∂L/∂y3", "∂y3/∂a3", "∂a3/∂w5"]
    assert chain["w1"]["factors"] == ["∂L/∂y3", "∂y3/∂a3", "∂a3/∂y1", "∂y1/∂a1", "∂a1/∂w1"]
    # ∂a3/∂y1 is w5, ∂a1/∂w1 is x1
    assert chain["w1"]["terms"][0][2] == 0.40 and chain["w1"]["terms"][0][4] == 0.05
    assert table(v, "value") == start  # not updated yet

    lab.command("phase", {})
    v = lab.views(False)
    assert v["phase"] == "update" and lab.step_count == 1
    for name, new in want["new"].items():
        u = table(v, "update")[name]
        assert (u["old"], u["lr"]) == (start[name], 0.5)
        assert u["grad"] == pytest.approx(want["grad"][name], rel=1e-12, abs=1e-15)
        assert u["new"] == pytest.approx(new, rel=1e-12) and table(v, "value")[name] == u["new"]
    assert lab.history.series["loss"] == [pytest.approx(want["loss"]["L"])]
    Views.model_validate(lab.views(True))


def test_autograd_equals_the_chain_rule_over_many_steps() -> None:
    for preset in ("2-2-1", "linear"):
        lab = Lab(Config(preset=preset, learning_rate=0.3), CPU)
        for _ in range(25):
            lab.advance_phase(), lab.advance_phase(), lab.advance_phase()  # forward, loss, backward
            for p in lab.views(False)["params"]:
                assert p["grad"] == pytest.approx(p["chain"]["value"], rel=1e-10, abs=1e-14), (preset, p["name"])
            lab.advance_phase()


def test_221_several_steps_follow_the_hand_computation() -> None:
    lab = Lab(Config(preset="2-2-1", learning_rate=0.5), CPU)
    p = params(lab)
    for _ in range(5):
        p = by_hand_221(p, 0.5)["new"]
        lab.command("step", {})
    assert params(lab) == pytest.approx(p, rel=1e-12)


def test_linear_numbers_by_hand() -> None:
    lab = Lab(Config(preset="linear", learning_rate=0.1), CPU)
    xs, ys = [-1.0, 0.0, 1.0, 2.0], [-1.0, 1.0, 3.0, 5.0]
    w = b = 0.0
    lab.whole_step()
    preds = [w * x + b for x in xs]
    loss = sum((p - y) ** 2 for p, y in zip(preds, ys)) / 4  # (1 + 1 + 9 + 25)/4 = 9
    gw = sum(2 * (p - y) * x for p, y, x in zip(preds, ys, xs)) / 4  # 2·(1·(−1) + (−1)·0 + (−3)·1 + (−5)·2)/4 = −7
    gb = sum(2 * (p - y) for p, y in zip(preds, ys)) / 4  # 2·(1 − 1 − 3 − 5)/4 = −4
    assert (loss, gw, gb) == (9.0, -7.0, -4.0)
    v = lab.views(False)
    assert v["loss"]["value"] == 9.0
    assert table(v, "grad") == {"w": -7.0, "b": -4.0}
    assert table(v, "chain")["w"]["terms"] == [[0.5, -1.0], [-0.5, 0.0], [-1.5, 1.0], [-2.5, 2.0]]
    assert table(v, "value") == pytest.approx({"w": 0.7, "b": 0.4})


def test_forget_zero_grad_accumulates() -> None:
    lab = Lab(Config(preset="2-2-1", learning_rate=0.5, forget_zero_grad=True), CPU)
    p0 = params(lab)
    g1 = by_hand_221(p0, 0.5)["grad"]
    lab.whole_step()
    p1 = params(lab)
    assert p1 == pytest.approx(by_hand_221(p0, 0.5)["new"], rel=1e-12)
    g2 = by_hand_221(p1, 0.5)["grad"]  # the second step's own gradient
    for _ in range(3):
        lab.advance_phase()  # forward, loss, backward of step 2
    v = lab.views(False)
    assert v["zero_grad"] is False
    for name in g1:
        row = next(p for p in v["params"] if p["name"] == name)
        assert row["grad_before"] == pytest.approx(g1[name], rel=1e-12, abs=1e-15)
        assert row["chain"]["value"] == pytest.approx(g2[name], rel=1e-12, abs=1e-15)
        assert row["grad"] == pytest.approx(g1[name] + g2[name], rel=1e-12, abs=1e-15)  # .grad is the sum
    lab.advance_phase()
    for name, u in table(lab.views(False), "update").items():
        assert u["new"] == pytest.approx(p1[name] - 0.5 * (g1[name] + g2[name]), rel=1e-12)


def test_forget_zero_grad_shows_in_the_loss_curve() -> None:
    def losses(forget: bool) -> list[float]:
        lab = Lab(Config(preset="linear", learning_rate=0.1, forget_zero_grad=forget), CPU)
        for _ in range(40):
            lab.whole_step()
        return lab.history.series["loss"]

    good, forgot = losses(False), losses(True)
    assert good[-1] < 1e-3
    # summed gradients overshoot: the loss rises again and ends far above the clean run
    assert any(b > a for a, b in zip(forgot, forgot[1:])) and forgot[-1] > 100 * good[-1]


def test_linear_regression_reaches_w2_b1() -> None:
    lab = Lab(Config(preset="linear", learning_rate=0.1), CPU)
    for _ in range(150):
        lab.whole_step()
    p = params(lab)
    assert p["w"] == pytest.approx(2, abs=1e-3) and p["b"] == pytest.approx(1, abs=1e-3)


def test_phases_cycle_and_step_finishes_the_current_step() -> None:
    lab = Lab(Config(), CPU)
    seen = []
    for _ in range(6):
        lab.advance_phase()
        seen.append(lab.phase)
    assert seen == [*PHASES, "forward", "loss"]
    lab.whole_step()  # finishes step 2 from its loss phase
    assert lab.phase == "update" and lab.step_count == 2


def test_lr_change_keeps_the_weights_and_preset_change_rebuilds() -> None:
    lab = Lab(Config(preset="linear"), CPU)
    lab.whole_step()
    w = params(lab)
    assert lab.configure(Config(preset="linear", learning_rate=0.05, forget_zero_grad=True)) == "none"
    assert params(lab) == w and lab.lr == 0.05
    assert lab.configure(Config(preset="2-2-1", learning_rate=0.05)) == "network"
    assert lab.step_count == 0 and params(lab)["w5"] == 0.40


def test_diverging_lr_is_reported() -> None:
    lab = Lab(Config(preset="linear", learning_rate=10), CPU)
    for _ in range(400):
        if lab.diverged:
            break
        lab.whole_step()
    assert lab.diverged and "lr 10" in lab.diverged
    Views.model_validate(lab.views(True))  # no NaN reaches the JSON


@pytest.mark.parametrize(
    ("patch", "field", "words"),
    [
        ({"preset": "3-3-1"}, "preset", "'linear' or '2-2-1'"),
        ({"learning_rate": 0}, "learning_rate", "greater than 0"),
        ({"learning_rate": 11}, "learning_rate", "less than or equal to 10"),
        ({"speed": 31}, "speed", "less than or equal to 30"),
        ({"forget_zero_grad": "maybe"}, "forget_zero_grad", "boolean"),
    ],
)
def test_bad_config_names_the_field(patch: dict, field: str, words: str) -> None:
    with pytest.raises(ValidationError) as e:
        Config.model_validate(patch)
    assert e.value.errors()[0]["loc"] == (field,) and words in str(e.value)


def test_unknown_command_is_refused() -> None:
    with pytest.raises(ValueError, match="allowed: phase, step"):
        Lab(Config(), CPU).command("jump", {})
