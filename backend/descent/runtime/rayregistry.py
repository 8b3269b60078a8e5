"""What every front end of a Ray cluster shares: which sessions exist, whose token is whose,
which training actor holds each, and each one's last setup and snapshot.

It runs as one named actor on the head node (rayhost.py makes it; plain Python here, so it
is tested without Ray). A front end asks it where to place a new session (the same rule as
one machine: the least loaded actor, but a session on a preset another session already
trains on joins that one's actor while it holds at most two sessions, or a quarter of a
fair share, more than the least loaded one, so a class trains as one batched cohort); a reload that lands on another front end claims the session
by its token; an actor that comes back after its node died asks it for its sessions; and a
front end that stops beating leaves its sessions to be reclaimed like detached ones."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

DEAD_AFTER = 5.0  # seconds without a beat after which a front end is taken for dead


@dataclass
class Record:
    sid: str
    token: str
    client: str  # the client's address (the roster's per-address limit)
    owner: str  # the front end that serves its client
    actor: int | None = None  # the training actor that holds it; None until its first message
    key: str | None = None  # its preset (equal keys train together)
    attached: bool = False  # a client is connected (through ``owner``)
    setup: str | None = None  # its last config message (JSON), to rebuild it without a snapshot
    snapshot: bytes | None = None
    epoch: int = 0  # where the snapshot was taken
    orphaned: float | None = None  # when its owner was found dead (reclaimed after the grace period)


@dataclass
class Revival:
    """What an actor restarted elsewhere needs to bring a session back."""

    sid: str
    owner: str
    attached: bool
    setup: str | None
    snapshot: bytes | None
    epoch: int


Op = tuple[int, str, str]  # (actor index, operation, session id) a front end is to send


class Registry:
    def __init__(self, actors: int, grace: float) -> None:
        self.actors = actors
        self.grace = grace  # resume_grace_seconds: how long an orphaned session waits for its client
        self.records: dict[str, Record] = {}  # session id -> record
        self.tokens: dict[str, str] = {}  # token -> session id
        self.beats: dict[str, float] = {}  # front end -> its last beat (this actor's clock)

    def publish(self, token: str, sid: str, client: str, owner: str) -> None:
        self.records[sid] = Record(sid, token, client, owner)
        self.tokens[token] = sid

    def claim(self, token: str, owner: str) -> tuple[str, str, int | None] | None:
        """A client came back with ``token`` through front end ``owner``: (session id, client
        address, its actor), or None for an unknown token. ``owner`` serves it from now on."""
        sid = self.tokens.get(token)
        record = self.records.get(sid) if sid else None
        if record is None:
            return None
        record.owner, record.orphaned = owner, None
        return record.sid, record.client, record.actor

    def place(self, sid: str, key: str | None) -> int:
        """The actor for session ``sid`` (on preset ``key``), chosen at its first message."""
        held = [0] * self.actors
        with_key = [0] * self.actors
        for r in self.records.values():
            if r.actor is not None:
                held[r.actor] += 1
                with_key[r.actor] += key is not None and r.key == key
        # a cohort's steps are batched (cheaper each), so its actor may hold a little more than
        # the least loaded one: two sessions, or a quarter of a fair share
        slack = max(2, math.ceil((sum(held) + 1) / self.actors / 4))
        joinable = [i for i in range(self.actors) if with_key[i] and held[i] - min(held) < slack]
        index = max(joinable, key=lambda i: with_key[i]) if joinable else held.index(min(held))
        record = self.records.get(sid)
        if record is not None:
            record.actor, record.key = index, key
        return index

    def attached(self, sid: str, owner: str, yes: bool) -> None:
        record = self.records.get(sid)
        if record is not None and record.owner == owner:
            record.attached = yes

    def setup(self, sid: str, text: str) -> None:
        record = self.records.get(sid)
        if record is not None:
            record.setup = text

    def keep(self, sid: str, data: bytes, epoch: int) -> None:
        record = self.records.get(sid)
        if record is not None:
            record.snapshot, record.epoch = data, epoch

    def drop(self, sid: str, owner: str) -> int | None:
        """Front end ``owner`` reclaims ``sid``: gone, and the actor that holds it returned;
        nothing if another front end serves it now (its client resumed there)."""
        record = self.records.get(sid)
        if record is None or record.owner != owner:
            return None
        del self.records[sid]
        self.tokens.pop(record.token, None)
        return record.actor

    def held(self, actor: int) -> list[Revival]:
        return [Revival(r.sid, r.owner, r.attached, r.setup, r.snapshot, r.epoch)
                for r in self.records.values() if r.actor == actor]

    def where(self) -> dict[str, int | None]:
        """Session id -> its actor (tests, the load bench's per-node split)."""
        return {sid: r.actor for sid, r in self.records.items()}

    def epochs(self) -> dict[str, int | None]:
        """Session id -> the epoch of its last snapshot (None: none yet)."""
        return {sid: r.epoch if r.snapshot is not None else None for sid, r in self.records.items()}

    def beat(self, owner: str, now: float | None = None) -> list[Op]:
        """Front end ``owner`` is alive. Returns what it is to do for the sessions of front
        ends that stopped beating: detach them at once, remove them after the grace period."""
        now = time.monotonic() if now is None else now
        self.beats[owner] = now
        dead = {o for o, t in self.beats.items() if now - t > DEAD_AFTER}
        ops: list[Op] = []
        for r in list(self.records.values()):
            if r.owner not in dead:
                continue
            if r.orphaned is None:
                r.orphaned = now
                if r.attached and r.actor is not None:
                    r.attached = False
                    ops.append((r.actor, "detach", r.sid))
            elif now - r.orphaned >= self.grace:
                del self.records[r.sid]
                self.tokens.pop(r.token, None)
                if r.actor is not None:
                    ops.append((r.actor, "remove", r.sid))
        return ops
