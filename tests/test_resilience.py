"""No run is lost without a fault (processes.py, hosting.py, worker.Census, Lab.snapshot):

- the watchdog stops only a worker process that is really stuck, never one whose sessions
  stopped training (paused, diverged, detached, removed, reclaimed, switched lab, or a
  neighbour process crashed);
- a worker process that crashes or is stopped for stalling loses nobody's weights: each
  session comes back from its last snapshot, epoch and history kept, whatever its lab;
- a worker process gives its memory back when its sessions end;
- a closed tab stops costing compute: its session pauses while detached and plays again on
  resume.

Each test runs a real uvicorn server in this process (its worker processes are real), so it
can see the watchdog's checks, the worker processes' pids and the snapshots the server
holds; it waits for events (checks, epochs, pids), never for wall time alone."""

from __future__ import annotations

import asyncio
import os
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
import uvicorn

from bench.common import free_port, run_in_thread
from descent.runtime.memory import resident_mb
from descent.runtime.processes import AGAIN, CRASHED, RESTORED, RESTORED_AT, STALLED, ProcessHost, stuck_for
from descent.runtime.worker import Census, Worker
from descent.server.app import create_app
from descent.settings import Settings
from tests.wsutil import Client, Message, read_until, training

STALL = 5.0  # worker_stall_seconds in these tests (a fresh process may take seconds for a first command)
# Steps of ~0.1 s: a session stopped while it trains is almost always stopped mid-round, where
# the old running count (written at a round's start) went stale.
SLOW = {"lab": "attention", "d_model": 64, "ffn": 256, "batch_size": 128, "layers": 2, "length": 16}
DIVERGING = {"problem": "regression", "dataset": "plane", "features": ["x1", "x2", "x1sq", "x2sq", "x1x2"],
             "hidden": [8, 8], "activation": "relu", "learning_rate": 10}  # (the "lr too high" lesson)
BIG_ATTENTION = {"lab": "attention", "task": "text", "causal": True, "optimizer": "adam", "layers": 4, "heads": 8,
                 "d_model": 128, "ffn": 512, "batch_size": 128, "length": 32}  # 0.8 M parameters, ~230 MB of activations


# ---- a real server in this process --------------------------------------------------


@dataclass
class Served:
    url: str
    host: ProcessHost
    checks: list[float] = field(default_factory=list)  # when each watchdog check ran (monotonic)

    def pids(self) -> list[int | None]:
        return [p.process.pid for p in self.host.processes]

    async def checks_after(self, moment: float, count: int, limit: float = 120.0) -> None:
        """Wait until the watchdog has checked ``count`` times after ``moment``."""
        deadline = time.monotonic() + limit
        while sum(1 for t in list(self.checks) if t > moment) < count:
            assert time.monotonic() < deadline, "the watchdog stopped checking"
            await asyncio.sleep(0.1)


@contextmanager
def serving(**overrides: Any) -> Iterator[Served]:
    settings = Settings(**{"device": "cpu", "worker_processes": 2, "worker_stall_seconds": STALL, **overrides})
    app = create_app(settings)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, name="test-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 180  # (worker processes import torch: slow on a loaded machine)
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    host = app.state.host
    while not all(p.warm.is_set() for p in host.processes):  # (their first command done: sizes settled)
        assert time.monotonic() < deadline, "the worker processes did not warm up"
        time.sleep(0.05)
    served = Served(f"ws://127.0.0.1:{port}/ws", host)
    check = host.check

    def counted() -> None:
        check()
        served.checks.append(time.monotonic())

    host.check = counted  # (the janitor looks it up on each call)
    try:
        yield served
    finally:
        server.should_exit = True
        thread.join(timeout=60)


# ---- point 6: the watchdog ------------------------------------------------------------


