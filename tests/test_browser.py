"""The playground page (MLP lab) in a real Chromium against a real uvicorn server:
what a student sees on opening Descent, pressing play and touching the controls."""

from __future__ import annotations

from typing import Any

from tests.conftest import screenshot
from tests.wsutil import EPOCH, fork_in_page, open_page

TRAIN_LOSS = "(() => { const el = document.querySelector('.loss-chart'); return el.data ? el.data[0].y : []; })()"
BOUNDARY = "document.querySelector('canvas.boundary').toDataURL()"
LOWEST_EPOCH_SINCE_NOW = """() => {
  window.lowestEpoch = Infinity;
  new MutationObserver(() => {
    window.lowestEpoch = Math.min(window.lowestEpoch, Number(document.body.dataset.epoch));
  }).observe(document.body, {attributes: true, attributeFilter: ["data-epoch"]});
}"""


def test_the_page_shows_data_boundary_network_and_device(page: Any) -> None:
    open_page(page)
    assert page.locator("canvas[data-dataset]").count() >= 4  # dataset thumbnails
    assert page.locator(".network [data-feature]").count() >= 2  # the inputs of the network diagram
    assert page.inner_text("#device") == "device: cpu"
    assert page.is_visible("canvas.boundary") and page.is_visible(".loss-chart canvas")


def test_play_trains_live_and_controls_do_what_they_say(page: Any) -> None:
    open_page(page, "/#dataset=xor&learning_rate=0.03")
    boundary_before = page.evaluate(BOUNDARY)
    page.click("#play")
    # (the chart redraws at its own pace, a few times a second, while training may pass
    # epoch 40 within one of its frames: wait for both)
    page.wait_for_function(f"() => {EPOCH} >= 40 && {TRAIN_LOSS}.length >= 10")
    # the epoch counter, the loss curve and the heatmap all moved
    losses = page.evaluate(TRAIN_LOSS)
    assert len(losses) >= 10 and losses[-1] < 0.8 * losses[0]
    assert page.evaluate(BOUNDARY) != boundary_before
    assert int(page.inner_text("#epoch").replace(",", "")) >= 40

    # the learning rate changes mid-run without a reset
    epoch = page.evaluate(EPOCH)
    page.select_option("#ctl-learning_rate", "0.1")
    page.wait_for_function("() => Number(document.body.dataset.lr) === 0.1")
    assert page.evaluate(EPOCH) >= epoch
    page.wait_for_function("() => location.hash.includes('learning_rate=0.1')")

    # a new dataset starts a new network: the counter goes back to the beginning
    # (training goes on after the reset and may pass epoch 20 between two polls, so every
    # epoch the page shows is recorded as it is set)
    page.evaluate(LOWEST_EPOCH_SINCE_NOW)
    page.click("canvas[data-dataset=spiral]")
    page.wait_for_function("() => location.hash.includes('dataset=spiral')")
    page.wait_for_function("() => window.lowestEpoch < 20")
    page.click("#play")  # pause
    page.wait_for_function("() => document.body.dataset.state === 'paused'")
    screenshot(page, "playground_1280")

    # step trains exactly one epoch
    epoch = page.evaluate(EPOCH)
    page.click("#step")
    page.wait_for_function(f"() => {EPOCH} === {epoch + 1}")


def test_projector_size(browser: Any, server_url: str) -> None:
    context = browser.new_context(viewport={"width": 1920, "height": 1080})
    page = context.new_page()
    page.goto(server_url + "/#dataset=spiral")
    page.wait_for_function(f"() => {EPOCH} >= 0")
    page.click("#play")
    page.wait_for_function(f"() => {EPOCH} >= 30")
    # nothing overflows sideways on a projector
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    screenshot(page, "playground_1920")
    context.close()


def test_show_the_code_and_download_it(page: Any, tmp_path: Any) -> None:
    open_page(page, "/#optimizer=adam&schedule=cosine")
    page.click("[data-ref=showCode]")
    page.wait_for_selector(".code-panel:not([hidden])")
    text = page.inner_text(".code-text")
    assert "loss.backward()" in text and "Adam(params" in text and "CosineAnnealingLR" in text
    screenshot(page, "show_the_code_1280")
    with page.expect_download() as download:
        page.click(".code-actions [data-c=download]")
    path = tmp_path / "descent_run.py"
    download.value.save_as(path)
    script = path.read_text()
    assert script.startswith('"""Descent playground run') and "Adam(params" in script and "optimizer.zero_grad(" in script
    page.keyboard.press("Escape")
    page.wait_for_selector(".code-panel", state="hidden")


def test_saved_runs_are_overlaid_on_the_loss_chart(page: Any) -> None:
    open_page(page, "/#dataset=xor")
    page.click("#step")
    page.click("#step")
    page.wait_for_function(f"() => {EPOCH} >= 2")
    page.click("[data-ref=saveRun]")
    # a new optimizer: the saved curve stays, labelled with what differs from the default
    page.select_option("#ctl-optimizer", "adam")
    page.wait_for_function("() => location.hash.includes('optimizer=adam')")
    page.wait_for_function("() => document.querySelector('.loss-chart').data.length === 4")  # redraws are paced
    names = page.evaluate("() => document.querySelector('.loss-chart').data.map((t) => t.name)")
    assert names[:3] == ["test", "train", "lr"] and names[3] == "saved: xor"
    saved = page.evaluate("() => document.querySelector('.loss-chart').data[3].y.length")
    assert saved == 3  # epochs 0, 1, 2
    page.click("#play")
    page.wait_for_function(f"() => {EPOCH} >= 15")
    page.click("#play")
    screenshot(page, "saved_run_1280")
    page.click("[data-ref=clearRuns]")
    page.wait_for_function("() => document.querySelector('.loss-chart').data.length === 3")


def test_fork_and_compare(page: Any) -> None:
    open_page(page, "/#dataset=xor")
    for _ in range(3):
        page.click("#step")
    page.wait_for_function(f"() => {EPOCH} >= 3")
    fork_in_page(page, "optimizer", "adam")
    page.click("#play")
    page.wait_for_function(f"() => {EPOCH} >= 20")
    page.click("#play")
    page.wait_for_function("() => { const d = document.querySelector('.loss-chart').data; return d.length > 3 && d[3].x.at(-1) >= 15; }")
    names = page.evaluate("() => document.querySelector('.loss-chart').data.map((t) => t.name)")
    assert "fork: optimizer adam (test)" in names
    fork_x = page.evaluate("() => document.querySelector('.loss-chart').data[3].x")
    assert fork_x[0] == 3 and fork_x[-1] >= 15  # the fork starts where it was made
    screenshot(page, "fork_1280")
    page.click("[data-ref=unfork]")
    page.wait_for_function("() => document.querySelector('.loss-chart').data.length === 3")


def test_loss_spikes_are_marked_on_the_chart(page: Any) -> None:
    # (as tests/test_mlp_lab.py: lr 0.6 for plane's TensorFlow Playground targets, 1.2x the old)
    open_page(page, "/#problem=regression&dataset=plane&hidden=8,8&activation=relu&learning_rate=0.6")
    page.click("#play")
    page.wait_for_function("() => (document.querySelector('.loss-chart').layout.annotations || []).length > 0")
    page.click("#play")
    note = page.evaluate("() => document.querySelector('.loss-chart').layout.annotations[0].hovertext")
    assert "loss ×" in note and "lr 0.6" in note
    screenshot(page, "spikes_1280")
