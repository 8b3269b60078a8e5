"""Page options of the playground in a real Chromium against a real server: the URL
round trip, <key>_hide, hide_text, embed mode at 600x400, share / embed, discretize,
the theme and the keyboard."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs

from tests.conftest import screenshot
from tests.wsutil import EPOCH, open_page

BOUNDARY = "document.querySelector('canvas.boundary').toDataURL()"


def hash_params(page: Any) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(page.evaluate("() => location.hash.slice(1)"), keep_blank_values=True).items()}


def test_url_round_trip(page: Any) -> None:
    open_page(page, "/#dataset=spiral&learning_rate=0.1&activation=relu&hidden=5,3&noise=20&optimizer=adam&show_test=true")
    page.wait_for_function("() => document.querySelector('#ctl-optimizer').value === 'adam'")
    # the controls show the hash's setup
    assert page.input_value("#ctl-learning_rate") == "0.1"
    assert page.input_value("#ctl-activation") == "relu"
    assert page.locator("canvas[data-dataset=spiral].selected").count() == 1
    assert page.locator(".node.hidden").count() == 8
    assert page.is_checked("[data-ref=showTest]")
    # a control changes the hash; page options stay in it
    page.select_option("#ctl-activation", "tanh")
    page.wait_for_function("() => !location.hash.includes('activation=relu')")
    page.click("[data-ref=discretize]")
    page.wait_for_function("() => location.hash.includes('discretize=true')")
    params = hash_params(page)
    assert params["dataset"] == "spiral" and params["hidden"] == "5,3" and params["noise"] == "20"
    assert params["show_test"] == "true" and "activation" not in params  # tanh is the default
    # the hash reproduces the setup in a fresh tab
    link = page.url
    other = page.context.new_page()
    other.goto(link)
    other.wait_for_function("() => document.querySelectorAll('.node.hidden').length === 8", timeout=30_000)
    assert other.input_value("#ctl-optimizer") == "adam" and other.is_checked("[data-ref=discretize]")
    other.close()


def test_a_bad_hash_key_is_named_and_the_page_options_still_apply(page: Any) -> None:
    open_page(page, "/#dataset=xor&noise=500&embed=true")
    page.wait_for_function("() => [...document.querySelectorAll('.toast')].some((t) => t.textContent.includes('noise'))")
    assert page.evaluate("() => document.body.classList.contains('embed')")
    # the rest of the link's setup still loads
    page.wait_for_function("() => document.querySelector('canvas[data-dataset=xor]').classList.contains('selected')")


def test_fps_asks_the_server_for_that_frame_rate_and_a_bad_one_is_named(page: Any) -> None:
    asked: list[Any] = []  # what the page tells the server
    page.on("websocket", lambda ws: ws.on("framesent", lambda payload: asked.append(json.loads(payload))))
    open_page(page, "/#dataset=xor&fps=10")
    page.click("#play")
    page.wait_for_function("() => Number(document.body.dataset.epoch) >= 1")
    assert {"type": "subscribe", "frame_rate": 10} in asked
    page.evaluate("""() => { window.seen = 0; window.since = performance.now(); new MutationObserver(() => { window.seen += 1; })
      .observe(document.body, { attributes: true, attributeFilter: ["data-step"] }); }""")
    # 15 frames (an event), then how long they took: at 10 frames/s at least ~1.1 s (plus
    # the two frames in flight), where the default 30 would take 0.5 s; a slow machine
    # only takes longer
    page.wait_for_function("() => window.seen >= 15", timeout=120_000)
    seen, seconds = page.evaluate("() => [window.seen, (performance.now() - window.since) / 1000]")
    page.click("#play")
    assert seen <= 10 * seconds + 4, (seen, seconds)
    other = page.context.new_page()  # (a new hash on the same page would not reload it)
    other.goto(page.base_url + "/#dataset=gauss&fps=500")
    other.wait_for_function("() => [...document.querySelectorAll('.toast')].some((t) => t.textContent.includes('fps=500 is not allowed: 1 to 60'))")
    other.wait_for_function("() => document.querySelector('canvas[data-dataset=gauss]')?.classList.contains('selected')")
    other.close()


def test_hide_hides_controls_and_hide_text_hides_prose(page: Any) -> None:
    open_page(page, "/#learning_rate_hide=true&dataset_hide=true&discretize_hide=true&hidden_hide=true&hide_text=true")
    assert not page.is_visible("#ctl-learning_rate")
    assert page.is_visible("#ctl-optimizer")
    assert not page.is_visible("[data-ref=datasets]") and not page.is_visible("[data-ref=discretize]")
    assert page.locator(".layer-head button").count() == 0 and not page.is_visible("[data-ref=addLayer]")
    assert not page.is_visible(".footnote") and not page.is_visible(".hint >> nth=0")
    assert hash_params(page)["learning_rate_hide"] == "true"  # kept when the config rewrites the hash


def test_embed_at_600x400_fits_without_scrollbars(browser: Any, server_url: str) -> None:
    context = browser.new_context(viewport={"width": 600, "height": 400})
    page = context.new_page()
    page.goto(server_url + "/#dataset=xor&embed=true")
    page.wait_for_function(f"() => {EPOCH} >= 0", timeout=30_000)
    page.wait_for_function("() => document.querySelectorAll('.node.hidden').length === 6")
    fit = page.evaluate(
        """() => {
          const inside = (el) => { const r = el.getBoundingClientRect(); return r.width > 0 && r.left >= 0 && r.top >= 0 && r.right <= innerWidth + 0.5 && r.bottom <= innerHeight + 0.5; };
          const cols = [...document.querySelectorAll('.column')];
          return {
            page: [document.documentElement.scrollWidth <= innerWidth, document.documentElement.scrollHeight <= innerHeight],
            columns: cols.map((c) => c.scrollHeight <= c.clientHeight + 2 && c.scrollWidth <= c.clientWidth + 2),
            visible: ['#play', '#step', '#reset', 'canvas.boundary', '.node.output', '[data-feature=sinx2]', '.loss-chart', '#share']
              .map((s) => [s, inside(document.querySelector(s))]),
          };
        }"""
    )
    screenshot(page, "embed_600x400")
    context.close()
    assert fit["page"] == [True, True]
    assert all(fit["columns"]), fit
    assert all(ok for _, ok in fit["visible"]), fit["visible"]


def test_share_box_gives_the_link_and_an_iframe(page: Any) -> None:
    open_page(page, "/#dataset=gauss&learning_rate=0.3")
    page.click("#share")
    link = page.input_value("#share-link")
    assert "dataset=gauss" in link and "learning_rate=0.3" in link and "embed" not in link
    snippet = page.input_value("#share-iframe")
    assert snippet.startswith("<iframe ") and "embed=true" in snippet and "dataset=gauss" in snippet
    page.click("#share-hide-text")
    assert "hide_text=true" in page.input_value("#share-iframe")


def test_discretize_theme_and_keyboard(page: Any) -> None:
    open_page(page, "/#dataset=xor")
    smooth = page.evaluate(BOUNDARY)
    page.click("[data-ref=discretize]")
    assert page.evaluate(BOUNDARY) != smooth
    page.click("#theme")
    assert page.evaluate("() => document.documentElement.dataset.theme") == "dark"
    screenshot(page, "playground_dark")
    page.click("#theme")
    assert page.evaluate("() => document.documentElement.dataset.theme") == "light"
    page.locator("canvas.boundary").click()  # focus leaves the checkbox
    page.keyboard.press("ArrowRight")
    page.wait_for_function(f"() => {EPOCH} === 1", timeout=10_000)
    page.keyboard.press(" ")
    page.wait_for_function("() => document.body.dataset.state === 'running'", timeout=10_000)
    page.keyboard.press(" ")
    page.wait_for_function("() => document.body.dataset.state === 'paused'", timeout=10_000)
    page.keyboard.press("r")
    page.wait_for_function(f"() => {EPOCH} === 0", timeout=10_000)
