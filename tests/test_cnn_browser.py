"""The convolution lab in a real Chromium against a real server: it trains, filters and
feature maps draw and change, a receptive field outlines, a drawing gets a prediction;
screenshots at 1280x800 and 1920x1080, light and dark, and an embed."""

from __future__ import annotations

import time

from tests.conftest import ARTIFACTS
from tests.wsutil import fork_in_page


def wait_for(page, script: str, timeout: float = 90.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = page.evaluate(script)
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {script}")


def shot(page, name: str) -> None:
    (ARTIFACTS / "cnn").mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "cnn" / f"{name}.png"))


FILTER_PIXELS = "document.querySelector('.cnn-bank canvas').toDataURL()"
MAP_PIXELS = "document.querySelector('.cnn-maps figure[data-layer] canvas').toDataURL()"


def open_cnn(page, hash_: str = "lab=cnn") -> None:
    page.goto(page.base_url + "/#" + hash_)
    page.wait_for_selector(".cnn-bank canvas")
    wait_for(page, "document.body.dataset.lab === 'cnn' && document.body.dataset.epoch !== undefined")


def test_trains_filters_and_maps_change_and_a_drawing_is_predicted(page) -> None:
    open_cnn(page)
    assert page.locator(".cnn-table tbody tr").count() == 11  # the input, 9 blocks, the output
    assert "(8 + 2·2 − 5)/1 + 1 = 8" in page.inner_text(".cnn-table")
    assert page.locator(".cnn-bank").count() == 1 and page.locator(".cnn-maps figure[data-layer]").count() == 1  # row 1 shown
    filters, maps = page.evaluate(FILTER_PIXELS), page.evaluate(MAP_PIXELS)
    page.click("#play")
    wait_for(page, "Number(document.body.dataset.epoch) >= 8")
    page.click("#play")
    # frames already on the wire still land; the server's "paused" status comes after them
    wait_for(page, "document.body.dataset.state === 'paused'")
    assert page.evaluate(FILTER_PIXELS) != filters and page.evaluate(MAP_PIXELS) != maps
    accuracy = float(page.inner_text("[data-ref=testAcc]").rstrip("%"))
    assert accuracy > 85
    assert page.locator(".cnn-confusion td").count() == 100

    # tick two more layers under "show": their filters and maps arrive, the run is not reset
    epoch = page.evaluate("document.body.dataset.epoch")
    page.check(".cnn-table input[data-show='2']")
    wait_for(page, "document.querySelectorAll('.cnn-maps figure[data-layer]').length === 2")
    page.check(".cnn-table input[data-show='3']")
    wait_for(page, "document.querySelectorAll('.cnn-maps figure[data-layer]').length === 3")
    assert page.locator(".cnn-bank").count() == 2
    assert page.evaluate("document.body.dataset.epoch") == epoch

    # a receptive field: click a pixel of the first pooled map
    page.locator(".cnn-maps figure[data-layer='2'] canvas").click(position={"x": 3, "y": 3})
    assert "receptive field of layer 3" in page.inner_text(".cnn-map-input figcaption")

    # draw a vertical stroke: a prediction with ten probabilities, the maps of the drawing
    page.locator("[data-ref=pad]").scroll_into_view_if_needed()
    pad = page.locator("[data-ref=pad]").bounding_box()
    page.mouse.move(pad["x"] + pad["width"] * 0.5, pad["y"] + 12)
    page.mouse.down()
    for i in range(1, 11):
        page.mouse.move(pad["x"] + pad["width"] * 0.5, pad["y"] + 12 + i * (pad["height"] - 24) / 10)
    page.mouse.up()
    page.wait_for_selector(".cnn-verdict strong")
    assert page.locator(".cnn-prob").count() == 10
    wait_for(page, "document.querySelector('[data-ref=caption]').textContent.startsWith('your drawing')")
    shot(page, "cnn-1280x800-drawing")
    page.evaluate("window.scrollTo(0, 0)")
    shot(page, "cnn-1280x800")
    page.set_viewport_size({"width": 1920, "height": 1080})
    time.sleep(0.5)
    shot(page, "cnn-1920x1080")


