"""The class load test's room scenario: 1 teacher + N students in one room (issue 18) on a
real server. Each student joins with a name, plays, and acks every frame, as its page would;
the teacher reads the wall. Reported: the students' epochs/s and frames/s (median and the
slowest), the wall's update rate per tile (median and the slowest tile: summaries computed
by the workers, ~3 per second each by room_summary_seconds) and its bytes per second,
and the server's CPU.

    PYTHONPATH=backend python -m bench.load --room 50     # via load.py (the class scenario)
    PYTHONPATH=backend python -m bench.room 50"""

from __future__ import annotations

import asyncio
import json
import math
import statistics
import sys
import time
from typing import Any

import websockets

from bench.common import Row, cpu_seconds, rss_mb, running_server
from bench.load import HEAD, SERVER_ENV, WARMUP, Client, pct, wait_connected

SETUP = {"lab": "mlp"}  # the class on one preset (pushed by the teacher): cohorts train it together


async def student(url: str, code: str, index: int, gate: asyncio.Event, window: list[float], out: Client) -> None:
    try:
        async with websockets.connect(url, max_size=None, open_timeout=60, ping_interval=None) as ws:
            json.loads(await ws.recv())  # hello
            await ws.send(json.dumps({"type": "room", "action": "join", "code": code, "name": f"student {index}"}))
            await gate.wait()
            await ws.send(json.dumps({"type": "control", "action": "play"}))
            while (now := time.monotonic()) < window[1]:  # (the window is set once every tile runs)
                try:
                    text = await asyncio.wait_for(ws.recv(), timeout=max(0.01, min(1.0, window[1] - now)))
                except TimeoutError:
                    continue  # (a fresh server's workers warming up; or the window's end)
                head = HEAD.match(text[:400]) if isinstance(text, str) else None
                if head is None or head[1] != "frame":
                    if isinstance(text, str) and text.startswith('{"type":"error"'):
                        raise RuntimeError(json.loads(text)["message"])
                    continue
                await ws.send('{"type":"ack"}')
                got = time.monotonic()
                out.frame(got, head[2], int(head[3]), window[0])
    except Exception as e:  # a failure is a result, counted in the table
        out.failed(e)
        return
    out.failed(None)


async def teacher_reads(ws: Any, window: list[float], updates: dict[str, int], volume: list[int],
                        running: asyncio.Event, n: int) -> None:
    """Count each tile's wall updates (a new summary) and the wall's bytes in the window;
    ``running`` is set once every tile shows a running run."""
    seen: dict[str, int] = {}
    states: dict[str, str] = {}
    while True:
        text = await ws.recv()
        message = json.loads(text)
        if message["type"] == "frame":
            await ws.send('{"type":"ack"}')
        if message["type"] != "wall":
            continue
        now = time.monotonic()
        if window[0] <= now < window[1]:
            volume[0] += len(text)
        for tile in message["tiles"]:
            states[tile["tile"]] = (tile["summary"] or {}).get("state", "")
            step = (tile["summary"] or {}).get("step", -1)
            if step != seen.get(tile["tile"]) and window[0] <= now < window[1]:
                updates[tile["tile"]] = updates.get(tile["tile"], 0) + 1
            seen[tile["tile"]] = step
        if sum(state == "running" for state in states.values()) >= n:
            running.set()


async def scenario(ws_url: str, url: str, pid: int, n: int, seconds: float) -> dict[str, Any]:
    async with websockets.connect(ws_url, max_size=None, ping_interval=None) as teacher:
        json.loads(await teacher.recv())
        await teacher.send(json.dumps({"type": "room", "action": "create"}))
        while (room := json.loads(await teacher.recv()))["type"] != "room":
            pass
        gate, window = asyncio.Event(), [math.inf, math.inf]
        students = [Client() for _ in range(n)]
        tasks = []
        for i, c in enumerate(students):
            tasks.append(asyncio.create_task(student(ws_url, room["code"], i, gate, window, c)))
            if i % 10 == 9:
                await asyncio.sleep(0.05)  # a class arrives in waves
        await wait_connected(url, n + 1)
        while not ((m := json.loads(await teacher.recv()))["type"] == "room" and m["students"] >= n):
            pass  # (every student joined)
        await teacher.send(json.dumps({"type": "room", "action": "push", "config": SETUP}))
        updates: dict[str, int] = {}
        volume = [0]
        running = asyncio.Event()
        reader = asyncio.create_task(teacher_reads(teacher, window, updates, volume, running, n))
        gate.set()
        # measured once every student trains (a fresh server's worker processes warm up first)
        await asyncio.wait_for(running.wait(), 300)
        start = time.monotonic() + WARMUP
        window[:] = [start, start + seconds]
        await asyncio.sleep(max(0.0, start - time.monotonic()))
        cpu0, t0 = cpu_seconds(pid), time.monotonic()
        await asyncio.sleep(seconds)
        cpu1, t1 = cpu_seconds(pid), time.monotonic()
        rss = rss_mb(pid)
        await asyncio.gather(*tasks)
        reader.cancel()
    return {"students": students, "updates": updates, "bytes": volume[0], "cpu": 100 * (cpu1 - cpu0) / (t1 - t0), "rss": rss}


def rows(n: int = 50, seconds: float = 8.0) -> list[Row]:
    with running_server(SERVER_ENV, "bench-room") as (url, server, _):
        result = asyncio.run(scenario(url.replace("http", "ws") + "/ws", url, server.pid, n, seconds))
    ok = [c for c in result["students"] if c.failure is None]
    failed = [c.failure for c in result["students"] if c.failure is not None]
    eps = [c.rates()[0] for c in ok] or [0.0]
    fps = [c.rates()[1] for c in ok] or [0.0]
    per_tile = [result["updates"].get(f"t{i + 1}", 0) / seconds for i in range(n)]
    tag = f"room, 1 teacher + {n} students"
    return [
        {"name": f"epochs/s per student, {tag}", "value": round(statistics.median(eps), 1), "unit": "epochs/s",
         "note": f"median; slowest student {min(eps):.1f}; {seconds:g} s measured"},
        {"name": f"frames/s per student, {tag}", "value": round(statistics.median(fps), 1), "unit": "frames/s",
         "note": f"median; slowest student {min(fps):.1f}; acking each frame"},
        {"name": f"wall updates/s per tile, {tag}", "value": round(statistics.median(per_tile), 2), "unit": "updates/s",
         "note": f"median; slowest tile {min(per_tile):.2f}, p10 {pct(per_tile, 0.1):.2f}; the wall {result['bytes'] / seconds / 1024:.0f} KiB/s to the teacher"},
        {"name": f"server CPU, {tag}", "value": round(result["cpu"]), "unit": "%", "note": f"of 200% (2 cores); RSS {result['rss']:.0f} MB"},
        {"name": f"students failed, {tag}", "value": len(failed), "unit": "students",
         "note": failed[0] if failed else "none: every student joined, trained and got frames"},
    ]


def main() -> None:
    from bench.common import WHERE, print_table

    n = int(sys.argv[1]) if len(sys.argv) > 1 else 50
    print_table(f"room: a teacher's wall over {n} students training (server on {WHERE})", rows(n))


if __name__ == "__main__":
    main()