def test_the_stuck_rule_spares_a_waiting_thread_and_catches_a_busy_one() -> None:
    """The rule itself, on a real training thread: one waiting for work is not stuck however
    old its last round; one blocked in a command is, as is a process whose main thread
    stopped pulsing (SIGSTOP)."""
    census = Census([0], [0.0], 0, [0], [0.0])
    worker = Worker(census=census)
    worker.start()
    try:
        worker.submit(lambda: None).result(timeout=30)
        deadline = time.monotonic() + 30
        while not census.waiting[0]:
            assert time.monotonic() < deadline
            time.sleep(0.01)
        later = time.monotonic() + 1000
        census.pulses[0] = later
        assert stuck_for(census, later) == 0.0  # idle for 1000 s: not stuck
        assert stuck_for(census, later + 50) == 50.0  # no pulse for 50 s: stuck

        blocked = threading.Event()
        release = threading.Event()
        worker.submit(lambda: (blocked.set(), release.wait(60)))
        assert blocked.wait(30)
        assert census.waiting[0] == 0
        census.pulses[0] = later
        assert stuck_for(census, later) > 900  # in one command since
        release.set()
    finally:
        release.set()
        worker.stop()


def test_the_watchdog_spares_workers_whose_sessions_stopped() -> None:
    """Every way a session stops training or goes away leaves its process waiting for work,
    not stuck: the watchdog must not kill it (it killed such processes ~30 s later: the
    running count was written only at a round's start)."""
    with serving(resume_grace_seconds=60, idle_timeout_seconds=600) as served:

        async def spared(path: str, moment: float, pids: list[int | None]) -> None:
            await served.checks_after(moment + STALL + 1, 3)  # each would have killed a stale process
            assert served.pids() == pids, f"{path}: a worker process was replaced"
            assert not any(p.stalled for p in served.host.processes), path

        async def scenario() -> None:
            pids = served.pids()

            async def player() -> Client:
                c = await Client.connect(served.url)
                await c.send({"type": "configure", "config": SLOW})
                await c.send({"type": "control", "action": "play"})
                await training([c], 0)
                return c

            # pause
            c = await player()
            await c.send({"type": "control", "action": "pause"})
            await read_until([c], lambda: c.frame.get("state") == "paused")
            await spared("pause", time.monotonic(), pids)

            # diverge, then reset
            c = await Client.connect(served.url)
            await c.send({"type": "configure", "config": DIVERGING})
            await c.send({"type": "control", "action": "play"})
            await read_until([c], lambda: any(m["type"] == "status" and m["state"] == "diverged" for m in c.messages), what="divergence")
            await c.send({"type": "control", "action": "reset"})
            await spared("diverge and reset", time.monotonic(), pids)

            # lab switch (then pause)
            c = await player()
            await c.send({"type": "configure", "config": {"lab": "backprop"}})
            await c.send({"type": "control", "action": "pause"})
            await read_until([c], lambda: c.frame.get("lab") == "backprop" and c.frame.get("state") == "paused")
            await spared("lab switch", time.monotonic(), pids)

            # disconnect: the session waits detached for its resume token
            c = await player()
            await c.ws.close()
            await spared("disconnect", time.monotonic(), pids)

            # a neighbour process crashes while this one has only stopped sessions
            c = await player()
            victim = served.host.placement[c.sid]
            os.kill(pids[victim], signal.SIGKILL)
            # (from its snapshot, or, when none was taken yet on a loaded machine, from its setup)
            back = (RESTORED_AT.split("{")[0], RESTORED)
            await read_until([c], lambda: any(e.startswith(back) for e in c.errors()), what="the restore")
            pids = served.pids()
            await spared("a neighbour's crash", time.monotonic(), pids)

        run_in_thread(scenario())


def test_the_watchdog_spares_workers_whose_sessions_were_removed_or_reclaimed() -> None:
    """Sessions reclaimed while they train (the idle timeout) or removed when their client
    left (no resume grace) leave their processes idle, not stuck."""
    with serving(resume_grace_seconds=0, idle_timeout_seconds=6) as served:

        async def scenario() -> None:
            pids = served.pids()
            clients = [await Client.connect(served.url), await Client.connect(served.url, acks=False)]
            for c in clients:
                await c.send({"type": "configure", "config": SLOW})
                await c.send({"type": "control", "action": "play"})
            idle = clients[1]
            await read_until(clients, lambda: clients[0].epoch >= 1 and (idle.frame.get("state") == "running" or idle.ws.close_code is not None),
                        what="both to train")
            await clients[0].ws.close()  # removed at the janitor's next look
            moment = time.monotonic()
            # the other trains on without input (it sends no acks) until the idle timeout reclaims it
            await read_until([clients[1]], lambda: clients[1].ws.close_code is not None, what="the idle reclaim")
            assert clients[1].ws.close_code == 4000
            await read_until([], lambda: len(served.host.placement) == 0, what="both sessions removed")
            await served.checks_after(max(moment, time.monotonic()) + STALL + 1, 3)
            assert served.pids() == pids and not any(p.stalled for p in served.host.processes)

        run_in_thread(scenario())


