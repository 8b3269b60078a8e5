"""What every lab provides to the session, and the plumbing every lab shares (optimizer and
LR schedule from the registries, the learning rate, finite-only metrics, the config diff,
pacing, the planned-LR curve), so a lab writes only what is its own. Labs know nothing of
websockets or FastAPI."""

from __future__ import annotations

import inspect
import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Collection, Iterable
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Literal, Self, TypeVar

from pydantic import BaseModel

from descent.history import History
from descent.labs.base.curve import CURVE_POINTS, planned_curve
from descent.labs.base.pace import Pace
from descent.labs.base.snapshots import Unbuilt, dump, load
from descent.labs.base.twin import Twin, short
from descent.labs.commands import Args, CommandError, parse
from descent.nn.optimizers import OPTIMIZERS, OptimizerParams
from descent.nn.schedules import Schedule, ScheduleParams, build_schedule

if TYPE_CHECKING:
    import torch

Rebuilt = Literal["none", "optimizer", "network"]
C = TypeVar("C", bound=BaseModel)


def changed_fields(old: BaseModel, new: BaseModel) -> set[str]:
    """The fields of ``new`` whose value differs from ``old``'s (what the session computes)."""
    return {k for k in type(new).model_fields if getattr(old, k, None) != getattr(new, k)}


def finite(values: dict[str, float | None]) -> dict[str, float | None]:
    """``values`` with NaN and infinities as None (JSON has neither)."""
    return {k: (v if v is None or math.isfinite(v) else None) for k, v in values.items()}


