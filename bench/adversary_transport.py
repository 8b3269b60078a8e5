"""Adversaries of the transport (issue 13, points 3, 4 and 8) against a real server on
loopback, while two bystanders train the default playground like the page does (play, ack
every frame). The table gives the bystanders' epochs/s and frames/s (each the mean of the
two, median over windows), /healthz's latency, the server's CPU (its process tree) and the
server process's memory at the end, with no attack and during each one.

    PYTHONPATH=backend:. python -m bench.adversary_transport   # about 1.5 minutes

- ``acks``: one connection sends acks as fast as it can (reconnecting, with its resume
  token, whenever it is closed).
- ``schema``: eight concurrent HTTP clients request /api/schema in a loop.
- ``non-readers``: eight raw websocket clients play at 60 frames/s and send acks, but
  never read (a raw socket with a 4 KiB receive buffer).

Each attacker connects from its own loopback address (127.0.0.2-4), the bystanders from
127.0.0.1, so the server's per-address limits apply as they would to strangers.

Bounded: loopback only, fixed counts and durations; every attack stops by itself after its
``seconds``. The attack functions and ``Bystanders`` are importable for other scripts."""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import socket
import statistics
import struct
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

import httpx
import websockets

from bench.common import WHERE, cpu_seconds, running_server

WARMUP = 2.0  # seconds of attack before measuring
WINDOW = 2.0  # seconds per measured window
WINDOWS = 4
ENV = {"DESCENT_RESUME_GRACE_SECONDS": "2"}  # an attack's leftover sessions go before the next
# Each attacker connects from an address of its own (all of 127/8 is loopback on Linux), so
# the per-address limits treat it as the stranger it is, and the bystanders (127.0.0.1) as others.
ADDRESSES = {"acks": "127.0.0.2", "schema": "127.0.0.3", "non-readers": "127.0.0.4"}


def ws_url(url: str) -> str:
    return url.replace("http", "ws", 1) + "/ws"


# ---- the bystanders ---------------------------------------------------------------------


class Bystanders:
    """``n`` well-behaved clients on a thread of their own: play the default setup, read
    every message, ack every frame. ``totals()``: (epochs, frames) summed so far;
    ``errors``: the error messages they were sent, and how a client failed (``failure``)."""

    def __init__(self, url: str, n: int = 2) -> None:
        self.url, self.n = ws_url(url), n
        self.epochs = [0] * n
        self.frames = [0] * n
        self.errors: list[str] = []
        self.failure: BaseException | None = None  # (the first client's that failed)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=lambda: asyncio.run(self._main()), name="bystanders", daemon=True)
        self.thread.start()

    async def _main(self) -> None:
        await asyncio.gather(*(self._client(i) for i in range(self.n)))

    async def _client(self, i: int) -> None:
        try:
            async with websockets.connect(self.url, max_size=None) as ws:
                await ws.send(json.dumps({"type": "control", "action": "play"}))
                while not self.stop.is_set():
                    try:
                        message = json.loads(await asyncio.wait_for(ws.recv(), 1.0))
                    except TimeoutError:
                        continue
                    if message["type"] == "frame":
                        self.frames[i] += 1
                        self.epochs[i] = message["epoch"]
                        await ws.send('{"type":"ack"}')
                    elif message["type"] == "error":
                        self.errors.append(message["message"])
        except Exception as e:  # (reported in the table's note, and by the tests)
            self.failure = self.failure or e
            self.errors.append(f"bystander {i}: {e!r}")

    def totals(self) -> tuple[int, int]:
        return sum(self.epochs), sum(self.frames)

    def gets_frames(self, n: int, limit: float = 60.0) -> bool:
        """Wait until each bystander has drawn ``n`` frames more (or one failed); whether they did."""
        start, deadline = list(self.frames), time.monotonic() + limit

        def done() -> bool:
            return all(f >= s + n for f, s in zip(self.frames, start))

        while not done() and self.failure is None and time.monotonic() < deadline:
            time.sleep(0.1)
        return done()

    def close(self) -> None:
        self.stop.set()
        self.thread.join(5)


@contextmanager
def bystanders(url: str, n: int = 2) -> Iterator[Bystanders]:
    b = Bystanders(url, n)
    try:
        b.gets_frames(5)
        yield b
    finally:
        b.close()


def healthz_seconds(url: str) -> float:
    started = time.perf_counter()
    try:
        httpx.get(f"{url}/healthz", timeout=30)
    except httpx.HTTPError:
        return float("nan")
    return time.perf_counter() - started


