"""Backprop by hand in headless Chromium against a real server: step through the phases of
the 2-2-1 network and read the numbers in the page, forget zero_grad() and see .grad sum up,
play to draw the loss curve; screenshots at 1280x800 and 1920x1080."""

from __future__ import annotations

from typing import Any

from tests.conftest import screenshot
from tests.test_backprop import by_hand_221

START = {"w1": 0.15, "w2": 0.20, "w3": 0.25, "w4": 0.30, "w5": 0.40, "w6": 0.45, "b1": 0.35, "b2": 0.35, "b3": 0.60}


def g6(v: float) -> str:
    """A number as the page writes it (6 significant digits)."""
    return f"{v:.6g}"


def next_phase(page: Any, phase: str) -> None:
    page.click(".bp-next")
    page.wait_for_function(f"() => document.body.dataset.backpropPhase === '{phase}'")


def cell(page: Any, param: str, column: str) -> str:
    return page.inner_text(f".bp-table tr[data-param='{param}'] .bp-{column}")


def test_step_through_the_phases_and_forget_zero_grad(page: Any) -> None:
    page.goto(page.base_url + "/#lab=backprop&preset=2-2-1&learning_rate=0.5")
    page.wait_for_function("() => document.body.dataset.backpropPhase === 'ready'")
    assert page.locator(".bp-table tbody tr").count() == 9
    step1 = by_hand_221(START, 0.5)

    next_phase(page, "forward")
    forward = page.inner_text(".bp-forward")
    assert f"y3 = σ(a3) = 1/(1+e^(−a3)) = 1/(1+e^(−{g6(step1['forward']['a3'])})) = {g6(step1['forward']['y3'])}" in forward
    assert "a1 = w1·x1 + w2·x2 + b1 = 0.15·0.05 + 0.2·0.1 + 0.35 = 0.3775" in forward
    next_phase(page, "loss")
    assert f"= {g6(step1['loss']['L'])}" in page.inner_text(".bp-lossline")
    assert cell(page, "w5", "grad") == "None"

    next_phase(page, "backward")
    out, y1 = step1["forward"]["y3"], step1["forward"]["y1"]
    factors = [out - 0.01, out * (1 - out), y1]
    chain = cell(page, "w5", "chain")
    assert "∂L/∂w5 = ∂L/∂y3 · ∂y3/∂a3 · ∂a3/∂w5" in chain
    assert f"= {' · '.join(g6(f) for f in factors)} = {g6(step1['grad']['w5'])}" in chain
    assert "∂a3/∂y1 · ∂y1/∂a1 · ∂a1/∂w1" in cell(page, "w1", "chain")
    for name, g in step1["grad"].items():
        assert cell(page, name, "grad") == g6(g), name
    screenshot(page, "backprop_backward_1280x800")

    next_phase(page, "update")
    for name, new in step1["new"].items():
        assert cell(page, name, "value") == g6(new), name
    assert cell(page, "w5", "update") == f"w5 ← 0.4 − 0.5·{g6(step1['grad']['w5'])} = {g6(step1['new']['w5'])}"

    # forget zero_grad(): the next backward adds to .grad
    page.check("#ctl-forget_zero_grad")
    page.wait_for_function("() => location.hash.includes('forget_zero_grad=true')")
    assert page.locator(".bp-skipped").inner_text() == "optimizer.zero_grad()"
    step2 = by_hand_221(step1["new"], 0.5)
    for phase in ("forward", "loss", "backward"):
        next_phase(page, phase)
    grad = cell(page, "w5", "grad")
    total = step1["grad"]["w5"] + step2["grad"]["w5"]
    assert grad.replace("\n", " ") == f"{g6(step1['grad']['w5'])} + {g6(step2['grad']['w5'])} = {g6(total)}"
    assert page.locator(".bp-accum").count() == 9
    next_phase(page, "update")
    assert cell(page, "w5", "value") == g6(step1["new"]["w5"] - 0.5 * total)
    page.set_viewport_size({"width": 1920, "height": 1080})
    screenshot(page, "backprop_forgot_zero_grad_1920x1080")


def test_play_draws_the_loss_curve_of_linear_regression(page: Any) -> None:
    page.goto(page.base_url + "/#lab=backprop&preset=linear&learning_rate=0.1&speed=30")
    page.wait_for_function("() => document.body.dataset.backpropPhase === 'ready'")
    assert "y = 2x + 1" in page.inner_text(".bp-picture h2").lower()
    page.click("#play")
    page.wait_for_function("() => Number(document.body.dataset.step) >= 30")
    page.click("#play")
    page.wait_for_function("() => document.body.dataset.state === 'paused'")
    page.wait_for_function("() => document.querySelector('.bp-chart').data[0].x.length >= 30")
    ys = page.evaluate("() => Array.from(document.querySelector('.bp-chart').data[0].y)")
    assert ys[0] == 9 and ys[-1] < 0.05  # L falls from 9 as w -> 2, b -> 1
    w = float(cell(page, "w", "value"))
    assert abs(w - 2) < 0.2
    screenshot(page, "backprop_linear_1280x800")
