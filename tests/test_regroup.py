"""Cohorts train together: a real server with two worker processes, four clients on two
presets spread over both processes as they connected; the server moves two sessions so each
preset trains in one process (runtime/regroup.py), and no client loses anything: each goes on
training from where it was (its epochs never go back) and its settings still reach it. What
waits for a session while it moves is checked on ``Regroup`` itself."""

from __future__ import annotations

import re
import time

from bench.common import run_in_thread, running_server
from tests.wsutil import Client, read_until, training

MOVED = re.compile(r"session (\S+) moves from worker process (\d) to (\d)")


def test_a_class_split_over_processes_is_regrouped_by_preset_and_loses_nothing() -> None:
    env = {"DESCENT_DEVICE": "cpu", "DESCENT_WORKER_PROCESSES": "2"}
    with running_server(env, "regroup") as (url, server, log_path):
        ws_url = url.replace("http", "ws") + "/ws"

        def moves() -> list[tuple[str, int, int]]:
            return [(m[1], int(m[2]), int(m[3])) for m in MOVED.finditer(log_path.read_text())]

        async def scenario() -> None:
            clients = [await Client.connect(ws_url) for _ in range(4)]  # (placed in turn: processes 0, 1, 0, 1)
            presets = [{}, {}, {"optimizer": "adam", "learning_rate": 0.01}, {"optimizer": "adam", "learning_rate": 0.01}]
            for c, preset in zip(clients, presets):
                if preset:
                    await c.send({"type": "configure", "config": preset})
                await c.send({"type": "control", "action": "play"})
            await training(clients, 2)
            await read_until(clients, lambda: len(moves()) >= 2, what="two sessions moved")
            moved = moves()
            assert len(moved) == 2, moved
            by_sid = {c.sid: c for c in clients}
            assert {by_sid[sid] is clients[1] or by_sid[sid] is clients[2] for sid, _, _ in moved} == {True}
            # each moved session trains on from where it was, in its new process
            where = {sid: epoch for sid, epoch in ((c.sid, c.epoch) for c in clients)}
            for c in clients:
                await c.send({"type": "configure", "config": {"learning_rate": 0.02}})
            await read_until(clients, lambda: all(c.frame.get("lr") == 0.02 and c.epoch > where[c.sid] + 2 for c in clients),
                             what="every client training on at the new learning rate")
            assert all(c.errors() == [] for c in clients), [c.errors() for c in clients]
            assert len(moves()) == 2  # and it stays that way
            for c in clients:  # a moved session came back where it left: no epoch went back
                epochs = [m["epoch"] for m in c.log if m["type"] == "frame"]
                assert epochs == sorted(epochs), epochs
            for c in clients:
                await c.ws.close()

        run_in_thread(scenario())


def test_what_a_moving_session_is_sent_waits_for_it_in_order_and_acks_are_dropped() -> None:
    from descent.runtime.regroup import STEADY, Regroup

    regroup = Regroup()
    for i, key in enumerate("aabb"):
        regroup.reported(f"s{i}", (key, 1))
    placement = {f"s{i}": i % 2 for i in range(4)}
    assert regroup.due(placement, 2) == []  # (what is reported just changed: it may be half the picture)
    later = time.monotonic() + STEADY
    due = regroup.due(placement, 2, later)
    assert sorted(sid for sid, _ in due) == ["s1", "s2"] and regroup.due(placement, 2, later) == []  # (one batch at a time)
    assert not regroup.hold(("handle", "s0", "x"))
    assert regroup.hold(("handle", "s1", "first")) and regroup.hold(("ack", "s1")) and regroup.hold(("handle", "s1", "second"))
    move = regroup.finish("s1")
    assert move is not None and move.to == 0 and move.waiting == [("handle", "s1", "first"), ("handle", "s1", "second")]
    regroup.forget("s2")
    assert regroup.finish("s2") is None and not regroup.moving


def test_a_handed_over_session_takes_its_snapshot_and_room_duty_along() -> None:
    import torch

    from descent.classroom import RoomDuty
    from descent.runtime.hosting import LocalHost
    from descent.settings import Settings

    host = LocalHost(Settings(), torch.device("cpu"))
    host.start()
    try:
        host.create("s")
        host.handle("s", RoomDuty(summary_interval=0.5, epoch_limit=3))
        assert host.worker.submit(lambda: host.cohorts()).result() == {"s": None}  # (paused: no cohort)
        handed = host.worker.submit(lambda: host.hand_over("s")).result()
        assert handed is not None
        data, epoch, duty = handed
        assert isinstance(data, bytes) and epoch == 0 and duty == RoomDuty(summary_interval=0.5, epoch_limit=3)
        assert "s" not in host.worker.sessions
        assert host.worker.submit(lambda: host.hand_over("s")).result() is None  # (gone: nothing to hand)
    finally:
        host.stop()
