"""Worker processes on a real server: sessions are spread over them, admission counts them
all, and a killed process (SIGKILL, as the OOM killer would) hits only its own sessions:
their clients are told, and each comes back with its setup in a new process, while the
other process's client trains on without a hitch."""

from __future__ import annotations

import os
import signal

import websockets

from bench.common import process_tree, run_in_thread, running_server
from descent.runtime.processes import AGAIN, CRASHED, RESTORED, RESTORED_AT, STALLED
from tests import wsutil
from tests.wsutil import read_until, training


class Client(wsutil.Client):
    def restored(self) -> bool:
        """Told its session is back (from its last snapshot, or its setup if it had none)."""
        return any(e == RESTORED or e.startswith(RESTORED_AT.split("{")[0]) for e in self.errors())


def workers(server_pid: int) -> list[int]:
    """The worker processes (not the server, nor multiprocessing's resource tracker)."""
    return [p for p in process_tree(server_pid) if b"spawn_main" in open(f"/proc/{p}/cmdline", "rb").read()]


def test_a_killed_worker_process_hits_only_its_sessions() -> None:
    env = {"DESCENT_DEVICE": "cpu", "DESCENT_WORKER_PROCESSES": "2"}
    with running_server(env, "processes") as (url, server, log_path):
        pids = workers(server.pid)
        assert len(pids) == 2, pids

        async def scenario() -> None:
            ws_url = url.replace("http", "ws") + "/ws"
            async with websockets.connect(ws_url, max_size=None) as wa, websockets.connect(ws_url, max_size=None) as wb:
                a, b = Client(wa), Client(wb)
                for c in (a, b):
                    await c.send({"type": "configure", "config": {"learning_rate": 0.1, "hidden": [5, 3]}})
                    await c.send({"type": "control", "action": "play"})
                await training([a, b], 5)

                os.kill(pids[0], signal.SIGKILL)
                before = {id(c): (c.epoch, len(c.messages)) for c in (a, b)}
                await read_until([a, b], lambda: any(CRASHED in c.errors() for c in (a, b)), what="a crash notice")
                hit = [c for c in (a, b) if CRASHED in c.errors()]
                assert len(hit) == 1, [c.errors() for c in (a, b)]  # the two sessions sat in different processes
                victim, bystander = hit[0], (b if hit[0] is a else a)
                await training([a, b], before[id(bystander)][0], [bystander])  # it trains on
                assert bystander.errors() == []

                # the new process brings the session back: its setup, paused, and why
                await read_until([victim, bystander], lambda: victim.restored(), what="the restore notice")
                back = victim.messages[before[id(victim)][1]:]
                config = next(m for m in back if m["type"] == "config")
                assert config["config"]["learning_rate"] == 0.1 and config["config"]["hidden"] == [5, 3]
                status = [m for m in back if m["type"] == "status"][-1]
                assert status["state"] == "paused"

                # and it trains again, as does the bystander, which never saw an error
                victim.frame = {}  # (counted again from the restored run's frames)
                await victim.send({"type": "control", "action": "play"})
                await training([victim, bystander], 5, [victim])
                assert bystander.errors() == []

                # its process crashes again: should its setup be the cause, restoring it again
                # would crash its neighbours forever, so it starts over from the default setup
                seen = len(victim.messages)
                os.kill(next(p for p in workers(server.pid) if p not in pids), signal.SIGKILL)
                await read_until([victim, bystander], lambda: AGAIN in victim.errors(), what="the second crash's notice")
                config = next(m for m in victim.messages[seen:] if m["type"] == "config")
                assert config["config"]["learning_rate"] == 0.03 and config["config"]["hidden"] == [4, 2]
                assert bystander.errors() == []

            # processes took the dead ones' places; a new client is served
            assert len(workers(server.pid)) == 2 and pids[0] not in workers(server.pid)
            async with websockets.connect(ws_url, max_size=None) as wc:
                c = Client(wc)
                await c.send({"type": "control", "action": "play"})
                await training([c], 5)
                assert c.errors() == []

        run_in_thread(scenario())
        log = log_path.read_text()
    assert log.count("ended with exit code -9; starting another") == 2


def test_admission_counts_the_sessions_of_every_process() -> None:
    env = {"DESCENT_DEVICE": "cpu", "DESCENT_WORKER_PROCESSES": "2", "DESCENT_MAX_RUNNING_SESSIONS": "2"}
    with running_server(env, "processes") as (url, server, _):

        async def scenario() -> None:
            ws_url = url.replace("http", "ws") + "/ws"
            async with (websockets.connect(ws_url) as wa, websockets.connect(ws_url) as wb, websockets.connect(ws_url) as wc):
                a, b, c = Client(wa), Client(wb), Client(wc)
                for x in (a, b):
                    await x.send({"type": "control", "action": "play"})
                await training([a, b, c], 1, [a, b])  # one in each process (placement spreads them)
                await c.send({"type": "control", "action": "play"})
                full = "the server is full: the sessions training now take 2 places, at most 2"
                await read_until([a, b, c], lambda: any(full in e for e in c.errors()), what="the server-full notice")
                assert c.frames <= 1  # (its paused first frame at most) it does not train

                seen = len(a.messages)
                await a.send({"type": "control", "action": "pause"})
                await read_until([a, b, c], lambda: any(m["type"] == "status" and m["state"] == "paused" for m in a.messages[seen:]), what="the pause")
                await c.send({"type": "control", "action": "play"})
                await training([a, b, c], 1, [c])  # a place came free in the other process

        run_in_thread(scenario())


def test_a_frozen_worker_process_is_stopped_and_replaced() -> None:
    """A worker process that stops making rounds while it has sessions training (SIGSTOP here;
    a runaway step or a deadlock alike) is killed after worker_stall_seconds and replaced as
    a crashed one; the other process's client trains on."""
    # (stall seconds: far above a healthy round on a loaded machine, so only the frozen one is stopped)
    env = {"DESCENT_DEVICE": "cpu", "DESCENT_WORKER_PROCESSES": "2", "DESCENT_WORKER_STALL_SECONDS": "8"}
    with running_server(env, "processes") as (url, server, log_path):
        pids = workers(server.pid)

        async def scenario() -> None:
            ws_url = url.replace("http", "ws") + "/ws"
            async with websockets.connect(ws_url, max_size=None) as wa, websockets.connect(ws_url, max_size=None) as wb:
                a, b = Client(wa), Client(wb)
                for c in (a, b):
                    await c.send({"type": "control", "action": "play"})
                await training([a, b], 5)
                os.kill(pids[0], signal.SIGSTOP)
                await read_until([a, b], lambda: any(c.restored() for c in (a, b)), what="a restore notice")
                hit = [c for c in (a, b) if STALLED in c.errors()]
                assert len(hit) == 1 and hit[0].restored(), [c.errors() for c in (a, b)]
                bystander = b if hit[0] is a else a
                assert bystander.errors() == []
                hit[0].frame = {}  # (counted again from the restored run's frames)
                await hit[0].send({"type": "control", "action": "play"})
                await training([a, b], 5, [hit[0]])

        run_in_thread(scenario())
        assert pids[0] not in workers(server.pid)
        log = log_path.read_text()
    assert "made no round for" in log and "stopping it" in log
