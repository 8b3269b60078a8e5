"""A front end that joins the cluster through Ray Client (``DESCENT_RAY_ADDRESS=ray://head:port``,
as a front end outside the cluster's network would, docs/deploy.md) beside one that joins
it directly: sessions train through it, a session made on it resumes through the other,
and a room opened on it is the other's room too. Simulated on this machine as in
tests/test_ray.py (a head serving Ray Client, a worker node, real front ends and clients)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack

import pytest

from bench.common import free_port, run_in_thread, running_server
from bench.raycluster import simulated_cluster
from tests.test_ray_rooms import join, live, open_room
from tests.wsutil import Client, training


@pytest.fixture(scope="module")
def fronts() -> Iterator[tuple[str, str]]:
    port = free_port()
    with simulated_cluster(nodes=1, cpus=2, client_port=port) as cluster, ExitStack() as stack:
        common = {"DESCENT_DEVICE": "cpu", "DESCENT_RAY_WORKERS": "1", "DESCENT_RESUME_GRACE_SECONDS": "30"}
        through_client = stack.enter_context(running_server({**common, "DESCENT_RAY_ADDRESS": f"ray://127.0.0.1:{port}"}, "ray-client"))
        direct = stack.enter_context(running_server({**common, "DESCENT_RAY_ADDRESS": cluster.address}, "ray-direct"))
        yield through_client[0].replace("http", "ws") + "/ws", direct[0].replace("http", "ws") + "/ws"


def test_a_front_end_through_ray_client_trains_resumes_and_shares_rooms(fronts: tuple[str, str]) -> None:
    client_url, direct_url = fronts

    async def scenario() -> None:
        learner = await Client.connect(client_url)
        await learner.send({"type": "control", "action": "play"})
        await training([learner], 2)
        token, sid = learner.hello["token"], learner.sid
        await learner.ws.close()
        back = await Client.connect(direct_url, resume=token)  # (the other front end finds it)
        assert back.sid == sid
        await back.send({"type": "control", "action": "play"})
        await training([back], 3)

        teacher, code, _ = await open_room(client_url)
        student = await Client.connect(direct_url)
        await student.send({"type": "control", "action": "play"})
        joined = await join([teacher, student], student, code, "Ada")
        await live([teacher, student], teacher, [joined["tile"]])
        for c in (back, teacher, student):
            await c.ws.close()

    run_in_thread(scenario())
