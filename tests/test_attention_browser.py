"""The attention lab in a real Chromium against a real server: switch to it, play, maps appear and change."""

from __future__ import annotations

import time

from tests.conftest import screenshot
from tests.wsutil import open_page


def open_attention(page) -> None:
    # the tabs are in the HTML before the page is live: click once the first lab shows a frame
    open_page(page, "/")
    page.click(".lab-tab[data-lab='attention']")
    page.wait_for_selector(".attn-map.head")
    page.wait_for_function("() => document.body.dataset.lab === 'attention' && document.body.dataset.epoch !== undefined")


MAP_PIXELS = "document.querySelector(\".attn-map.head[data-layer='1'][data-head='0']\").toDataURL()"


def test_switch_play_maps_appear_and_change(page) -> None:
    open_attention(page)
    assert page.locator(".attn-map.head").count() == 4  # 2 layers x 2 heads
    assert page.locator(".attn-map.ideal").count() == 1  # reverse has an ideal map
    before = page.evaluate(MAP_PIXELS)
    page.click("#play")
    page.wait_for_function("() => Number(document.body.dataset.epoch) >= 8")
    page.click("#play")
    assert page.evaluate(MAP_PIXELS) != before
    assert int(page.get_attribute("#attn-scrub", "max")) >= 8  # time-lapse frames arrived
    assert "✓" in page.inner_text(".attn-samples")
    screenshot(page, "attention-1280x800")

    # enlarge a map, read a value under the pointer
    page.click(".attn-map.head[data-layer='1'][data-head='0']")
    box = page.locator(".attn-zoom-canvas").bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.3, box["y"] + box["height"] * 0.8)
    assert "weight" in page.inner_text(".attn-zoom-hover")
    screenshot(page, "attention-zoom")
    page.keyboard.press("Escape")
    assert page.locator(".attn-zoom").is_hidden()

    # scrub the time-lapse back to its first frame: the maps change, the label says the epoch
    live = page.evaluate(MAP_PIXELS)
    page.eval_on_selector("#attn-scrub", "el => { el.value = 0; el.dispatchEvent(new Event('input')); }")
    assert page.inner_text("[data-ref=scrubLabel]") == "epoch 0"
    assert page.evaluate(MAP_PIXELS) != live

    page.set_viewport_size({"width": 1920, "height": 1080})
    time.sleep(0.3)
    screenshot(page, "attention-1920x1080")


def test_bad_heads_gets_an_error_and_the_run_goes_on(page) -> None:
    open_attention(page)
    page.eval_on_selector("#ctl-heads", "el => { el.value = 3; el.dispatchEvent(new Event('change')); }")
    toast = page.wait_for_selector(".toast")
    assert "heads 3 does not divide d_model 32" in toast.inner_text() and "[1, 2, 4, 8]" in toast.inner_text()
    page.wait_for_function("() => document.querySelector('#ctl-heads').value === '2'")  # the control shows the kept config
    page.click("#play")
    page.wait_for_function("() => Number(document.body.dataset.epoch) >= 2")
    page.click("#play")


def test_type_your_own_input(page) -> None:
    open_attention(page)
    page.fill("[data-ref=probeText]", "12345678")
    page.click("[data-ref=probeButton]")
    page.wait_for_function("() => document.querySelector('.attn-caption').textContent.includes('your input 12345678')")
    page.fill("[data-ref=probeText]", "1234567Z")
    page.click("[data-ref=probeButton]")
    assert "allowed: 0 1 2 3 4 5 6 7 8 9" in page.wait_for_selector(".toast").inner_text()
