"""Inside the network, in a real Chromium against a real server: neuron maps on the
diagram, the hover card of a weight, editing a weight, and hovering a neuron."""

from __future__ import annotations

from typing import Any

from tests.conftest import screenshot
from tests.wsutil import EPOCH, open_page

# the neuron maps are painted (a canvas keeps its 300px default width until then)
MAPS_PAINTED = "[...document.querySelectorAll('.node.hidden .node-map')].every((c) => c.width === 16)"

BOUNDARY = "document.querySelector('canvas.boundary').toDataURL()"
LINK = '.network svg.links path[data-layer="0"][data-to="1"][data-from="0"]'


def hover_link(page: Any, selector: str) -> None:
    """Move the mouse onto the middle of a link's curve (its bounding-box centre may miss it)."""
    x, y = page.evaluate(
        """(sel) => { const p = document.querySelector(sel); const m = p.getPointAtLength(p.getTotalLength() / 2);
           const r = p.ownerSVGElement.getBoundingClientRect(); return [r.left + m.x, r.top + m.y]; }""",
        selector,
    )
    page.mouse.move(x, y)


def test_diagram_shows_maps_and_the_hover_card_shows_a_weight(page: Any) -> None:
    open_page(page, "/#dataset=xor&hidden=3", MAPS_PAINTED)
    assert page.locator(".node.hidden .node-map").count() == 3
    assert page.locator(".node.input .node-map").count() == 7  # every feature, chosen or not
    assert page.locator(".bias").count() == 4  # 3 hidden neurons and the output
    hover_link(page, LINK)
    card = page.locator(".value-card")
    card.wait_for(state="visible")
    # the card names the link under the mouse and shows its weight, whose sign the link's colour tells
    info = page.evaluate(
        """() => { const c = document.querySelector('.value-card');
           const p = document.querySelector(`.network svg.links path[data-layer="${c.dataset.layer}"][data-to="${c.dataset.to}"][data-from="${c.dataset.from}"]`);
           return { value: Number(c.dataset.value), text: c.innerText, stroke: p.style.stroke, width: parseFloat(p.style.strokeWidth) }; }"""
    )
    assert "weight" in info["text"] and f"{info['value']:.3f}" in info["text"]
    assert info["stroke"] == ("rgb(8, 119, 189)" if info["value"] >= 0 else "rgb(245, 147, 34)")
    assert info["width"] > 0.6
    screenshot(page, "inside_hover_card")


def test_editing_a_weight_changes_the_model_and_bad_values_are_refused(page: Any) -> None:
    open_page(page, "/#dataset=xor&hidden=3", MAPS_PAINTED)
    before = page.evaluate(BOUNDARY)
    loss_before = page.inner_text("[data-ref=trainLoss]")
    hover_link(page, LINK)
    page.mouse.down()
    page.mouse.up()
    field = page.locator(".value-card input")
    field.wait_for(state="visible")
    layer, to, frm = (page.get_attribute(".value-card", k) for k in ("data-layer", "data-to", "data-from"))
    field.fill("8")
    field.press("Enter")
    # the paused model changed: a new frame brings another boundary and loss
    page.wait_for_function(f"(b) => {BOUNDARY} !== b", arg=before)
    page.wait_for_function("(l) => document.querySelector('[data-ref=trainLoss]').textContent !== l", arg=loss_before)
    page.mouse.move(5, 5)
    hover_link(page, f'.network svg.links path[data-layer="{layer}"][data-to="{to}"][data-from="{frm}"]')
    page.wait_for_function("() => Number(document.querySelector('.value-card').dataset.value) === 8")

    # a value that is not a number: a message naming the field, the model untouched, the run goes on
    page.mouse.down()
    page.mouse.up()
    page.locator(".value-card input").fill("lots")
    page.locator(".value-card input").press("Enter")
    page.wait_for_function("() => [...document.querySelectorAll('.toast')].some((t) => t.textContent.includes('args.value'))")
    page.click("#play")
    page.wait_for_function(f"() => {EPOCH} >= 3")


def test_hovering_a_neuron_shows_its_output_in_the_main_heatmap(page: Any) -> None:
    open_page(page, "/#dataset=circle", MAPS_PAINTED)
    before = page.evaluate(BOUNDARY)
    page.hover('.node.hidden[data-layer="0"][data-neuron="1"]')
    page.wait_for_function(f"(b) => {BOUNDARY} !== b", arg=before)
    assert "neuron 2 of layer 1" in page.inner_text(".hover-note")
    page.mouse.move(5, 5)
    page.wait_for_function(f"(b) => {BOUNDARY} === b", arg=before)


def test_drawn_points_join_the_training_data(page: Any) -> None:
    open_page(page, "/#dataset=gauss", MAPS_PAINTED)
    page.wait_for_function("() => document.querySelector('[data-ref=drawnCount]').textContent.startsWith('0 /')")
    before = page.evaluate(BOUNDARY)
    page.click("[data-ref=drawPos]")
    box = page.locator("canvas.boundary").bounding_box()
    page.mouse.click(box["x"] + box["width"] * 0.75, box["y"] + box["height"] * 0.75)  # (3, -3)
    page.wait_for_function("() => document.querySelector('[data-ref=drawnCount]').textContent.startsWith('1 /')")
    page.wait_for_function("() => location.hash.includes('drawn=')")
    x1, x2, label = map(float, page.evaluate("() => new URLSearchParams(location.hash.slice(1)).get('drawn')").split(","))
    assert abs(x1 - 3) < 0.1 and abs(x2 + 3) < 0.1 and label == 1
    page.wait_for_function(f"(b) => {BOUNDARY} !== b", arg=before)  # the new point, ringed
    # the training goes on over the drawn point; clear removes it
    page.click("#step")
    page.wait_for_function(f"() => {EPOCH} === 1")
    page.click("[data-ref=clearDrawn]")
    page.wait_for_function("() => document.querySelector('[data-ref=drawnCount]').textContent.startsWith('0 /')")
    assert "drawn=" not in page.evaluate("() => location.hash")


def test_too_many_drawn_points_are_refused_with_a_message(page: Any) -> None:
    many = ",".join(["1,1,1"] * 101)
    open_page(page, f"/#dataset=gauss&learning_rate=0.1&drawn={many}", MAPS_PAINTED)
    page.wait_for_function("() => [...document.querySelectorAll('.toast')].some((t) => t.textContent.includes('drawn'))")
    # the rest of the link's setup still loads
    page.wait_for_function("() => document.querySelector('#ctl-learning_rate').value === '0.1'")
    assert page.locator("canvas[data-dataset=gauss].selected").count() == 1
    assert page.inner_text("[data-ref=drawnCount]").startswith("0 /")
