"""What the page shows: frames drawn per second and epochs per second seen in headless
Chromium (Playwright, Debian's chromium) against a real server, while training runs, for the
default and the big setup (every neuron map live); and a cold load (an empty cache): the
first paint of the shell and the first frame drawn, on loopback and on a classroom's Wi-Fi
(emulated: 20 Mbit/s, 40 ms), with the page's files gzipped and, for comparison, sent raw.

    PYTHONPATH=backend python -m bench.page [--quick] [--before ../before] [--labs arena,cnn] [--cold]

The one-core rows (the issue's target: >= 30 frames painted and >= 28 data frames handled
per second, no long task over 50 ms, in every lab) pin Chromium to one core and the server to
the other; --before PATH measures the page of another checkout alternately in the same run.
`make bench` (bench/__main__.py) prints the cold loads and the one-core rows."""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from bench.common import WHERE, Row, running_server
from descent.server.app import PLOTLY_JS

PLOTLY_MB = PLOTLY_JS.stat().st_size / 1e6

TITLE = f"page in headless Chromium ({WHERE})"
BIG = "dataset=spiral&features=x1,x2,x1sq,x2sq,x1x2,sinx1,sinx2&hidden=8,8,8,8,8,8&activation=tanh"
# The setups the one-core rows measure: the playground's default and big setup (spiral, 7
# features, 6x8 tanh, batch 10), then each other lab's default setup. (hash, frames/s asked)
LABS = {"playground default": "", "playground big": BIG, "attention": "lab=attention", "arena": "lab=arena",
        "backprop": "lab=backprop", "cnn": "lab=cnn", "rnn": "lab=rnn"}
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--no-first-run"]
# Counts, from the page's own <body data-step> (main.js writes each frame's step there): data
# frames handled (every write: the backprop lab shows a step over several frames), painted
# frames (animation frames that show at least one newly handled frame; two handled between
# paints count once), and long tasks (the main thread busy over 50 ms: a stutter a user sees).
WATCH = """() => { const b = { painted: 0, handled: 0, long: 0, worst: 0 }; window.bench = b;
  let shown = 0;
  const tick = () => { if (b.handled !== shown) { shown = b.handled; b.painted += 1; }
    requestAnimationFrame(tick); };
  requestAnimationFrame(tick);
  new MutationObserver((records) => { b.handled += records.length; })
    .observe(document.body, { attributes: true, attributeFilter: ["data-step"] });
  new PerformanceObserver((list) => { for (const e of list.getEntries()) { b.long += 1; b.worst = Math.max(b.worst, e.duration); } })
    .observe({ type: "longtask" }); }"""
STARTED = "() => document.body.dataset.state === 'running' && Number(document.body.dataset.step ?? -1) > 0"


def measure(page, url: str, seconds: float) -> dict[str, float]:  # noqa: ANN001
    """One window of training seen by a fresh page: painted and handled frames/s, epochs/s,
    long tasks (count, worst ms)."""
    page.goto(url)
    page.wait_for_function("() => Number(document.body.dataset.epoch ?? -1) >= 0", timeout=60_000)
    page.click("#play")
    page.wait_for_function(STARTED, timeout=60_000)
    time.sleep(1.0)  # past the first frames
    page.evaluate(WATCH)
    epoch0, t0 = int(page.evaluate("() => document.body.dataset.epoch")), time.monotonic()
    time.sleep(seconds)
    b, epoch1 = page.evaluate("() => [window.bench, Number(document.body.dataset.epoch)]")
    span = time.monotonic() - t0
    page.click("#play")
    return {"painted": b["painted"] / span, "handled": b["handled"] / span, "epochs": (epoch1 - epoch0) / span,
            "long": b["long"], "worst": b["worst"]}


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


BROWSER_CPU, SERVER_CPU = "0", "1"  # a student's laptop core and the server's


@contextmanager
def pinned_chromium() -> Iterator[str]:
    """A launcher that runs Debian's chromium (and every process it starts) on BROWSER_CPU."""
    with tempfile.TemporaryDirectory() as folder:
        launcher = Path(folder) / "chromium-one-core"
        launcher.write_text(f'#!/bin/sh\nexec taskset -c {BROWSER_CPU} /usr/bin/chromium "$@"\n')
        launcher.chmod(0o755)
        yield str(launcher)


