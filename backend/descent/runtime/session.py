"""One user's run: the lab, its run state, its counters and what the client has been sent.

A Session talks to the outside only through ``send`` (a callable taking a message dict),
so it can live in-process, in a worker process or elsewhere. Every method runs on the
worker thread that owns it; nothing here touches asyncio.

It enforces the per-session limits (parameter count, steps per second) and survives its
lab: a lab that raises is reported, the run pauses, and reset rebuilds it from scratch."""

from __future__ import annotations

import logging
import math
import pickle
import threading
import time
from collections.abc import Callable
from functools import lru_cache
from typing import Any

import torch
from pydantic import BaseModel, ValidationError

from descent.errors import describe
from descent.history import Cursor
from descent.labs import DEFAULT_LAB, LAB_NAMES, config_model, lab_class
from descent.labs.base import Lab
from descent.labs.commands import CommandError
from descent.nn.optimizers import OptimizerParams
from descent.protocol import Command, Configure, Control, Subscribe
from descent.runtime.budget import Budget
from descent.server.limits import TokenBucket
from descent.settings import Settings

log = logging.getLogger(__name__)
Send = Callable[[dict[str, Any]], None]

ACK_WINDOW = 2  # frames a client that acks may have in flight (see Session._in_flight)
SLOW_STEPS = 2  # steps in a row over max_step_seconds that pause a session (one may be a hiccup)
MAX_OWED_EPOCHS = 100  # epochs of 'step' presses a session may queue
MAX_WEIGHT = 8  # the most places in admission one session takes, however costly its steps
# Config keys that never change a lab's size: changing only these skips the parameter guard.
UNSIZED_KEYS = frozenset({"learning_rate", "optimizer", *OptimizerParams.model_fields})


def discard(message: dict[str, Any]) -> None:
    """The send of a session no client holds (awaiting resume)."""


