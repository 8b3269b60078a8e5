"""Sessions on a Ray cluster (``DESCENT_RAY_ADDRESS``): the host of a front end whose
sessions train in Ray actors (rayactor.py), shared by every front end of the cluster
through a registry actor (rayregistry.py).

Each training actor is a named, detached actor with declared resources (``ray_cpus_per_worker``,
``ray_gpus_per_worker``, fractional so actors share a GPU), spread over the nodes, restarted
by Ray on another node when its own dies. Every front end that starts gets the same actors
by name, so any of them serves any session: a client that comes back with its token through
another front end claims its session there (``claim``).

The event loop only queues: one dispatcher thread sends each actor its operations in
batches (in order: the next batch waits for the last), and one thread per actor takes what
its sessions say in a long poll and hands it to their clients. A session is placed at its
first message (the page's configure), when its preset is known: a class on one preset
trains on one actor, as one batched cohort (rayregistry.Registry.place)."""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
import uuid
from typing import Any

import ray
from pydantic import BaseModel
from ray.exceptions import GetTimeoutError, RayError

from descent.protocol import Configure, Error, to_json
from descent.runtime.hosting import Deliver
from descent.runtime.rayactor import TrainingActor
from descent.runtime.rayregistry import Registry
from descent.runtime.worker import room
from descent.settings import Settings

log = logging.getLogger(__name__)
REGISTRY = "descent-registry"
HEAD = "node:__internal_head__"  # a resource only the head node has
START_TIMEOUT = 300.0  # seconds the actors may take to start (each imports torch on its node)
CALL_TIMEOUT = 60.0  # a safety net on one call to an actor
POLL = 0.25  # seconds a long poll waits for messages
GATHER = 0.005  # seconds the dispatcher waits for more operations after the first (a call costs ~1 ms of CPU)
LOST = "the cluster node training this session was lost; it is being moved to another node (a few seconds)"
Operation = tuple[Any, ...]  # (name, session id, *arguments)


def actor_name(index: int) -> str:
    return f"descent-worker-{index}"


def preset(message: BaseModel) -> str | None:
    """A session's cohort key, from its first message: the setup it asks for."""
    return json.dumps(message.config, sort_keys=True) if isinstance(message, Configure) else None


def polled_actor(cls: type, polls: int) -> Any:
    """``cls`` (a plain class with a ``take(owner, wait)`` long poll) as a Ray actor class
    whose polls wait in a concurrency group of their own (``polls`` at once), beside the
    operations. The group is set on the method, not per call: Ray Client (a ``ray://``
    address) refuses a call's ``concurrency_group`` option."""
    base = cls.take  # type: ignore[attr-defined]

    @ray.method(concurrency_group="poll")
    def take(self: Any, owner: str, wait: float) -> Any:
        return base(self, owner, wait)

    polled = type(cls.__name__, (cls,), {"take": take, "__module__": cls.__module__, "__doc__": cls.__doc__})
    # (Ray's overloads omit concurrency_groups)
    return ray.remote(concurrency_groups={"poll": polls})(polled)  # type: ignore[call-overload]


