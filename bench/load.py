"""Load test on loopback: N simulated websocket clients train the playground (MLP lab) at
once against a real server in a child process, and the table says what each one gets.

    PYTHONPATH=backend python -m bench.load              # the whole table, about 4 minutes
    PYTHONPATH=backend python -m bench.load --quick      # 1 and 10 clients only
    PYTHONPATH=backend python -m bench.load --capacity 60  # how many clients get >= 60 epochs/s each
    make load
    PYTHONPATH=backend python -m bench.load --ray --clients 10 50  # through a simulated Ray cluster (bench/raycluster.py)

Not part of ``make bench`` (it takes minutes and loads both cores); ``make load`` runs it.

Each client behaves like the page: it plays, acks every frame, and every ~1.2 s changes the
learning rate with a ``configure`` message; the control latency is the time from sending
that message to the first frame whose ``lr`` shows the new value. Reported per scenario:
per-client epochs/s and frames/s (median over clients, and the slowest client), p50/p95
control latency (over all probes of all clients), the server's CPU% (both cores = 200%)
and its RSS from /proc, and how many clients failed (an error, a close or no frames).

Clients read only the head of each frame (type, state, epoch, lr), as a page on its own
machine would decode the rest elsewhere; the clients still share the 2 cores with the
server, so their own CPU% is in the notes. Bounded: loopback only, fixed counts and
durations; the server runs with per-address limits raised (every client is 127.0.0.1)."""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import re
import statistics
import time
from dataclasses import dataclass, field
from typing import Any

import websockets

from bench.common import WHERE, Row, cpu_seconds, rss_mb, running_server
from bench.mlp import BIG

TITLE = f"load: N websocket clients training at once (MLP lab, server on {WHERE})"
# a setup, or several that the clients take in turn ("mixed": a class whose students changed
# the preset five ways, so five cohorts of ten train side by side)
SETUPS: dict[str, dict[str, Any] | list[dict[str, Any]]] = {
    "default": {},
    "big": BIG,
    "adam": {"optimizer": "adam", "learning_rate": 0.01},
    "mixed": [{}, {"hidden": [6, 3]}, {"activation": "relu"}, {"optimizer": "adam", "learning_rate": 0.01},
              {"features": ["x1", "x2", "x1x2"], "optimizer": "momentum"}],
}
# (setup, clients, measured seconds): 50 is the default max_running_sessions (settings.py)
# and the class; 100 clients check that nothing fails past it; a class on Adam
# (optimizer state stacked with the weights) and a mixed class beside the one preset
SCENARIOS = [("default", 1, 5.0), ("default", 10, 6.0), ("default", 50, 8.0), ("default", 100, 6.0), ("big", 1, 5.0),
             ("big", 10, 6.0), ("big", 50, 8.0), ("adam", 50, 8.0), ("mixed", 50, 8.0)]
QUICK = [s for s in SCENARIOS if s[1] <= 10]
WARMUP = 5.0  # seconds of play before measuring (a class settles: the server regroups cohorts once reports are steady, runtime/regroup.py)
PROBE_EVERY = 1.2  # seconds between a client's learning-rate changes
LRS = (0.03, 0.01)
HEAD = re.compile(r'\{"type": ?"(\w+)".*?"state": ?"(\w+)".*?"epoch": ?(\d+), ?"lr": ?([-+.\deE]+)')
SERVER_ENV = {
    "DESCENT_MAX_SESSIONS": "1000",
    "DESCENT_MAX_SESSIONS_PER_CLIENT": "1000",  # every simulated client is 127.0.0.1
    "DESCENT_MAX_RUNNING_SESSIONS": "1000",  # measure past the admission limit too
    "DESCENT_RESUME_GRACE_SECONDS": "0",  # a finished scenario's sessions go at once
}


