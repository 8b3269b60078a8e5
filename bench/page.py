"""What the page shows: frames drawn per second and epochs per second seen in headless
Chromium (Playwright, Debian's chromium) against a real server, while training runs, for the
default and the big setup (every neuron map live); and a cold load (an empty cache): the
first paint of the shell and the first frame drawn, on loopback and on a classroom's Wi-Fi
(emulated: 20 Mbit/s, 40 ms), with the page's files gzipped and, for comparison, sent raw.

    PYTHONPATH=backend python -m bench.page"""

from __future__ import annotations

import statistics
import time

from bench.common import WHERE, Row, running_server
from descent.server.app import PLOTLY_JS

PLOTLY_MB = PLOTLY_JS.stat().st_size / 1e6

TITLE = f"page in headless Chromium ({WHERE})"
BIG = "dataset=spiral&features=x1,x2,x1sq,x2sq,x1x2,sinx1,sinx2&hidden=8,8,8,8,8,8&activation=tanh"
# name: (hash, frames/s the page asks for). The page asks for 30 unless its link says fps=...;
# the last row shows what 60 costs.
SETUPS = {"default": ("", 30), "big": (BIG, 30), "big, fps=60": (BIG + "&fps=60", 60)}
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--no-first-run"]
# counts the frames the page painted: animation frames whose screen shows a new step
# (main.js writes each frame's step on <body>; two frames handled between paints count once)
WATCH = """() => { window.benchFrames = 0; let shown = document.body.dataset.step;
  const tick = () => { const step = document.body.dataset.step;
    if (step !== shown) { shown = step; window.benchFrames += 1; }
    requestAnimationFrame(tick); };
  requestAnimationFrame(tick); }"""


def measure(page, url: str, seconds: float) -> tuple[float, float]:  # noqa: ANN001
    page.goto(url)
    page.wait_for_function("() => Number(document.body.dataset.epoch ?? -1) >= 0", timeout=30_000)
    page.click("#play")
    time.sleep(1.0)  # past the first frames
    page.evaluate(WATCH)
    epoch0, t0 = int(page.evaluate("() => document.body.dataset.epoch")), time.monotonic()
    time.sleep(seconds)
    frames, epoch1 = page.evaluate("() => [window.benchFrames, Number(document.body.dataset.epoch)]")
    span = time.monotonic() - t0
    page.click("#play")
    return frames / span, (epoch1 - epoch0) / span


# name: (link, emulated network or None)
WIFI = {"offline": False, "latency": 40, "downloadThroughput": 20e6 / 8, "uploadThroughput": 10e6 / 8}
COLD = {"loopback": ("/#", None), "20 Mbit/s": ("/#", WIFI), "20 Mbit/s, arena link": ("/#lab=arena", WIFI)}
FIRST = """() => [performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? -1,
  performance.getEntriesByName('descent:first-frame')[0].startTime,
  Math.max(...performance.getEntriesByType('resource').filter((e) => e.name.includes('plotly')).map((e) => e.transferSize))]"""


def cold_load(browser, url: str, network: dict | None) -> tuple[float, float, int]:  # noqa: ANN001
    """(first contentful paint, first frame drawn) in ms from navigation with an empty cache,
    and the bytes plotly.js took on the wire."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    if network:
        cdp = context.new_cdp_session(page)
        cdp.send("Network.enable")
        cdp.send("Network.emulateNetworkConditions", network)
    page.goto(url)
    page.wait_for_function("() => performance.getEntriesByName('descent:first-frame').length > 0", timeout=120_000)
    paint, frame, plotly = page.evaluate(FIRST)
    context.close()
    return paint, frame, plotly


def cold_rows(browser, url: str, repeats: int = 3) -> list[Row]:  # noqa: ANN001
    out: list[Row] = []
    for name, (link, network) in COLD.items():
        runs = [cold_load(browser, url + link, network) for _ in range(repeats)]
        out.append({"name": f"cold load, {name}: shell painted", "value": round(statistics.median(r[0] for r in runs)),
                    "unit": "ms", "note": f"first contentful paint, empty cache; median of {repeats}"})
        out.append({"name": f"cold load, {name}: first frame drawn", "value": round(statistics.median(r[1] for r in runs)),
                    "unit": "ms", "note": "navigation to the first training frame on screen (plotly.js, the lab, the session)"})
    out.append({"name": "cold load: plotly.js on the wire", "value": round(runs[0][2] / 1e6, 2), "unit": "MB",
                "note": f"gzipped by static.py ({PLOTLY_MB:.1f} MB raw)"})
    return out


def rows(seconds: float = 5.0, repeats: int = 3) -> list[Row]:
    from playwright.sync_api import sync_playwright

    out: list[Row] = []
    with running_server({}, "bench-page") as (url, _, _), sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=FLAGS)
        out.extend(cold_rows(browser, url))
        for name, (setup, fps) in SETUPS.items():
            runs = []
            for _ in range(repeats):  # a fresh page each time (a new session, nothing left from the last)
                page = browser.new_page(viewport={"width": 1280, "height": 800})
                runs.append(measure(page, f"{url}/#{setup}", seconds))
                page.close()
            out.append({"name": f"page frames/s, {name}", "value": round(statistics.median(r[0] for r in runs), 1),
                        "unit": "frames/s", "note": f"new frames painted by the page (it asks for {fps}/s); median of {repeats} x {seconds:g} s"})
            out.append({"name": f"page epochs/s, {name}", "value": round(statistics.median(r[1] for r in runs), 1),
                        "unit": "epochs/s", "note": "training speed the page shows (TF Playground: 46.7 default, 10.8 big)"})
        browser.close()
    return out


if __name__ == "__main__":
    import sys

    from bench.common import print_table

    if sys.argv[1:] == ["--cold"]:  # the cold-load rows alone
        from playwright.sync_api import sync_playwright

        with running_server({}, "bench-page") as (url, _, _), sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=FLAGS)
            print_table(TITLE, cold_rows(browser, url))
            browser.close()
    else:
        print_table(TITLE, rows())