# ---- point 7: a replaced worker process loses nobody's run -----------------------------

RESTORED_PREFIX = RESTORED_AT.split("{")[0]


def restored_epoch(client: Client) -> int | None:
    """The epoch the restore notice names (None before one came)."""
    for e in client.errors():
        if e.startswith(RESTORED_PREFIX):
            return int(e[len(RESTORED_PREFIX):].split(";")[0])
    return None


def frame_after_status(log: list[Message]) -> Message | None:
    """The first frame after the first status message in ``log`` (None before both came)."""
    statuses = [i for i, m in enumerate(log) if m["type"] == "status"]
    return next((m for m in log[statuses[0]:] if m["type"] == "frame"), None) if statuses else None


async def check_restored(victims: list[Client], others: list[Client], held: dict[str, int], stalled: bool) -> None:
    """Each victim is told, comes back paused at (or after) the epoch of the snapshot the
    server held when its process went, not at 0, with its history; the others see nothing."""
    seen = {id(c): len(c.log) for c in victims}
    told = {id(c): len(c.errors()) for c in others}
    await read_until(victims + others, lambda: all(restored_epoch(c) is not None for c in victims), what="the restore notices")
    for c in victims:
        epoch = restored_epoch(c)
        assert (STALLED if stalled else CRASHED) in c.errors()
        assert epoch is not None and epoch >= held[c.sid] >= 3, (epoch, held[c.sid])
        # (the restored session's status, then its first frame: frames the dead process wrote
        # before it went may still arrive after the kill, ahead of its last snapshot)
        await read_until(victims + others, lambda: frame_after_status(c.log[seen[id(c)]:]) is not None, what="a frame after the restore")
        back = c.log[seen[id(c)]:]
        status = next(m for m in back if m["type"] == "status")
        frame = frame_after_status(back)
        assert frame is not None
        assert status["state"] == "paused" and status["epoch"] == epoch and frame["epoch"] == epoch
        history = frame["history"]["epoch"]  # the whole history again: from the start to where it was
        assert history[0] <= 1 and history[-1] == epoch and len(history) >= 3, history
        print(f"{c.frame['lab']}: restored to epoch {epoch} (snapshot held at the kill: {held[c.sid]})")
    for c in others:
        assert len(c.errors()) == told[id(c)] and c.frame["state"] == "running"


