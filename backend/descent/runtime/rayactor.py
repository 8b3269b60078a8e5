"""A training actor on a Ray cluster: the same ``LocalHost`` (a training thread and its
sessions) a worker process runs (serving.py), driven by the front ends' operations.

What its sessions say waits in one outbox per front end, which that front end takes in a
long poll (``take``), so frames reach the front end whose client holds the session, and no
front end's event loop waits on the cluster. Snapshots and setups go to the registry
(rayregistry.py) as they are taken: when this actor's node dies, Ray starts it again on
another node, and it brings back each of its sessions from there, paused, telling its client."""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections import defaultdict
from typing import Any

import ray
import torch

from descent.runtime.device import choose_device
from descent.runtime.hosting import Deliver, LocalHost
from descent.runtime.rayregistry import Revival
from descent.runtime.serving import warm_up
from descent.runtime.worker import Census
from descent.settings import Settings

log = logging.getLogger(__name__)
Message = tuple[str, str, str]  # (session id, message type, JSON text)
GATHER = 0.010  # seconds a poll that found messages waits for more (a third of a round: fewer calls, each ~1 ms of CPU)
OUTBOX_LIMIT = 10_000  # messages kept for a front end that stopped taking (frame credit bounds the rest)
MOVED_AT = ("the cluster node training this session was lost; your session was moved to another node as it was "
            "a few seconds before, restored to epoch {epoch}; press play to train on")
MOVED = ("the cluster node training this session was lost; your setup was moved to another node, but its "
         "weights and history were lost; press play to train again")


class TrainingActor:
    def __init__(self, index: int, settings: dict[str, Any], registry: Any) -> None:
        logging.basicConfig(level=logging.INFO, format=f"actor {index}: %(levelname)s %(name)s: %(message)s")
        torch.set_num_threads(1)
        self.index = index
        self.settings = Settings.model_validate(settings)
        self.device = choose_device("cuda" if self.settings.ray_gpus_per_worker > 0 and torch.cuda.is_available() else self.settings.device)
        self.registry = registry
        self.census = Census([0], [0.0], 0)  # (running places, read by ``take``)
        self.host = LocalHost(self.settings, self.device, self.census, keep=self._keep)
        self.routes: dict[str, str] = {}  # session id -> the front end whose client holds it
        self.outboxes: dict[str, list[Message]] = defaultdict(list)  # front end -> what waits for it
        self.ready = threading.Condition()
        self.host.start()
        if ray.get_runtime_context().was_current_actor_reconstructed:  # (its sessions first, then the warm-up)
            try:
                self._revive(ray.get(registry.held.remote(index)))
            except ray.exceptions.RayError:  # (the registry is gone: serve new sessions at least)
                log.exception("the registry did not say which sessions to bring back")
        self.host.worker.submit(lambda: warm_up(self.device, self.settings))  # (later operations wait behind it)
        threading.Thread(target=self._check, name="descent-actor-check", daemon=True).start()

    def node(self) -> str:
        return str(ray.get_runtime_context().get_node_id())

    def pid(self) -> int:
        return os.getpid()

    def apply(self, operations: list[tuple[Any, ...]]) -> None:
        """Operations from a front end, in its order: (name, session id, *arguments)."""
        for name, sid, *args in operations:
            if name == "attach":
                self.routes[sid] = args[0]
                self.host.attach(sid, self._deliver(sid))
            elif name in ("detach", "remove"):
                self.routes.pop(sid, None)
                getattr(self.host, name)(sid)
            elif name in ("create", "handle", "ack"):
                getattr(self.host, name)(sid, *args)
            else:
                log.error("unknown operation %r", name)

    def take(self, owner: str, wait: float) -> tuple[list[Message], int]:
        """What waits for front end ``owner`` (within ``wait`` seconds of the first), and the
        places this actor's running sessions take (admission counts the whole cluster)."""
        with self.ready:
            if not self.outboxes[owner]:
                self.ready.wait(wait)
            found = bool(self.outboxes[owner])
        if found:  # the round's other frames come within milliseconds: one call for all
            time.sleep(GATHER)
        with self.ready:
            messages, self.outboxes[owner] = self.outboxes[owner], []
        return messages, int(self.census.counts[0])

    def _deliver(self, sid: str) -> Deliver:
        def deliver(kind: str, text: str) -> None:
            if kind == "config":  # its setup: enough to rebuild it should no snapshot come
                self.registry.setup.remote(sid, text)
            owner = self.routes.get(sid)
            if owner is None:
                return
            with self.ready:
                box = self.outboxes[owner]
                if len(box) < OUTBOX_LIMIT:
                    box.append((sid, kind, text))
                    self.ready.notify_all()

        return deliver

    def _keep(self, sid: str, data: bytes, epoch: int) -> None:
        self.registry.keep.remote(sid, data, epoch)

    def _revive(self, sessions: list[Revival]) -> None:
        """This actor was started again (its node died): its sessions come back from their
        snapshots (or setups), paused, and each client is told."""
        log.warning("restarted: bringing back %d sessions", len(sessions))
        for s in sessions:
            config = json.loads(s.setup)["config"] if s.setup else {}
            notice = MOVED_AT.format(epoch=s.epoch) if s.snapshot is not None else MOVED
            self.host.create(s.sid, config, notice, s.snapshot)
            if s.attached:
                self.routes[s.sid] = s.owner
                self.host.attach(s.sid, self._deliver(s.sid))

    def _check(self) -> None:
        """Each second: a dead training thread is replaced, and the snapshots due are taken."""
        stop = threading.Event()
        while not stop.wait(1.0):
            self.host.check()