class RayHost:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.owner = uuid.uuid4().hex[:12]  # this front end, to the registry and the actors
        self.clients: dict[str, Deliver] = {}  # session id -> its connected client
        self.placement: dict[str, int] = {}  # session id -> its actor (as this front end knows it)
        self.unplaced: dict[str, bool] = {}  # session id -> attached, for sessions before their first message
        self.running = [0] * settings.ray_workers  # places each actor's running sessions take (from its polls)
        self.lost = [False] * settings.ray_workers  # an actor found dead, not yet back
        self.actors: list[Any] = []
        self.registry: Any = None
        self._queue: queue.SimpleQueue[Operation | None] = queue.SimpleQueue()
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self._connected = False  # this host called ray.init (and shuts it down)

    # ---- lifetime -------------------------------------------------------------------

    def start(self) -> None:
        s = self.settings
        if not ray.is_initialized():
            try:
                ray.init(address=s.ray_address, namespace=s.ray_namespace, log_to_driver=False)
            except (ConnectionError, RuntimeError, ValueError) as e:
                raise RuntimeError(f"DESCENT_RAY_ADDRESS={s.ray_address!r}: no Ray cluster to join there ({e})") from e
            self._connected = True
        # the registry lives on the head node (whose loss is the cluster's): Ray marks it with this resource
        self.registry = ray.remote(Registry).options(
            name=REGISTRY, namespace=s.ray_namespace, get_if_exists=True, lifetime="detached", num_cpus=0,
            resources={HEAD: 0.001},
        ).remote(s.ray_workers, s.resume_grace_seconds)
        actor = polled_actor(TrainingActor, 64)
        self.actors = [
            actor.options(
                name=actor_name(i), namespace=s.ray_namespace, get_if_exists=True, lifetime="detached",
                num_cpus=s.ray_cpus_per_worker, num_gpus=s.ray_gpus_per_worker, max_restarts=-1,
                scheduling_strategy="SPREAD",
            ).remote(i, s.model_dump(), self.registry)
            for i in range(s.ray_workers)
        ]
        ray.get([a.node.remote() for a in self.actors], timeout=START_TIMEOUT)
        self._threads = [threading.Thread(target=self._dispatch, name="descent-ray-dispatch", daemon=True)]
        self._threads += [threading.Thread(target=self._poll, args=(i,), name=f"descent-ray-poll-{i}", daemon=True)
                          for i in range(len(self.actors))]
        for t in self._threads:
            t.start()

    def stop(self) -> None:
        """This front end leaves; the actors and their sessions stay for the others."""
        self._stopping.set()
        self._queue.put(None)
        for t in self._threads:
            t.join(timeout=5)
        if self._connected:
            ray.shutdown()

    def check(self) -> None:
        self._queue.put(("beat", ""))

    def room(self) -> str | None:
        return room(sum(self.running), self.settings.max_running_sessions)

    def nodes(self) -> list[str]:
        """The node of each actor (tests, the load bench's per-node split)."""
        return [str(n) for n in ray.get([a.node.remote() for a in self.actors], timeout=CALL_TIMEOUT)]

    # ---- the roster's side: tokens any front end can claim ----------------------------

    def publish(self, token: str, sid: str, client: str) -> None:
        self._queue.put(("publish", sid, token, client))

    async def claim(self, token: str) -> tuple[str, str] | None:
        """The session of ``token`` (session id, client address), served here from now on;
        None if the cluster does not know the token."""
        found = await self.registry.claim.remote(token, self.owner)
        if found is None:
            return None
        sid, client, actor = found
        if sid not in self.placement and sid not in self.unplaced:
            if actor is None:
                self.unplaced[sid] = False
            else:
                self.placement[sid] = actor
        return sid, client

    # ---- sessions (from the event loop: each call only queues) --------------------------

    def create(self, sid: str) -> None:
        self.unplaced[sid] = False

    def attach(self, sid: str, deliver: Deliver) -> None:
        self.clients[sid] = deliver
        self._queue.put(("attach", sid, self.owner))

    def detach(self, sid: str) -> None:
        self.clients.pop(sid, None)
        self._queue.put(("detach", sid))

    def remove(self, sid: str) -> None:
        self.clients.pop(sid, None)
        self._queue.put(("remove", sid))

    def handle(self, sid: str, message: BaseModel) -> None:
        self._queue.put(("handle", sid, message))

    def ack(self, sid: str) -> None:
        self._queue.put(("ack", sid))

    # ---- the dispatcher thread --------------------------------------------------------

    def _dispatch(self) -> None:
        while not self._stopping.is_set():
            first = self._queue.get()
            time.sleep(GATHER)  # (acks come in bursts as a round's frames land: one call for all)
            operations = [first]
            while not self._queue.empty():
                operations.append(self._queue.get())
            batches: dict[int, list[Operation]] = {}
            for op in operations:
                try:
                    if op is not None:
                        self._route(op, batches)
                except Exception:  # (the registry did not answer: this one is lost, not the thread)
                    log.exception("operation %r failed", op[:2] if op else op)
            calls = [(i, self.actors[i].apply.remote(batch)) for i, batch in batches.items()]
            for i, call in calls:
                try:
                    ray.get(call, timeout=CALL_TIMEOUT)
                except (RayError, GetTimeoutError) as e:  # (its poll tells the clients)
                    log.warning("actor %d did not take %d operations: %s", i, len(batches[i]), e)

    def _route(self, op: Operation, batches: dict[int, list[Operation]]) -> None:
        """(Dispatcher.) Put ``op`` in its actor's batch; the registry's share on the way."""
        name, sid = op[0], op[1]
        if name == "beat":
            for index, what, orphan in ray.get(self.registry.beat.remote(self.owner), timeout=CALL_TIMEOUT):
                batches.setdefault(index, []).append((what, orphan))
            return
        if name == "publish":
            self.registry.publish.remote(op[2], sid, op[3], self.owner)
            return
        if name == "remove":
            self.placement.pop(sid, None)
            self.unplaced.pop(sid, None)
            index = ray.get(self.registry.drop.remote(sid, self.owner), timeout=CALL_TIMEOUT)
            if index is not None:
                batches.setdefault(index, []).append(("remove", sid))
            return
        if name in ("attach", "detach"):
            self.registry.attached.remote(sid, self.owner, name == "attach")
        if sid in self.unplaced:
            if name != "handle":  # (acks and the like before its first message: nothing to do yet)
                self.unplaced[sid] = name == "attach" or (self.unplaced[sid] and name != "detach")
                return
            attached = self.unplaced.pop(sid)
            index = ray.get(self.registry.place.remote(sid, preset(op[2])), timeout=CALL_TIMEOUT)
            self.placement[sid] = index
            batch = batches.setdefault(index, [])
            batch.append(("create", sid))
            if attached:
                batch.append(("attach", sid, self.owner))
        index = self.placement.get(sid)
        if index is not None:
            batches.setdefault(index, []).append(op)

    # ---- the poll threads ---------------------------------------------------------------

    def _poll(self, index: int) -> None:
        """Take what actor ``index``'s sessions say to this front end's clients. An actor
        that fails is being started again by Ray on another node: its clients are told."""
        take = self.actors[index].take
        while not self._stopping.is_set():
            try:
                messages, running = ray.get(take.remote(self.owner, POLL), timeout=CALL_TIMEOUT)
            except (RayError, GetTimeoutError) as e:
                if not self.lost[index]:
                    self.lost[index] = True
                    self.running[index] = 0
                    log.error("training actor %d was lost (%s); Ray starts it again", index, type(e).__name__)
                    self._tell_lost(index)
                time.sleep(0.5)
                continue
            self.lost[index] = False
            self.running[index] = running
            for sid, kind, text in messages:
                deliver = self.clients.get(sid)
                if deliver is not None:
                    deliver(kind, text)

    def _tell_lost(self, index: int) -> None:
        notice = to_json(Error(message=LOST))
        for sid, held in list(self.placement.items()):
            deliver = self.clients.get(sid)
            if held == index and deliver is not None:
                deliver("error", notice)