@dataclass
class Client:
    frames: int = 0
    first: tuple[float, int] | None = None  # (time, epoch) of the first frame measured
    last: tuple[float, int] | None = None
    latencies: list[float] = field(default_factory=list)
    failure: str | None = None
    sid: str = ""  # its session (the Ray run splits the table by node)

    def frame(self, got: float, state: str, epoch: int, start: float) -> None:
        """A frame received at ``got``: counted when the run plays and the window has begun."""
        if state != "running" or got < start:
            return
        self.frames += 1
        self.last = (got, epoch)
        if self.first is None:
            self.first = self.last

    def failed(self, error: Exception | None) -> None:
        """The client's end: an error, or too few frames to measure, is its result in the table."""
        if error is not None:
            self.failure = f"{type(error).__name__}: {error}"[:200]
        elif self.frames < 2:
            self.failure = "fewer than 2 frames"

    def rates(self) -> tuple[float, float]:
        """(epochs/s, frames/s) over the measured window."""
        if not (self.first and self.last) or self.last[0] <= self.first[0]:
            return 0.0, 0.0
        span = self.last[0] - self.first[0]
        return (self.last[1] - self.first[1]) / span, (self.frames - 1) / span


async def run_client(url: str, setup: dict[str, Any], index: int, gate: asyncio.Event, window: list[float],
                     out: Client) -> None:
    """One simulated page; ``window`` (start, stop of the measurement) is set when ``gate`` opens."""
    try:
        async with websockets.connect(url, max_size=None, open_timeout=30, ping_interval=None) as ws:
            hello = json.loads(await ws.recv())
            if hello.get("type") != "hello":
                raise RuntimeError(f"no hello: {hello}")
            out.sid = hello["session"]
            if setup:
                await ws.send(json.dumps({"type": "configure", "config": setup}))
            await gate.wait()  # everyone connected: play together
            start, stop = window
            await ws.send(json.dumps({"type": "control", "action": "play"}))
            lr = LRS[0]
            pending: tuple[float, float] | None = None  # (lr asked for, when)
            next_probe = start + PROBE_EVERY * (index % 7) / 7  # spread the clients' probes
            while True:
                now = time.monotonic()
                if now >= stop:
                    break
                if pending is None and now >= next_probe:
                    lr = LRS[1] if lr == LRS[0] else LRS[0]
                    pending = (lr, time.monotonic())
                    await ws.send(json.dumps({"type": "configure", "config": {"learning_rate": lr}}))
                    next_probe += PROBE_EVERY
                try:
                    text = await asyncio.wait_for(ws.recv(), timeout=max(0.01, stop - now))
                except TimeoutError:
                    break
                head = HEAD.match(text[:400]) if isinstance(text, str) else None
                if head is None:
                    if isinstance(text, str) and text.replace(" ", "").startswith('{"type":"error"'):
                        raise RuntimeError(json.loads(text)["message"])
                    continue
                if head[1] != "frame":
                    continue
                await ws.send('{"type":"ack"}')
                got = time.monotonic()
                if pending and math.isclose(float(head[4]), pending[0], rel_tol=1e-6):
                    if pending[1] >= start:
                        out.latencies.append(got - pending[1])
                    pending = None
                out.frame(got, head[2], int(head[3]), start)
    except Exception as e:  # a failure is a result, counted in the table
        out.failed(e)
        return
    out.failed(None)