def one_core(seconds: float, repeats: int, before: Path | None = None,
             setups: dict[str, str] = LABS) -> dict[str, dict[str, dict[str, float]]]:
    """{setup: {"after" (this checkout's page) / "before" (the page of the checkout at before):
    median figures}}. The browser runs on one core, the server on the other; the two pages are
    measured alternately (each window a fresh page, a new session), so both see the same machine."""
    from playwright.sync_api import sync_playwright

    sides = {"after": None} if before is None else {"before": before / "frontend", "after": None}
    with ExitStack() as stack:
        urls = {side: stack.enter_context(running_server({}, f"bench-page-{side}", cpus=SERVER_CPU, frontend=frontend))[0]
                for side, frontend in sides.items()}
        p = stack.enter_context(sync_playwright())
        browser = p.chromium.launch(executable_path=stack.enter_context(pinned_chromium()), args=FLAGS)
        out: dict[str, dict[str, dict[str, float]]] = {}
        for name, setup in setups.items():
            runs: dict[str, list[dict[str, float]]] = {side: [] for side in sides}
            for _ in range(repeats):
                for side, url in urls.items():
                    page = browser.new_page(viewport={"width": 1280, "height": 800})
                    runs[side].append(measure(page, f"{url}/#{setup}", seconds))
                    page.close()
            out[name] = {side: {k: statistics.median(r[k] for r in rs) for k in rs[0]} for side, rs in runs.items()}
            print(f"  {name}: " + "; ".join(f"{side} {_figures(f)}" for side, f in out[name].items()), file=sys.stderr, flush=True)
        browser.close()
    return out


def _figures(f: dict[str, float]) -> str:
    return f"{f['painted']:.1f} painted/s, {f['handled']:.1f} handled/s, {f['epochs']:.1f} epochs/s, {f['long']:.0f} long tasks (worst {f['worst']:.0f} ms)"


def print_one_core(results: dict[str, dict[str, dict[str, float]]], seconds: float, repeats: int) -> None:
    """The side-by-side table: each figure before -> after (after alone without --before)."""
    print(f"\n## page on one core (browser taskset -c {BROWSER_CPU}, server -c {SERVER_CPU}; "
          f"medians of {repeats} x {seconds:g} s; target >= 30 painted, >= 28 handled, no long task)\n")
    columns = [("painted frames/s", "painted", "{:.1f}"), ("data frames/s", "handled", "{:.1f}"), ("epochs/s", "epochs", "{:.1f}"),
               ("long tasks", "long", "{:.0f}"), ("worst long task ms", "worst", "{:.0f}")]
    print("| setup | " + " | ".join(c[0] for c in columns) + " |")
    print("|---" * (len(columns) + 1) + "|")
    for name, sides in results.items():
        cells = [" -> ".join(fmt.format(sides[s][key]) for s in ("before", "after") if s in sides) for _, key, fmt in columns]
        print(f"| {name} | " + " | ".join(cells) + " |")


def rows(seconds: float = 12.0, repeats: int = 3) -> list[Row]:
    """`make bench`: the cold loads, then every lab on one core."""
    from playwright.sync_api import sync_playwright

    with running_server({}, "bench-page") as (url, _, _), sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=FLAGS)
        out = cold_rows(browser, url)
        browser.close()
    setups = {**LABS, "playground big, fps=60": BIG + "&fps=60"}
    for name, sides in one_core(seconds, repeats, setups=setups).items():
        f = sides["after"]
        note = f"one-core browser; median of {repeats} x {seconds:g} s"
        out.append({"name": f"page painted frames/s, {name}", "value": round(f["painted"], 1), "unit": "frames/s", "note": note})
        out.append({"name": f"page data frames/s, {name}", "value": round(f["handled"], 1), "unit": "frames/s", "note": "frames handled"})
        out.append({"name": f"page epochs/s, {name}", "value": round(f["epochs"], 1), "unit": "epochs/s", "note": "training speed the page shows"})
        out.append({"name": f"page long tasks, {name}", "value": int(f["long"]), "unit": "tasks", "note": f"over 50 ms; worst {f['worst']:.0f} ms"})
    return out


if __name__ == "__main__":
    import argparse

    from bench.common import print_table

    parser = argparse.ArgumentParser(description="the page in headless Chromium")
    parser.add_argument("--cold", action="store_true", help="the cold-load rows alone")
    parser.add_argument("--quick", action="store_true", help="one 4 s window per setup (for iterating)")
    parser.add_argument("--before", type=Path, help="a checkout whose page is measured alternately beside this one's")
    parser.add_argument("--labs", help="comma-separated setup names (default: all)")
    args = parser.parse_args()
    if args.cold:
        from playwright.sync_api import sync_playwright

        with running_server({}, "bench-page") as (url, _, _), sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=FLAGS)
            print_table(TITLE, cold_rows(browser, url))
            browser.close()
    else:
        seconds, repeats = (4.0, 1) if args.quick else (12.0, 3)
        chosen = LABS if not args.labs else {k: LABS[k] for k in args.labs.split(",")}
        print_one_core(one_core(seconds, repeats, args.before, chosen), seconds, repeats)
