"""Server settings, read once from the environment (DESCENT_* variables).

Every limit a stranger could push against lives here, with a default that suits a shared
server; docs/security.md lists them."""

from __future__ import annotations

import os
import re
from typing import Any

from pydantic import BaseModel, Field, field_validator

ORIGIN = re.compile(r"https?://([A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(:[0-9]{1,5})?")  # scheme://host[:port]


class Settings(BaseModel):
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    # "auto" picks cuda:0 when available, else cpu; "cpu" or "cuda[:N]" force one.
    device: str = "auto"

    # Worker processes that train the sessions: None (the default) = one per core on the CPU,
    # one on CUDA; 0 = a training thread inside the server process (no crash isolation).
    worker_processes: int | None = Field(default=None, ge=0, le=64, description="worker processes that train sessions")
    worker_stall_seconds: float = Field(default=30, ge=1, le=3600, description="a worker process busy in one round or command this long (or frozen) is restarted")
    # A replaced worker process restores each session from its last snapshot (processes.py).
    snapshot_seconds: float = Field(default=5, ge=0.2, le=3600, description="how often a worker process sends each changed session's snapshot to the server")
    worker_memory_mb: int = Field(default=4096, ge=256, description="a worker process over this much memory after releasing caches is replaced, its sessions restored")
    worker_idle_memory_mb: int = Field(default=256, ge=16, description="a worker process without sessions more than this above its memory at start is replaced")

    # ---- a Ray cluster (runtime/rayhost.py; docs/deploy.md) --------------------------
    # Unset (the default): no Ray. Set ("auto", "ray://head:10001", "10.0.0.5:6379"):
    # sessions train in Ray actors on the cluster, and any number of front ends share them.
    ray_address: str | None = Field(default=None, description="the Ray cluster to train on (unset: this machine only)")
    ray_workers: int = Field(default=2, ge=1, le=4096, description="training actors on the Ray cluster (each one training thread)")
    ray_cpus_per_worker: float = Field(default=1, ge=0, le=256, description="CPUs each training actor reserves")
    ray_gpus_per_worker: float = Field(default=0, ge=0, le=8, description="GPUs each training actor reserves (fractional: actors share a GPU)")
    ray_namespace: str = Field(default="descent", min_length=1, max_length=64, description="the Ray namespace of the actors (one per deployment)")

    # ---- limits ---------------------------------------------------------------------
    max_sessions: int = Field(default=200, ge=1, description="sessions held at once (connected or awaiting resume)")
    max_sessions_per_client: int = Field(default=8, ge=1, description="sessions held at once per client IP address")
    # Sized by bench.load on this 2-core machine: with a worker process per core and a class
    # on one preset training as cohorts, 50 running sessions get ~60 epochs/s and ~18 frames/s
    # each (the big 6x8 network: ~25 and ~13); past that everyone would slow down, so the 51st
    # is told to wait instead.
    # Sessions on setups that cannot train together cost more: lower it for such use.
    max_running_sessions: int = Field(default=50, ge=1, description="sessions training at once; past it new users and play are refused")
    frame_detail_every: int = Field(default=1, ge=1, le=10, description="every this many frames carry the slow views "
                                    "(the playground's neuron maps, weights, histograms, slow statistics); a busy worker sends them with every second, fourth, then eighth frame anyway")
    max_message_bytes: int = Field(default=64 * 1024, ge=1024, description="largest client message")
    messages_per_second: float = Field(default=20, gt=0, description="client messages per connection, sustained")
    message_burst: int = Field(default=40, ge=1, description="client messages per connection in a burst")
    max_parameters: int = Field(default=5_000_000, ge=1, description="trainable parameters of one session's lab")
    max_steps_per_second: float = Field(default=20000, gt=0, description="optimizer steps per session per second")
    # A step cannot be cut across rounds: one costlier than this is refused by its formula
    # (machine-independent), and one that still takes longer than max_step_seconds here is paused.
    max_step_work: float = Field(default=4e8, gt=0, description="multiply-adds of one training step of a session (forward and backward)")
    max_step_seconds: float = Field(default=0.25, gt=0, description="a session whose training steps take longer than this (measured) is paused")
    credit_cap_seconds: float = Field(default=2 / 35, gt=0, description="the most worker time an idle session may bank (fair share)")
    max_outbox: int = Field(default=256, ge=8, description="server messages queued for a client that does not read")
    # A client that stops reading is closed (4008) once what it leaves unread (queued for it
    # plus the socket's buffer) or the wait of its oldest message passes these.
    max_unread_bytes: int = Field(default=2 * 1024 * 1024, ge=64 * 1024, description="bytes queued unread for one client")
    max_unread_seconds: float = Field(default=30, gt=0, description="seconds a message may wait for a client that does not read")
    # Dropped messages (over the message rate, or acks for frames never sent) a connection
    # may send before it is closed (1008); forgiven at messages_per_second.
    flood_messages: int = Field(default=1000, ge=1, description="dropped messages before a flooding connection is closed")
    flood_penalty_seconds: float = Field(default=10, ge=0, description="an address closed for flooding may not connect again this long")
    # HTTP API (/api/*) requests per client address: a token bucket, 429 past it.
    api_requests_per_second: float = Field(default=10, gt=0, description="HTTP API requests per client address, sustained")
    api_burst: int = Field(default=100, ge=1, description="HTTP API requests per client address in a burst")

    # ---- rooms (a teacher's class: server/rooms.py) ----------------------------------
    max_rooms: int = Field(default=20, ge=1, description="rooms open at once")
    max_room_students: int = Field(default=60, ge=1, description="students in one room")
    room_summary_seconds: float = Field(default=0.3, ge=0.05, le=60, description="seconds between a student's wall summaries (each computed by its worker)")
    room_wall_seconds: float = Field(default=0.2, ge=0.05, le=60, description="seconds between the teacher's wall updates (the tiles that changed)")
    room_teacher_grace_seconds: float = Field(default=900, ge=0, description="a room whose teacher has been gone this long ends")
    room_max_seconds: float = Field(default=8 * 3600, gt=0, description="a room ends this long after it was opened")
    room_archive_seconds: float = Field(default=900, ge=0, description="an ended room's wall stays downloadable this long")
    room_join_attempts: int = Field(default=10, ge=1, description="failed join (or teacher-token) attempts per address in a burst")
    room_join_per_minute: float = Field(default=6, gt=0, description="failed join attempts per address per minute, sustained")

    # ---- session lifetime -----------------------------------------------------------
    resume_grace_seconds: float = Field(default=120, ge=0, description="a disconnected session waits this long for its token")
    idle_timeout_seconds: float = Field(default=3600, gt=0, description="a session with no client message this long is closed")

    # ---- browser security -----------------------------------------------------------
    # Origins (scheme://host[:port]) allowed to open the websocket besides the page's own;
    # "*" allows any. Comma-separated in the environment.
    allowed_origins: list[str] = []
    # CSP frame-ancestors: who may embed the page in an iframe ("*" = anyone, "'self'",
    # "'none'", or a space-separated list of origins).
    frame_ancestors: str = "*"
    # Origins whose pages may drive an embedded Descent with postMessage (docs/embed.md);
    # the page's own origin always may. "*" (the default) = any; empty = none.
    embed_origins: list[str] = ["*"]

    @field_validator("allowed_origins", "embed_origins", mode="before")
    @classmethod
    def _split(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [v.strip().rstrip("/") for v in value.split(",") if v.strip()]
        return value

    @field_validator("embed_origins")
    @classmethod
    def _origins(cls, value: list[str]) -> list[str]:
        # compared with a browser's event.origin: scheme://host[:port], no path, lower case
        for origin in value:
            if origin != "*" and not ORIGIN.fullmatch(origin):
                raise ValueError(f"embed_origins: {origin!r} is not an origin; allowed: '*' or scheme://host[:port], comma-separated")
        # (a browser leaves a scheme's default port out of an origin)
        return [o.lower().removesuffix(":443" if o.lower().startswith("https:") else ":80") for o in value]

    @field_validator("ray_address")
    @classmethod
    def _ray_address(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        value = value.strip()
        if value != "auto" and not re.fullmatch(r"(ray://)?[\w.\-\[\]:]+:\d{1,5}", value):
            raise ValueError(f"ray_address: 'auto', 'host:port' or 'ray://host:port', not {value!r}")
        return value

    @field_validator("frame_ancestors")
    @classmethod
    def _no_injection(cls, value: str) -> str:
        # it goes into a header: one directive, no separators that could start another
        if any(c in value for c in ";,\r\n"):
            raise ValueError("frame_ancestors: a space-separated source list (no ';' or ',')")
        return value.strip() or "'none'"

    def limits(self) -> dict[str, float]:
        """The limits a client may want to know (sent in hello)."""
        return {
            "max_message_bytes": self.max_message_bytes,
            "messages_per_second": self.messages_per_second,
            "message_burst": self.message_burst,
            "max_parameters": self.max_parameters,
            "max_running_sessions": self.max_running_sessions,
            "max_steps_per_second": self.max_steps_per_second,
            "max_step_work": self.max_step_work,
            "max_step_seconds": self.max_step_seconds,
            "resume_grace_seconds": self.resume_grace_seconds,
            "idle_timeout_seconds": self.idle_timeout_seconds,
            "max_room_students": self.max_room_students,
        }

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ if env is None else env)
        values: dict[str, Any] = {}
        for name in cls.model_fields:
            key = f"DESCENT_{name.upper()}"
            if key in env:
                values[name] = env[key]
        # HOST/PORT are the README's documented overrides.
        for name in ("host", "port"):
            if name.upper() in env and f"DESCENT_{name.upper()}" not in env:
                values[name] = env[name.upper()]
        return cls.model_validate(values)