class Session:
    def __init__(self, session_id: str, device: torch.device, send: Send, settings: Settings | None = None) -> None:
        settings = settings or Settings()
        self.id = session_id
        self.device = device
        self.send = send
        self.state = "paused"
        self.max_parameters = settings.max_parameters
        self.max_step_work = settings.max_step_work
        self.max_step_seconds = settings.max_step_seconds
        # this session's share of the worker's time: everything it makes the worker do is paid from it
        self.budget = Budget(cap=settings.credit_cap_seconds)
        self._parked: dict[str, Lab] = {}  # labs left for another one, by name (see _visit)
        self._weighed: tuple[Any, int] = (None, 1)  # (the config, its weight): see weight
        self._owed = 0  # steps still to run for 'step' controls (run across rounds, like training)
        self._slow = 0  # steps in a row that took longer than max_step_seconds
        rate = settings.max_steps_per_second
        # a burst of a quarter second keeps quanta full without letting a session race ahead
        self._steps = TokenBucket(rate, max(1.0, rate / 4), time.perf_counter())
        self.failed: str | None = None  # why the lab raised; cleared by reset
        self._resume_running = False  # was running when its client left
        self._notice: str | None = None  # told to the next client that attaches (see restore)
        self.solo = False  # set if a batched step with others ever failed: it trains alone since
        self.lab: Lab = lab_class(DEFAULT_LAB)(config_model(DEFAULT_LAB)(), device)
        self._good_config = self.lab.config  # the last config a lab was built from without error
        self.frame_interval = 1 / 30
        # Frames out and not yet taken back: a client that acks frames may have ACK_WINDOW in
        # flight (it draws one while the next travels); one that does not, one at a time (the
        # transport's delivery takes it back). Either way a slow client gets fewer frames,
        # never a queue. Written by the worker (sent) and the transport (taken back).
        self._in_flight = 0
        self._flight_lock = threading.Lock()
        self._acking = False  # the client acks frames (then only acks take frames back)
        self._dirty = True  # something changed since the last frame
        self._full = True  # the next frame carries the full views (data points ...)
        self._next_frame_at = 0.0
        self._cursor = Cursor()
        # seconds per step, smoothed: sizes the training quantum; None until a step of this setup
        # was measured (a new setup's first quantum is one step, however cheap the last setup's were)
        self._step_cost: float | None = None
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
            self.frame_interval = 1 / message.frame_rate
        elif isinstance(message, Command):
            self.command(message.name, message.args)

    def command(self, name: str, args: dict[str, Any]) -> None:
        """Run a lab command. Whatever it raises is an error reply and the session goes on
        with its weights and history: arguments are validated before anything changes, and a
        command changes the lab all or nothing (labs/base.py) — except a fault inside the
        lab's own training code (``stepping_commands``), which fails the session as a
        fault in a step does."""
        try:
            reply = self.lab.command(name, args)
        except CommandError as e:  # refused before anything changed
            self.send({"type": "error", "message": str(e)[:500], "loc": ["command", name, *e.loc]})
            return
        except Exception as e:
            if name in self.lab.stepping_commands:
                raise
            if isinstance(e, (ValueError, TypeError, KeyError, IndexError)):  # a lab's own refusal
                message = str(e) or type(e).__name__
            else:  # a fault (the lab is as it was: see above)
                log.warning("session %s: command %r failed", self.id, name, exc_info=e)
                message = f"{name} failed ({type(e).__name__}: {e})"
            self.send({"type": "error", "message": message[:500], "loc": ["command", name]})
            return
        if reply is not None:
            self.send({"type": "reply", "name": name, **reply})
        self._dirty = True

    def start(self) -> None:
        """Introduce the session to a (new or returning) client."""
        self._cursor = Cursor()
        with self._flight_lock:
            self._in_flight = 0
        self._dirty = self._full = True
        self._send_config("none", [])
        self._send_status(reason=self.failed or self._notice or self.lab.diverged)
        if self._notice:
            self.send({"type": "error", "message": self._notice, "loc": []})
            self._notice = None

    def snapshot(self) -> bytes | None:
        """The run as bytes that ``restore`` takes back (in another process): the lab's whole
        state, and whether it was playing. None while the lab has failed (its state is suspect)."""
        if self.failed:
            return None
        return pickle.dumps({"lab": self.lab.config.lab, "state": self.lab.snapshot(),  # type: ignore[attr-defined]
                             "playing": self.running or self._resume_running, "frame_interval": self.frame_interval})

    def restore(self, config: dict[str, Any], notice: str | None, snapshot: bytes | None = None, resume: bool = False) -> None:
        """Start again where its ``snapshot`` was taken (the process that held the session
        ended), or from ``config`` when there is none (weights and history lost), paused;
        ``notice`` tells the next client why. ``resume``: a run that was playing plays on
        when a client holds it (as after ``detach``)."""
        kept = None
        if snapshot is not None:
            try:
                kept = pickle.loads(snapshot)
                self.lab = lab_class(kept["lab"]).restore(kept["state"])
                self.frame_interval = kept["frame_interval"]
            except Exception:  # (then from its config, as without a snapshot)
                log.exception("session %s: restoring its snapshot failed", self.id)
                kept = None
        if kept is None:
            lab_name = config.get("lab", DEFAULT_LAB)
            try:
                model = config_model(lab_name)
                self.lab = lab_class(lab_name)(model.model_validate(config), self.device)
            except Exception:  # (it was a good config; should it fail now, the default lab stands)
                log.exception("session %s: restoring its config failed", self.id)
        self._good_config = self.lab.config
        self.state = "diverged" if self.lab.diverged else "paused"
        self._resume_running = bool(resume and kept and kept["playing"])
        self._notice = notice

    def attach(self, send: Send) -> None:
        """A client (re)takes the session: it gets everything, and a run paused by its
        leaving goes on."""
        self.send = send
        if self._resume_running and self.state == "paused" and not self.failed and self.room() is None:
            self.state = "running"
        self._resume_running = False
        self.start()

    def detach(self) -> None:
        """The client left: stop training (no one watches) until a client resumes it."""
        self.send = discard
        if self.state == "running":
            self.state = "paused"
            self._resume_running = True

    # ---- failures -------------------------------------------------------------------

    def fail(self, error: BaseException) -> None:
        """The lab raised: pause, tell the client, and refuse to train until reset."""
        log.error("session %s: lab failed", self.id, exc_info=error)
        self.failed = f"the lab failed ({type(error).__name__}: {str(error)[:300]}); press reset to restart"
        self.state = "paused"
        self._dirty = True
        self.send({"type": "error", "message": self.failed, "loc": []})
        self._send_status(reason=self.failed)

    def _recover(self) -> None:
        """Rebuild a failed lab from its last good config (or the default lab if even that fails)."""
        for config in (self._good_config, config_model(DEFAULT_LAB)()):
            try:
                self.lab = lab_class(config.lab)(config, self.device)  # type: ignore[attr-defined]
            except Exception:
                log.exception("session %s: rebuilding %s failed", self.id, config.lab)  # type: ignore[attr-defined]
                continue
            self._good_config = config
            self.failed = None
            self._send_config("lab", [])
            return
        raise RuntimeError("no lab can be built")

    def configure(self, patch: dict[str, Any]) -> None:
        current = self.lab.config
        lab_name = patch.get("lab", current.lab)  # type: ignore[attr-defined]
        if lab_name not in LAB_NAMES:  # (also refuses lists, dicts ... before they reach a cache)
            got = f" (got {lab_name!r})" if isinstance(lab_name, (str, int, float, bool)) and len(str(lab_name)) < 60 else ""
            self.send({"type": "error", "message": f"config.lab: unknown lab; allowed: {', '.join(LAB_NAMES)}{got}", "loc": ["config", "lab"]})
            return
        model = config_model(lab_name)
        values = patch if lab_name != current.lab else patched(current, patch)  # type: ignore[attr-defined]
        try:
            config = model.model_validate(values)
        except ValidationError as e:
            message, loc = describe(e, ("config",), model)
            self.send({"type": "error", "message": message, "loc": loc})
            return
        changed = sorted(k for k in model.model_fields if getattr(current, k, None) != getattr(config, k))
        if (lab_name != current.lab or not UNSIZED_KEYS.issuperset(changed)) and self._too_big(lab_name, config):  # type: ignore[attr-defined]
            return
        if self.failed:  # a failed lab's state is suspect: build afresh from the new config
            self.lab = lab_class(lab_name)(config, self.device)
            self.failed = None
            rebuilt = "lab"
        elif lab_name != current.lab:  # type: ignore[attr-defined]
            self.lab = self._visit(lab_name, config)
            rebuilt = "lab"
        else:
            rebuilt = self.lab.configure(config, changed)
        self._good_config = config
        if lab_name != current.lab or not UNSIZED_KEYS.issuperset(changed):  # type: ignore[attr-defined]
            self._step_cost = None  # its steps cost what they cost: measured afresh
        if rebuilt in ("network", "lab"):
            self._after_rebuild()
        self._dirty = True
        self._send_config(rebuilt, changed)

    def _visit(self, lab_name: str, config: BaseModel) -> Lab:
        """The lab to switch to: the run left in it earlier in this session, if any (its
        weights, optimizer and history; changed as ``config`` asks, as within a lab), else a
        new one. The lab left is kept the same way, one per kind of lab, so a student who
        looks at another lab comes back to the run they left."""
        self._parked[self.lab.config.lab] = self.lab  # type: ignore[attr-defined]
        parked = self._parked.pop(lab_name, None)
        if parked is not None:
            try:
                parked.configure(config)
                return parked
            except Exception:  # (its state may be what fails: a new lab then)
                log.exception("session %s: taking back its %s run failed", self.id, lab_name)
        return lab_class(lab_name)(config, self.device)

    def _too_big(self, lab_name: str, config: BaseModel) -> bool:
        """Refuse (with an error naming the limit) a config whose lab would exceed
        max_parameters, or whose single training step would cost more than max_step_work
        (a step cannot be cut: it would hold every session on the worker that long)."""
        count, work = _size(lab_name, config.model_dump_json())
        if count > self.max_parameters:
            self.send({"type": "error", "loc": ["config"], "message": f"config: this setup has {count:,} trainable parameters; "
                       f"at most {self.max_parameters:,} are allowed (make the model smaller)"})
            return True
        if work > self.max_step_work:
            sizes = ", ".join(f"{f} ({getattr(config, f)})" for f in lab_class(lab_name).cost_fields if hasattr(config, f))
            self.send({"type": "error", "loc": ["config"], "message": f"config: one training step of this setup costs about "
                       f"{work:.2g} multiply-adds; at most {self.max_step_work:.2g} are allowed, so no one else waits "
                       f"for it: lower {sizes or 'the model size'}"})
            return True
        return False

    def control(self, action: str) -> None:
        if self.failed and action != "pause":
            if action != "reset":
                self.send({"type": "error", "message": self.failed, "loc": ["action"]})
                return
            self._recover()
            self.state = "paused"
            self._after_rebuild()
            self._dirty = True
            return
        if action == "play":
            if self.state == "diverged":
                self.send({"type": "error", "message": "the run diverged; reset (or change the setup) to start again", "loc": ["action"]})
                return
            refusal = None if self.running else self.room()
            if refusal:  # past capacity: this one waits rather than everyone slowing down
                self.send({"type": "error", "message": refusal, "loc": ["action"]})
                self._send_status()
                return
            self.state = "running"
            self._owed = 0
        elif action == "pause":
            if self.state == "running":
                self.state = "paused"
            self._owed = 0
        elif action == "step":
            if self.state == "diverged":
                self.send({"type": "error", "message": "the run diverged; reset (or change the setup) to start again", "loc": ["action"]})
                return
            # one epoch, trained across rounds like any training (a long epoch must not hold
            # the worker); presses while it runs queue more, up to MAX_OWED_EPOCHS
            self.state = "paused"
            self._owed = min(self._owed + self.lab.steps_per_epoch, MAX_OWED_EPOCHS * self.lab.steps_per_epoch)
            self._dirty = True
            return
        elif action == "reset":
            self.lab.reset()
            self._after_rebuild()
        self._dirty = True
        self._send_status()

    def _after_rebuild(self) -> None:
        self._owed = 0
        if self.state == "diverged":
            self.state = "paused"
        self._cursor = Cursor()
        self._full = True
        self._send_status()

    # ---- training and frames (called by the worker) ---------------------------------

    @property
    def running(self) -> bool:
        return self.state == "running"

    @property
    def wants_training(self) -> bool:
        """Running, or still owing steps to a 'step' control."""
        return (self.running or self._owed > 0) and not self.failed

    def wants_time(self, now: float) -> bool:
        """The worker owes this session a share of its time this round: it trains, or a
        frame is due."""
        return self.wants_training or (self._dirty and self.next_frame_in(now) is not None)

    @property
    def weight(self) -> int:
        """Places this session takes in admission while it trains, by what one of its steps
        costs: the heaviest setup allowed (max_step_work) takes MAX_WEIGHT places, a default
        playground or a small transformer one or two. By formula, so a busy moment cannot
        make a session look dearer; the time it really takes is what the worker shares
        (``budget``) and what max_step_seconds bounds."""
        config = self.lab.config
        if self._weighed[0] is not config:  # (asked each round: worked out once per setup)
            work = _size(config.lab, config.model_dump_json())[1]  # type: ignore[attr-defined]
            self._weighed = (config, max(1, min(MAX_WEIGHT, math.ceil(work * MAX_WEIGHT / self.max_step_work))))
        return self._weighed[1]

    def train_wait(self, now: float) -> float | None:
        """Seconds until the session may train (0 = now), None if it is not training."""
        if not self.wants_training:
            return None
        return max(self._steps.wait(now), self.budget.ready_in(self._step_cost or 0.0), self.lab.due_in())

    def tick(self, budget: float) -> None:
        """Train for about ``budget`` seconds if training, within the steps/s allowance and
        the session's time credit; the time is paid from the credit."""
        started = time.perf_counter()
        n = self._allowance(budget, started)
        if n < 1:
            return
        self._steps.spend(n)
        before = self.lab.step_count
        if self.cohort_key() is None:
            self.lab.step(n)
        else:  # a cohort of one: the batched step is cheaper than the lab's own (bench/batching.py)
            type(self.lab).step_together([self.lab], n)
        elapsed = time.perf_counter() - started
        self.budget.spend(elapsed)
        # (a paced lab may take fewer steps than asked: a 'step' press is owed until taken)
        self._trained(elapsed / n, self.lab.step_count - before, alone=True)

    def cohort_key(self) -> Any:
        """Running sessions with equal keys train together as one batched computation
        (``tick_together``); None: this one trains alone."""
        if not self.running or self.failed or self.solo:
            return None
        key = self.lab.cohort_key()
        return None if key is None else (type(self.lab), key)

    def _allowance(self, budget: float, now: float) -> int:
        """Steps this session may take in ``budget`` seconds: by its step cost, within its
        steps/s allowance and what a 'step' control still owes (0 if it is not training or
        has not saved up for a step, ``Budget.affords``; else at least one step, even for a
        budget of 0)."""
        if not self.wants_training or not self.budget.affords(self._step_cost or 0.0):
            return 0
        budget = min(budget, self.budget.credit)
        per_step = self._step_cost or math.inf  # (unmeasured: one step)
        n = min(max(1, int(budget / per_step)), int(self._steps.available(now)))
        return n if self.running else min(n, self._owed)

    def _trained(self, step_cost: float, n: int, alone: bool = False) -> None:
        # floored: a lab that had nothing to do (a finished race) must not make the next quantum huge
        smoothed = step_cost if self._step_cost is None else 0.7 * self._step_cost + 0.3 * step_cost
        self._step_cost = max(1e-6, smoothed)
        self._dirty = True
        if not self.running and self._owed:
            self._owed = max(0, self._owed - n)
            if not self._owed:
                self._send_status()
        self._check_divergence()
        if alone:
            self._check_step_time(step_cost)

    def _check_step_time(self, step_cost: float) -> None:
        """A session whose single steps take longer than max_step_seconds (the work estimate
        let it through, but this machine is slower) is paused: each such step holds the
        sessions that share its worker."""
        self._slow = self._slow + 1 if step_cost > self.max_step_seconds else 0
        if self._slow < SLOW_STEPS:
            return
        self._slow = 0
        self.state = "paused"
        self._owed = 0
        fields = ", ".join(f for f in type(self.lab).cost_fields if hasattr(self.lab.config, f)) or "the model size"
        reason = (f"config: one training step of this setup takes {step_cost:.2f} s here; at most "
                  f"{self.max_step_seconds:g} s is allowed, so no one else waits for it: lower {fields}")
        self.send({"type": "error", "message": reason, "loc": ["config"]})
        self._send_status(reason=reason)

    def _check_divergence(self) -> None:
        if self.lab.diverged and self.state != "diverged":
            self.state = "diverged"
            self._owed = 0
            self._send_status(reason=self.lab.diverged)

    def frame_due(self, now: float) -> float | None:
        """Seconds until a frame is due (0 = now), or None if none is owed (or the lab failed:
        its views may be what raises)."""
        if not self._dirty:
            return None
        due = self.next_frame_in(now)
        # a session in debt (its steps, commands or views cost more than its share) gets its
        # next frame once it has repaid it: frames give way first, and only its own
        return None if due is None else max(due, self.budget.repaid_in())

    def next_frame_in(self, now: float) -> float | None:
        """Seconds until the client may have its next frame, were the lab to change now (the
        worker ends a quantum then, so frames leave on time rather than at the end of a
        quantum); None if it has as many frames in flight as it may."""
        if self._in_flight >= (ACK_WINDOW if self._acking else 1) or self.failed:
            return None
        return max(0.0, self._next_frame_at - now)

    def frame_sent(self) -> None:
        """The transport delivered a frame: it is taken back (unless the client acks
        frames, then its ack does that)."""
        if not self._acking:
            self._take_back()

    def ack(self) -> None:
        """The client is drawing a frame (called from the transport's thread)."""
        self._acking = True
        self._take_back()

    def _take_back(self) -> None:
        with self._flight_lock:
            self._in_flight = max(0, self._in_flight - 1)

    def send_frame(self, now: float) -> None:
        """Send the frame, its views paid from the session's time budget."""
        started = time.perf_counter()
        self._send_frame(now)
        self.budget.spend(time.perf_counter() - started)

    def _send_frame(self, now: float) -> None:
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
        self._dirty = self._full = False
        with self._flight_lock:
            self._in_flight += 1
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


