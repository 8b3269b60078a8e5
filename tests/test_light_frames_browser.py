"""Light frames in a real Chromium: a server that sends the inside of the network with every
second frame only (what a busy worker does, runtime/pressure.py; here forced by
settings.frame_detail_every) still gives a page whose diagram, neuron maps, link colours and
histograms stay drawn and keep up with training."""

from __future__ import annotations

import json
from typing import Any

from bench.common import running_server
from tests.conftest import screenshot
from tests.wsutil import EPOCH, open_page

MAPS_PAINTED = "[...document.querySelectorAll('.node.hidden .node-map')].every((c) => c.width === 16)"
MAPS = "document.querySelector('.node-maps').toDataURL()"
DETAIL = ("neurons", "weights", "biases", "histograms", "update_ratio", "optimizer_state")


def test_the_page_keeps_the_inside_of_the_network_between_detailed_frames(page: Any) -> None:
    seen: list[bool] = []  # per running frame: did it carry the detail views?

    def on_socket(ws: Any) -> None:
        def on_frame(payload: Any) -> None:
            message = json.loads(payload) if isinstance(payload, str) else {}
            if message.get("type") == "frame" and message["state"] == "running":
                seen.append(all(k in message["views"] for k in DETAIL))

        ws.on("framereceived", on_frame)

    page.on("websocket", on_socket)
    with running_server({"DESCENT_DEVICE": "cpu", "DESCENT_FRAME_DETAIL_EVERY": "2"}, "light-frames") as (url, _, _):
        page.base_url = url
        open_page(page, "/#dataset=xor&hidden=4,3", MAPS_PAINTED)
        page.click("#play")
        page.wait_for_function(f"() => {EPOCH} >= 3")
        maps = page.evaluate(MAPS)
        wait_for_frames(page, seen, len(seen) + 6)  # (at least two detailed ones more)
        assert page.evaluate(MAPS) != maps  # the maps keep up with training ...
        page.click("#play")
        assert True in seen and False in seen  # ... from detailed frames between light ones
        assert sum(seen) >= len(seen) // 2 - 1
        # between them the diagram, its links and the histograms stand as the last detailed frame left them
        assert page.locator(".node.hidden .node-map").count() == 7
        assert page.evaluate("[...document.querySelectorAll('.network svg.links path')].every((p) => p.style.stroke)")
        assert int(page.evaluate("document.querySelector('[data-ref=histWeights]').dataset.total")) == 2 * 4
        screenshot(page, "light_frames")
        page.goto("about:blank")  # (before the server goes: a page left open would try to reconnect)


def wait_for_frames(page: Any, seen: list[bool], count: int, limit: float = 60.0) -> None:
    """Until ``count`` running frames have come (the page's socket events are heard while
    Playwright waits; ``limit`` is only a safety net)."""
    import time

    deadline = time.monotonic() + limit
    while len(seen) < count and time.monotonic() < deadline:
        page.wait_for_timeout(50)
    assert len(seen) >= count, f"{len(seen)} frames, waited for {count}"