class Lab(ABC, Generic[C]):
    """One kind of experiment, over its config model ``C``. All methods run on the worker
    thread that owns the lab.

    A lab defines: ``__init__(config, device)``, ``step``, ``steps_per_epoch``,
    ``reconfigure``, ``reset``, ``views`` and either ``epoch_metrics`` or ``measure``. It
    inherits the rest (see the sections below)."""

    config: C
    history: History
    step_count: int = 0
    epoch: int = 0
    # Set by step() when the run diverges (loss NaN/inf); the session pauses on it.
    diverged: str | None = None
    # The last evaluation's metrics (``metrics()`` sends them, non-finite ones as None).
    epoch_metrics: dict[str, float | None]

    def __init__(self, config: C, device: torch.device) -> None:
        self.config = config
        self.device = device

    @abstractmethod
    def step(self, n: int) -> None:
        """Run ``n`` optimizer steps (stops early on divergence)."""

    @property
    @abstractmethod
    def steps_per_epoch(self) -> int:
        """Steps in one epoch: the 'step' control runs this many."""

    def counted_steps(self, n: int, one_step: Callable[[], None]) -> None:
        """``n`` calls of ``one_step`` (one optimizer step of the lab), counted; every
        ``steps_per_epoch`` steps the lab's ``end_epoch``; a divergence stops them early."""
        for _ in range(n):
            one_step()
            self.step_count += 1
            if self.step_count % self.steps_per_epoch == 0:
                self.end_epoch()
                if self.diverged:
                    return

    def end_epoch(self) -> None:
        """An epoch's end (labs that step through ``counted_steps``): evaluate, record, and
        set ``diverged`` if the run diverged."""
        raise NotImplementedError

    @abstractmethod
    def reset(self) -> None:
        """Fresh weights and optimizer, same config and data."""

    @abstractmethod
    def views(self, full: bool, detail: bool = True) -> dict[str, Any]:
        """The lab's frame views; ``full`` adds what only a new client or changed data needs.
        ``detail`` False: a light frame (a busy worker, runtime/pressure.py), which may leave
        out costly views that change slowly; the page keeps the last it had of each (the
        playground does; other labs send everything)."""

    # ---- changes: the session hands in what changed -------------------------------------

    def configure(self, config: C, changed: Collection[str] | None = None) -> Rebuilt:
        """Apply a validated config of this lab, keeping as much state as it allows.
        ``changed``: the fields that differ from the current config (the session computed
        them already; worked out here when not given)."""
        old = self.config
        fields = set(changed) if changed is not None else changed_fields(old, config)
        self.config = config
        if self.pace is not None:
            self.pace.rate = self.pace_rate()
        return self.reconfigure(old, fields)

    def reconfigure(self, old: C, changed: set[str]) -> Rebuilt:
        """The lab's part of ``configure``: ``self.config`` is the new config already, ``old``
        the one before, ``changed`` the fields that differ. Rebuild what they need and say
        what was rebuilt ("network" restarts the run's counters on the page)."""
        raise NotImplementedError(f"{type(self).__name__} defines reconfigure (or configure)")

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        own = cls.__dict__.get("configure")
        if own is not None and len(inspect.signature(own).parameters) == 2:
            # a lab written as configure(self, config) before the session handed in the
            # changed fields: it keeps working (it works them out itself)
            def configure(self: Lab[Any], config: Any, changed: Collection[str] | None = None) -> Rebuilt:
                result: Rebuilt = own(self, config)
                return result

            cls.configure = configure  # type: ignore[method-assign]  # (the lab's own, taking the new argument)

    # ---- optimizer and LR schedule from the registries ----------------------------------

    # the config field holding the schedule's horizon in steps (configs with a schedule)
    horizon_field: ClassVar[str] = "horizon"
    optimizer: Any = None  # a torch.optim optimizer (build_optimizer)
    schedule: Schedule | Unbuilt | None = None
    curve_version = 0  # bumped by every new schedule: the page gets the new planned curve
    curve_sent = -1  # the version the page has

    @property
    def horizon(self) -> int:
        return int(getattr(self.config, self.horizon_field))

    def build_optimizer(self, params: Iterable[torch.Tensor]) -> None:
        """The config's optimizer (registry ``OPTIMIZERS``) over ``params``, and its schedule."""
        cfg: Any = self.config
        self.optimizer = OPTIMIZERS[cfg.optimizer].fn(params, cfg.learning_rate, cfg)
        self.build_schedule()

    # fields whose change needs a new optimizer (its state lost), or only the schedule again
    OPTIMIZER_KEYS: ClassVar[frozenset[str]] = frozenset({"optimizer", *OptimizerParams.model_fields})
    SCHEDULE_KEYS: ClassVar[frozenset[str]] = frozenset({"learning_rate", "horizon", *ScheduleParams.model_fields})

    def retrain(self, changed: set[str], params: Iterable[torch.Tensor]) -> Rebuilt:
        """The end of every ``reconfigure``: a new optimizer over ``params`` when an optimizer
        field changed, else the schedule attached again at the current step (a change mid-run
        jumps onto the new curve) when a schedule field did."""
        if changed & self.OPTIMIZER_KEYS:
            self.build_optimizer(params)
            return "optimizer"
        if changed & self.SCHEDULE_KEYS:
            self.build_schedule()
        return "none"

    def build_schedule(self, start: int | None = None) -> None:
        """(Re)attach the config's schedule at step ``start`` (the current step by default):
        a change mid-run jumps onto the new curve there; the optimizer's state is kept."""
        cfg: Any = self.config
        at = self.step_count if start is None else start
        self.schedule = build_schedule(self.optimizer, cfg, self.horizon, start=at, base_lr=cfg.learning_rate)
        self.curve_version += 1

    def step_schedule(self) -> None:
        """The schedule after an optimizer step (without one the LR stays)."""
        if isinstance(self.schedule, Schedule):
            self.schedule.step()

    @property
    def lr(self) -> float:
        """The learning rate of the next step."""
        return float(self.optimizer.param_groups[0]["lr"])

    def metrics(self) -> dict[str, float | None]:
        """What the frame's ``metrics`` carry: ``measure()``, non-finite values as None."""
        return finite(self.measure())

    def measure(self) -> dict[str, float | None]:
        """The current metrics (may hold NaN or infinities); the last evaluation's by default."""
        return self.epoch_metrics

    # ---- views every lab with a schedule shows ------------------------------------------

    curve_points: ClassVar[int] = CURVE_POINTS

    def schedule_views(self, full: bool) -> dict[str, Any]:
        """``{"schedule": ScheduleCurve}`` when the page lacks the current curve (full frames
        and after a schedule change), else nothing."""
        if not full and self.curve_sent == self.curve_version:
            return {}
        self.curve_sent = self.curve_version
        cfg: Any = self.config
        return {"schedule": planned_curve(cfg, cfg.learning_rate, self.horizon, self.steps_per_epoch, self.curve_points)}

    # ---- pacing (a race people watch steps at its own rate, through the session) -------

    pace: Pace | None = None  # set by a paced lab (Pace(self.pace_rate())) in its __init__
    pace_field: ClassVar[str] = "speed"  # the config field holding a paced lab's steps per second

    def pace_rate(self) -> float:
        """Steps per second of a paced lab, from its config."""
        return float(getattr(self.config, self.pace_field))

    def paced(self, wanted: int) -> int:
        """How many of ``wanted`` steps are due now (all of them if the lab is not paced)."""
        return wanted if self.pace is None else self.pace.take(wanted)

    def due_in(self) -> float:
        """Seconds until this lab has a step to take (0 = now). A paced lab waits for its
        clock: the session's worker waits meanwhile, never the lab."""
        return 0.0 if self.pace is None else self.pace.due_in()

    # ---- fork and compare: a second run beside this one (twin.py) -----------------------

    # the config fields a second run may change (none: the lab has no fork command); a lab
    # with some adds TWIN_COMMANDS (fork, unfork) to its commands and fork_views to its views
    comparable: ClassVar[frozenset[str]] = frozenset()
    twin: Twin | None = None
    twin_shown = False  # the page has a second run's curves (None once tells it the run ended)

    def train_steps(self, n: int) -> None:
        """``n`` steps of this run, and as many of its second run if it has one."""
        self.step(n)
        if self.twin is not None:
            self.twin.step(n)

    def command_fork(self, args: Any) -> dict[str, Any]:  # (ForkArgs)
        """A second run with ``args.patch`` applied (it replaces one running); built whole
        before it takes the old one's place, so a refusal changes nothing."""
        self.twin = Twin(self, args.patch)
        return {"label": self.twin.label}

    def command_unfork(self, args: Any) -> dict[str, Any]:
        self.twin = None
        return {"label": None}

    def fork_views(self, full: bool) -> dict[str, Any]:
        """``{"fork": {label, history, diverged, ...}}`` while a second run runs, ``{"fork":
        None}`` once after it ended, else nothing."""
        if self.twin is None and not self.twin_shown:
            return {}
        self.twin_shown = self.twin is not None
        return {"fork": self.twin.view(self, full) if self.twin else None}

    def change_words(self, key: str, value: Any) -> str:
        """A second run's legend words for one changed setting: 'lr 0.1', 'cell lstm'."""
        return short(key, value)

    def twin_views(self, run: Self) -> dict[str, Any]:
        """What a lab shows of its second run beyond the curves (e.g. the recurrent lab's BPTT view)."""
        return {}

    def copy(self) -> Self:
        """This run copied whole, without its second run (the path a snapshot takes)."""
        state = self.__getstate__()
        state.pop("twin", None)
        state.pop("twin_shown", None)
        return type(self).restore(dump(state))

    # ---- cross-session batching (the worker steps labs with equal keys together) -------

    def cohort_key(self) -> Any:
        """A key equal for labs that can step as one batched computation, or None (alone)."""
        return None

    @classmethod
    def step_together(cls, labs: list[Self], n: int) -> None:
        """``n`` steps of each of ``labs`` (equal cohort keys), exactly as each would alone."""
        raise NotImplementedError

    # Lab-specific commands: name -> the model of its arguments (the lab's schema.COMMANDS).
    # Each runs as ``command_<name>(args)`` with its arguments validated (see ``command``).
    command_args: ClassVar[dict[str, type[Args]]] = {}
    # Commands that run the lab's own training code (one phase, one step): a fault inside
    # one is a fault of the lab, as in step(), and fails the session (reset restarts it).
    # Every other command either changes nothing or changes the lab only once all that can
    # fail has run (or puts back what it changed), so its faults are only error replies.
    stepping_commands: ClassVar[tuple[str, ...]] = ()

    @property
    def commands(self) -> tuple[str, ...]:
        return tuple(self.command_args)

    def command(self, name: str, args: Any) -> dict[str, Any] | None:
        """Run a lab command. Bad arguments raise CommandError naming the field (before the
        command changes anything). A returned dict is sent to the client as a
        ``{"type": "reply", "name": name, ...}`` message."""
        model = self.command_args.get(name)
        if model is None:
            allowed = ", ".join(self.command_args) or "none"
            raise CommandError(f"name: unknown command {name!r} for this lab; allowed: {allowed}", [])
        reply: dict[str, Any] | None = getattr(self, f"command_{name}")(parse(model, args))
        return reply

    # ---- snapshots (a worker process that dies loses nobody's run: processes.py) ---------

    # Attributes a snapshot leaves out: rebuilt from the config by ``rebuilt`` (what does not
    # pickle, such as closures, or what is cheaper to make again than to carry).
    transient: ClassVar[tuple[str, ...]] = ()

    def snapshot(self) -> bytes:
        """The whole state of the run (weights, optimizer and schedule state, counters,
        random generators, history, views' bookkeeping) as bytes: the lab's attributes,
        pickled as one graph. Its size is bounded by the parameter limit."""
        return dump(self.__getstate__())

    def __getstate__(self) -> dict[str, Any]:
        """The lab's attributes without the transient ones (also when a second run is pickled
        inside its main run's snapshot; ``rebuilt`` makes them again)."""
        return {k: v for k, v in vars(self).items() if k not in self.transient}

    @classmethod
    def restore(cls, data: bytes) -> Self:
        """A lab from a ``snapshot`` of this lab class, taken by this server (so on its device)."""
        lab = cls.__new__(cls)
        lab.__dict__.update(load(data))
        lab.rebuilt()
        return lab

    def rebuilt(self) -> None:
        """After ``restore``: the schedule at the step it had reached (a snapshot keeps only
        that, an ``Unbuilt``). A lab with ``transient`` attributes or schedules of its own
        builds them too (and calls this)."""
        if isinstance(self.schedule, Unbuilt):
            self.build_schedule(start=self.schedule.t)
        if self.twin is not None:
            self.twin.run.rebuilt()

    # ---- size guard (the session refuses configs over settings.max_parameters) ----------

    # the config fields that set how much a step costs, named when a setup is refused as too big
    cost_fields: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def step_work(cls, config: C) -> float:
        """Multiply-adds of one training step (forward and backward, about three times the
        forward), by formula: the session refuses a setup over settings.max_step_work, since
        one step cannot be cut and holds its worker. This default, for small labs: three
        times the parameters per sample of a batch."""
        return 3.0 * cls.parameter_count(config) * getattr(config, "batch_size", 1)

    @classmethod
    def parameter_count(cls, config: C) -> int:
        """Trainable parameters a lab built from ``config`` holds. This default builds one
        on the CPU and counts (fine for small labs); a lab whose config can ask for a big
        model should override it with the formula, so the guard costs nothing."""
        import torch

        return cls(config, torch.device("cpu")).parameter_total()

    def parameter_total(self) -> int:
        """Trainable parameters this lab holds: those of its nn.Module attributes and of
        tensors that require grad (each counted once)."""
        from torch import Tensor, nn

        seen: dict[int, int] = {}
        for value in vars(self).values():
            params = value.parameters() if isinstance(value, nn.Module) else [value] if isinstance(value, Tensor) else []
            for p in params:
                if p.requires_grad:
                    seen[id(p)] = p.numel()
        return sum(seen.values())
