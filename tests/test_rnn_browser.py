"""The recurrent lab in a real Chromium against a real server: it trains; the hidden-state,
gate and BPTT views draw and change; screenshots (1280x800, 1920x1080, dark, embed)."""

from __future__ import annotations

import json
from typing import Any

from tests.conftest import screenshot
from tests.wsutil import EPOCH, fork_in_page, open_page

HIDDEN_Z = "JSON.stringify(document.querySelector('[data-ref=hidden]').data?.[0]?.z ?? null)"
GATE_Z = "JSON.stringify(document.querySelector('.rnn-gate[data-gate=update]')?.data?.[0]?.z ?? null)"
BPTT_Y = "JSON.stringify(document.querySelector('[data-ref=bptt]').data?.[0]?.y ?? null)"


def wait_for(page: Any, script: str, timeout: float = 90.0) -> None:
    """Wait (a safety net of ``timeout`` seconds) until the expression ``script`` holds on the page."""
    page.wait_for_function(f"() => {script}", timeout=timeout * 1000)


def open_rnn(page: Any, hash_: str = "") -> None:
    # (each chart is drawn in a task of its own, paced: wait for every one)
    open_page(page, "/#lab=rnn" + hash_, "document.body.dataset.lab === 'rnn'", *(z + " !== 'null'" for z in (HIDDEN_Z, BPTT_Y)))


def test_rnn_trains_and_its_views_draw_and_change(page: Any) -> None:
    open_rnn(page)
    wait_for(page, GATE_Z + " !== 'null'")  # (a GRU: reset, update, candidate)
    hidden0, gate0, bptt0 = (json.loads(page.evaluate(s)) for s in (HIDDEN_Z, GATE_Z, BPTT_Y))
    assert len(hidden0) == 32 and len(hidden0[0]) == 12  # units x time (GRU, hidden 32, length 12)
    assert page.locator(".rnn-gate").count() == 3  # reset, update, candidate
    assert len(bptt0) == 12 and all(v > 0 for v in bptt0)
    page.click("#play")
    wait_for(page, f"{EPOCH} >= 10")
    page.click("#play")
    # the charts redraw at their own pace (those out of view every 2 s): each changes
    for expression, before in ((HIDDEN_Z, hidden0), (GATE_Z, gate0), (BPTT_Y, bptt0)):
        wait_for(page, f"{expression} !== {json.dumps(json.dumps(before))}")
    assert page.inner_text("[data-ref=acc]").endswith("%")
    screenshot(page, "rnn/rnn-1280x800")

    # LSTM with truncated BPTT: four gates and the cell state; the BPTT view shows the cut
    page.select_option("#ctl-cell", "lstm")
    wait_for(page, "document.querySelectorAll('.rnn-gate').length === 5")
    page.evaluate("document.querySelector('#ctl-bptt').value = 4; document.querySelector('#ctl-bptt').dispatchEvent(new Event('change'))")
    wait_for(page, "(document.querySelector('[data-ref=bptt]').layout?.shapes ?? []).length === 2")
    norms = json.loads(page.evaluate(BPTT_Y))
    assert all(v is None for v in norms[:8]) and all(v > 0 for v in norms[8:])  # zero (a gap) before the last cut
    screenshot(page, "rnn/rnn-lstm-bptt-1280x800")


def test_rnn_screenshots(browser: Any, server_url: str) -> None:
    """Big, dark and embedded pages draw without errors (looked at by hand; see artifacts/rnn)."""
    for name, size, extra in [("1920x1080", (1920, 1080), ""), ("dark-1280x800", (1280, 800), "&theme=dark"),
                              ("dark-1920x1080", (1920, 1080), "&theme=dark&task=text&cell=lstm"),
                              ("embed-640x420", (640, 420), "&embed=true&task=sine")]:
        context = browser.new_context(viewport={"width": size[0], "height": size[1]})
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.base_url = server_url
        open_rnn(page, extra)
        page.click("#play") if page.locator("#play").is_visible() else None
        wait_for(page, f"{EPOCH} >= 3")
        screenshot(page, f"rnn/rnn-{name}")
        context.close()
        assert not errors, errors


def test_the_lesson_compares_rnn_and_lstm_and_the_code_shows(page: Any) -> None:
    """rnn-memory: the second step starts an LSTM beside the RNN; its curves join the loss chart
    and its BPTT norms the BPTT view (dashed); show the code opens the run's script."""
    page.set_viewport_size({"width": 1920, "height": 1080})
    open_page(page, "/?lesson=rnn-memory", "document.body.dataset.lab === 'rnn'", HIDDEN_Z + " !== 'null'")
    page.click(".lesson [data-step='1']")  # "do it": the LSTM from scratch
    page.wait_for_selector("[data-ref=unfork]:not([hidden])")
    page.click("#play")
    wait_for(page, f"{EPOCH} >= 6", 240)
    wait_for(page, "(document.querySelector('[data-ref=loss]').data ?? []).some((t) => t.name.startsWith('compare: cell lstm'))")
    wait_for(page, "(document.querySelector('[data-ref=bptt]').data ?? []).some((t) => t.line.dash === 'dash' && t.y.length === 60)")
    page.click("#play")
    names = page.evaluate("() => document.querySelector('[data-ref=bptt]').data.map((t) => t.name)")
    assert names == ["this run, layer 1", "cell lstm (from scratch), layer 1"], names
    page.evaluate("window.scrollTo(0, 0)")
    screenshot(page, "rnn/rnn-memory-1920x1080")
    page.click("[data-ref=showCode]")
    page.wait_for_selector(".code-panel:not([hidden])")
    assert "class Recurrent(nn.Module)" in page.inner_text(".code-panel .code-text")
    page.keyboard.press("Escape")
    page.click("[data-ref=unfork]")
    wait_for(page, "document.querySelector('[data-ref=bptt]').data.length === 1")


def test_a_fork_picked_in_the_page(page: Any) -> None:
    open_rnn(page, "&theme=dark")
    fork_in_page(page, "cell", "RNN")
    page.click("#play")
    wait_for(page, f"{EPOCH} >= 3")
    wait_for(page, "(document.querySelector('[data-ref=loss]').data ?? []).some((t) => t.name === 'compare: cell rnn (from scratch) (test)')")
    page.click("#play")
    screenshot(page, "rnn/rnn-fork-dark-1280x800")
