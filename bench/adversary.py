"""The trust issue's attacks, replayed: what one user can do to the others' training.

Two bystanders train the default playground (playing, acking every frame, as the page
does) while one attack runs; the table gives the bystanders' epochs/s and frames/s during
it (median of the two; the slower in the note) beside the same with no attack, and what the
attack itself got. Loopback only, every attack bounded in count and time; the whole run
takes about three minutes.

    PYTHONPATH=backend:. python -m bench.adversary                  # this checkout
    PYTHONPATH=backend:. python -m bench.adversary --backend OTHER/backend   # another one (before/after)

Attacks (the issue's numbers):
 1. step controls that each train a whole epoch of a slow setup (batch 1 over 1,080 points,
    6x8 hidden, layer norm, a fork), from four sessions; and six sessions of the largest
    attention setup (0.8 M parameters, batch 256 x length 32)
 2. dragging the LR slider: 60 changes in 8 s late in a 20,000-step warmup_cosine schedule
 3. a flood of acks; 4. /api/schema fetched by 8 clients at once; 8. clients that never read
 5. worker memory after big sessions end; 6. sessions reclaimed while training (the
    watchdog must not kill the emptied workers); 7. a worker process SIGKILLed (do the
    bystanders keep their epochs?); 9. closed tabs (sessions left playing by clients that
    went away); 10. set_weight with a 401-digit integer (the attacker's own session)."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import signal
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import websockets

from bench.common import Row, print_table, process_tree, running_server

TITLE = "adversary: two bystanders' training while one user attacks (2 worker processes)"
WINDOW = 8.0  # seconds measured per attack
SERVER_ENV = {
    "DESCENT_MAX_SESSIONS_PER_CLIENT": "40",  # every client here is 127.0.0.1
    "DESCENT_IDLE_TIMEOUT_SECONDS": "6",  # attack 6: idle sessions reclaimed quickly ...
    "DESCENT_WORKER_STALL_SECONDS": "4",  # ... and a watchdog that would fire soon after
    "DESCENT_WORKER_PROCESSES": "2",
}
HEAD = re.compile(r'\{"type": ?"(\w+)".*?"state": ?"(\w+)".*?"epoch": ?(\d+)')
SLOW_STEP = {"dataset": "spiral", "train_ratio": 90, "batch_size": 1, "hidden": [8] * 6, "norm": "layer",
             "features": ["x1", "x2", "x1sq", "x2sq", "x1x2", "sinx1", "sinx2"]}
HUGE_ATTENTION = {"lab": "attention", "task": "text", "causal": True, "length": 32, "layers": 4, "heads": 8,
                  "d_model": 128, "ffn": 512, "batch_size": 256}
LONG_SCHEDULE = {"schedule": "warmup_cosine", "schedule_steps": 20000, "warmup_steps": 100}
# The bystanders connect from 127.0.0.1, each attack from a loopback address of its own
# (127.0.0.10, .11, ...): per-address limits and penalties treat it as the stranger it is.
attacker = {"address": "127.0.0.10"}


def connect(url: str, **options: Any) -> Any:
    """An attacker's websocket connection, from the attack's own address."""
    return websockets.connect(url, max_size=None, ping_interval=None, local_addr=(attacker["address"], 0), **options)


@dataclass
class Watch:
    """One bystander's frames during the measured window."""

    frames: int = 0
    first: tuple[float, int] | None = None
    last: tuple[float, int] | None = None
    lowest: int | None = None  # lowest epoch seen while measuring (a lost run shows as a drop)

    def rates(self) -> tuple[float, float]:
        if not (self.first and self.last) or self.last[0] <= self.first[0]:
            return 0.0, 0.0
        span = self.last[0] - self.first[0]
        return (self.last[1] - self.first[1]) / span, (self.frames - 1) / span