def measure(url: str, b: Bystanders, pid: int | None = None, windows: int = WINDOWS, window: float = WINDOW) -> dict[str, float]:
    """Per window: the bystanders' epochs/s and frames/s (mean per bystander) and one
    /healthz latency; medians over the windows. With the server's ``pid``, also its CPU%
    (its process tree, 100 = one core) over all the windows."""
    epochs, frames, health = [], [], []
    cpu0, started = (cpu_seconds(pid) if pid else 0.0), time.monotonic()
    for _ in range(windows):
        e0, f0 = b.totals()
        t0 = time.monotonic()
        health.append(healthz_seconds(url))
        time.sleep(max(0.0, window - (time.monotonic() - t0)))
        e1, f1 = b.totals()
        dt = time.monotonic() - t0
        epochs.append((e1 - e0) / dt / b.n)
        frames.append((f1 - f0) / dt / b.n)
    cpu = 100 * (cpu_seconds(pid) - cpu0) / (time.monotonic() - started) if pid else float("nan")
    return {"epochs_s": statistics.median(epochs), "frames_s": statistics.median(frames), "healthz_s": statistics.median(health),
            "server_cpu": cpu, "server_mb": server_rss_mb(pid) if pid else float("nan")}


def server_rss_mb(pid: int) -> float:
    """Resident memory of the server process alone (where the transport keeps what it
    queues for clients; the worker processes are not counted)."""
    with open(f"/proc/{pid}/status") as f:
        return next((int(line.split()[1]) / 1024 for line in f if line.startswith("VmRSS:")), float("nan"))


# ---- the attacks (each runs ``seconds`` and returns what it did) -------------------------


def attack_acks(url: str, seconds: float, address: str = ADDRESSES["acks"]) -> dict[str, Any]:
    """One connection sending acks as fast as it can; resumes its session when closed."""
    sent, closes = 0, 0
    deadline = time.monotonic() + seconds

    async def main() -> None:
        nonlocal sent, closes
        token = ""
        while time.monotonic() < deadline:
            try:
                async with websockets.connect(ws_url(url) + (f"?resume={token}" if token else ""), max_size=None,
                                              local_addr=(address, 0)) as ws:
                    token = json.loads(await ws.recv()).get("token") or token

                    async def drain() -> None:  # (read and drop, so the client library keeps reading)
                        async for _ in ws:
                            pass

                    reader = asyncio.create_task(drain())
                    closes += 1  # (counted back below if it outlives the attack)
                    try:
                        while time.monotonic() < deadline and not reader.done():  # (done: the server closed it)
                            for _ in range(100):
                                await ws.send('{"type":"ack"}')
                            sent += 100
                            await asyncio.sleep(0)  # (sends rarely wait: let the reader see a close)
                    finally:
                        reader.cancel()
                    if time.monotonic() >= deadline:
                        closes -= 1
            except (websockets.ConnectionClosed, OSError):
                pass

    asyncio.run(main())
    return {"sent": sent, "note": f"{sent / seconds:.0f} acks/s sent, closed {closes}x"}


def attack_schema(url: str, seconds: float, clients: int = 8, address: str = ADDRESSES["schema"]) -> dict[str, Any]:
    """``clients`` concurrent HTTP clients requesting /api/schema in a loop."""
    codes: dict[int, int] = {}
    deadline = time.monotonic() + seconds

    async def one(http: httpx.AsyncClient) -> None:
        while time.monotonic() < deadline:
            try:
                code = (await http.get(f"{url}/api/schema")).status_code
            except httpx.HTTPError:
                code = 0
            codes[code] = codes.get(code, 0) + 1

    async def main() -> None:
        async with httpx.AsyncClient(timeout=30, transport=httpx.AsyncHTTPTransport(local_address=address)) as http:
            await asyncio.gather(*(one(http) for _ in range(clients)))

    asyncio.run(main())
    note = ", ".join(f"{n / seconds:.0f}/s {code}" for code, n in sorted(codes.items()))
    return {"codes": codes, "note": f"{clients} clients: {note}"}


