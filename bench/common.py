"""Pieces every benchmark uses: timing medians, a loopback server in a child process, and
the printed table (one row: name, value, unit, note)."""

from __future__ import annotations

import asyncio
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import torch

from descent.runtime.device import choose_device, device_name

ROOT = Path(__file__).resolve().parents[1]
Row = dict[str, Any]
# Where the labs train: the server's own rule (CUDA when there is one), or DESCENT_DEVICE.
DEVICE_SETTING = os.environ.get("DESCENT_DEVICE", "auto")
DEVICE = choose_device(DEVICE_SETTING)
WHERE = f"{device_name(DEVICE)}, 1 CPU thread"


def sync() -> None:
    if DEVICE.type == "cuda":
        torch.cuda.synchronize(DEVICE)


def median_time(fn: Callable[[], Any], repeats: int = 5) -> float:
    """Median wall time of ``fn`` over ``repeats`` calls, in seconds."""
    times = []
    for _ in range(repeats):
        sync()
        started = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def running_server(env: dict[str, str], log_name: str, cpus: str | None = None,
                   frontend: Path | None = None) -> Iterator[tuple[str, subprocess.Popen[bytes], Path]]:
    """``python -m descent`` on a free loopback port; yields (base URL, process, log path).
    cpus pins the server and its worker processes (``taskset -c``, e.g. "1"); frontend serves
    another checkout's page (bench/frontend_server.py) from this checkout's server."""
    port = free_port()
    full_env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "backend"), str(ROOT), os.environ.get("PYTHONPATH", "")]),
                "HOST": "127.0.0.1", "PORT": str(port), "DESCENT_DEVICE": DEVICE_SETTING, **env}
    command = [sys.executable, "-m", "descent"] if frontend is None else [sys.executable, "-m", "bench.frontend_server", str(frontend)]
    if cpus is not None:
        command = ["taskset", "-c", cpus, *command]
    log_path = ROOT / "artifacts" / f"{log_name}-{port}.log"
    log_path.parent.mkdir(exist_ok=True)
    with open(log_path, "w") as log:
        server = subprocess.Popen(command, env=full_env, stdout=log, stderr=subprocess.STDOUT)
        try:
            url = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 240  # a safety net: worker processes import torch; a loaded machine takes long
            while True:
                try:
                    if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError(f"server did not start; see {log_path}")
                time.sleep(0.2)
            yield url, server, log_path
        finally:
            server.terminate()
            try:
                server.wait(timeout=60)  # (a loaded machine stops a server and its worker processes slowly)
            except subprocess.TimeoutExpired:  # hung: a fault, but leave no process behind
                server.kill()
                server.wait()
                raise


def process_tree(pid: int) -> list[int]:
    """``pid`` and every process below it (the server and its worker processes), from /proc."""
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        found.append(p)
        try:
            for task in os.listdir(f"/proc/{p}/task"):  # (a child belongs to the thread that made it)
                todo.extend(int(c) for c in Path(f"/proc/{p}/task/{task}/children").read_text().split())
        except OSError:  # it ended meanwhile
            pass
    return found


def _read(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError:
        return ""


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of the server's process tree, from /proc."""
    total = 0
    for p in process_tree(pid):
        stat = _read(f"/proc/{p}/stat")
        if stat:
            fields = stat.rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float:
    """Resident memory of the server's process tree, in MB (shared pages counted in each)."""
    kb = 0
    for p in process_tree(pid):
        for line in _read(f"/proc/{p}/status").splitlines():
            if line.startswith("VmRSS:"):
                kb += int(line.split()[1])
    return kb / 1024


def run_in_thread(coroutine: Any) -> None:
    """asyncio.run on a thread of its own: the caller's thread may already run a loop
    (Playwright's sync API does, in a test session that used the browser)."""
    failure: list[BaseException] = []

    def target() -> None:
        try:
            asyncio.run(coroutine)
        except BaseException as e:  # handed to the caller
            failure.append(e)

    thread = threading.Thread(target=target, name="bench-clients")
    thread.start()
    thread.join()
    if failure:
        raise failure[0]


def print_table(title: str, rows: list[Row]) -> None:
    width = max(len(r["name"]) for r in rows)
    print(f"\n## {title}\n")
    print(f"{'benchmark':<{width}}  {'value':>10}  {'unit':<8} note")
    for r in rows:
        print(f"{r['name']:<{width}}  {r['value']:>10}  {r['unit']:<8} {r['note']}")