async def wait_connected(url: str, n: int, limit: float = 60.0) -> None:
    import httpx

    deadline = time.monotonic() + limit
    async with httpx.AsyncClient() as http:
        while time.monotonic() < deadline:
            if (await http.get(f"{url}/healthz")).json()["connected"] >= n:
                return
            await asyncio.sleep(0.1)
    raise RuntimeError(f"{n} clients did not all connect within {limit:g} s")


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def scenario_rows(setup: str, n: int, seconds: float, result: dict[str, Any]) -> list[Row]:
    clients: list[Client] = result["clients"]
    ok = [c for c in clients if c.failure is None]
    failed = [c.failure for c in clients if c.failure is not None]
    eps = [c.rates()[0] for c in ok] or [0.0]
    fps = [c.rates()[1] for c in ok] or [0.0]
    lat = [x for c in ok for x in c.latencies]
    tag = f"{setup}, {n} client{'s' if n > 1 else ''}"
    rows: list[Row] = [
        {"name": f"epochs/s per client, {tag}", "value": round(statistics.median(eps), 1), "unit": "epochs/s",
         "note": f"median; slowest client {min(eps):.1f}; {seconds:g} s measured"},
        {"name": f"frames/s per client, {tag}", "value": round(statistics.median(fps), 1), "unit": "frames/s",
         "note": f"median; slowest client {min(fps):.1f}; asked for 30/s, acking each frame"},
        {"name": f"control latency p50, {tag}", "value": round(pct(lat, 0.5) * 1e3) if lat else "n/a", "unit": "ms",
         "note": f"configure learning_rate -> first frame showing it; p95 {pct(lat, 0.95) * 1e3:.0f} ms; {len(lat)} probes"},
        {"name": f"server CPU, {tag}", "value": round(result["cpu"]), "unit": "%",
         "note": f"of 200% (2 cores); RSS {result['rss']:.0f} MB; the clients' process used {result['me']:.0f}%"},
        {"name": f"event loop CPU per frame, {tag}", "value": round(result["loop_per_frame"] * 1e6), "unit": "µs",
         "note": "the server process alone (relay, deflate, websocket; not the workers), per frame the clients got"},
        {"name": f"clients failed, {tag}", "value": len(failed), "unit": "clients",
         "note": (failed[0] if failed else "none: every client connected, trained and got frames")},
    ]
    return rows


def rows(scenarios: list[tuple[str, int, float]] | None = None, backend: str | None = None, one_core: bool = False) -> list[Row]:
    """The table; ``backend``: serve from another checkout's backend/ (before/after runs);
    ``one_core``: the server and its workers pinned to one core (the clients to the other),
    as on a machine where something else takes a core."""
    out: list[Row] = []
    env = {**SERVER_ENV, "PYTHONPATH": backend} if backend else SERVER_ENV
    with running_server(env, "bench-load", cpus="0" if one_core else None) as (url, server, _):
        if one_core:  # (the server and every thread and process of it on core 0: taskset; the clients on core 1)
            os.sched_setaffinity(0, {1})
        ws_url = url.replace("http", "ws") + "/ws"
        for setup, n, seconds in scenarios or SCENARIOS:
            result = asyncio.run(scenario(ws_url, url, server.pid, setup, n, seconds))
            out += scenario_rows(setup, n, seconds, result)
            time.sleep(1.5)  # the janitor reclaims the finished scenario's sessions
    return out


async def scenario(ws_url: str, url: str, pid: int, setup: str, n: int, seconds: float) -> dict[str, Any]:
    gate = asyncio.Event()
    clients = [Client() for _ in range(n)]
    window: list[float] = [math.inf, math.inf]
    tasks = []
    for i, c in enumerate(clients):
        chosen = SETUPS[setup]
        tasks.append(asyncio.create_task(run_client(ws_url, chosen[i % len(chosen)] if isinstance(chosen, list) else chosen,
                                                    i, gate, window, c)))
        if i % 10 == 9:
            await asyncio.sleep(0.05)  # connect in small waves, as a class arrives
    await wait_connected(url, n)
    start = time.monotonic() + WARMUP
    window[:] = [start, start + seconds]
    gate.set()
    await asyncio.sleep(max(0.0, start - time.monotonic()))
    cpu0, loop0, me0, t0 = cpu_seconds(pid), own_cpu_seconds(pid), sum(os.times()[:2]), time.monotonic()
    frames0 = sum(c.frames for c in clients)
    await asyncio.sleep(seconds)
    cpu1, loop1, me1, t1 = cpu_seconds(pid), own_cpu_seconds(pid), sum(os.times()[:2]), time.monotonic()
    frames = sum(c.frames for c in clients) - frames0
    rss = rss_mb(pid)
    await asyncio.gather(*tasks)
    return {"clients": clients, "cpu": 100 * (cpu1 - cpu0) / (t1 - t0), "me": 100 * (me1 - me0) / (t1 - t0), "rss": rss,
            "loop_per_frame": (loop1 - loop0) / max(1, frames)}


