"""The MLP playground lab: its network (network.py) trained (training.py), shown
(views.py), changed by the page (``reconfigure``) and by its commands."""

from __future__ import annotations

from typing import Any

import torch
from pydantic import ValidationError

from descent.labs.base import Rebuilt
from descent.labs.commands import refusal
from descent.labs.mlp import cohort, inside
from descent.labs.mlp.fork import Fork
from descent.labs.mlp.schema import COMMANDS, Config, ForkArgs, NoArgs, SetWeightArgs
from descent.labs.mlp.training import Training
from descent.labs.mlp.views import Shown, frame_views
from descent.nn.initializers import InitParams
from descent.nn.optimizers import OptimizerParams
from descent.nn.schedules import ScheduleParams, build_schedule

DATA_KEYS = {"problem", "dataset", "classes", "noise", "train_ratio", "seed"}
NETWORK_KEYS = {"features", "hidden", "activation", "loss", "dropout", "norm"} | set(InitParams.model_fields)
SCHEDULE_KEYS = {"schedule_steps"} | set(ScheduleParams.model_fields)
# A schedule change rebuilds the optimizer too: both start afresh on the kept network.
OPTIMIZER_KEYS = {"optimizer"} | set(OptimizerParams.model_fields) | SCHEDULE_KEYS


class Lab(Training):
    command_args = COMMANDS

    def __init__(self, config: Config, device: torch.device) -> None:
        self.shown = Shown()
        super().__init__(config, device)

    # ---- changes --------------------------------------------------------------------

    def reconfigure(self, old: Config, changed: set[str]) -> Rebuilt:
        config = self.config
        if config.problem != "multiclass" and old.problem != "multiclass":
            changed.discard("classes")  # only multiclass data has classes: keep the run
        if changed & DATA_KEYS:
            self.build_data()
        elif "drawn" in changed:  # drawing keeps the network: new training data, training goes on
            self.build_data()
            self.training_tensors()
            self.restart_epoch()
            self.epoch_metrics = self.evaluate()
        if changed & (DATA_KEYS | NETWORK_KEYS):
            self.build_network()
            return "network"
        if "batch_size" in changed:
            self.restart_epoch()  # next step starts a new epoch-order with the new size
        if changed & OPTIMIZER_KEYS:
            self.build_optimizer(self.model.parameters())
            return "optimizer"
        if "learning_rate" in changed:
            self.build_schedule()  # same schedule from the new base LR; optimizer state kept
        return "none"

    def reset(self) -> None:
        self.resets += 1
        self.build_network()

    def rebuilt(self) -> None:
        """After a restore: the schedules (the run's and a fork's) at the steps they had reached."""
        super().rebuilt()
        if self.fork:
            f = self.fork.config
            self.fork.schedule = build_schedule(self.fork.optimizer, f, f.schedule_steps, start=self.fork.schedule.t, base_lr=f.learning_rate)

    # ---- stepping with other sessions (cohort.py) -------------------------------------

    def cohort_key(self) -> tuple[Any, ...] | None:
        """Labs with equal keys can step together over stacked parameters (cohort.py)."""
        return cohort.key(self)

    @classmethod
    def step_together(cls, labs: list[Lab], n: int) -> None:
        cohort.step_together(list(labs), n)

    # ---- reading --------------------------------------------------------------------

    def views(self, full: bool, detail: bool = True) -> dict[str, Any]:
        return frame_views(self, self.shown, full, detail)

    # ---- commands -------------------------------------------------------------------

    def command_set_weight(self, args: SetWeightArgs) -> dict[str, Any]:
        """A weight or bias typed on the diagram, written into the live model (training goes on from it)."""
        args.check_fits([(m.out_features, m.in_features) for m in self.linears])
        kept = [(m.weight.detach().clone(), m.bias.detach().clone()) for m in self.linears]  # (a few dozen numbers)
        reply = inside.set_parameter(self.linears, args.model_dump(by_alias=True))
        try:
            metrics = self.evaluate()  # the losses shown reflect the edit at once
        except BaseException:  # all or nothing: the edit goes back with the error
            with torch.no_grad():
                for m, (w, b) in zip(self.linears, kept):
                    m.weight.copy_(w)
                    m.bias.copy_(b)
            raise
        self.epoch_metrics = metrics
        return reply

    def command_code(self, args: NoArgs) -> dict[str, Any]:
        """The plain PyTorch script of the current setup (show the code / download)."""
        from descent.labs.mlp.script import render

        return {"filename": "descent_run.py", "script": render(self.config)}

    def command_fork(self, args: ForkArgs) -> dict[str, Any]:
        """Fork here: a second run from this point with ``args.patch`` applied (replaces any
        fork). The fork is built whole from copies before it takes the old one's place."""
        try:
            fork = Fork(self, args.patch.model_dump(exclude_unset=True))
        except ValidationError as e:  # the patched config as a whole (a horizon too short ...)
            raise refusal(e, ("args", "patch"), Config) from None
        self.fork = fork
        return {"label": fork.label}

    def command_unfork(self, args: NoArgs) -> dict[str, Any]:
        self.fork = None
        return {"label": None}