async def bystander(url: str, ready: asyncio.Event, window: list[float], out: Watch, stop: asyncio.Event) -> None:
    async with websockets.connect(url, max_size=None, ping_interval=None) as ws:
        await ws.recv()
        await ws.send(json.dumps({"type": "control", "action": "play"}))
        ready.set()
        while not stop.is_set():
            try:
                text = await asyncio.wait_for(ws.recv(), timeout=0.5)
            except TimeoutError:
                continue
            head = HEAD.match(text[:300]) if isinstance(text, str) else None
            if head is None:
                if '"status"' in text[:30] and '"paused"' in text:  # (brought back paused after a crash)
                    await ws.send(json.dumps({"type": "control", "action": "play"}))
                continue
            if head[1] != "frame":
                continue
            await ws.send('{"type":"ack"}')
            now, epoch = time.monotonic(), int(head[3])
            if window and window[0] <= now <= window[1]:
                out.frames += 1
                out.last = (now, epoch)
                out.first = out.first or out.last
                out.lowest = epoch if out.lowest is None else min(out.lowest, epoch)


async def session(url: str, config: dict[str, Any] | None = None) -> Any:
    """An attacker's connection, configured."""
    ws = await connect(url)
    await ws.recv()
    if config:
        await ws.send(json.dumps({"type": "configure", "config": config}))
    return ws


async def drain(ws: Any, seconds: float) -> list[dict[str, Any]]:
    """Read (and ack) what the server sends for ``seconds``; returns the non-frame messages."""
    seen: list[dict[str, Any]] = []
    end = time.monotonic() + seconds
    while (left := end - time.monotonic()) > 0:
        try:
            text = await asyncio.wait_for(ws.recv(), timeout=left)
        except (TimeoutError, websockets.ConnectionClosed):
            break
        if text.replace(" ", "").startswith('{"type":"frame"'):
            await ws.send('{"type":"ack"}')
        else:
            seen.append(json.loads(text))
    return seen


def first_error(messages: list[dict[str, Any]]) -> str:
    errors = [m["message"] for m in messages if m.get("type") == "error"]
    return errors[0][:100] if errors else "no error"


def rss_mb_one(pid: int) -> float:
    try:
        for line in open(f"/proc/{pid}/status"):
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


# ---- the attacks: each runs for about WINDOW seconds and returns a note ------------------


async def nothing(url: str, http: str, pid: int) -> str:
    await asyncio.sleep(WINDOW)
    return "baseline"


async def step_bomb(url: str, http: str, pid: int) -> str:
    socks = [await session(url, SLOW_STEP) for _ in range(4)]
    for ws in socks:
        await ws.send(json.dumps({"type": "command", "name": "fork", "args": {"patch": {"learning_rate": 0.01}}}))
    end = time.monotonic() + WINDOW
    while time.monotonic() < end:
        for ws in socks:
            await ws.send(json.dumps({"type": "control", "action": "step"}))
        await asyncio.gather(*(drain(ws, 0.5) for ws in socks))
    for ws in socks:
        await ws.close()
    return "4 sessions pressing 'step' (an epoch of 1,080 batch-1 steps with a fork)"


async def attention_bomb(url: str, http: str, pid: int, config: dict[str, Any] = HUGE_ATTENTION) -> str:
    socks = [await session(url, config) for _ in range(6)]
    for ws in socks:
        await ws.send(json.dumps({"type": "control", "action": "play"}))
    seen = await asyncio.gather(*(drain(ws, WINDOW) for ws in socks))
    for ws in socks:
        await ws.close()
    return f"6 sessions: {first_error(seen[0])}"


async def attention_allowed(url: str, http: str, pid: int) -> str:
    return await attention_bomb(url, http, pid, {**HUGE_ATTENTION, "batch_size": 4})


async def lr_drag(url: str, http: str, pid: int) -> str:
    ws = await session(url, LONG_SCHEDULE)
    await ws.send(json.dumps({"type": "control", "action": "play"}))
    await drain(ws, 2.0)  # some thousands of steps into the schedule
    await ws.send(json.dumps({"type": "control", "action": "pause"}))
    for i in range(60):  # 7.5 per second, within the message rate limit
        await ws.send(json.dumps({"type": "configure", "config": {"learning_rate": 0.01 + 0.001 * i}}))
        await drain(ws, WINDOW / 60)
    await ws.close()
    return "60 LR changes in 8 s, late in a 20,000-step warmup_cosine schedule"