def test_bad_blocks_error_and_presets_rebuild(page) -> None:
    open_cnn(page, "lab=cnn&theme=dark&dataset=bars")
    page.fill("#cnn-blocks", "conv8k3, conv8k9, gap")
    page.click(".cnn-blocks button")
    toast = page.wait_for_selector(".toast")
    assert "kernel 9 is out of range; allowed 1-7" in toast.inner_text()
    page.select_option("#cnn-preset", "residual")
    wait_for(page, "document.querySelectorAll('.cnn-table tbody tr').length === 12")
    page.click("#play")
    wait_for(page, "Number(document.body.dataset.epoch) >= 3")
    page.click("#play")
    shot(page, "cnn-dark-1280x800")
    # show the code: the residual network as plain PyTorch, in the dialog
    page.click("[data-ref=showCode]")
    page.wait_for_selector(".code-panel:not([hidden])")
    assert "class Residual(nn.Module)" in page.inner_text(".code-panel .code-text")
    shot(page, "cnn-code-1280x800")
    page.keyboard.press("Escape")
    page.wait_for_selector(".code-panel", state="hidden")
    page.set_viewport_size({"width": 1920, "height": 1080})
    time.sleep(0.5)
    shot(page, "cnn-dark-1920x1080")


def test_embed(page) -> None:
    page.set_viewport_size({"width": 640, "height": 420})
    open_cnn(page, "lab=cnn&embed=true")
    shot(page, "cnn-embed-640x420")


def test_the_first_layer_lesson_opens_on_bars(page) -> None:
    page.goto(page.base_url + "/?lesson=cnn-first-layer")
    page.wait_for_selector(".lesson[data-lesson=cnn-first-layer]")
    assert "first layer" in page.inner_text(".lesson strong").lower()
    page.wait_for_function("() => location.hash.includes('dataset=bars')")
    wait_for(page, "document.querySelector('.cnn-bank figcaption')?.textContent.includes('4×1×5×5')")
    shot(page, "cnn-lesson-1280x800")


def test_the_pooling_lesson_opens_on_shapes_and_its_step_pools(page) -> None:
    page.goto(page.base_url + "/?lesson=cnn-pooling")
    page.wait_for_selector(".lesson[data-lesson=cnn-pooling]")
    page.wait_for_function("() => location.hash.includes('dataset=shapes')")
    wait_for(page, "document.querySelectorAll('.cnn-maps figure[data-layer]').length === 2")  # show=0,1
    assert page.text_content("[data-ref=paramCount]") == "4,692 parameters"
    page.locator(".lesson [data-step='1']").click()
    wait_for(page, "document.querySelector('[data-ref=paramCount]').textContent.startsWith('700 ')")
    wait_for(page, "document.querySelectorAll('.cnn-maps figure[data-layer]').length === 3 && document.querySelectorAll('.cnn-bank').length === 2")
    shot(page, "cnn-lesson-pooling-1280x800")


def test_compare_the_cnn_with_an_mlp_on_the_same_pixels(page) -> None:
    """Fork… network "MLP on pixels": a second run from scratch on the same images; its loss
    curves join the chart beside the CNN's."""
    open_cnn(page)
    fork_in_page(page, "blocks", "MLP on pixels")
    page.click("#play")
    wait_for(page, "Number(document.body.dataset.epoch) >= 3")
    wait_for(page, "(document.querySelector('[data-ref=loss]').data ?? []).some((t) => t.name.startsWith('compare: MLP on pixels (from scratch)') && t.x.length >= 3)")
    page.click("#play")
    wait_for(page, "document.body.dataset.state === 'paused'")
    page.locator("[data-ref=loss]").scroll_into_view_if_needed()
    shot(page, "cnn-compare-mlp-1280x800")
    page.click("[data-ref=unfork]")
    wait_for(page, "!(document.querySelector('[data-ref=loss]').data ?? []).some((t) => t.name.startsWith('compare:'))")
