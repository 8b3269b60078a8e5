"""The arena page in headless Chromium against a real server: a race of two optimizers draws
both trajectories, a click on the map sets the start point, the LR presets and the
step-by-step numbers work; screenshots at 1280x800 and 1920x1080."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

from tests.conftest import screenshot

RACE = "/#lab=arena&surface=himmelblau&racers=sgd+0.01,adam+0.1&speed=300"
OVERLAY = ".arena-overlay"


def open_race(page: Any, url: str = RACE) -> None:
    page.goto(page.base_url + url)
    page.wait_for_selector(f"{OVERLAY} .main-svg")
    # every racer at its start point
    page.wait_for_function("() => (document.body.dataset.arenaPoints || '0').split(',').every((n) => n === '1')")


def hash_config(page: Any) -> dict[str, list[str]]:
    return parse_qs(page.evaluate("location.hash.slice(1)"))


def trajectories(page: Any) -> list[dict[str, list[float]]]:
    """The overlay plot's trajectory traces (trace i = racer i)."""
    return page.evaluate(
        """() => { const el = document.querySelector('.arena-overlay');
                   return el.data.filter((t) => t.mode === 'lines').map((t) => ({ x: Array.from(t.x), y: Array.from(t.y) })); }"""
    )


def test_race_of_two_optimizers_draws_both_trajectories(page: Any) -> None:
    open_race(page)
    assert page.locator(".racer-card").count() == 2
    page.click("#play")
    page.wait_for_function(
        "() => (document.body.dataset.arenaPoints || '').split(',').every((n) => Number(n) > 40)", timeout=20000
    )
    page.click("#play")  # pause
    page.wait_for_function("() => document.body.dataset.state === 'paused'")
    sgd, adam = trajectories(page)
    for path in (sgd, adam):
        assert len(path["x"]) > 40
        assert (path["x"][0], path["y"][0]) == (-0.5, -0.3)  # himmelblau's default start
    # compared after the same number of steps (however many ran before the pause: on a slow
    # machine more steps run and both racers may sit in the same minimum at the end)
    assert (sgd["x"][40], sgd["y"][40]) != (adam["x"][40], adam["y"][40])
    # the SGD racer at a good LR finds a minimum and says so
    page.wait_for_function("() => document.querySelector('.racer-card .racer-badge').dataset.kind === 'reached'")
    assert "reached the minimum in" in page.locator(".racer-card .racer-badge").first.inner_text()
    screenshot(page, "arena-race-1280")


def test_click_on_the_map_sets_the_start_point(page: Any) -> None:
    open_race(page)
    target = (2.0, -3.0)
    box = page.evaluate(
        """([x, y]) => { const el = document.querySelector('.arena-overlay'); const r = el.getBoundingClientRect();
                         const { xaxis, yaxis } = el._fullLayout;
                         return [r.left + xaxis._offset + xaxis.l2p(x), r.top + yaxis._offset + yaxis.l2p(y)]; }""",
        list(target),
    )
    page.mouse.click(*box)
    page.wait_for_function("() => location.hash.includes('start=')")
    x, y = (float(v) for v in hash_config(page)["start"][0].split(","))
    # one pixel is 10/~450 of a unit here
    assert abs(x - target[0]) < 0.05 and abs(y - target[1]) < 0.05
    page.click("#step")
    page.wait_for_function("() => document.body.dataset.arenaPoints === '2,2'")
    sgd, _ = trajectories(page)
    assert (sgd["x"][0], sgd["y"][0]) == (x, y)  # the race restarted from the clicked point
    # the start is in the URL: a reload (the same session, resumed) or a shared link races from it
    page.reload()
    page.wait_for_selector(f"{OVERLAY} .main-svg")
    page.wait_for_function("() => (document.body.dataset.arenaPoints || '') !== ''")
    sgd, _ = trajectories(page)
    assert (sgd["x"][0], sgd["y"][0]) == (x, y)


def test_presets_and_step_by_step_numbers(page: Any) -> None:
    open_race(page, "/#lab=arena&surface=bowl&racers=sgd+0.2&speed=300")
    # an out-of-range hyper-parameter: the server names the field, the card goes back
    page.fill(".racer-hp input[type=number]", "5")
    page.press(".racer-hp input[type=number]", "Enter")
    page.wait_for_selector(".toast:has-text('config.racers.0.weight_decay')")
    page.wait_for_function("() => document.querySelector('.racer-hp input[type=number]').value === '0'")
    page.click(".racer-card .preset-diverging")
    page.wait_for_function("() => location.hash.includes('racers=sgd+1.05')")
    page.check("[data-ref=stepMode]")
    page.click("[data-ref=stepButton]")
    page.wait_for_selector(".step-row b")
    numbers = page.locator("[data-ref=stepNumbers]").inner_text()
    # bowl: g = 2w; from the default start (-2.4, 1.8): w_new = w - 1.05 * g
    assert "g = ∇f(w_old) = (-4.8, 3.6)" in numbers
    assert "w_new = w_old − lr·g = (2.64, -1.98)" in numbers
    page.click("#play")
    page.wait_for_function("() => document.body.dataset.state === 'diverged'", timeout=20000)
    # the badge follows with the frame that carries the diverged state
    page.wait_for_function("() => document.querySelector('.racer-badge').textContent.trim().toUpperCase() === 'DIVERGED'")
    assert page.locator("#banner").is_visible()


def test_wide_screen(browser: Any, server_url: str) -> None:
    context = browser.new_context(viewport={"width": 1920, "height": 1080})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.base_url = server_url
    open_race(page, "/#lab=arena&surface=rosenbrock&speed=300")
    page.check("[data-ref=showMomentum]")
    page.click("#play")
    page.wait_for_function("() => (document.body.dataset.arenaPoints || '').split(',').every((n) => Number(n) > 60)", timeout=20000)
    page.click("#play")
    page.wait_for_function("() => document.body.dataset.state === 'paused'")
    screenshot(page, "arena-race-1920")
    context.close()
    assert not errors
