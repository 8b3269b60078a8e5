"""Where the page's time goes while it trains: a CDP CPU profile of headless Chromium on one
core (the server on the other), self time summed per function, biggest first.

    PYTHONPATH=backend python -m bench.page_profile "lab=rnn" [seconds] [top]"""

from __future__ import annotations

import json
import sys
import time
from collections import Counter

from bench.common import running_server
from bench.page import FLAGS, SERVER_CPU, STARTED, pinned_chromium


def self_times(profile: dict) -> Counter[str]:  # type: ignore[type-arg]
    """ms of self time per function ("name url:line"), from the profile's samples."""
    nodes = {n["id"]: n for n in profile["nodes"]}
    deltas = profile["timeDeltas"]
    out: Counter[str] = Counter()
    for sample, delta in zip(profile["samples"], deltas[1:] + [0], strict=True):
        frame = nodes[sample]["callFrame"]
        url = frame["url"].rsplit("/", 1)[-1]
        out[f"{frame['functionName'] or '(anonymous)'} {url}:{frame['lineNumber'] + 1}"] += delta / 1000
    return out


WRAPPERS = ("theme.js", "pace.js")  # the page's own plumbing: the time goes to who called it


def page_callers(profile: dict) -> Counter[str]:  # type: ignore[type-arg]
    """ms per innermost function of the page's own code (frontend/js) on each sample's stack:
    the plotly, DOM and layout time below it counted to the page function that asked."""
    nodes = {n["id"]: n for n in profile["nodes"]}
    parent = {c: n["id"] for n in profile["nodes"] for c in n.get("children", [])}
    deltas = profile["timeDeltas"]
    out: Counter[str] = Counter()
    for sample, delta in zip(profile["samples"], deltas[1:] + [0], strict=True):
        node: int | None = sample
        name = nodes[sample]["callFrame"]["functionName"] or "(outside the page's code)"
        while node is not None:
            frame = nodes[node]["callFrame"]
            if "/static/js/" in frame["url"] and not frame["url"].endswith(WRAPPERS):
                name = f"{frame['functionName'] or '(anonymous)'} {frame['url'].split('/static/js/')[1]}:{frame['lineNumber'] + 1}"
                break
            node = parent.get(node)
        out[name] += delta / 1000
    return out


TIMELINE = ["devtools.timeline", "disabled-by-default-devtools.timeline", "blink", "cc", "viz", "gpu"]


def trace_totals(trace: bytes) -> Counter[str]:
    """ms per (thread, event name) of the trace's complete events (nested ones count in their
    parents too): where native time goes (style, layout, paint, raster, compositing)."""
    events = json.loads(trace)["traceEvents"]
    threads = {(e["pid"], e["tid"]): e["args"]["name"] for e in events if e.get("ph") == "M" and e.get("name") == "thread_name"}
    out: Counter[str] = Counter()
    for e in events:
        if e.get("ph") == "X" and "dur" in e:
            out[f"{threads.get((e['pid'], e['tid']), e['tid'])}: {e['name']}"] += e["dur"] / 1000
    return out


def long_tasks(trace: bytes, over: float = 50.0) -> list[str]:
    """The main thread's tasks over ``over`` ms, each with the script calls and native phases
    inside it that took longest."""
    events = json.loads(trace)["traceEvents"]
    threads = {(e["pid"], e["tid"]): e["args"]["name"] for e in events if e.get("ph") == "M" and e.get("name") == "thread_name"}
    main = [e for e in events if e.get("ph") == "X" and threads.get((e["pid"], e["tid"])) == "CrRendererMain"]
    out = []
    for task in (e for e in main if e["name"] == "RunTask" and e.get("dur", 0) > over * 1000):
        start, end = task["ts"], task["ts"] + task["dur"]
        inside: Counter[str] = Counter()
        for e in main:
            if start <= e["ts"] < end and e is not task and e["name"] not in ("RunTask", "ThreadControllerImpl::RunTask"):
                data = e.get("args", {}).get("data", {})
                where = f" {data.get('functionName', '')} {str(data.get('url', '')).rsplit('/', 1)[-1]}:{data.get('lineNumber', '')}" if data.get("url") else ""
                inside[e["name"] + where] += e.get("dur", 0) / 1000
        top = ", ".join(f"{name} {ms:.0f}" for name, ms in inside.most_common(6))
        out.append(f"{task['dur'] / 1000:6.0f} ms: {top}")
    return out


def main(setup: str, seconds: float = 6.0, top: int = 30) -> None:
    from playwright.sync_api import sync_playwright

    with running_server({}, "bench-page-profile", cpus=SERVER_CPU) as (url, _, _), sync_playwright() as p, \
            pinned_chromium() as launcher:
        browser = p.chromium.launch(executable_path=launcher, args=FLAGS)
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.goto(f"{url}/#{setup}")
        page.wait_for_function("() => Number(document.body.dataset.epoch ?? -1) >= 0", timeout=60_000)
        page.click("#play")
        page.wait_for_function(STARTED, timeout=60_000)
        time.sleep(1.0)
        cdp = page.context.new_cdp_session(page)
        cdp.send("Profiler.enable")
        cdp.send("Profiler.setSamplingInterval", {"interval": 200})
        cdp.send("Profiler.start")
        time.sleep(seconds)
        profile = cdp.send("Profiler.stop")["profile"]
        browser.start_tracing(page=page, categories=TIMELINE)
        time.sleep(seconds / 2)
        trace = browser.stop_tracing()
        browser.close()
    times = self_times(profile)
    total = sum(times.values())
    print(f"{setup or 'default'}: {total:.0f} ms sampled over {seconds:g} s")
    for name, ms in times.most_common(top):
        print(f"{ms:8.0f} ms {100 * ms / total:5.1f} %  {name}")
    print(f"\nnative work by thread and event, {seconds / 2:g} s traced (nested events count twice):")
    for name, ms in trace_totals(trace).most_common(top):
        print(f"{ms:8.0f} ms  {name}")
    print("\nlong tasks in the trace (what ran inside, ms):")
    for line in long_tasks(trace):
        print(line)
    print("\nby the page's own function that asked (plotly, DOM and layout below it included):")
    for name, ms in page_callers(profile).most_common(top):
        print(f"{ms:8.0f} ms {100 * ms / total:5.1f} %  {name}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "", *(float(a) for a in sys.argv[2:3]), *(int(a) for a in sys.argv[3:4]))