class Silent:
    """A websocket client that never reads after the handshake: a raw socket with a small
    receive buffer, which speaks just enough websocket to send (masked text frames)."""

    def __init__(self, url: str, rcvbuf: int = 4096, timeout: float = 15.0, address: str = "127.0.0.1") -> None:
        parts = urlsplit(url)
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.bind((address, 0))
        self.sock.settimeout(timeout)
        self.sock.connect((parts.hostname, parts.port))
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall(
            f"GET /ws HTTP/1.1\r\nHost: {parts.netloc}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
        )
        head = b""
        while not head.endswith(b"\r\n\r\n"):  # a byte at a time: nothing past the response is read
            chunk = self.sock.recv(1)
            if not chunk:
                raise ConnectionError("closed during the handshake")
            head += chunk
        if b" 101 " not in head.split(b"\r\n")[0]:
            raise ConnectionError(head.decode(errors="replace"))
        self.up = True  # no send has failed

    def send(self, message: dict[str, Any]) -> bool:
        """One masked text frame; False (and ``up`` False) once the server has dropped us."""
        payload = json.dumps(message).encode()
        mask = os.urandom(4)
        n = len(payload)
        head = bytes([0x81]) + (bytes([0x80 | n]) if n < 126 else bytes([0x80 | 126]) + struct.pack("!H", n))
        try:
            self.sock.sendall(head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))
        except OSError:
            self.up = False
        return self.up

    def established(self) -> bool:
        """Is the TCP connection still up? (asks the kernel; reads nothing)"""
        try:
            return self.sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 8)[0] == 1  # TCP_ESTABLISHED
        except OSError:
            return False

    def close(self) -> None:
        """Drop it with a reset (what is unread is discarded)."""
        try:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
        self.sock.close()


def attack_nonreaders(url: str, seconds: float, clients: int = 8, acks_per_second: float = 100,
                      address: str = ADDRESSES["non-readers"]) -> dict[str, Any]:
    """``clients`` raw clients that play at 60 frames/s and ack, but never read."""
    deadline = time.monotonic() + seconds
    silent = []
    for _ in range(clients):
        try:
            silent.append(Silent(url, address=address))
        except OSError:
            pass
    for s in silent:
        s.send({"type": "subscribe", "frame_rate": 60})
        s.send({"type": "control", "action": "play"})
    try:
        while time.monotonic() < deadline:
            for s in silent:
                if s.up and s.established():
                    s.send({"type": "ack"})
            time.sleep(1 / acks_per_second)
        cut = sum(1 for s in silent if not s.established())
    finally:
        for s in silent:
            s.close()
    return {"cut_off": cut, "note": f"{len(silent)} connected, {cut} cut off by the server within {seconds:g} s"}


ATTACKS: dict[str, Callable[[str, float], dict[str, Any]]] = {
    "acks": attack_acks,
    "schema": attack_schema,
    "non-readers": attack_nonreaders,
}


def under_attack(url: str, b: Bystanders, attack: Callable[[str, float], dict[str, Any]] | None, pid: int | None = None) -> dict[str, Any]:
    """Measure the bystanders while ``attack`` runs on a thread of its own (None: no attack)."""
    if attack is None:
        return {**measure(url, b, pid), "note": "baseline"}
    result: dict[str, Any] = {}
    seconds = WARMUP + WINDOWS * WINDOW + 1.0
    thread = threading.Thread(target=lambda: result.update(attack(url, seconds)), name="attack", daemon=True)
    thread.start()
    time.sleep(WARMUP)
    measured = measure(url, b, pid)
    thread.join(seconds + 60)
    return {**measured, "note": result.get("note", "(attack did not finish)")}


def run(attacks: list[str], env: dict[str, str] | None = None) -> list[dict[str, Any]]:
    rows = []
    with running_server({**ENV, **(env or {})}, "adversary-transport") as (url, server, _), bystanders(url) as b:
        for name in ["none", *attacks]:
            rows.append({"attack": name, **under_attack(url, b, ATTACKS.get(name), server.pid)})
            time.sleep(3.0)  # (the attack's sessions and connections are let go)
        if b.errors:
            rows[-1]["note"] += f"; bystander errors: {b.errors[:3]}"
    return rows


def print_rows(rows: list[dict[str, Any]], title: str) -> None:
    print(f"\n## {title}\n")
    print("| attack | bystander epochs/s | bystander frames/s | /healthz ms | server CPU % | server MB | attack |")
    print("|---|---:|---:|---:|---:|---:|---|")
    for r in rows:
        print(f"| {r['attack']} | {r['epochs_s']:.1f} | {r['frames_s']:.1f} | {1000 * r['healthz_s']:.0f} | {r['server_cpu']:.0f} "
              f"| {r['server_mb']:.0f} | {r['note']} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("attacks", nargs="*", metavar="attack", help=f"some of {', '.join(ATTACKS)} (default: all)")
    args = parser.parse_args()
    unknown = set(args.attacks) - set(ATTACKS)
    if unknown:
        parser.error(f"unknown attack(s) {sorted(unknown)}: choose from {', '.join(ATTACKS)}")
    print_rows(run(args.attacks or list(ATTACKS)), f"transport adversaries: 2 bystanders on the default playground (server on {WHERE})")


if __name__ == "__main__":
    main()
