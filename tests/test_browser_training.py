"""The optimizer, schedule and gradient views in a real Chromium against a real server."""

from __future__ import annotations

from typing import Any

from tests.conftest import screenshot
from tests.wsutil import STEP, open_page

SCHEDULE_DRAWN = "document.querySelector('.schedule-chart').dataset.horizon"

CURVE = "() => { const el = document.querySelector('.schedule-chart'); return el.data ? el.data[0].y : null; }"


def test_switch_optimizer_mid_run_keeps_training(page: Any) -> None:
    open_page(page, "", SCHEDULE_DRAWN)
    page.click("#play")
    page.wait_for_function(f"() => {STEP} > 300")
    epoch_before = int(page.evaluate("document.body.dataset.epoch"))
    page.select_option("#ctl-optimizer", "adam")
    page.wait_for_selector(".toast.info:has-text('Optimizer changed')")
    # the run goes on from where it was: no reset of the step/epoch counters
    page.wait_for_function("() => document.querySelector('[data-ref=optState]').textContent.includes('second moment')")
    assert int(page.evaluate("document.body.dataset.epoch")) >= epoch_before
    step_after = page.evaluate(STEP)
    page.wait_for_function(f"() => {STEP} > {step_after}")
    # Adam's parameters are shown, SGD-only ones hidden
    assert page.is_visible("#ctl-beta2") and not page.is_visible("#ctl-momentum")
    page.click("#play")  # pause
    screenshot(page, "optimizer_switched_1280")


def test_schedule_change_redraws_the_curve(page: Any) -> None:
    open_page(page, "", SCHEDULE_DRAWN)
    flat = page.evaluate(CURVE)
    assert flat and len(set(flat)) == 1  # constant
    page.select_option("#ctl-schedule", "cosine")
    page.wait_for_function(f"() => (({CURVE})() || [1]).at(-1) < 0.001")
    cosine = page.evaluate(CURVE)
    # the page says the network is kept and the optimizer's state rebuilt
    page.wait_for_selector(".toast.info:has-text('schedule settings (schedule) changed')")
    assert cosine[0] == flat[0] and cosine == sorted(cosine, reverse=True)
    # a schedule parameter redraws it too: the final LR
    assert page.is_visible("#ctl-min_lr") and not page.is_visible("#ctl-milestones")
    page.fill("#ctl-min_lr", "0.01")
    page.press("#ctl-min_lr", "Tab")
    page.wait_for_function(f"() => Math.abs((({CURVE})() || [0]).at(-1) - 0.01) < 1e-9")
    # the marker follows the live step
    page.click("#step")
    page.wait_for_function("() => Number(document.querySelector('.schedule-chart').dataset.step) > 0")
    screenshot(page, "schedule_cosine_1280")


def test_bad_schedule_parameter_names_the_field_and_keeps_the_run(page: Any) -> None:
    open_page(page, "", SCHEDULE_DRAWN)
    page.select_option("#ctl-schedule", "multistep")
    page.wait_for_function("() => document.querySelector('#ctl-milestones').offsetParent !== null")
    # the multistep curve comes with the next frame, after the config (the constant one is flat)
    page.wait_for_function(f"() => new Set(({CURVE})() || []).size > 1")
    before = page.evaluate(CURVE)
    page.fill("#ctl-milestones", "400, 200")
    page.press("#ctl-milestones", "Tab")
    toast = page.wait_for_selector(".toast:has-text('milestones')")
    assert "increasing" in toast.text_content()
    page.click("#step")
    page.wait_for_function(f"() => {STEP} > 0")
    assert page.evaluate(CURVE) == before  # last good schedule kept


def test_gradient_heatmap_present_and_updating(page: Any) -> None:
    page.set_viewport_size({"width": 1920, "height": 1080})
    open_page(page, "", SCHEDULE_DRAWN)
    page.select_option("#ctl-activation", "sigmoid")
    page.click("#play")
    page.wait_for_function("() => Number(document.querySelector('.grad-heatmap').dataset.columns) >= 3")
    first = int(page.evaluate("document.querySelector('.grad-heatmap').dataset.lastStep"))
    page.wait_for_function(
        f"() => Number(document.querySelector('.grad-heatmap').dataset.lastStep) > {first}"
    )
    rows = page.evaluate("document.querySelector('.grad-heatmap').data[0].z.length")
    assert rows == 3  # one row per layer (2 hidden + output)
    assert int(page.evaluate("document.querySelector('[data-ref=histWeights]').dataset.total")) == 2 * 4
    assert page.evaluate("document.querySelector('[data-ref=activation]').dataset.activation") == "sigmoid"
    page.click("#play")
    screenshot(page, "gradients_1920")
