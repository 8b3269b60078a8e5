"""Multiclass in the real page: a student picks it from the problem list, trains, and sees
the classes in their colours, the legend, the accuracy and one output node per class."""

from __future__ import annotations

from typing import Any

from tests.conftest import screenshot
from tests.wsutil import EPOCH, open_page

# The main heatmap's pixels, each saturated one counted under the nearest class hue of the
# first k palette colours (orange, blue, green, red): {hue index: share of the canvas}.
CLASS_HUES = """(k) => {
  const canvas = document.querySelector('canvas.boundary');
  const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
  const hues = [32, 203, 120, 0].slice(0, k);
  const counts = new Array(k).fill(0);
  for (let i = 0; i < data.length; i += 4) {
    const [r, g, b] = [data[i] / 255, data[i + 1] / 255, data[i + 2] / 255];
    const max = Math.max(r, g, b), min = Math.min(r, g, b);
    if (max === 0 || (max - min) / max < 0.4) continue;  // pale (unsure) cells and the white rings
    const d = max - min;
    let h = max === r ? ((g - b) / d) % 6 : max === g ? (b - r) / d + 2 : (r - g) / d + 4;
    h = (h * 60 + 360) % 360;
    const dist = hues.map((x) => Math.min(Math.abs(h - x), 360 - Math.abs(h - x)));
    counts[dist.indexOf(Math.min(...dist))] += 1;
  }
  return counts.map((c) => c / (canvas.width * canvas.height));
}"""
LEGEND = "[...document.querySelectorAll('[data-ref=classLegend] .class-item')].map((e) => e.textContent.trim())"


def test_choosing_multiclass_trains_k_classes_in_their_colours(page: Any) -> None:
    open_page(page)
    page.select_option("#ctl-problem", "multiclass")  # one change: the loss follows the problem
    page.wait_for_function("() => location.hash.includes('problem=multiclass') && location.hash.includes('dataset=blobs')")
    assert page.evaluate(LEGEND) == ["class 0", "class 1", "class 2"]
    assert page.is_visible("[data-ref=classLegend]") and not page.is_visible("[data-ref=valueLegend]")
    assert page.locator(".node.output").count() == 3
    assert page.locator(".datasets canvas[data-dataset]").count() == 2  # blobs and spirals
    assert page.is_visible("#ctl-classes")
    page.click("#play")
    page.wait_for_function(f"() => {EPOCH} >= 20", timeout=60_000)
    page.click("#play")
    shares = page.evaluate(CLASS_HUES, 3)
    assert all(s > 0.05 for s in shares), shares  # every class holds a region of the plane
    accuracy = page.inner_text("[data-ref=testAcc]")
    assert page.is_visible("[data-ref=accuracyLine]") and accuracy.endswith("%") and float(accuracy[:-1]) >= 90
    assert not page.query_selector_all(".toast"), [t.text_content() for t in page.query_selector_all(".toast")]

    # draw a point of class 2: it joins the data with its class index
    page.click(".draw-class[data-label='2']")
    box = page.locator("canvas.boundary").bounding_box()
    page.mouse.click(box["x"] + box["width"] * 0.25, box["y"] + box["height"] * 0.75)
    page.wait_for_function("() => document.querySelector('[data-ref=drawnCount]').textContent.startsWith('1 /')")
    page.wait_for_function("() => location.hash.includes('drawn=')")
    drawn = page.evaluate("() => new URLSearchParams(location.hash.slice(1)).get('drawn')").split(",")
    assert len(drawn) == 3 and float(drawn[2]) == 2
    # hovering an output node shows its class probability large
    page.hover(".node.output[data-output='1']")
    assert "p(class 1)" in page.inner_text("[data-ref=hoverNote]")
    screenshot(page, "multiclass_1280")


def test_a_multiclass_link_loads(page: Any) -> None:
    open_page(page, "/#problem=multiclass&classes=4&dataset=spirals")
    page.wait_for_function("() => document.querySelectorAll('.node.output').length === 4")
    assert page.evaluate(LEGEND) == ["class 0", "class 1", "class 2", "class 3"]
    assert page.locator("canvas[data-dataset=spirals].selected").count() == 1
    # the previews show the run's 4 classes, not the default 3
    page.wait_for_function("() => document.querySelector('canvas[data-dataset=blobs]').dataset.classes === '4'")
    assert page.locator(".draw-class").count() == 4
    assert "loss=ce" in page.evaluate("location.hash") and page.input_value("#ctl-loss") == "ce"
    assert page.evaluate("document.querySelector('#ctl-loss option[value=mse]').disabled")
    page.click("#step")
    page.wait_for_function(f"() => {EPOCH} >= 1")
    page.wait_for_function("() => document.querySelector('[data-ref=testAcc]').textContent.endsWith('%')")
    assert not page.query_selector_all(".toast")