def test_a_replaced_worker_process_restores_every_session() -> None:
    """Four sessions train, one per lab (the playground's with a fork in progress), two in
    each of two worker processes. One process is killed (SIGKILL, as the OOM killer does),
    then the other is frozen (SIGSTOP) until the watchdog stops it: every session comes back
    where its last snapshot was (not at epoch 0), history and fork kept, and trains on. A
    session whose process crashes a second time starts over from the default setup."""
    with serving(snapshot_seconds=0.5, resume_grace_seconds=120) as served:

        async def scenario() -> None:
            setups: list[Message] = [{"lab": "mlp", "learning_rate": 0.1, "hidden": [5, 3]}, {"lab": "attention"},
                                     {"lab": "arena", "speed": 100}, {"lab": "backprop", "speed": 30}]
            clients = [await Client.connect(served.url) for _ in setups]
            for c, setup in zip(clients, setups):
                await c.send({"type": "configure", "config": setup})
                await c.send({"type": "control", "action": "play"})
            await training(clients, 1)
            mlp = clients[0]
            await mlp.send({"type": "command", "name": "fork", "args": {"patch": {"learning_rate": 0.3}}})
            await read_until(clients, lambda: (mlp.frame["views"].get("fork") or {}).get("history") is not None, what="the fork")
            forked_at = mlp.epoch
            by_process: dict[int, list[Client]] = {}
            for c in clients:
                by_process.setdefault(served.host.placement[c.sid], []).append(c)
            assert sorted(len(v) for v in by_process.values()) == [2, 2], "placement spreads the sessions"

            def snapshots_past(epoch: int) -> bool:
                kept = served.host.snapshots
                return all(c.sid in kept and kept[c.sid].epoch >= epoch for c in clients) and kept[mlp.sid].epoch > forked_at + 1

            await read_until(clients, lambda: snapshots_past(3), what="snapshots past epoch 3")

            # SIGKILL: a crash
            first = served.host.placement[mlp.sid]
            victims, others = by_process[first], by_process[1 - first]
            held = {c.sid: served.host.snapshots[c.sid].epoch for c in clients}
            os.kill(served.pids()[first], signal.SIGKILL)
            await check_restored(victims, others, held, stalled=False)
            assert next(m for m in reversed(mlp.log) if m["type"] == "frame")["views"].get("fork"), "the fork is kept"
            for c in victims:
                await c.send({"type": "control", "action": "play"})
            await read_until(clients, lambda: all(c.epoch > restored_epoch(c) + 2 for c in victims), what="the restored ones to train on")  # type: ignore[operator]

            # SIGSTOP: a stall, stopped by the watchdog
            await read_until(clients, lambda: snapshots_past(3))
            held = {c.sid: served.host.snapshots[c.sid].epoch for c in clients}
            os.kill(served.pids()[1 - first], signal.SIGSTOP)
            await check_restored(others, victims, held, stalled=True)

            # the playground's session's process crashes a second time: it starts over from the default setup
            seen = len(mlp.log)
            os.kill(served.pids()[first], signal.SIGKILL)
            await read_until(clients, lambda: AGAIN in mlp.errors(), what="the second crash's notice")
            config = next(m for m in mlp.log[seen:] if m["type"] == "config")
            assert config["config"]["learning_rate"] == 0.03 and config["config"]["hidden"] == [4, 2]

        run_in_thread(scenario())


# ---- point 9: a closed tab stops costing compute --------------------------------------


def test_a_detached_session_does_not_train_and_plays_again_on_resume() -> None:
    """A client that plays and leaves: its session stays put (no step) while a bystander on
    the same worker process trains on for many rounds, and plays again when it resumes."""
    with serving(worker_processes=1, resume_grace_seconds=300) as served:

        async def scenario() -> None:
            leaver, bystander = await Client.connect(served.url), await Client.connect(served.url)
            for c in (leaver, bystander):
                await c.send({"type": "control", "action": "play"})  # the same setup: they train as a cohort
            await training([leaver, bystander], 2)
            left_at = leaver.step
            await leaver.ws.close()
            start, epoch = bystander.step, bystander.epoch
            await read_until([bystander], lambda: bystander.epoch >= epoch + 30, what="the bystander's 30 epochs")
            trained = bystander.step - start  # what the leaver would have trained, had it gone on

            back = await Client.connect(served.url, resume=leaver.hello["token"])
            assert back.hello["resumed"] and back.sid == leaver.sid
            await read_until([back, bystander], lambda: any(m["type"] == "status" for m in back.log), what="the status")
            status = next(m for m in back.log if m["type"] == "status")
            assert status["state"] == "running"  # its playing state is restored
            # Had it trained on, it would have taken about what the bystander took; what it took is
            # the lag between the last frame its client saw and the server taking in the close
            # (some epochs on a loaded machine)
            assert status["step"] - left_at < trained / 2, (left_at, status["step"], trained)
            await read_until([back, bystander], lambda: back.step > status["step"] + 100, what="it to train again")

        run_in_thread(scenario())


# ---- point 5: memory is returned ------------------------------------------------------


