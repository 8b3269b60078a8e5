"""The load test against a Ray cluster simulated on this machine (``python -m bench.load
--ray``): Ray's own multi-node harness (``ray.cluster_utils.Cluster``) starts a head and two
worker nodes (separate raylets, one CPU each, so two training actors: what two worker
processes are on one machine), one front end serves the clients through it, and the same
scenarios give the same table, plus the per-node split (sessions, epochs/s and frames/s of
each node's clients) and what Ray costs: the front end's CPU per frame it relays, and the
round trip of one operation batch (a control message) and of one empty poll; then, for
comparison, the one-machine server's own CPU per frame on the same scenarios."""

from __future__ import annotations

import asyncio
import os
import statistics
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench.common import ROOT, Row, cpu_seconds, running_server

MB = 1024 * 1024
NODES = 2  # worker nodes, one CPU (one training actor) each


@contextmanager
def simulated_cluster(nodes: int = NODES, cpus: int = 1, client_port: int | None = None) -> Iterator[Any]:
    """A head (no CPUs: it holds the registry) and ``nodes`` worker nodes on this machine;
    this process is a driver of it; ``client_port``: the head also serves Ray Client there
    (``ray://`` addresses). Everything is stopped on the way out."""
    import ray
    from ray.cluster_utils import Cluster

    saved = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.pathsep.join([str(ROOT / "backend"), str(ROOT), saved or ""])  # (the nodes import descent)
    # Ray runs its workers at nice 15 by default: on a machine shared with other jobs (this
    # one) the actors would lose the CPU to them, which one machine's worker processes do not
    os.environ["RAY_worker_niceness"] = "0"
    head: dict[str, Any] = {"num_cpus": 0, "object_store_memory": 80 * MB, "include_dashboard": False}
    if client_port is not None:
        head["ray_client_server_port"] = client_port
    cluster = Cluster(initialize_head=True, head_node_args=head)
    try:
        for _ in range(nodes):
            cluster.add_node(num_cpus=cpus, object_store_memory=80 * MB)
        cluster.wait_for_nodes()
        ray.init(address=cluster.address, namespace="descent", log_to_driver=False)
        yield cluster
    finally:
        ray.shutdown()
        cluster.shutdown()
        os.environ.pop("RAY_worker_niceness", None)
        if saved is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = saved


def actors() -> list[tuple[str, int]]:
    """(node id, pid) of each training actor."""
    import ray

    from descent.runtime.rayhost import actor_name

    found = []
    for i in range(NODES):
        actor = ray.get_actor(actor_name(i), namespace="descent")
        found.append((ray.get(actor.node.remote()), ray.get(actor.pid.remote())))
    return found


def round_trips(repeats: int = 200) -> tuple[float, float]:
    """Median seconds of one operation batch (a no-op ack) and of one empty poll, from this
    driver to actor 0 and back."""
    import ray

    from descent.runtime.rayhost import actor_name

    actor = ray.get_actor(actor_name(0), namespace="descent")

    def median(call: Any) -> float:
        times = []
        for _ in range(repeats):
            started = time.perf_counter()
            ray.get(call())
            times.append(time.perf_counter() - started)
        return statistics.median(times)

    return (median(lambda: actor.apply.remote([("ack", "nobody")])),
            median(lambda: actor.take.options(concurrency_group="poll").remote("nobody", 0.0)))


def node_rows(tag: str, clients: list[Any], where: dict[str, int | None], nodes: list[tuple[str, int]]) -> list[Row]:
    """Per node: its sessions and their clients' median epochs/s and frames/s."""
    out: list[Row] = []
    for index, (node, _) in enumerate(nodes):
        mine = [c for c in clients if c.failure is None and where.get(c.sid) == index]
        eps = [c.rates()[0] for c in mine] or [0.0]
        fps = [c.rates()[1] for c in mine] or [0.0]
        out.append({"name": f"node {index + 1} ({node[:8]}), {tag}", "value": len(mine), "unit": "sessions",
                    "note": f"median {statistics.median(eps):.1f} epochs/s, {statistics.median(fps):.1f} frames/s per client"})
    return out


