"""One user's run: the lab, its run state, and the messages to and from its client.

A Session talks to the outside only through ``send`` (a callable taking a message dict,
each built from a model of ``descent.protocol``), so it can live in-process, in a worker
process or elsewhere. Every method runs on the worker thread that owns it (but ``ack``);
nothing here touches asyncio. Here: messages, config and controls, lifecycle. Elsewhere:
training.py (the worker's side: quanta, what steps taken lead to), replies.py (what it
tells its client), frames.py (when a frame may go), allowance.py (how many steps it may
take), setups.py (what a setup costs), snapshots.py (its run as bytes), cohort.py
(training with others as one computation).

It enforces the per-session limits (parameter count, steps per second) and survives its
lab: a lab that raises is reported, the run pauses, and reset rebuilds it from scratch."""

from __future__ import annotations

import base64
import logging
import time
from collections.abc import Callable
from typing import Any

import torch
from pydantic import BaseModel, ValidationError

from descent.classroom import RoomDuty, RoomShare, RoomTake
from descent.encoding import b64
from descent.errors import describe
from descent.labs import DEFAULT_LAB, LAB_NAMES, config_model, lab_class
from descent.labs.base import Lab
from descent.labs.commands import CommandError
from descent.protocol import Command, Configure, Control, Rebuilt, Reply, RunState, Subscribe, frame_message
from descent.runtime import snapshots
from descent.runtime.allowance import Allowance
from descent.runtime.budget import Budget
from descent.runtime.frames import Frames
from descent.runtime.replies import Send, discard
from descent.runtime.setups import UNSIZED_KEYS, lab_of, patched, too_big
from descent.runtime.summary import Summaries
from descent.runtime.training import Training
from descent.settings import Settings

log = logging.getLogger(__name__)
DIVERGED = "the run diverged; reset (or change the setup) to start again"


