"""One user's run: the lab, its run state, its counters and what the client has been sent.

A Session talks to the outside only through ``send`` (a callable taking a message dict),
so it can live in-process, in a worker process or elsewhere. Every method runs on the
worker thread that owns it; nothing here touches asyncio."""

from __future__ import annotations

import logging
import time
from typing import Any, Callable

import torch
from pydantic import BaseModel, ValidationError

from .errors import describe
from .history import Cursor
from .labs import DEFAULT_LAB, config_model, lab_class
from .labs.base import Lab
from .protocol import Command, Configure, Control, Subscribe

log = logging.getLogger(__name__)
Send = Callable[[dict[str, Any]], None]


class Session:
    def __init__(self, session_id: str, device: torch.device, send: Send, device_label: str = "cpu") -> None:
        self.id = session_id
        self.device = device
        self.send = send
        self.state = "paused"
        self.lab: Lab = lab_class(DEFAULT_LAB)(config_model(DEFAULT_LAB)(), device)
        self.frame_interval = 1 / 30
        self._credit = True  # the client took our last frame
        self._dirty = True  # something changed since the last frame
        self._full = True  # the next frame carries the full views (data points ...)
        self._next_frame_at = 0.0
        self._cursor = Cursor()
        self._step_cost = 1e-3  # seconds per step, smoothed: sizes the training quantum

    # ---- messages -------------------------------------------------------------------

    def handle(self, message: BaseModel) -> None:
        if isinstance(message, Configure):
            self.configure(message.config)
        elif isinstance(message, Control):
            self.control(message.action)
        elif isinstance(message, Subscribe):
            self.frame_interval = 1 / message.frame_rate
        elif isinstance(message, Command):
            self.command(message.name, message.args)

    def command(self, name: str, args: dict[str, Any]) -> None:
        try:
            reply = self.lab.command(name, args)
        except ValueError as e:
            self.send({"type": "error", "message": str(e), "loc": ["command", name]})
            return
        if reply is not None:
            self.send({"type": "reply", "name": name, **reply})
        self._dirty = True

    def start(self) -> None:
        """Introduce the session to a (new or returning) client."""
        self._cursor = Cursor()
        self._credit = self._dirty = self._full = True
        self._send_config("none", [])
        self._send_status()

    def configure(self, patch: dict[str, Any]) -> None:
        current = self.lab.config
        lab_name = patch.get("lab", current.lab)  # type: ignore[attr-defined]
        try:
            model = config_model(lab_name)
        except KeyError as e:
            self.send({"type": "error", "message": f"config.lab: {e.args[0]}", "loc": ["config", "lab"]})
            return
        values = patch if lab_name != current.lab else {**current.model_dump(), **patch}  # type: ignore[attr-defined]
        try:
            config = model.model_validate(values)
        except ValidationError as e:
            message, loc = describe(e, ("config",), model)
            self.send({"type": "error", "message": message, "loc": loc})
            return
        changed = sorted(k for k in model.model_fields if getattr(current, k, None) != getattr(config, k))
        if lab_name != current.lab:  # type: ignore[attr-defined]
            self.lab = lab_class(lab_name)(config, self.device)
            rebuilt = "lab"
        else:
            rebuilt = self.lab.configure(config)
        if rebuilt in ("network", "lab"):
            self._after_rebuild()
        self._dirty = True
        self._send_config(rebuilt, changed)

    def control(self, action: str) -> None:
        if action == "play":
            if self.state == "diverged":
                self.send({"type": "error", "message": "the run diverged; reset (or change the setup) to start again", "loc": ["action"]})
                return
            self.state = "running"
        elif action == "pause":
            if self.state == "running":
                self.state = "paused"
        elif action == "step":
            if self.state == "diverged":
                self.send({"type": "error", "message": "the run diverged; reset (or change the setup) to start again", "loc": ["action"]})
                return
            self.state = "paused"
            self.lab.step(self.lab.steps_per_epoch)
            self._check_divergence()
        elif action == "reset":
            self.lab.reset()
            self._after_rebuild()
        self._dirty = True
        self._send_status()

    def _after_rebuild(self) -> None:
        if self.state == "diverged":
            self.state = "paused"
        self._cursor = Cursor()
        self._full = True
        self._send_status()

    # ---- training and frames (called by the worker) ---------------------------------

    @property
    def running(self) -> bool:
        return self.state == "running"

    def tick(self, budget: float) -> None:
        """Train for about ``budget`` seconds if running."""
        if not self.running:
            return
        n = max(1, int(budget / self._step_cost))
        started = time.perf_counter()
        self.lab.step(n)
        self._step_cost = 0.7 * self._step_cost + 0.3 * (time.perf_counter() - started) / n
        self._dirty = True
        self._check_divergence()

    def _check_divergence(self) -> None:
        if self.lab.diverged and self.state != "diverged":
            self.state = "diverged"
            self._send_status(reason=self.lab.diverged)

    def frame_due(self, now: float) -> float | None:
        """Seconds until a frame is due (0 = now), or None if none is owed."""
        if not (self._credit and self._dirty):
            return None
        return max(0.0, self._next_frame_at - now)

    def frame_sent(self) -> None:
        """The transport delivered our last frame: the next may be built."""
        self._credit = True

    def send_frame(self, now: float) -> None:
        lab = self.lab
        frame = {
            "type": "frame",
            "lab": lab.config.lab,  # type: ignore[attr-defined]
            "state": self.state,
            "step": lab.step_count,
            "epoch": lab.epoch,
            "lr": lab.lr,
            "metrics": lab.metrics(),
            "history": lab.history.since(self._cursor),
            "views": lab.views(self._full),
        }
        self._credit = self._dirty = self._full = False
        # a steady rate: schedule from the last deadline unless that is long past (idle)
        following = self._next_frame_at + self.frame_interval
        self._next_frame_at = following if following > now - self.frame_interval else now + self.frame_interval
        self.send(frame)

    # ---- outgoing -------------------------------------------------------------------

    def _send_config(self, rebuilt: str, changed: list[str]) -> None:
        self.send({"type": "config", "config": self.lab.config.model_dump(), "rebuilt": rebuilt, "changed": changed})

    def _send_status(self, reason: str | None = None) -> None:
        self.send(
            {
                "type": "status",
                "state": self.state,
                "step": self.lab.step_count,
                "epoch": self.lab.epoch,
                "lr": self.lab.lr,
                "reason": reason,
            }
        )