def test_a_worker_process_gives_its_memory_back() -> None:
    """A big attention session grows its worker process by hundreds of MB; once it is
    removed, the process falls back near its size before (caches released, or the process
    replaced), with no session lost."""
    # (a setup past the default step-work limit, allowed here as an operator may: its memory is
    # what this tests, and its steps may take longer than max_step_seconds on a loaded machine)
    with serving(worker_processes=1, resume_grace_seconds=0, worker_stall_seconds=120, max_step_seconds=60,
                 max_step_work=1e11) as served:

        async def scenario() -> None:
            pid = served.pids()[0]
            assert pid is not None
            baseline = resident_mb(pid)
            c = await Client.connect(served.url)
            await c.send({"type": "configure", "config": BIG_ATTENTION})
            await c.send({"type": "control", "action": "play"})
            await read_until([c], lambda: c.step >= 2 and c.frame.get("lab") == "attention", what="two big steps")
            peak = resident_mb(pid)
            assert peak > baseline + 150, (baseline, peak)  # (else this test proves nothing)
            await c.ws.close()  # removed at the janitor's next look (no resume grace)
            deadline = time.monotonic() + 120
            while (now := resident_mb(served.pids()[0] or 0)) > baseline + 75:
                assert time.monotonic() < deadline, f"worker still at {now:.0f} MB (baseline {baseline:.0f}, peak {peak:.0f})"
                await asyncio.sleep(0.2)
            print(f"worker memory: {baseline:.0f} MB at start, {peak:.0f} MB with the session, {now:.0f} MB after")

        run_in_thread(scenario())


def test_the_memory_rule(monkeypatch: pytest.MonkeyPatch) -> None:
    """When a worker process asks to be replaced: without sessions, only when releasing its
    caches left it far above its size at start; with sessions, only over the limit, and not
    again soon after a start (sessions that big must not replace it in a loop)."""
    from descent.runtime import memory as memory_module

    sizes = iter([300.0])
    monkeypatch.setattr(memory_module, "resident_mb", lambda pid="self": next(sizes))
    monkeypatch.setattr(memory_module, "release_memory", lambda: None)
    memory = memory_module.Memory(Settings(worker_memory_mb=1000, worker_idle_memory_mb=200))
    assert memory.baseline == 300
    sizes = iter([900.0])
    assert memory.check(sessions=3) is None  # under the limit
    sizes = iter([450.0])
    assert memory.check(sessions=0) is None  # its last session ended: released, near its start
    sizes = iter([])
    assert memory.check(sessions=0) is None  # (nothing new: not even measured)
    memory.had_sessions = True
    sizes = iter([800.0])
    assert "without sessions" in (memory.check(sessions=0) or "")  # released, still far above
    sizes = iter([1500.0, 1400.0])
    assert memory.check(sessions=2) is None  # over the limit, but just started
    memory.started -= memory_module.RECYCLE_SPACING
    sizes = iter([1500.0, 1400.0])
    assert "over the limit" in (memory.check(sessions=2) or "")
    sizes = iter([1500.0, 900.0])
    memory.started -= memory_module.RECYCLE_SPACING
    assert memory.check(sessions=2) is None  # releasing its caches was enough


def test_a_recycled_worker_process_keeps_every_session_as_it_was() -> None:
    """A graceful replacement (memory): sessions come back in the new process exactly where
    they were, playing ones playing, and no one is told anything."""
    with serving(worker_processes=1, resume_grace_seconds=120) as served:

        async def scenario() -> None:
            clients = [await Client.connect(served.url) for _ in range(3)]
            for c, lab in zip(clients, ("mlp", "attention", "mlp")):
                await c.send({"type": "configure", "config": {"lab": lab}})
            for c in clients[:2]:
                await c.send({"type": "control", "action": "play"})
            await training(clients[:2], 2)
            await read_until(clients, lambda: clients[2].frame.get("state") == "paused")
            pid = served.pids()[0]
            before = {id(c): c.step for c in clients}
            served.host.recycle(0)
            await read_until(clients, lambda: served.pids()[0] != pid and served.host.processes[0].ready.is_set(), what="the new process")
            await read_until(clients, lambda: all(c.step > before[id(c)] + 50 for c in clients[:2]), what="training on")
            for c in clients:
                assert c.errors() == [], c.errors()
                steps = [m["step"] for m in c.log if m["type"] in ("frame", "status")]
                assert steps == sorted(steps), "a session went back"
            assert clients[2].frame["state"] == "paused" and clients[2].step == before[id(clients[2])]

        run_in_thread(scenario())