def tick_together(sessions: list[Session], budget: float) -> None:
    """Train sessions of one cohort key for about ``budget`` seconds each, as one batched
    computation: every one ready to train (with credit left) takes the same number of steps
    (the fewest any of them may), and each pays its share of the time."""
    started = time.perf_counter()
    ready = [(s, n) for s in sessions if (n := s._allowance(budget, started)) >= 1]
    if not ready:
        return
    group = [s for s, _ in ready]
    n = min(n for _, n in ready)
    for s in group:
        s._steps.spend(n)
    type(group[0].lab).step_together([s.lab for s in group], n)
    share = (time.perf_counter() - started) / len(group)
    for s in group:
        s.budget.spend(share)
        s._trained(share / n, n)


def patched(current: BaseModel, patch: dict[str, Any]) -> dict[str, Any]:
    """The current config with a patch applied; a lab's config model may refine how (its
    ``patched`` classmethod, e.g. the playground's problem brings a loss that applies)."""
    refine = getattr(type(current), "patched", None)
    return refine(current, patch) if refine else {**current.model_dump(), **patch}


@lru_cache(maxsize=64)
def _size(lab_name: str, config_json: str) -> tuple[int, float]:
    """(trainable parameters, multiply-adds of one training step), memoized by config: a
    lab's default count builds one, so repeats cost nothing."""
    model = config_model(lab_name)
    config = model.model_validate_json(config_json)
    lab = lab_class(lab_name)
    return int(lab.parameter_count(config)), float(lab.step_work(config))
