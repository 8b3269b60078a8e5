"""The page in front of a class (issue 14), in a real Chromium against a real server: a view
that fails to draw never stops the messages after it, every view draws non-finite numbers,
both themes are legible, each lab keeps its setup across lab switches, divergence and
saturation are explained, embeds and a laptop screen show each lab's main picture, the
first load, the projector option, the lessons menu and the smaller gaps."""

from __future__ import annotations

from typing import Any, Iterator

import pytest

from tests.conftest import screenshot

EPOCH = "Number(document.body.dataset.epoch ?? -1)"
STEP = "Number(document.body.dataset.step ?? -1)"
LABS = ["mlp", "attention", "arena", "backprop"]

# Poisons the frames the page receives, on their way from the websocket to the views: with
# window.__poison = "null" | "nan" | "inf" | "-inf", every measured number of a frame (its
# metrics, history series, learning rates, gradient norms, weights, points ... and any
# number that is not an integer) becomes that value. Integers that give a shape stay.
POISON = """(() => {
  const parse = JSON.parse;
  const BAD = { null: null, nan: NaN, inf: Infinity, "-inf": -Infinity };
  const MEASURED = new Set(["metrics", "series", "lr", "grad_norms", "update_ratio", "weights", "biases", "values",
    "point", "grad", "momentum", "value", "loss", "reached", "w_old", "w_new", "update", "scale", "range"]);
  const walk = (v, all) => {
    if (typeof v === "number") return all || !Number.isInteger(v) ? BAD[window.__poison] : v;
    if (Array.isArray(v)) return v.map((x) => walk(x, all));
    if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x, all || MEASURED.has(k))]));
    return v;
  };
  window.__poisoned = 0;
  JSON.parse = function (text, ...rest) {
    const msg = parse.call(this, text, ...rest);
    if (!window.__poison || msg?.type !== "frame") return msg;
    window.__poisoned += 1;
    return { ...walk(msg, false), type: "frame", lab: msg.lab, step: msg.step, epoch: msg.epoch };
  };
})();"""


@pytest.fixture
def loose(browser: Any, server_url: str) -> Iterator[Any]:
    """A 1280x800 page whose errors the test reads itself (page.errors)."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    pg = context.new_page()
    pg.errors = []
    pg.on("pageerror", lambda e: pg.errors.append(str(e)))
    pg.on("console", lambda m: pg.errors.append(m.text) if m.type == "error" else None)
    pg.base_url = server_url
    yield pg
    context.close()


def open_lab(page: Any, hash: str) -> None:
    page.goto(page.base_url + "/#" + hash)
    page.wait_for_function(f"() => {EPOCH} >= 0 && document.body.dataset.lab", timeout=60_000)


def failures(page: Any) -> int:
    return int(page.evaluate("() => Number(document.body.dataset.viewFailures ?? 0)"))


# ---- 1. a view that fails to draw never stops the page ------------------------------------

@pytest.mark.parametrize("lab", LABS)
def test_every_view_draws_null_nan_and_infinities_without_throwing(page: Any, lab: str) -> None:
    page.add_init_script(POISON)
    open_lab(page, f"lab={lab}&speed=30" if lab == "backprop" else f"lab={lab}")
    page.click("#play")
    page.wait_for_function(f"() => {STEP} >= 2", timeout=60_000)
    for value in ["null", "nan", "inf", "-inf"]:
        page.evaluate(f"() => {{ window.__poison = {value!r}; window.__poisoned = 0; }}")
        page.wait_for_function("() => window.__poisoned >= 4", timeout=60_000)
        page.wait_for_timeout(400)  # the paced charts draw what came
    page.evaluate("() => { window.__poison = null; }")
    step = page.evaluate(f"() => {STEP}")
    page.wait_for_function(f"() => {STEP} > {step}", timeout=60_000)  # and the page goes on
    page.click("#play")
    page.wait_for_timeout(400)
    assert failures(page) == 0, page.locator(".toast.view-error").all_inner_texts()
    screenshot(page, f"class_poisoned_{lab}")


def test_a_view_that_throws_is_reported_once_and_the_page_goes_on(loose: Any) -> None:
    page = loose
    open_lab(page, "dataset=xor")
    # every canvas paint now throws: the playground's frame handler fails on every frame
    page.evaluate("() => { CanvasRenderingContext2D.prototype.putImageData = () => { throw new Error('paint refused'); }; }")
    page.click("#play")
    page.wait_for_function("() => document.querySelector('#play').textContent === '❚❚'", timeout=30_000)
    page.wait_for_function(f"() => {EPOCH} >= 3", timeout=60_000)  # the counter still moves
    page.click("#play")  # and the status after those frames still applies
    page.wait_for_function("() => document.querySelector('#play').textContent === '▶'", timeout=30_000)
    assert failures(page) >= 2
    toasts = page.locator(".toast.view-error")
    assert toasts.count() == 1, toasts.all_inner_texts()
    assert "paint refused" in toasts.inner_text()
    assert not [e for e in page.errors if "paint refused" in e], page.errors


def test_the_divergence_banner_shows_after_a_frame_of_null_gradients(page: Any) -> None:
    page.goto(page.base_url + "/?lesson=lr-too-high")
    page.wait_for_function(f"() => {EPOCH} >= 0", timeout=60_000)
    page.click("#play")
    page.wait_for_function(f"() => {EPOCH} >= 2", timeout=60_000)
    page.click(".lesson [data-step='1']")
    page.wait_for_function("() => document.querySelector('#ctl-learning_rate').value === '0.03'")
    page.click(".lesson [data-step='2']")
    page.wait_for_selector("#banner:not([hidden])", timeout=60_000)
    assert page.evaluate("() => document.body.dataset.state") == "diverged"
    assert page.inner_text("#play") == "▶"
    assert failures(page) == 0
    screenshot(page, "class_diverged_banner")