def own_cpu_seconds(pid: int) -> float:
    """User + system CPU time of the server's own process (the event loop: the transport,
    not the worker processes), from /proc."""
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def capacity(target: float, backend: str | None = None, most: int = 400, seconds: float = 5.0) -> list[Row]:
    """How many default-setup clients the server serves with every one (the slowest) at
    ``target`` epochs/s or more: class sizes doubled from 8 until one falls short, then
    halved intervals down to a tenth of the size (bounded: ``most`` clients at most)."""
    env = {**SERVER_ENV, "PYTHONPATH": backend} if backend else SERVER_ENV
    probes: list[tuple[int, float, float]] = []  # (clients, slowest epochs/s, median frames/s)

    def serves(n: int) -> bool:
        result = asyncio.run(scenario(ws_url, url, server.pid, "default", n, seconds))
        ok = [c.rates() for c in result["clients"] if c.failure is None]
        slowest = min((e for e, _ in ok), default=0.0) if len(ok) == n else 0.0
        probes.append((n, slowest, statistics.median([f for _, f in ok]) if ok else 0.0))
        time.sleep(1.5)  # the janitor reclaims the probe's sessions
        return slowest >= target

    with running_server(env, "bench-capacity") as (url, server, _):
        ws_url = url.replace("http", "ws") + "/ws"
        good, bad = 0, None
        n = 8
        while bad is None and n <= most:
            if serves(n):
                good, n = n, n * 2
            else:
                bad = n
        while bad is not None and bad - good > max(1, bad // 10):
            middle = (good + bad) // 2
            if serves(middle):
                good = middle
            else:
                bad = middle
    tried = ", ".join(f"{n}: {e:.0f}" for n, e, _ in probes)
    return [{"name": f"clients served at >= {target:g} epochs/s each, default", "value": good, "unit": "clients",
             "note": f"the slowest client's epochs/s per class size tried: {tried}" + ("" if bad else f" (stopped at {most})")}]


def ray_rows(scenarios: list[tuple[str, int, float]] | None) -> list[Row]:
    from bench import raycluster

    return raycluster.rows(scenarios or SCENARIOS, SERVER_ENV)


def main() -> None:
    from bench.common import print_table

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="1 and 10 clients only")
    parser.add_argument("--clients", type=int, nargs="*", help="only these client counts (of the --setup)")
    parser.add_argument("--setup", default="default", choices=list(SETUPS), help="with --clients: which setup")
    parser.add_argument("--backend", help="run the server from this backend/ directory (another checkout, for before/after)")
    parser.add_argument("--ray", action="store_true",
                        help="through a Ray cluster simulated here (a head and 2 worker nodes, bench/raycluster.py), plus the per-node split")
    parser.add_argument("--capacity", type=float, metavar="EPOCHS",
                        help="instead: the most default-setup clients served with each at >= EPOCHS epochs/s (e.g. 60 on a GPU)")
    parser.add_argument("--room", type=int, metavar="STUDENTS", help="instead: a class in a room, 1 teacher + STUDENTS (bench/room.py)")
    parser.add_argument("--one-core", action="store_true", help="the server on one core only (taskset), the clients on the other")
    args = parser.parse_args()
    if args.room:
        from bench.room import rows as room_rows

        print_table(f"room: a teacher's wall over {args.room} students training (server on {WHERE})", room_rows(args.room))
        return
    if args.capacity:
        print_table(TITLE, capacity(args.capacity, args.backend))
        return
    scenarios = QUICK if args.quick else None
    if args.clients:
        scenarios = [(args.setup, n, 6.0) for n in args.clients]
    if args.ray:
        print_table(TITLE.replace("server on", "a simulated Ray cluster, 2 worker nodes, on"), ray_rows(scenarios))
        return
    title = TITLE + (f" [server: {args.backend}]" if args.backend else "") + (" [server on one core]" if args.one_core else "")
    print_table(title, rows(scenarios, args.backend, args.one_core))


if __name__ == "__main__":
    main()