async def ack_flood(url: str, http: str, pid: int) -> str:
    ws = await session(url)
    await ws.send(json.dumps({"type": "control", "action": "play"}))
    sent, end = 0, time.monotonic() + WINDOW
    try:
        while time.monotonic() < end:
            for _ in range(200):
                await ws.send('{"type":"ack"}')
            sent += 200
            await asyncio.sleep(0.02)
    except websockets.ConnectionClosed as e:
        return f"{sent} acks, then closed: {e.rcvd.code if e.rcvd else '?'} {e.rcvd.reason if e.rcvd else ''}"[:100]
    await ws.close()
    return f"{sent} acks in {WINDOW:g} s, connection kept"


async def schema_flood(url: str, http: str, pid: int) -> str:
    codes: dict[int, int] = {}
    end = time.monotonic() + WINDOW

    async def one(client: httpx.AsyncClient) -> None:
        while time.monotonic() < end:
            r = await client.get(f"{http}/api/schema")
            codes[r.status_code] = codes.get(r.status_code, 0) + 1

    async with httpx.AsyncClient(timeout=10, transport=httpx.AsyncHTTPTransport(local_address=attacker["address"])) as client:
        await asyncio.gather(*(one(client) for _ in range(8)))
    return "8 clients fetching /api/schema: " + ", ".join(f"{n} x {c}" for c, n in sorted(codes.items()))


async def nonreaders(url: str, http: str, pid: int) -> str:
    socks = []
    for _ in range(8):
        ws = await connect(url, max_queue=1)
        await ws.send(json.dumps({"type": "subscribe", "frame_rate": 60}))
        await ws.send(json.dumps({"type": "control", "action": "play"}))
        socks.append(ws)
    end = time.monotonic() + WINDOW
    while time.monotonic() < end:  # ack, never read
        for ws in socks:
            try:
                await ws.send('{"type":"ack"}')
            except websockets.ConnectionClosed:
                pass
        await asyncio.sleep(0.05)
    closed = sum(1 for ws in socks if ws.state.name != "OPEN")
    for ws in socks:
        ws.transport.abort()
    return f"8 clients acking but never reading: {closed} closed by the server"


async def memory(url: str, http: str, pid: int) -> str:
    def workers_rss() -> float:
        return sum(rss_mb_one(p) for p in process_tree(pid) if p != pid)

    before = workers_rss()
    await attention_bomb(url, http, pid, {**HUGE_ATTENTION, "batch_size": 4})
    await asyncio.sleep(WINDOW / 2)
    return f"workers' RSS {before:.0f} MB before 6 big attention sessions, {workers_rss():.0f} MB after they ended"


async def reclaimed(url: str, http: str, pid: int) -> str:
    """Sessions that play and then send nothing (not even acks) are reclaimed after the idle
    timeout (6 s here) while training; the emptied workers must live on (watchdog: 4 s)."""
    socks = [await session(url) for _ in range(4)]
    for ws in socks:
        await ws.send(json.dumps({"type": "control", "action": "play"}))
    end = time.monotonic() + WINDOW
    while time.monotonic() < end:
        for ws in socks:
            try:
                await asyncio.wait_for(ws.recv(), timeout=0.05)
            except (TimeoutError, websockets.ConnectionClosed):
                pass
    for ws in socks:
        ws.transport.abort()
    await asyncio.sleep(WINDOW)  # past the watchdog's 4 s
    return "4 sessions reclaimed while training, then 8 s more"


async def crash(url: str, http: str, pid: int) -> str:
    workers = [p for p in process_tree(pid) if p != pid]
    await asyncio.sleep(WINDOW / 4)
    os.kill(workers[0], signal.SIGKILL)
    await asyncio.sleep(WINDOW * 3 / 4)
    return "one worker process SIGKILLed"


async def closed_tabs(url: str, http: str, pid: int) -> str:
    socks = [await session(url) for _ in range(8)]
    for ws in socks:
        await ws.send(json.dumps({"type": "control", "action": "play"}))
    await asyncio.sleep(0.5)
    for ws in socks:
        ws.transport.abort()  # the tab closed without a goodbye
    await asyncio.sleep(WINDOW - 0.5)
    return "8 sessions playing, then their connections dropped"