class Session(Training):
    def __init__(self, session_id: str, device: torch.device, send: Send, settings: Settings | None = None) -> None:
        settings = settings or Settings()
        self.id = session_id
        self.device = device
        self.send = send
        self.state: RunState = "paused"
        self.max_parameters = settings.max_parameters
        self.max_step_work = settings.max_step_work
        # this session's share of the worker's time: everything it makes the worker do is paid from it
        self.budget = Budget(cap=settings.credit_cap_seconds)
        self.allowance = Allowance(settings.max_steps_per_second, self.budget, settings.max_step_seconds)
        self.frames = Frames()
        self.summaries = Summaries()  # for a room's wall (none unless the session is in a room)
        self._parked: dict[str, Lab] = {}  # labs left for another one, by name (see _visit)
        self.failed: str | None = None  # why the lab raised; cleared by reset
        self.resume_running = False  # was running when its client left
        self.notice: str | None = None  # told to the next client that attaches (see snapshots.restore)
        self.solo = False  # set if a batched step with others ever failed: it trains alone since
        self.lab: Lab = lab_class(DEFAULT_LAB)(config_model(DEFAULT_LAB)(), device)
        self.good_config = self.lab.config  # the last config a lab was built from without error
        # admission: None if this session may start training, else why not (set by the worker)
        self.room: Callable[[], str | None] = lambda: None

    # ---- messages -------------------------------------------------------------------

    def handle(self, message: BaseModel) -> None:
        """Apply one client message, paid from the session's time budget. A lab that raises
        here fails the session (see ``fail``)."""
        started = time.perf_counter()
        try:
            self._handle(message)
        except Exception as e:
            self.fail(e)
        self.budget.spend(time.perf_counter() - started)

    def _handle(self, message: BaseModel) -> None:
        if isinstance(message, Configure):
            self.configure(message.config)
        elif isinstance(message, Control):
            self.control(message.action)
        elif isinstance(message, Subscribe):
            self.frames.interval = 1 / message.frame_rate
        elif isinstance(message, Command):
            self.command(message.name, message.args)
        elif isinstance(message, RoomDuty):
            self.room_duty(message)
        elif isinstance(message, RoomShare):  # (to the server, never to a client: rooms.deliver_for)
            data = self.snapshot()
            if data is not None:
                self.send({"type": "shared", "snapshot": b64(data), "config": self.lab.config.model_dump()})
        elif isinstance(message, RoomTake):  # the teacher forks a student's run: everything anew to the page
            self.restore(message.config, None, base64.b64decode(message.snapshot))
            self.start()

    def room_duty(self, duty: RoomDuty) -> None:
        """A room's wishes (from the server, never a client): summaries, an epoch budget, a full frame."""
        if duty.summary_interval != self.summaries.interval:
            self.summaries.interval, self.summaries.due, self.summaries.state = duty.summary_interval, 0.0, ""
        self.epoch_limit = duty.epoch_limit
        self.stop_at_limit()
        if duty.refresh:  # (a spotlight begins: the whole history and the full views again)
            self.frames.rebuilt()
        self.frames.dirty = True

    def command(self, name: str, args: dict[str, Any]) -> None:
        """Run a lab command. Whatever it raises is an error reply and the session goes on
        with its weights and history: arguments are validated before anything changes, and a
        command changes the lab all or nothing (labs/base.py) — except a fault inside the
        lab's own training code (``stepping_commands``), which fails the session as a
        fault in a step does."""
        twin_before = self.lab.twin
        try:
            reply = self.lab.command(name, args)
        except CommandError as e:  # refused before anything changed
            self.error(str(e)[:500], ["command", name, *e.loc])
            return
        except Exception as e:
            if name in self.lab.stepping_commands:
                raise
            if isinstance(e, (ValueError, TypeError, KeyError, IndexError)):  # a lab's own refusal
                message = str(e) or type(e).__name__
            else:  # a fault (the lab is as it was: see above)
                log.warning("session %s: command %r failed", self.id, name, exc_info=e)
                message = f"{name} failed ({type(e).__name__}: {e})"
            self.error(message[:500], ["command", name])
            return
        twin = self.lab.twin
        if twin is not twin_before:  # a second run started or ended: its steps cost otherwise now
            # two runs step in one session: together they stay within one setup's limits
            refusal = None if twin is None else too_big(self.lab.config.lab, self.lab.config, self.max_parameters,
                                                        self.max_step_work, beside=twin.run.config)
            if refusal:
                self.lab.twin = twin_before
                self.error("args.patch: with the second run beside it, " + refusal.removeprefix("config: "), ["command", name, "args", "patch"])
                return
            self.allowance.step_cost = None  # measured afresh
        if reply is not None:
            self.emit(Reply(name=name, **reply))
        self.frames.dirty = True

    def start(self) -> None:
        """Introduce the session to a (new or returning) client."""
        self.frames.restart()
        self.send_config("none", [])
        self.send_status(reason=self.failed or self.notice or self.lab.diverged)
        if self.notice:
            self.error(self.notice)
            self.notice = None

    def snapshot(self) -> bytes | None:
        """The run as bytes that ``restore`` takes back (see snapshots.py)."""
        if self.failed:  # (its state is suspect)
            return None
        return snapshots.take(self.lab, self.running or self.resume_running, self.frames.interval)

    def restore(self, config: dict[str, Any], notice: str | None, snapshot: bytes | None = None, resume: bool = False) -> None:
        """Start again where ``snapshot`` was taken, or from ``config`` when there is none,
        paused; ``notice`` tells the next client why. ``resume``: a run that was playing
        plays on when a client holds it (as after ``detach``). (See snapshots.py.)"""
        self.lab, interval, playing = snapshots.restore(snapshot, config, self.device, self.lab, self.id)
        if interval is not None:
            self.frames.interval = interval
        self.good_config = self.lab.config
        self.state = "diverged" if self.lab.diverged else "paused"
        self.resume_running = resume and playing
        self.notice = notice

    def attach(self, send: Send) -> None:
        """A client (re)takes the session: it gets everything, and a run paused by its
        leaving goes on."""
        self.send = send
        if self.resume_running and self.state == "paused" and not self.failed and self.room() is None:
            self.state = "running"
        self.resume_running = False
        self.start()

    def detach(self) -> None:
        """The client left: stop training (no one watches) until a client resumes it."""
        self.send = discard
        if self.state == "running":
            self.state = "paused"
            self.resume_running = True

    # ---- failures -------------------------------------------------------------------

    def fail(self, error: BaseException) -> None:
        """The lab raised: pause, tell the client, and refuse to train until reset."""
        log.error("session %s: lab failed", self.id, exc_info=error)
        self.failed = f"the lab failed ({type(error).__name__}: {str(error)[:300]}); press reset to restart"
        self.state = "paused"
        self.frames.dirty = True
        self.error(self.failed)
        self.send_status(reason=self.failed)

    def _recover(self) -> None:
        """Rebuild a failed lab from its last good config (or the default lab if even that fails)."""
        for config in (self.good_config, config_model(DEFAULT_LAB)()):
            try:
                self.lab = lab_class(lab_of(config))(config, self.device)
            except Exception:
                log.exception("session %s: rebuilding %s failed", self.id, lab_of(config))
                continue
            self.good_config = config
            self.failed = None
            self.send_config("lab", [])
            return
        raise RuntimeError("no lab can be built")

    # ---- config and controls --------------------------------------------------------

    def configure(self, patch: dict[str, Any]) -> None:
        current, current_lab = self.lab.config, lab_of(self.lab.config)
        lab_name = patch.get("lab", current_lab)
        if lab_name not in LAB_NAMES:  # (also refuses lists, dicts ... before they reach a cache)
            got = f" (got {lab_name!r})" if isinstance(lab_name, (str, int, float, bool)) and len(str(lab_name)) < 60 else ""
            self.error(f"config.lab: unknown lab; allowed: {', '.join(LAB_NAMES)}{got}", ["config", "lab"])
            return
        model = config_model(lab_name)
        values = patch if lab_name != current_lab else patched(current, patch)
        try:
            config = model.model_validate(values)
        except ValidationError as e:
            self.error(*describe(e, ("config",), model))
            return
        changed = sorted(k for k in model.model_fields if getattr(current, k, None) != getattr(config, k))
        resized = lab_name != current_lab or not UNSIZED_KEYS.issuperset(changed)
        refusal = too_big(lab_name, config, self.max_parameters, self.max_step_work) if resized else None
        if refusal:
            self.error(refusal, ["config"])
            return
        if self.failed:  # a failed lab's state is suspect: build afresh from the new config
            self.lab = lab_class(lab_name)(config, self.device)
            self.failed = None
            rebuilt: Rebuilt = "lab"
        elif lab_name != current_lab:
            self.lab = self._visit(lab_name, config)
            rebuilt = "lab"
        else:
            rebuilt = self.lab.configure(config, changed)
        self.good_config = config
        if resized:
            self.allowance.step_cost = None  # its steps cost what they cost: measured afresh
        if rebuilt in ("network", "lab"):
            self._after_rebuild()
        self.frames.dirty = True
        self.send_config(rebuilt, changed)

    def _visit(self, lab_name: str, config: BaseModel) -> Lab:
        """The lab to switch to: the run left in it earlier in this session, if any (its
        weights, optimizer and history; changed as ``config`` asks, as within a lab), else a
        new one. The lab left is kept the same way, one per kind of lab, so a student who
        looks at another lab comes back to the run they left."""
        self._parked[lab_of(self.lab.config)] = self.lab
        parked = self._parked.pop(lab_name, None)
        if parked is not None:
            try:
                parked.configure(config)
                return parked
            except Exception:  # (its state may be what fails: a new lab then)
                log.exception("session %s: taking back its %s run failed", self.id, lab_name)
        return lab_class(lab_name)(config, self.device)

    def control(self, action: str) -> None:
        if self.failed and action != "pause":
            if action != "reset":
                self.error(self.failed, ["action"])
                return
            self._recover()
            self.state = "paused"
            self._after_rebuild()
            self.frames.dirty = True
            return
        if action in ("play", "step") and self.state == "diverged":
            self.error(DIVERGED, ["action"])
            return
        if action in ("play", "step") and self.at_limit():
            self.error(f"{self.at_limit()}; reset or change the setup to try again", ["action"])
            return
        if action == "play":
            refusal = None if self.running else self.room()
            if refusal:  # past capacity: this one waits rather than everyone slowing down
                self.error(refusal, ["action"])
                self.send_status()
                return
            self.state = "running"
            self.allowance.owed = 0
        elif action == "pause":
            if self.state == "running":
                self.state = "paused"
            self.allowance.owed = 0
        elif action == "step":
            # one epoch, trained across rounds like any training (a long epoch must not hold
            # the worker); presses while it runs queue more
            self.state = "paused"
            self.allowance.owe_epoch(self.lab.steps_per_epoch)
            self.frames.dirty = True
            return
        elif action == "reset":
            self.lab.reset()
            self._after_rebuild()
        self.frames.dirty = True
        self.send_status()

    def _after_rebuild(self) -> None:
        self.allowance.owed = 0
        if self.state == "diverged":
            self.state = "paused"
        self.frames.rebuilt()
        self.send_status()

    # ---- training and frames (called by the worker) ---------------------------------

    def ack(self) -> None:
        """The client drew a frame (called from the transport's or the pipe's thread)."""
        self.frames.ack()

    def send_frame(self, now: float) -> None:
        """Send the frame, its views paid from the session's time budget."""
        started = time.perf_counter()
        lab = self.lab
        views = lab.views(self.frames.full, self.frames.detailed())
        frame = frame_message(lab_of(lab.config), self.state, lab.step_count, lab.epoch, lab.lr, lab.metrics(),
                              lab.history.since(self.frames.cursor), views)
        self.frames.sent(now)
        self.send(frame)
        summary = self.summaries.after_frame(lab, self.state, views, now)
        if summary is not None:
            self.send(summary)
        self.budget.spend(time.perf_counter() - started)
