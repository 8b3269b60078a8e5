"""One client must not hurt the others through the transport: acks are bounded by the
frames sent (a flood is dropped without reaching the worker, then closed), /api/schema is
built once and the API is rate-limited per address, and a client that never reads is cut
off (4008, then a TCP reset) with its memory freed, while a bystander keeps its frames.

The non-readers (``bench.adversary_transport.Silent``) are raw TCP sockets with a small
receive buffer that speak just enough websocket to send; they never call recv after the
handshake. Bounds are counted in
messages and bytes; waits are for events, with generous timeouts as a safety net only."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from bench.adversary_transport import Bystanders, Silent
from bench.common import running_server
from descent.server import api as app_module
from tests.wsutil import greet, of_type, serve, until, wait_for

# ---- point 3: acks ---------------------------------------------------------------------


def counting(monkeypatch: pytest.MonkeyPatch, obj: Any, name: str) -> list[int]:
    """Count the calls of ``obj.name`` (the real one still runs)."""
    calls = [0]
    real = getattr(obj, name)

    def counted(*args: Any) -> Any:
        calls[0] += 1
        return real(*args)

    monkeypatch.setattr(obj, name, counted)
    return calls


def test_acks_reach_the_worker_only_for_frames_sent(monkeypatch: pytest.MonkeyPatch) -> None:
    with serve() as client, client.websocket_connect("/ws") as ws:
        forwarded = counting(monkeypatch, client.app.state.host, "ack")
        greet(ws)
        ws.send_json({"type": "subscribe", "frame_rate": 60})
        ws.send_json({"type": "control", "action": "play"})
        frames = 0
        while frames < 20:  # each frame answered with five acks: four of them take nothing back
            if ws.receive_json()["type"] == "frame":
                frames += 1
                for _ in range(5):
                    ws.send_json({"type": "ack"})
        ws.send_json({"type": "control", "action": "pause"})
        until(ws, of_type("status", state="paused"))
        assert forwarded[0] <= frames + 2, f"{forwarded[0]} acks reached the worker for {frames} frames received"


def test_frames_cost_no_message_down_the_pipe(monkeypatch: pytest.MonkeyPatch) -> None:
    """The frame credit is the session's (runtime/frames.py) and only acks feed it: a client
    that never acks gets its frames with nothing sent to the worker process per frame."""
    with serve(worker_processes=1) as client, client.websocket_connect("/ws") as ws:
        host = client.app.state.host
        greet(ws)  # (attached: what goes down the pipe from here on is counted)
        operations: list[str] = []
        real = host._send

        def send(sid: str, operation: str, *args: Any) -> None:
            operations.append(operation)
            real(sid, operation, *args)

        monkeypatch.setattr(host, "_send", send)
        ws.send_json({"type": "subscribe", "frame_rate": 60})
        ws.send_json({"type": "control", "action": "play"})
        frames = 0
        while frames < 30:
            frames += ws.receive_json()["type"] == "frame"
        assert operations == ["handle", "handle"], operations


def test_an_ack_flood_is_told_then_closed(monkeypatch: pytest.MonkeyPatch) -> None:
    with serve(flood_messages=300) as client, client.websocket_connect("/ws") as ws:
        forwarded = counting(monkeypatch, client.app.state.host, "ack")
        greet(ws)  # paused: no frames after the first, so nearly every ack is for nothing
        for _ in range(1000):  # (300 dropped acks close it, plus 20 a second forgiven: a slow machine still gets there)
            ws.send_text('{"type":"ack"}')
        ws.send_json({"type": "control", "action": "pause"})  # (answered by a status, should the acks pass unremarked)
        told = until(ws, lambda m: m["type"] in ("error", "status"), limit=50)
        assert told["type"] == "error" and "too many acks" in told["message"], told
        closed = until(ws, lambda m: m["type"] == "error" and "closed" in m["message"], limit=50)
        assert "dropped messages" in closed["message"], closed
        with pytest.raises(Exception) as gone:
            until(ws, lambda m: False, limit=50)
        assert getattr(gone.value, "code", None) == 1008, gone.value
        assert forwarded[0] <= 2, f"{forwarded[0]} acks for nothing reached the worker"
        with client.websocket_connect("/ws") as again:  # its address may not come straight back
            refused = again.receive_json()
            assert refused["type"] == "error" and "closed for flooding" in refused["message"], refused


# ---- point 4: /api/schema and the API rate limit ----------------------------------------


def test_schema_is_built_once_and_served_as_bytes(monkeypatch: pytest.MonkeyPatch) -> None:
    if hasattr(app_module, "schema_bytes"):
        app_module.schema_bytes.cache_clear()  # (another test may have built it in this process)
    builds = counting(monkeypatch, app_module, "json_schema")
    with serve() as client:
        bodies = {client.get("/api/schema").content for _ in range(5)}
    assert builds[0] == 1, f"the schema was built {builds[0]} times for 5 requests"
    assert len(bodies) == 1 and json.loads(bodies.pop())["labs"]


def test_api_requests_are_rate_limited_per_address() -> None:
    # 0.01 a second: no token comes back while the test runs, however slow the machine
    with serve(api_requests_per_second=0.01, api_burst=5) as client:
        codes = [client.get("/api/datasets").status_code for _ in range(8)]
        assert codes == [200] * 5 + [429] * 3, codes
        refused = client.get("/api/schema")  # one bucket for every /api route
        assert refused.status_code == 429
        assert int(refused.headers["retry-after"]) >= 1
        detail = refused.json()["detail"]
        assert "at most 0.01 per second" in detail and "bursts of 5" in detail, detail
        assert refused.headers["x-content-type-options"] == "nosniff"  # security headers still on
        for path in ("/healthz", "/", "/static/js/main.js"):  # only the API is counted
            assert client.get(path).status_code == 200, path


# ---- point 8: clients that never read -------------------------------------------------


def connected(url: str) -> int:
    return httpx.get(f"{url}/healthz", timeout=30).json()["connected"]


def server_rss_mb(pid: int) -> float:
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


@pytest.fixture(scope="module")
def silent_server() -> Iterator[tuple[str, int]]:
    """A real uvicorn server whose non-reader bound is in bytes only (its time bound is far)."""
    env = {
        "DESCENT_DEVICE": "cpu",
        "DESCENT_WORKER_PROCESSES": "1",
        "DESCENT_MAX_SESSIONS_PER_CLIENT": "20",
        "DESCENT_MESSAGES_PER_SECOND": "5000",
        "DESCENT_MESSAGE_BURST": "5000",
        "DESCENT_MAX_UNREAD_BYTES": str(128 * 1024),
        "DESCENT_MAX_UNREAD_SECONDS": "3600",
        "DESCENT_FLOOD_MESSAGES": "1000000",  # (acks for nothing are not what is tested here)
    }
    with running_server(env, "transport-trust") as (url, server, _):
        yield url, server.pid


def test_clients_that_never_read_are_cut_off_by_what_they_leave_unread(silent_server: tuple[str, int]) -> None:
    url, pid = silent_server
    bystander = Bystanders(url, 1)
    try:
        assert bystander.gets_frames(5), bystander.errors
        baseline_rss = server_rss_mb(pid)
        silent = [Silent(url) for _ in range(8)]
        wait_for(lambda: connected(url) == 9, 60, "eight non-readers connected")
        # Each asks for frames and acks them, and sends messages that each get an error
        # back echoing their 2,000-character type (~2.2 KB): 2,500 of them is over 5 MB,
        # more than the kernel's socket buffers (4 MiB at most) and the 128 KiB bound.
        bad = {"type": "x" * 2000}
        for client in silent:
            client.send({"type": "subscribe", "frame_rate": 60})
            client.send({"type": "control", "action": "play"})
        for _ in range(2500):
            for client in silent:
                if client.up and client.established():
                    client.up = client.send({"type": "ack"}) and client.send(bad)
            if not any(c.up and c.established() for c in silent):
                break
        wait_for(lambda: not any(c.established() for c in silent), 60, "every non-reader cut off (TCP reset)")
        wait_for(lambda: connected(url) == 1, 60, "the server holds only the bystander's connection")
        assert bystander.gets_frames(10), bystander.errors
        assert server_rss_mb(pid) < baseline_rss + 40, (baseline_rss, server_rss_mb(pid))
        for client in silent:
            client.close()
    finally:
        bystander.close()
    assert bystander.failure is None, bystander.failure


def test_a_non_reader_is_cut_off_when_its_oldest_message_has_waited_too_long() -> None:
    env = {"DESCENT_DEVICE": "cpu", "DESCENT_WORKER_PROCESSES": "1", "DESCENT_MAX_UNREAD_SECONDS": "2"}
    with running_server(env, "transport-trust-wait") as (url, _, _):
        bystander = Bystanders(url, 1)
        try:
            silent = Silent(url)
            silent.send({"type": "subscribe", "frame_rate": 60})
            silent.send({"type": "control", "action": "play"})
            # frames go out until its socket is full; the one after that waits, and it is cut off
            wait_for(lambda: not silent.established(), 90, "the non-reader cut off (TCP reset)")
            wait_for(lambda: connected(url) == 1, 60, "the server holds only the bystander's connection")
            assert bystander.gets_frames(10), bystander.errors
            silent.close()
        finally:
            bystander.close()
        assert bystander.failure is None, bystander.failure


def server_connections(url: str) -> int:
    """TCP connections the server's kernel still holds on its port (closed ones awaiting
    delivery of unread data included; listening and TIME_WAIT sockets not)."""
    port = f":{urlsplit(url).port:04X}"
    with open("/proc/net/tcp") as f:
        return sum(1 for line in list(f)[1:] if line.split()[1].endswith(port) and line.split()[3] not in ("0A", "06", "07"))


def test_idle_reclaim_cannot_hang_on_a_client_that_does_not_read() -> None:
    env = {"DESCENT_DEVICE": "cpu", "DESCENT_WORKER_PROCESSES": "1", "DESCENT_IDLE_TIMEOUT_SECONDS": "2"}
    with running_server(env, "transport-trust-idle") as (url, _, _):
        silent = [Silent(url) for _ in range(4)]
        for client in silent:  # ~22 KB of answers: more than its receive window holds
            for _ in range(10):
                client.send({"type": "x" * 2000})
        wait_for(lambda: not any(c.established() for c in silent), 60, "idle non-readers closed (TCP reset)")
        wait_for(lambda: connected(url) == 0, 60, "no connection left in the app")
        wait_for(lambda: server_connections(url) == 0, 60, "no connection left in the server's kernel")
        for client in silent:
            client.close()