async def set_weight_bomb(url: str, http: str, pid: int) -> str:
    ws = await session(url)
    await ws.send(json.dumps({"type": "control", "action": "play"}))
    await drain(ws, 1.0)
    await ws.send('{"type": "command", "name": "set_weight", "args": {"layer": 0, "kind": "weight", "to": 0, "from": 0, "value": '
                  + "9" * 401 + "}}")
    seen = await drain(ws, WINDOW - 1.0)
    await ws.close()
    failed = any("lab failed" in m.get("message", "") for m in seen)
    return f"the attacker's session {'failed' if failed else 'lived'}: {first_error(seen)}"[:100]


Attack = Callable[[str, str, int], Awaitable[str]]
ATTACKS: list[tuple[str, Attack]] = [
    ("none", nothing), ("1 step controls", step_bomb), ("1 huge attention", attention_bomb),
    ("1 largest allowed attention", attention_allowed), ("2 LR drag", lr_drag), ("3 ack flood", ack_flood),
    ("4 schema flood", schema_flood), ("8 non-readers", nonreaders), ("5 memory", memory),
    ("6 reclaim while training", reclaimed), ("7 worker killed", crash), ("9 closed tabs", closed_tabs),
    ("10 set_weight 401 digits", set_weight_bomb),
]


async def measure(url: str, http: str, pid: int, attack: Attack) -> tuple[list[Watch], str]:
    watches = [Watch(), Watch()]
    window: list[float] = []
    stop = asyncio.Event()
    readies = [asyncio.Event(), asyncio.Event()]
    tasks = [asyncio.create_task(bystander(url, r, window, w, stop)) for r, w in zip(readies, watches)]
    await asyncio.wait_for(asyncio.gather(*(r.wait() for r in readies)), timeout=60)
    await asyncio.sleep(1.0)
    window += [time.monotonic(), time.monotonic() + 3600]
    try:
        note = await asyncio.wait_for(attack(url, http, pid), timeout=WINDOW * 4)
    except Exception as e:  # an attack that breaks is a result too
        note = f"attack failed: {type(e).__name__}: {e}"[:100]
    window[1] = time.monotonic()
    stop.set()
    await asyncio.gather(*tasks, return_exceptions=True)
    return watches, note


def rows(backend: str | None = None, only: list[str] | None = None) -> list[Row]:
    out: list[Row] = []
    env = {**SERVER_ENV, "PYTHONPATH": backend} if backend else SERVER_ENV
    with running_server(env, "bench-adversary") as (http, server, log_path):
        url = http.replace("http", "ws") + "/ws"
        for index, (name, attack) in enumerate(ATTACKS):
            if only and not any(name.startswith(o) for o in only):
                continue
            attacker["address"] = f"127.0.0.{10 + index}"
            kills_before = log_path.read_text().count("made no round")
            watches, note = asyncio.run(measure(url, http, server.pid, attack))
            killed = log_path.read_text().count("made no round") - kills_before
            eps = [w.rates()[0] for w in watches]
            fps = [w.rates()[1] for w in watches]
            lost = sum(1 for w in watches if w.first and w.lowest is not None and w.lowest < w.first[1])
            extra = (f"; watchdog killed {killed} worker(s)" if killed else "") + (f"; {lost} bystander(s) lost epochs" if lost else "")
            out.append({"name": f"{name}: bystander epochs/s", "value": round(statistics.median(eps), 1), "unit": "epochs/s",
                        "note": f"slower {min(eps):.1f}; {note}{extra}"})
            out.append({"name": f"{name}: bystander frames/s", "value": round(statistics.median(fps), 1), "unit": "frames/s",
                        "note": f"slower {min(fps):.1f}"})
            print(f"{out[-2]['name']} {out[-2]['value']} | {out[-1]['value']} frames/s | {out[-2]['note']}", file=sys.stderr, flush=True)
            time.sleep(2.0)  # what the attack left is reclaimed
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--backend", help="serve another checkout's backend/ (a before/after run)")
    parser.add_argument("--only", nargs="*", help="attacks to run, by the start of their names (e.g. 1 2 3)")
    args = parser.parse_args()
    print_table(TITLE + (f" [{args.backend}]" if args.backend else ""), rows(args.backend, args.only))


if __name__ == "__main__":
    main()
