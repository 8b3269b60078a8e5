"""What every lab provides to the session. Labs know nothing of websockets or FastAPI."""

from __future__ import annotations

import io
import pickle
import types
from abc import ABC, abstractmethod
from typing import Any, Literal

from pydantic import BaseModel

from descent.history import History
from descent.labs.commands import Args, CommandError, parse
from descent.nn.schedules import Schedule

Rebuilt = Literal["none", "optimizer", "network"]


class Unbuilt:
    """Where a snapshot had an LR schedule: its step index only (a schedule holds lambdas,
    which do not pickle); the restored lab builds the schedule again at that step."""

    def __init__(self, t: int) -> None:
        self.t = t


class _Pickler(pickle.Pickler):
    def reducer_override(self, obj: Any) -> Any:
        if isinstance(obj, Schedule):
            return Unbuilt, (obj.t,)
        return NotImplemented


# what torch.save calls a pickle module: the standard one, with schedules left unbuilt
_PICKLING = types.SimpleNamespace(**{name: getattr(pickle, name) for name in ("Unpickler", "load", "dump", "loads", "dumps")},
                                  Pickler=_Pickler, __name__="pickle")


class Lab(ABC):
    """One kind of experiment. All methods run on the worker thread that owns the lab."""

    config: BaseModel
    history: History
    step_count: int = 0
    epoch: int = 0
    # Set by step() when the run diverges (loss NaN/inf); the session pauses on it.
    diverged: str | None = None

    @abstractmethod
    def step(self, n: int) -> None:
        """Run ``n`` optimizer steps (stops early on divergence)."""

    def due_in(self) -> float:
        """Seconds until this lab has a step to take (0 = now). A paced lab (a race people
        watch) waits for its clock: the worker sleeps meanwhile, never the lab."""
        return 0.0

    @property
    @abstractmethod
    def steps_per_epoch(self) -> int:
        """Steps in one epoch: the 'step' control runs this many."""

    @abstractmethod
    def configure(self, config: BaseModel) -> Rebuilt:
        """Apply a validated config of this lab, keeping as much state as it allows."""

    @abstractmethod
    def reset(self) -> None:
        """Fresh weights and optimizer, same config and data."""

    @property
    @abstractmethod
    def lr(self) -> float: ...

    @abstractmethod
    def metrics(self) -> dict[str, float | None]: ...

    # ---- cross-session batching (the worker steps labs with equal keys together) -------

    def cohort_key(self) -> Any:
        """A key equal for labs that can step as one batched computation, or None (alone)."""
        return None

    @classmethod
    def step_together(cls, labs: list[Lab], n: int) -> None:
        """``n`` steps of each of ``labs`` (equal cohort keys), exactly as each would alone."""
        raise NotImplementedError

    # Lab-specific commands: name -> the model of its arguments (the lab's schema.COMMANDS).
    # Each runs as ``command_<name>(args)`` with its arguments validated (see ``command``).
    command_args: dict[str, type[Args]] = {}
    # Commands that run the lab's own training code (one phase, one step): a fault inside
    # one is a fault of the lab, as in step(), and fails the session (reset restarts it).
    # Every other command either changes nothing or changes the lab only once all that can
    # fail has run (or puts back what it changed), so its faults are only error replies.
    stepping_commands: tuple[str, ...] = ()

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
        return getattr(self, f"command_{name}")(parse(model, args))

    @abstractmethod
    def views(self, full: bool) -> dict[str, Any]:
        """The lab's frame views; ``full`` adds what only a new client or changed data needs."""

    # ---- snapshots (a worker process that dies loses nobody's run: processes.py) ---------

    # Attributes a snapshot leaves out: rebuilt from the config by ``rebuilt`` (what does not
    # pickle, such as closures, or what is cheaper to make again than to carry).
    transient: tuple[str, ...] = ()

    def snapshot(self) -> bytes:
        """The whole state of the run (weights, optimizer and schedule state, counters,
        random generators, history, views' bookkeeping) as bytes: the lab's attributes,
        pickled as one graph, so what they share (a model's parameters and the optimizer's
        references to them) stays shared. Its size is bounded by the parameter limit."""
        state = {k: v for k, v in vars(self).items() if k not in self.transient}
        buffer = io.BytesIO()
        import torch

        torch.save(state, buffer, pickle_module=_PICKLING)
        return buffer.getvalue()

    @classmethod
    def restore(cls, data: bytes) -> Lab:
        """A lab from a ``snapshot`` of this lab class, taken by this server (so on its device)."""
        import torch

        lab = cls.__new__(cls)
        lab.__dict__.update(torch.load(io.BytesIO(data), weights_only=False))  # (our own bytes, never a client's)
        lab.rebuilt()
        return lab

    def rebuilt(self) -> None:  # noqa: B027 (an optional hook, empty by default)
        """After ``restore``: build the ``transient`` attributes and the schedules (each an
        ``Unbuilt`` with its step index) again from the config. Labs with either override it."""

    # ---- size guard (the session refuses configs over settings.max_parameters) ----------

    # the config fields that set how much a step costs, named when a setup is refused as too big
    cost_fields: tuple[str, ...] = ()

    @classmethod
    def step_work(cls, config: BaseModel) -> float:
        """Multiply-adds of one training step (forward and backward, about three times the
        forward), by formula: the session refuses a setup over settings.max_step_work, since
        one step cannot be cut and holds its worker. This default, for small labs: three
        times the parameters per sample of a batch."""
        return 3.0 * cls.parameter_count(config) * getattr(config, "batch_size", 1)

    @classmethod
    def parameter_count(cls, config: BaseModel) -> int:
        """Trainable parameters a lab built from ``config`` holds. This default builds one
        on the CPU and counts (fine for small labs); a lab whose config can ask for a big
        model should override it with the formula, so the guard costs nothing."""
        import torch

        return cls(config, torch.device("cpu")).parameter_total()  # type: ignore[call-arg]

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
