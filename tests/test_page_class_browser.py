"""The page in front of a class (issue 14), in a real Chromium against a real server: a view
that fails to draw never stops the messages after it, every view draws non-finite numbers,
both themes are legible, each lab keeps its setup across lab switches, divergence and
saturation are explained, embeds and a laptop screen show each lab's main picture, the
first load, the projector option, the lessons menu and the smaller gaps."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from descent.labs import LAB_NAMES
from tests.conftest import screenshot
from tests.wsutil import EPOCH, STEP, open_page

LABS = ["mlp", "attention", "arena", "backprop", "cnn", "rnn"]

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


def failures(page: Any) -> int:
    return int(page.evaluate("() => Number(document.body.dataset.viewFailures ?? 0)"))


# ---- 1. a view that fails to draw never stops the page ------------------------------------

@pytest.mark.parametrize("lab", LABS)
def test_every_view_draws_null_nan_and_infinities_without_throwing(page: Any, lab: str) -> None:
    page.add_init_script(POISON)
    open_page(page, f"/#lab={lab}" + ("&speed=30" if lab == "backprop" else ""))
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
    open_page(page, "/#dataset=xor")
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
    # 7: what happened, why, and what to do, each said once
    text = page.inner_text("#banner")
    assert "loss became NaN" in text and "overshot" in text and "Lower the learning rate (try 0.1)" in text, text
    assert text.count("learning rate 10") == 1 and text.lower().count("epoch") == 1 and text.count("step ") == 2, text
    assert "largest gradient norm (0)" not in text
    screenshot(page, "class_diverged_banner")


# ---- 7. a stalled run is explained ----------------------------------------------------------

def test_a_saturated_run_that_stalls_is_explained(page: Any) -> None:
    open_page(page, "/#learning_rate=10")  # the default setup: every gradient ends ~0
    page.click("#play")
    page.wait_for_selector("#banner.warn:not([hidden])", timeout=120_000)
    text = page.inner_text("#banner")
    # at learning rate 10 the run is chaotic: a cohort's batched float sums may land it with
    # saturated tanh units (slope 0) or on a plateau with none; either way the banner says why
    # (unit_report's causes are checked exactly in tests/test_diagnosis.py)
    assert "stalled" in text and "gradient is about 0" in text, text
    assert "Why: " in text and ("slope is 0" in text or "flat plateau" in text), text
    assert "Lower the learning rate (try 0.1) and press reset" in text, text
    assert page.evaluate("() => document.body.dataset.state") == "running"  # a notice, not a stop
    screenshot(page, "class_stalled_banner")
    page.click("#play")
    page.click("#reset")  # a new network: the notice goes
    page.wait_for_selector("#banner", state="hidden", timeout=60_000)


# ---- 4. both themes legible ---------------------------------------------------------------

# Every chart on the page, checked as drawn: each curve and each label has a contrast of 3:1
# or more with the panel behind it (WCAG's floor for graphics), and grid lines stay quiet
# (under 1.8:1, so they never glare). Returns the problems found, named.
LEGIBILITY = """() => {
  const rgb = (c) => { const m = c.match(/[\\d.]+/g); return m ? m.slice(0, 4).map(Number) : null; };
  const lum = ([r, g, b]) => [r, g, b].map((v) => { v /= 255; return v <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; })
    .reduce((s, v, i) => s + v * [0.2126, 0.7152, 0.0722][i], 0);
  const contrast = (a, b) => { const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p); return (x + 0.05) / (y + 0.05); };
  const background = (el) => {
    for (let e = el; e; e = e.parentElement) {
      const c = rgb(getComputedStyle(e).backgroundColor);
      if (c && (c.length < 4 || c[3] > 0.5)) return c;
    }
    return [255, 255, 255];
  };
  const seen = (el) => { const r = el.getBoundingClientRect(); return r.width > 0 && r.height > 0; };
  const problems = [];
  for (const chart of document.querySelectorAll("#lab-root .js-plotly-plot")) {
    if (!seen(chart) || chart.closest(".arena-overlay, .arena-contour")) continue; // (drawn over the contour's own colours)
    const bg = background(chart);
    const name = chart.dataset.ref || chart.className;
    for (const line of chart.querySelectorAll(".scatterlayer .js-line")) {
      const c = rgb(getComputedStyle(line).stroke);
      if (c && line.getAttribute("d") && contrast(c, bg) < 3) problems.push(`${name}: curve ${getComputedStyle(line).stroke} on ${bg} (${contrast(c, bg).toFixed(2)}:1)`);
    }
    for (const text of chart.querySelectorAll("text")) {
      const c = rgb(getComputedStyle(text).fill);
      if (c && text.textContent.trim() && seen(text) && contrast(c, bg) < 3) problems.push(`${name}: label '${text.textContent}' ${getComputedStyle(text).fill} (${contrast(c, bg).toFixed(2)}:1)`);
    }
    for (const grid of chart.querySelectorAll(".gridlayer path")) {
      const c = rgb(getComputedStyle(grid).stroke);
      if (c && contrast(c, bg) > 1.8) { problems.push(`${name}: grid line ${getComputedStyle(grid).stroke} glares (${contrast(c, bg).toFixed(2)}:1)`); break; }
    }
  }
  for (const text of document.querySelectorAll("#lab-root svg.bp-svg text")) {
    const style = getComputedStyle(text);
    const bg = style.stroke && style.stroke !== "none" ? rgb(style.stroke) : background(text.closest("svg"));
    const c = rgb(style.fill);
    if (c && contrast(c, bg) < 3) problems.push(`backprop: '${text.textContent}' ${style.fill} on ${bg}`);
    const panel = background(text.closest("svg"));
    if (contrast(bg, panel) > 1.5) problems.push(`backprop: the halo of '${text.textContent}' (${style.stroke}) stands out on the panel`);
  }
  return problems;
}"""


@pytest.mark.parametrize("lab", LABS)
def test_every_chart_is_legible_in_both_themes(page: Any, lab: str) -> None:
    open_page(page, f"/#lab={lab}" + ("&speed=30" if lab == "backprop" else ""))
    page.click("#play")
    page.wait_for_function(f"() => {STEP} >= 3", timeout=60_000)
    page.click("#play")
    page.wait_for_timeout(800)  # the paced charts draw the last frames
    assert page.evaluate(LEGIBILITY) == [], "light"
    screenshot(page, f"class_theme_{lab}_light_1280")
    page.click("#theme")  # switched while the charts are up: they re-colour without a reload
    page.wait_for_function("() => document.documentElement.dataset.theme === 'dark'")
    page.wait_for_timeout(500)
    assert page.evaluate(LEGIBILITY) == [], "dark, switched"
    screenshot(page, f"class_theme_{lab}_dark_1280")
    page.set_viewport_size({"width": 1920, "height": 1080})
    page.goto(page.base_url + f"/#lab={lab}&theme=dark")  # and a link that opens dark
    page.wait_for_function(f"() => {EPOCH} >= 0", timeout=60_000)
    page.click("#step")
    page.wait_for_timeout(1000)
    assert page.evaluate(LEGIBILITY) == [], "dark, from the link"
    screenshot(page, f"class_theme_{lab}_dark_1920")


# ---- 3. switching labs keeps each lab's setup ----------------------------------------------

def test_switching_labs_keeps_each_labs_setup_and_run(page: Any) -> None:
    open_page(page, "/#dataset=spiral&hidden=6,6&features=x1,x2,sinx1,sinx2")
    page.click("[data-ref=drawPos]")
    page.locator("canvas.boundary").scroll_into_view_if_needed()
    box = page.locator("canvas.boundary").bounding_box()
    for n, dx in enumerate((0.3, 0.5, 0.7), 1):
        page.mouse.click(box["x"] + box["width"] * dx, box["y"] + box["height"] * 0.2)
        page.wait_for_function(f"() => document.querySelector('[data-ref=drawnCount]').textContent.startsWith('{n} /')")
    page.click("#play")
    page.wait_for_function(f"() => {EPOCH} >= 2", timeout=60_000)
    page.click("#play")
    page.click(".lab-tab[data-lab=arena]")
    page.wait_for_function("() => document.body.dataset.lab === 'arena'", timeout=30_000)
    page.select_option("#ctl-surface", "beale")
    page.wait_for_function("() => location.hash.includes('surface=beale')")
    page.click(".lab-tab[data-lab=mlp]")
    page.wait_for_function("() => document.body.dataset.lab === 'mlp' && document.querySelectorAll('.node.hidden').length === 12", timeout=30_000)
    assert page.locator("canvas[data-dataset=spiral].selected").count() == 1
    assert page.inner_text("[data-ref=drawnCount]").startswith("3 /")
    assert page.locator(".node.input.on").count() == 4
    assert "hidden=6,6" in page.evaluate("() => location.hash") and "lab=arena" not in page.evaluate("() => location.hash")
    page.wait_for_function(f"() => {EPOCH} >= 2", timeout=60_000)  # and its run: the server kept the lab left
    page.click(".lab-tab[data-lab=arena]")  # and the arena comes back on its own surface
    page.wait_for_function("() => document.body.dataset.lab === 'arena' && location.hash.includes('surface=beale')", timeout=30_000)
    assert page.input_value("#ctl-surface") == "beale"


# ---- 2 and 6. each lab's main picture in view: embeds from 600x400, a laptop screen -----------

MAIN_PICTURE = {"mlp": "canvas.boundary", "attention": ".attn-grid", "arena": ".arena-contour .arena-layer", "backprop": "svg.bp-svg", "cnn": ".cnn-table", "rnn": ".rnn-heat"}
THE_REST = {"mlp": ".data-column", "attention": ".attn-setup", "arena": ".arena-side", "backprop": ".bp-table-wrap", "cnn": ".cnn-setup", "rnn": ".attn-setup"}


def box(page: Any, selector: str) -> dict[str, float]:
    return page.evaluate(f"() => {{ const r = document.querySelector({selector!r}).getBoundingClientRect(); return {{x: r.x, y: r.y, w: r.width, h: r.height}}; }}")


def in_view(page: Any, selector: str, min_side: float) -> None:
    size = page.viewport_size
    b = box(page, selector)
    assert b["w"] >= min_side and b["h"] >= min_side, (selector, b)
    assert b["x"] >= -1 and b["y"] >= -1 and b["x"] + b["w"] <= size["width"] + 1 and b["y"] + b["h"] <= size["height"] + 1, (selector, b, size)


@pytest.mark.parametrize("lab", LABS)
def test_an_embed_shows_the_main_picture_and_keeps_everything_reachable(page: Any, lab: str) -> None:
    page.set_viewport_size({"width": 640, "height": 420})
    open_page(page, f"/#lab={lab}&embed=true")
    page.wait_for_timeout(1000)
    in_view(page, MAIN_PICTURE[lab], 140)
    screenshot(page, f"class_embed_{lab}_640")
    # every header setting an author did not hide is reachable: "⋯ settings" opens them all
    page.click("#more")
    controls = page.locator("#hyper .control")
    for i in range(controls.count()):
        assert controls.nth(i).is_visible(), controls.nth(i).get_attribute("data-key")
        b = controls.nth(i).bounding_box()
        assert b and b["y"] + b["height"] <= 420 and b["x"] + b["width"] <= 640, (controls.nth(i).get_attribute("data-key"), b)
    screenshot(page, f"class_embed_{lab}_640_settings")
    page.click("#more")
    assert not page.locator("#hyper .control").last.is_visible()
    # and the rest of the lab is there, a scroll away
    page.locator(THE_REST[lab]).scroll_into_view_if_needed()
    assert page.locator(THE_REST[lab]).bounding_box()["y"] < 420
    for width, height in [(800, 500), (960, 600)]:
        other = page.context.new_page()  # (a new hash on the same page would not reload it)
        other.set_viewport_size({"width": width, "height": height})
        other.goto(page.base_url + f"/#lab={lab}&embed=true&theme=dark")
        other.wait_for_function(f"() => {EPOCH} >= 0", timeout=60_000)
        other.wait_for_timeout(800)
        in_view(other, MAIN_PICTURE[lab], 0.4 * height)
        screenshot(other, f"class_embed_{lab}_{width}_dark")
        other.close()


def test_an_embed_keeps_problem_type_and_regularization_reachable(page: Any) -> None:
    page.set_viewport_size({"width": 800, "height": 500})
    open_page(page, "/#embed=true&learning_rate_hide=true")
    page.click("#more")
    page.select_option("#ctl-problem", "regression")
    page.wait_for_function("() => location.hash.includes('problem=regression')")
    page.select_option("#ctl-regularization", "l2")
    page.wait_for_function("() => location.hash.includes('regularization=l2')")
    assert not page.is_visible("#ctl-learning_rate")  # what the author hid stays hidden


@pytest.mark.parametrize("lab", LABS)
def test_a_laptop_screen_shows_the_main_picture_above_the_fold(page: Any, lab: str) -> None:
    open_page(page, f"/#lab={lab}")
    page.wait_for_timeout(800)
    header = box(page, ".topbar")
    assert header["h"] <= 130, header  # two compact rows, not four
    in_view(page, MAIN_PICTURE[lab], 200)
    assert box(page, MAIN_PICTURE[lab])["y"] >= header["h"]
    screenshot(page, f"class_laptop_{lab}_1280")


def test_a_folded_lesson_card_leaves_the_network_free(page: Any) -> None:
    page.goto(page.base_url + "/?lesson=vanishing-gradients")
    page.wait_for_function(f"() => {EPOCH} >= 0 && document.querySelectorAll('.node.hidden').length === 48", timeout=60_000)
    page.click(".lesson [data-l=fold]")
    # the card stays fixed at the bottom left while the page scrolls: folded, it must stay
    # clear of the network's column entirely, so no scroll position puts it over the diagram
    card, network = box(page, ".lesson"), box(page, ".network")
    assert card["x"] + card["w"] <= network["x"], (card, network)
    screenshot(page, "class_lesson_folded_1280")


# ---- 5. the first load -------------------------------------------------------------------------

# Records every lab the page mounts and every URL it writes, from the first script on.
RECORD = """(() => {
  window.__labs = []; window.__urls = [];
  const replace = history.replaceState.bind(history);
  history.replaceState = (state, title, url) => { window.__urls.push(String(url)); return replace(state, title, url); };
  new MutationObserver(() => { const lab = document.body?.dataset.lab; if (lab && window.__labs.at(-1) !== lab) window.__labs.push(lab); })
    .observe(document, { attributes: true, subtree: true, attributeFilter: ["data-lab"] });
})();"""


def test_the_shell_comes_up_before_plotly_and_a_lab_link_mounts_only_its_lab(browser: Any, server_url: str) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 800})  # a cold cache
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.add_init_script(RECORD)
    held: list[Any] = []
    released: list[bool] = []
    page.route("**/vendor/plotly.min.js", lambda route: route.continue_() if released else held.append(route))  # plotly held back
    page.goto(server_url + "/#lab=arena&surface=beale", wait_until="commit")
    page.wait_for_function(f"() => document.querySelectorAll('.lab-tab').length === {len(LAB_NAMES)}", timeout=60_000)
    page.wait_for_function("() => document.querySelector('#conn').textContent === 'live'", timeout=60_000)
    assert page.is_visible("#play") and page.is_visible(".brand")  # the shell is up, plotly is not
    assert page.evaluate("() => typeof Plotly") == "undefined"
    screenshot(page, "class_shell_before_plotly")
    page.wait_for_function("() => window.__urls !== undefined")
    while not held:
        page.wait_for_timeout(100)
    released.append(True)
    for route in held:
        route.continue_()
    page.wait_for_function(f"() => {EPOCH} >= 0 && document.body.dataset.lab === 'arena'", timeout=60_000)
    page.wait_for_timeout(500)
    assert page.evaluate("() => window.__labs") == ["arena"]  # the Playground never came up first
    assert not [u for u in page.evaluate("() => window.__urls") if "lab=mlp" in u]
    assert "surface=beale" in page.evaluate("() => location.hash")
    assert page.evaluate("() => performance.getEntriesByName('descent:first-frame').length") == 1
    context.close()
    assert not errors, errors


# ---- 9. projector: labels readable from the back of the room; legends off the curves -----------

# The rendered size of every visible label on the page, smallest first: DOM text (its computed
# font size) and SVG text (font size times the SVG's scale on screen), plotly's included.
SMALLEST_LABELS = """() => {
  const seen = (el) => { const r = el.getBoundingClientRect(); return r.width > 0 && r.height > 0 && getComputedStyle(el).visibility !== 'hidden'; };
  const out = [];
  for (const el of document.querySelectorAll('body *')) {
    if (el.closest('svg') || ['SCRIPT', 'STYLE', 'OPTION', 'TEXTAREA'].includes(el.tagName) || el.closest('[hidden], .toasts')) continue;
    const own = [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
    if (own && seen(el)) out.push([parseFloat(getComputedStyle(el).fontSize), el.className || el.tagName, el.textContent.trim().slice(0, 30)]);
  }
  for (const t of document.querySelectorAll('svg text')) {
    if (!t.textContent.trim() || !seen(t) || t.closest('[hidden]')) continue;
    const m = t.getScreenCTM();
    const scale = m ? Math.hypot(m.a, m.b) : 1; // (a rotated axis title too)
    out.push([parseFloat(getComputedStyle(t).fontSize) * scale, t.getAttribute('class') || 'svg text', t.textContent.trim().slice(0, 30)]);
  }
  return out.sort((a, b) => a[0] - b[0]).slice(0, 5);
}"""

# Every chart's legend against its plot area: the overlapping area in px² (0 = apart); plotly's
# charts and the canvas ones (the loss charts: an HTML legend over the canvas, .plot-area its plot).
LEGEND_OVERLAP = """() => [...document.querySelectorAll('#lab-root .js-plotly-plot, #lab-root .canvas-chart')].flatMap((chart) => {
  const legend = chart.querySelector('.legend'), area = chart.querySelector('.nsewdrag, .plot-area');
  if (!legend || !area || !legend.getBoundingClientRect().width) return [];
  const a = legend.getBoundingClientRect(), b = area.getBoundingClientRect();
  const w = Math.min(a.right, b.right) - Math.max(a.left, b.left), h = Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top);
  return [[chart.dataset.ref || chart.className, Math.max(0, w) * Math.max(0, h)]];
})"""


@pytest.mark.parametrize("lab", LABS)
def test_projector_makes_every_label_16px_and_legends_leave_the_curves(page: Any, lab: str) -> None:
    page.set_viewport_size({"width": 1920, "height": 1080})
    open_page(page, f"/#lab={lab}&projector=true" + ("&speed=30" if lab == "backprop" else ""))
    page.click("#play")
    # (past step 25 a log axis spans enough to label its 2s and 5s: those must be 16 px too)
    page.wait_for_function(f"() => {STEP} >= 40", timeout=120_000)
    page.click("#play")
    page.wait_for_timeout(1000)
    smallest = page.evaluate(SMALLEST_LABELS)
    assert smallest[0][0] >= 16, smallest
    overlaps = page.evaluate(LEGEND_OVERLAP)
    assert overlaps and all(area < 4 for _, area in overlaps), overlaps
    screenshot(page, f"class_projector_{lab}_1920")
    page.click("#theme")
    page.wait_for_timeout(500)
    screenshot(page, f"class_projector_{lab}_1920_dark")


# ---- 8. the lessons menu ------------------------------------------------------------------------

def test_the_lessons_menu_lists_every_lesson_and_opens_one(page: Any) -> None:
    import json
    from pathlib import Path

    lessons = json.loads((Path(__file__).resolve().parents[1] / "frontend/lessons.json").read_text())
    open_page(page, "/#")
    page.wait_for_function(f"() => document.querySelectorAll('#lessons option').length === {len(lessons) + 1}")
    assert page.locator("#lessons option").all_inner_texts()[1:] == [lesson["title"] for lesson in lessons.values()]
    page.select_option("#lessons", "backprop-by-hand")
    page.wait_for_selector(".lesson[data-lesson=backprop-by-hand]", timeout=60_000)
    page.wait_for_function("() => document.body.dataset.lab === 'backprop'", timeout=60_000)
    assert page.input_value("#lessons") == "backprop-by-hand"
    screenshot(page, "class_lessons_menu")


# ---- 10. the smaller gaps --------------------------------------------------------------------

# Makes WebGL report a GPU renderer (as a laptop with a graphics chip does).
FAKE_GPU = """(() => { const get = WebGLRenderingContext.prototype.getParameter;
  WebGLRenderingContext.prototype.getParameter = function (p) { return p === 0x9246 ? 'ANGLE (NVIDIA GeForce RTX 3060)' : get.call(this, p); }; })();"""


def test_the_arena_3d_view_is_live_while_racing_where_webgl_has_a_gpu(page: Any) -> None:
    page.add_init_script(FAKE_GPU)
    open_page(page, "/#lab=arena&speed=30")
    assert page.is_checked("[data-ref=live3d]")  # live by default
    page.click("#play")
    points = "document.querySelector('[data-ref=surface3d]').data[1].x.length"
    page.wait_for_function(f"() => document.body.dataset.state === 'running' && {points} >= 3", timeout=60_000)
    first = page.evaluate(f"() => {points}")
    page.wait_for_function(f"() => document.body.dataset.state === 'running' && {points} > {first}", timeout=60_000)
    # without a GPU (this headless Chromium renders WebGL in software) it starts unticked
    other = page.context.new_page()
    other.goto(page.base_url + "/#lab=arena")
    other.wait_for_function(f"() => {EPOCH} >= 0", timeout=60_000)
    assert not other.is_checked("[data-ref=live3d]")
    other.close()


def test_saved_runs_survive_a_reload_and_the_loss_has_a_log_scale(page: Any) -> None:
    open_page(page, "/#dataset=xor")
    page.click("#play")
    page.wait_for_function(f"() => {EPOCH} >= 3", timeout=60_000)
    page.click("#play")
    page.click("[data-ref=saveRun]")
    legend = "() => [...document.querySelectorAll('[data-ref=chart] .legendtext')].some((t) => t.textContent.startsWith('saved:'))"
    page.wait_for_function(legend)
    page.click("[data-ref=logLoss]")
    page.wait_for_function("() => document.querySelector('[data-ref=chart]').layout.yaxis.type === 'log' && location.hash.includes('log_loss=true')")
    page.reload()
    page.wait_for_function(f"() => {EPOCH} >= 0", timeout=60_000)
    page.wait_for_function(legend, timeout=30_000)  # still there after the reload
    assert page.is_checked("[data-ref=logLoss]") and page.is_visible("[data-ref=clearRuns]")
    page.wait_for_function("() => document.querySelector('[data-ref=chart]').layout.yaxis.type === 'log'")
    screenshot(page, "class_saved_log_1280")


@pytest.mark.parametrize("width,height", [(800, 600), (390, 844)])
def test_backprop_fits_narrow_screens_and_says_zero_grad_only_when_forgotten(page: Any, width: int, height: int) -> None:
    page.set_viewport_size({"width": width, "height": height})
    open_page(page, "/#lab=backprop")
    page.click("[data-ref=whole]")
    page.wait_for_function("() => document.body.dataset.backpropPhase === 'update'", timeout=60_000)
    assert page.evaluate("() => document.scrollingElement.scrollWidth") <= width  # nothing overflows sideways
    outside = page.evaluate("""() => { const svg = document.querySelector('svg.bp-svg').getBoundingClientRect();
      return [...document.querySelectorAll('svg.bp-svg text')].map((t) => [t.textContent, t.getBoundingClientRect()])
        .filter(([, r]) => r.left < svg.left - 1 || r.right > svg.right + 1).map(([text]) => text); }""")
    assert outside == [], outside
    assert not page.is_visible("[data-ref=forgetNote]")  # ticked off: no note about forgetting it
    page.check("#ctl-forget_zero_grad")
    page.wait_for_selector("[data-ref=forgetNote]", state="visible")
    screenshot(page, f"class_backprop_{width}")


def test_a_phone_header_leaves_room_and_keeps_every_setting(page: Any) -> None:
    page.set_viewport_size({"width": 390, "height": 844})
    open_page(page, "/#")
    header = box(page, ".topbar")
    assert header["h"] <= 200, header
    assert page.evaluate("() => document.scrollingElement.scrollWidth") <= 390
    page.click("#more")
    page.select_option("#ctl-activation", "relu")
    page.wait_for_function("() => location.hash.includes('activation=relu')")
    screenshot(page, "class_phone_390")
