"""Sessions on a Ray cluster, simulated on this machine with Ray's own multi-node harness
(``ray.cluster_utils.Cluster``: a head and two worker nodes, each its own raylet process),
two real front ends (``python -m descent`` with ``DESCENT_RAY_ADDRESS``) on two ports and
real websocket clients:

- sessions spread over the nodes, and a class on one preset stays on one actor (a cohort);
- a client resumes its session through the other front end;
- a node removed takes only its own sessions down: they are told, and come back on the
  other node from their last snapshot;
- a killed front end loses no session: its clients resume through the other.

The tests share one cluster and run in order (the last two change it)."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

import pytest
import ray
from ray.cluster_utils import Cluster

from bench.common import run_in_thread, running_server
from bench.raycluster import simulated_cluster
from descent.runtime.rayactor import MOVED_AT
from descent.runtime.rayhost import LOST, REGISTRY, actor_name
from tests.wsutil import Client, read_until, training, wait_for

MB = 1024 * 1024
NODE = {"num_cpus": 2, "object_store_memory": 80 * MB}  # two actors fit one node (one CPU each) after a node is lost
X = {"lab": "mlp", "dataset": "xor", "hidden": [4, 2]}  # two presets: two classes
Y = {"lab": "mlp", "dataset": "circle", "hidden": [3]}


@dataclass
class Rig:
    cluster: Cluster
    nodes: list[Any]  # the two worker nodes
    urls: list[str]  # the two front ends' websocket addresses
    servers: list[Any]  # their processes

    def registry(self) -> Any:
        return ray.get_actor(REGISTRY, namespace="descent")

    def where(self) -> dict[str, int | None]:
        return ray.get(self.registry().where.remote())

    def node_of(self, actor: int) -> str:
        return ray.get(ray.get_actor(actor_name(actor), namespace="descent").node.remote())


@pytest.fixture(scope="module")
def rig() -> Iterator[Rig]:
    # (bench.raycluster: a head and 2 worker nodes as raylets on this machine, Ray's niceness 0,
    # the nodes' workers importing descent, as a real cluster's image has it installed)
    with simulated_cluster(nodes=2, cpus=NODE["num_cpus"]) as cluster:
        nodes = list(cluster.worker_nodes)
        env = {"DESCENT_RAY_ADDRESS": cluster.address, "DESCENT_DEVICE": "cpu", "DESCENT_SNAPSHOT_SECONDS": "0.5",
               "DESCENT_RAY_WORKERS": "2", "DESCENT_RESUME_GRACE_SECONDS": "5"}  # (closed sessions go soon)
        with ExitStack() as stack:
            fronts = [stack.enter_context(running_server(env, f"ray-front-{i}")) for i in range(2)]
            yield Rig(cluster, nodes, [url.replace("http", "ws") + "/ws" for url, _, _ in fronts], [s for _, s, _ in fronts])


def settled(rig: Rig) -> Rig:
    """``rig`` once the sessions of the tests before are gone (each test places on an empty cluster)."""
    wait_for(lambda: rig.where() == {}, 120, "the earlier tests' sessions to be reclaimed")
    return rig


async def joined(url: str, config: dict[str, Any], resume: str | None = None) -> Client:
    """A page-like client: its preset, then play."""
    client = await Client.connect(url, resume)
    await client.send({"type": "configure", "config": config})
    await client.send({"type": "control", "action": "play"})
    return client


def test_sessions_spread_over_nodes_and_a_class_stays_together(rig: Rig) -> None:
    async def scenario() -> None:
        a, b = settled(rig).urls
        # two classes arrive one after the other, through both front ends
        x1, x2 = await joined(a, X), await joined(b, X)
        y1, y2 = await joined(b, Y), await joined(a, Y)
        clients = [x1, x2, y1, y2]
        await training(clients, 3)
        where = rig.where()
        xs, ys = {where[c.sid] for c in (x1, x2)}, {where[c.sid] for c in (y1, y2)}
        assert len(xs) == 1 and len(ys) == 1 and xs != ys, where  # each class on one actor, the two apart
        assert rig.node_of(xs.pop()) != rig.node_of(ys.pop())  # ... on two nodes
        for c in clients:
            assert c.errors() == []
            await c.ws.close()

    run_in_thread(scenario())


def test_a_client_resumes_through_the_other_front_end(rig: Rig) -> None:
    async def scenario() -> None:
        a, b = settled(rig).urls
        first = await joined(a, X)
        await training([first], 3)
        token, sid, epoch = first.hello["token"], first.sid, first.epoch
        await first.ws.close()

        again = await Client.connect(b, resume=token)  # (a reload the balancer sent to the other front end)
        assert again.hello["resumed"] is True and again.hello["session"] == sid, again.hello
        await training([again], epoch)  # the same run goes on (a fresh one would start at epoch 0)
        assert again.errors() == []
        back = await Client.connect(a, resume=token)  # taken again by the first: it was no longer its own
        assert back.hello["session"] == sid and back.hello["resumed"] is True
        await again.ws.close()
        await back.ws.close()

    run_in_thread(scenario())


def test_a_lost_node_takes_only_its_sessions_which_come_back_elsewhere(rig: Rig) -> None:
    async def scenario() -> None:
        a, b = settled(rig).urls
        x1, x2 = await joined(a, X), await joined(b, X)
        y1 = await joined(a, Y)
        clients = [x1, x2, y1]
        await training(clients, 5)
        where = rig.where()
        doomed = where[x1.sid]
        assert where[x2.sid] == doomed and where[y1.sid] != doomed, where
        # a snapshot of each doomed session is kept (taken every 0.5 s while it trains)
        await read_until(clients, lambda: all((ray.get(rig.registry().epochs.remote()).get(c.sid) or 0) > 0 for c in (x1, x2)),
                         what="snapshots of the doomed sessions")
        node_id = rig.node_of(doomed)
        node = next(n for n in rig.nodes if n.node_id == node_id)
        seen = {id(c): len(c.messages) for c in clients}
        removed = time.monotonic()
        rig.cluster.remove_node(node)

        moved = MOVED_AT.split("{")[0]
        await read_until(clients, lambda: all(LOST in c.errors() for c in (x1, x2)), what="the lost notices")
        told = time.monotonic() - removed
        await read_until(clients, lambda: all(any(e.startswith(moved) for e in c.errors()) for c in (x1, x2)),
                         what="the moved notices")
        print(f"node removed: its clients told in {told:.1f} s, their sessions back in {time.monotonic() - removed:.1f} s")
        for c in (x1, x2):
            assert LOST in c.errors(), c.errors()
        assert y1.errors() == []  # the other node's session never noticed
        assert rig.node_of(doomed) != node_id  # Ray started the actor on the other node

        # each comes back paused from its snapshot (not from epoch 0), and trains on when played
        for c in (x1, x2):
            status = [m for m in c.messages[seen[id(c)]:] if m["type"] == "status"][-1]
            assert status["state"] == "paused" and status["epoch"] > 0, status
            c.frame = {}
            await c.send({"type": "control", "action": "play"})
        await training(clients, 5)
        assert y1.errors() == []
        for c in clients:
            await c.ws.close()

    run_in_thread(scenario())


def test_a_killed_front_end_loses_no_session(rig: Rig) -> None:
    async def scenario() -> None:
        a, b = settled(rig).urls
        clients = [await joined(a, X), await joined(a, Y)]
        await training(clients, 3)
        os.kill(rig.servers[0].pid, signal.SIGKILL)
        for i, c in enumerate(clients):
            epoch = c.epoch
            back = await Client.connect(b, resume=c.hello["token"])
            assert back.hello["resumed"] is True and back.hello["session"] == c.sid, back.hello
            await training([back], epoch)  # on from where it was, through the other front end
            clients[i] = back
        for c in clients:
            await c.ws.close()

    run_in_thread(scenario())