def own_cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid`` alone (not its children), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def baseline(scenarios: list[tuple[str, int, float]], server_env: dict[str, str]) -> list[Row]:
    """What a front end costs per frame without Ray: the one-machine server's own process
    (its event loop and pipe readers, not its worker processes), the same scenarios."""
    from bench.load import scenario

    out: list[Row] = []
    with running_server(server_env, "bench-load-local") as (url, server, _):
        ws_url = url.replace("http", "ws") + "/ws"
        for setup, n, seconds in scenarios:
            before = own_cpu_seconds(server.pid)
            result = asyncio.run(scenario(ws_url, url, server.pid, setup, n, seconds))
            frames = sum(c.frames for c in result["clients"])
            out.append({"name": f"one machine: server process CPU per frame, {setup}, {n} clients",
                        "value": round(1e6 * (own_cpu_seconds(server.pid) - before) / max(1, frames)), "unit": "µs",
                        "note": "the server process alone (not its worker processes), same window as the Ray row"})
            time.sleep(1.5)
    return out


def rows(scenarios: list[tuple[str, int, float]], server_env: dict[str, str]) -> list[Row]:
    """The load table, each scenario served by one front end through the simulated cluster;
    then the one-machine baseline of the front end's CPU per frame."""
    import ray

    from bench.load import scenario, scenario_rows
    from descent.runtime.rayhost import REGISTRY

    out: list[Row] = []
    with simulated_cluster() as cluster:
        env = {**server_env, "DESCENT_RAY_ADDRESS": cluster.address, "DESCENT_RAY_WORKERS": str(NODES)}
        with running_server(env, "bench-load-ray") as (url, server, _):
            ws_url = url.replace("http", "ws") + "/ws"
            nodes = actors()
            registry = ray.get_actor(REGISTRY, namespace="descent")
            for setup, n, seconds in scenarios:
                where: dict[str, int | None] = {}

                async def measured() -> dict[str, Any]:
                    task = asyncio.create_task(scenario(ws_url, url, server.pid, setup, n, seconds))
                    while not task.done():  # (the placement, read while the sessions exist)
                        where.update(await registry.where.remote())
                        await asyncio.sleep(0.5)
                    return await task

                cluster_cpu0 = sum(cpu_seconds(pid) for _, pid in nodes)
                front0, t0 = cpu_seconds(server.pid), time.monotonic()
                result = asyncio.run(measured())
                front, cluster_cpu = cpu_seconds(server.pid) - front0, sum(cpu_seconds(pid) for _, pid in nodes) - cluster_cpu0
                span = time.monotonic() - t0
                tag = f"{setup}, {n} client{'s' if n > 1 else ''}"
                frames = sum(c.frames for c in result["clients"])
                out += scenario_rows(setup, n, seconds, result)
                out.append({"name": f"front end CPU per frame, {tag}", "value": round(1e6 * front / max(1, frames)), "unit": "µs",
                            "note": f"the front end's CPU over the whole scenario (connect, warm-up, measure: {span:.0f} s) "
                                    f"per frame measured; training actors' CPU {100 * cluster_cpu / span:.0f}% of 200%"})
                out += node_rows(tag, result["clients"], where, nodes)
                time.sleep(1.5)  # the janitor reclaims the finished scenario's sessions
            batch, poll = round_trips()
            out.append({"name": "Ray round trip: one operation batch", "value": round(batch * 1e6), "unit": "µs",
                        "note": "a front end's control message (or batch of them) to a training actor and back; median of 200"})
            out.append({"name": "Ray round trip: one empty poll", "value": round(poll * 1e6), "unit": "µs",
                        "note": "a front end's long poll for frames, nothing waiting; median of 200"})
    return out + baseline(scenarios, server_env)
