"""Backprop by hand: one SGD step split into its phases forward -> loss -> backward ->
update. Training is real torch autograd (scalar parameters with requires_grad,
loss.backward(), torch.optim.SGD); the chain-rule products shown next to each .grad are
computed by hand from the forward values (presets.py), separately from autograd."""

from __future__ import annotations

import math
from typing import Any

import torch

from descent.history import History
from descent.labs.backprop.presets import PRESETS, ChainRule, Quantity, val
from descent.labs.backprop.schema import COMMANDS, PHASES, Config, NoArgs
from descent.labs.backprop.schema import PRESETS as LABELS
from descent.labs.base import Lab as BaseLab
from descent.labs.base import Pace, Rebuilt
from descent.labs.commands import CommandError

DTYPE = torch.float64  # a handful of scalars: exact-looking numbers cost nothing


class Lab(BaseLab[Config]):
    command_args = COMMANDS
    stepping_commands = ("phase", "step")  # (they run the step itself)

    def __init__(self, config: Config, device: torch.device) -> None:
        super().__init__(config, torch.device("cpu"))  # scalars: a GPU would only add launch latency
        self.pace = Pace(self.pace_rate())  # steps people read: config.speed steps per second
        self._build()

    def _build(self) -> None:
        self.preset = PRESETS[self.config.preset]
        self.params = {n: torch.tensor(v, dtype=DTYPE, requires_grad=True) for n, v in self.preset.init.items()}
        self.optimizer = torch.optim.SGD(list(self.params.values()), lr=self.config.learning_rate)
        self.history = History(("loss",), cap=2000)
        self.step_count = 0
        self.epoch = 0
        self.diverged = None
        self.phase = "ready"  # the last phase done
        self.forward: list[Quantity] = []
        self.loss: Quantity | None = None
        self.last_loss: float | None = None
        self.chains: dict[str, ChainRule] = {}
        self.grad_before: dict[str, float | None] = {}
        self.updates: dict[str, dict[str, float]] = {}
        self.zeroed = not self.config.forget_zero_grad

    # ---- the phases -------------------------------------------------------------------

    @property
    def next_phase(self) -> str:
        return PHASES[0] if self.phase in ("ready", PHASES[-1]) else PHASES[PHASES.index(self.phase) + 1]

    def advance_phase(self) -> None:
        """Do the next phase of the current step."""
        phase = self.next_phase
        getattr(self, f"_{phase}")()
        self.phase = phase

    def _forward(self) -> None:
        # a new step: what was shown of the last one goes (the .grad stays: torch keeps it)
        self.loss, self.chains, self.grad_before, self.updates = None, {}, {}, {}
        self.forward = self.preset.forward(self.params)

    def _loss(self) -> None:
        self.loss = self.preset.loss(self.params, {q.name: q.value for q in self.forward})
        self.last_loss = val(self.loss.value)

    def _backward(self) -> None:
        assert self.loss is not None
        self.grad_before = {n: _grad(p) for n, p in self.params.items()}
        self.zeroed = not self.config.forget_zero_grad
        if self.zeroed:
            self.optimizer.zero_grad(set_to_none=True)
        self.loss.value.backward()
        # by hand, from the numbers of the forward pass (the parameters have not moved yet)
        values = {n: val(p) for n, p in self.params.items()}
        self.chains = self.preset.chains(values, {q.name: val(q.value) for q in self.forward})

    def _update(self) -> None:
        old = {n: val(p) for n, p in self.params.items()}
        lr = self.lr
        self.optimizer.step()
        self.updates = {
            n: {"old": old[n], "lr": lr, "grad": _grad(p) or 0.0, "new": val(p)} for n, p in self.params.items()
        }
        self.step_count += 1
        self.epoch = self.step_count
        self.history.append(self.step_count, {"loss": self.last_loss})  # the loss this step computed
        bad = [n for n, p in self.params.items() if not math.isfinite(val(p))]
        if bad or self.last_loss is None or not math.isfinite(self.last_loss):
            what = f"{', '.join(bad)} became non-finite" if bad else f"the loss became {self.last_loss}"
            self.diverged = f"{what} at step {self.step_count} (lr {lr:g})"

    def whole_step(self) -> None:
        """Finish the current step (or do a whole new one)."""
        self.advance_phase()
        while self.phase != PHASES[-1] and not self.diverged:
            self.advance_phase()

    # ---- the lab interface ------------------------------------------------------------

    @property
    def steps_per_epoch(self) -> int:
        return 1

    def step(self, n: int) -> None:
        """Up to ``n`` whole steps at ``config.speed`` steps per second: those due now (the
        session waits for the next one through ``due_in``)."""
        for _ in range(self.paced(n)):
            if self.diverged:
                break
            self.whole_step()

    def command_phase(self, args: NoArgs) -> None:
        if self.diverged:
            raise CommandError("phase: the run diverged; reset (or change the setup) to start again", [])
        self.advance_phase()

    def command_step(self, args: NoArgs) -> None:
        """One whole step now, unpaced (the view's own button)."""
        if self.diverged:
            raise CommandError("step: the run diverged; reset (or change the setup) to start again", [])
        self.whole_step()

    def reconfigure(self, old: Config, changed: set[str]) -> Rebuilt:
        config = self.config
        if "preset" in changed:
            self._build()
            return "network"
        for group in self.optimizer.param_groups:
            group["lr"] = config.learning_rate
        return "none"

    def reset(self) -> None:
        self._build()

    def measure(self) -> dict[str, float | None]:
        return {"loss": self.last_loss}

    def views(self, full: bool, detail: bool = True) -> dict[str, Any]:
        params = []
        for n, p in self.params.items():
            chain = self.chains.get(n)
            params.append(
                {
                    "name": n,
                    "value": _finite(val(p)),
                    "grad": _finite(_grad(p)),
                    "grad_before": _finite(self.grad_before.get(n)),
                    "chain": _chain_view(chain),
                    "update": _update_view(self.updates.get(n)),
                }
            )
        views: dict[str, Any] = {
            "preset": self.preset.name,
            "label": self.preset.label,
            "phase": self.phase,
            "next_phase": self.next_phase,
            "inputs": [{"name": n, "formula": "", "numbers": "", "value": v} for n, v in self.preset.inputs],
            "forward": [_quantity_view(q) for q in self.forward],
            "loss": _quantity_view(self.loss) if self.loss else None,
            "params": params,
            "zero_grad": self.zeroed,
        }
        if full:
            views["presets"] = dict(LABELS)
        return views


def _grad(p: torch.Tensor) -> float | None:
    return None if p.grad is None else float(p.grad)


def _finite(v: float | None) -> float | None:
    return v if v is not None and math.isfinite(v) else None


def _quantity_view(q: Quantity) -> dict[str, Any]:
    return {"name": q.name, "formula": q.formula, "numbers": q.numbers, "value": _finite(val(q.value))}


def _chain_view(chain: ChainRule | None) -> dict[str, Any] | None:
    if chain is None or not all(math.isfinite(v) for t in chain.terms for v in t) or not math.isfinite(chain.value):
        return None
    return {"factors": chain.factors, "terms": chain.terms, "value": chain.value}


def _update_view(update: dict[str, float] | None) -> dict[str, float] | None:
    # JSON has no inf/NaN: a diverged update is not shown
    return update if update and all(math.isfinite(v) for v in update.values()) else None
