"""Soak test on loopback: clients connect (sometimes resuming), reconfigure, play, pause and
disconnect (sometimes abruptly) for a while, against a real server in a child process,
whose memory (RSS) and session count are sampled. Prints a table.

    PYTHONPATH=backend python -m bench.soak --seconds 180 --clients 6

Bounded: loopback only, a fixed duration, a fixed number of clients."""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import websockets

from bench.common import rss_mb, run_in_thread, running_server

ROOT = Path(__file__).resolve().parents[1]

# Plausible things a user does to the MLP playground (other labs are visited by name).
PATCHES = [
    {"learning_rate": 0.1},
    {"learning_rate": 0.003},
    {"dataset": "xor"},
    {"dataset": "spiral", "hidden": [8, 8, 8]},
    {"dataset": "circle", "hidden": [4, 2]},
    {"activation": "relu"},
    {"activation": "tanh"},
    {"optimizer": "adam"},
    {"optimizer": "sgd"},
    {"batch_size": 1},
    {"batch_size": 30},
    {"features": ["x1", "x2", "x1x2"]},
    {"noise": 20},
    {"hidden": [8, 8, 8, 8, 8, 8]},
    {"hidden": [9]},  # invalid on purpose: the error path
]


@dataclass
class Tally:
    connects: int = 0
    resumed: int = 0
    frames: int = 0
    errors: int = 0
    aborts: int = 0


@dataclass
class Sample:
    t: float
    rss_mb: float
    sessions: int
    connected: int
    connects: int
    frames: int


@dataclass
class Result:
    samples: list[Sample] = field(default_factory=list)
    tally: Tally = field(default_factory=Tally)
    settled_sessions: int = -1  # sessions left once clients are gone and the grace passed
    log: str = ""

    def growth_mb(self, warmup: float) -> float:
        """RSS at the end minus RSS at the first sample after ``warmup`` seconds."""
        after = [s for s in self.samples if s.t >= warmup]
        return after[-1].rss_mb - after[0].rss_mb if len(after) >= 2 else 0.0

    def extra_sessions(self, warmup: float) -> int:
        """Sessions held at the end beyond those held at the first sample after ``warmup``
        (each holds a live lab, so RSS may grow by a few MB for each)."""
        after = [s for s in self.samples if s.t >= warmup]
        return max(0, after[-1].sessions - after[0].sessions) if len(after) >= 2 else 0




async def client(url: str, labs: list[str], rng: random.Random, stop_at: float, tally: Tally) -> None:
    token = None
    while time.monotonic() < stop_at:
        query = f"?resume={token}" if token and rng.random() < 0.6 else ""
        try:
            async with websockets.connect(url + query, max_size=None) as ws:
                hello = json.loads(await ws.recv())
                token = hello["token"]
                tally.connects += 1
                tally.resumed += hello["resumed"]
                for _ in range(rng.randint(1, 4)):
                    patch = {"lab": rng.choice(labs)} if rng.random() < 0.1 else rng.choice(PATCHES)
                    await ws.send(json.dumps({"type": "configure", "config": patch}))
                    await ws.send(json.dumps({"type": "control", "action": rng.choice(["play", "play", "step", "reset"])}))
                    until = time.monotonic() + rng.uniform(0.2, 1.5)
                    while (left := until - time.monotonic()) > 0:
                        try:
                            message = json.loads(await asyncio.wait_for(ws.recv(), left))
                        except TimeoutError:
                            break
                        tally.frames += message["type"] == "frame"
                        tally.errors += message["type"] == "error"
                    await ws.send(json.dumps({"type": "control", "action": "pause"}))
                if rng.random() < 0.3:  # a dropped connection, not a polite close
                    tally.aborts += 1
                    ws.transport.abort()
        except (websockets.ConnectionClosed, OSError):
            pass
        await asyncio.sleep(rng.uniform(0.0, 0.5))

WARM_PATCHES = [{"dataset": "spiral", "hidden": [8, 8, 8, 8, 8, 8]}, {"optimizer": "adam"}, {"batch_size": 1}]


async def warm_up(url: str, labs: list[str], copies: int = 4) -> None:
    """Train each lab before sampling, so the first-time costs (a lab's modules and buffers,
    torch's kernels for it) land before the first sample, not inside the soak: ``copies``
    sessions of it at once, so every worker process (sessions go to the least busy) and
    the batched path (same-shaped sessions train together) get theirs."""

    async def train(lab: str, patch: dict[str, Any] | None = None) -> None:
        async with websockets.connect(url, max_size=None) as ws:
            await ws.recv()  # hello
            await ws.send(json.dumps({"type": "configure", "config": {"lab": lab, **(patch or {})}}))
            await ws.send(json.dumps({"type": "control", "action": "play"}))
            until = time.monotonic() + 1.5
            while (left := until - time.monotonic()) > 0:
                try:
                    await asyncio.wait_for(ws.recv(), left)
                except TimeoutError:
                    break

    for lab in labs:
        await asyncio.gather(*(train(lab) for _ in range(copies)))
    # the playground's costlier patches too (the big network's grid pass and frames, Adam's
    # numpy update): in a loaded run their first use ~10 s in once grew RSS by 9 MB at a step
    for patch in WARM_PATCHES:
        await asyncio.gather(*(train("mlp", patch) for _ in range(copies)))


async def drive(url: str, pid: int, seconds: float, clients: int, seed: int, every: float, result: Result) -> None:
    http = url.replace("ws://", "http://").removesuffix("/ws")
    labs = httpx.get(f"{http}/healthz").raise_for_status() and list(httpx.get(f"{http}/api/schema").json()["labs"])
    await warm_up(url, labs)
    started = time.monotonic()
    stop_at = started + seconds
    tasks = [asyncio.create_task(client(url, labs, random.Random(seed + i), stop_at, result.tally)) for i in range(clients)]
    async with httpx.AsyncClient() as h:
        while time.monotonic() < stop_at:
            health = (await h.get(f"{http}/healthz")).json()
            t = result.tally
            result.samples.append(Sample(time.monotonic() - started, rss_mb(pid), health["sessions"], health["connected"], t.connects, t.frames))
            await asyncio.sleep(every)
        await asyncio.gather(*tasks)
        # every client has left: after the grace period (plus the janitor's second) none remain
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            result.settled_sessions = (await h.get(f"{http}/healthz")).json()["sessions"]
            if result.settled_sessions == 0:
                break
            await asyncio.sleep(0.5)


def soak(seconds: float = 30, clients: int = 4, seed: int = 0, every: float = 2.0, grace: float = 2.0) -> Result:
    """Run a server on a free loopback port, soak it, stop it; the samples and tallies."""
    env = {
        "DESCENT_RESUME_GRACE_SECONDS": str(grace),
        "DESCENT_MAX_SESSIONS_PER_CLIENT": str(4 * clients),  # every client is 127.0.0.1
    }
    result = Result()
    with running_server(env, "soak-server") as (url, server, log_path):
        run_in_thread(drive(url.replace("http", "ws") + "/ws", server.pid, seconds, clients, seed, every, result))
    result.log = log_path.read_text()
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=180)
    ap.add_argument("--clients", type=int, default=6)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--every", type=float, default=10.0, help="seconds between samples")
    args = ap.parse_args()
    r = soak(args.seconds, args.clients, args.seed, args.every)
    print(f"soak: {args.clients} clients, {args.seconds:g} s on loopback (server RSS sampled every {args.every:g} s)\n")
    print(f"{'t (s)':>7} {'RSS (MB)':>9} {'sessions':>9} {'connected':>10} {'connects':>9} {'frames':>8}")
    for s in r.samples:
        print(f"{s.t:7.0f} {s.rss_mb:9.1f} {s.sessions:9d} {s.connected:10d} {s.connects:9d} {s.frames:8d}")
    t = r.tally
    warm = min(30.0, args.seconds / 4)
    print(
        f"\nconnects {t.connects} (resumed {t.resumed}, dropped abruptly {t.aborts}), frames {t.frames}, errors {t.errors}"
        f"\nRSS growth after {warm:g} s of warm-up: {r.growth_mb(warm):+.1f} MB; sessions left after the clients went: {r.settled_sessions}"
        f"\nserver tracebacks: {r.log.count('Traceback')}"
    )


if __name__ == "__main__":
    main()
