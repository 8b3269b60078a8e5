"""Config and frame views of backprop by hand (torch-free): one SGD step at a time, split
into its phases forward -> loss -> backward -> update, with every gradient written out as
its chain-rule product in numbers."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field

from descent.labs.commands import Args
from descent.labs.page import labels

MAX_LR = 10.0
MAX_SPEED = 30
PHASES = ("forward", "loss", "backward", "update")  # the order of one training step
TITLE = "Backprop"  # the lab's tab

# preset -> what the page shows for it
PRESETS = {
    "linear": "linear regression y = 2x + 1",
    "2-2-1": "the 2-2-1 sigmoid network",
}

if TYPE_CHECKING:  # (the names come from PRESETS: to mypy a string)
    Preset = str
else:
    Preset = Literal[tuple(PRESETS)]


class Config(BaseModel):
    """Everything that defines a backprop-by-hand run. Keys are the URL-hash keys too."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    lab: Literal["backprop"] = "backprop"
    preset: Preset = Field("2-2-1", title="Preset", json_schema_extra=labels({p: p for p in PRESETS}, PRESETS), description="linear (w, b on four points of y = 2x + 1) or 2-2-1 (sigmoid network, one sample)")
    learning_rate: float = Field(0.5, title="Learning rate", gt=0, le=MAX_LR, description=f"SGD step size, 0 < lr <= {MAX_LR:g}")
    forget_zero_grad: bool = Field(False, title="forget optimizer.zero_grad()", description="skip optimizer.zero_grad(): .grad then sums the gradients of every step")
    speed: int = Field(2, title="Steps / second (play)", ge=1, le=MAX_SPEED, description=f"whole steps per second while playing, 1-{MAX_SPEED}")


# ---- frame views ------------------------------------------------------------------------


class Quantity(BaseModel):
    """One computed quantity of the forward pass or the loss: name = formula = numbers = value."""

    name: str
    formula: str = Field(description="in symbols, e.g. 'w1·x1 + w2·x2 + b1'")
    numbers: str = Field(description="the same with the numbers put in")
    value: float | None = Field(description="null when not finite")


class Chain(BaseModel):
    """dL/dp as a chain-rule product, computed by hand from the forward values (not autograd).
    value = sum over terms of the product of each term's factors (one term per sample)."""

    factors: list[str] = Field(description="the symbols of each factor, e.g. ['∂L/∂y3', '∂y3/∂a3', '∂a3/∂w5']")
    terms: list[list[float]] = Field(description="per sample, the numbers of the factors")
    value: float = Field(description="this step's gradient: sum of the terms' products")


class Update(BaseModel):
    """The last SGD update of the parameter: new = old − lr·grad (torch.optim.SGD did it)."""

    old: float
    lr: float
    grad: float = Field(description="the .grad the optimizer used")
    new: float


class Param(BaseModel):
    name: str
    value: float | None
    grad: float | None = Field(description="p.grad from autograd (null before the first backward / after zero_grad)")
    grad_before: float | None = Field(description="p.grad before this backward (forget_zero_grad: what the new gradient was added to)")
    chain: Chain | None = Field(description="this step's gradient by hand (after the backward phase)")
    update: Update | None = Field(description="the last update (after the update phase)")


class Views(BaseModel):
    """What a backprop frame carries in ``views``; the loss curve travels in the history
    (series ``loss``, x = step)."""

    preset: str
    label: str = Field(description="the preset's name in words")
    phase: Literal["ready", "forward", "loss", "backward", "update"] = Field(description="the last phase done ('ready' = none yet)")
    next_phase: Literal["forward", "loss", "backward", "update"]
    inputs: list[Quantity] = Field(description="the data: inputs and targets")
    forward: list[Quantity] = Field(description="forward-pass quantities (empty before the forward phase)")
    loss: Quantity | None
    params: list[Param]
    zero_grad: bool = Field(description="whether the backward phase called optimizer.zero_grad() first")
    presets: dict[str, str] | None = Field(None, description="(full frames) preset -> label")


# ---- commands (args of {"type": "command", "name": ..., "args": {...}}) ----------------


class NoArgs(Args):
    """A command without arguments (``phase``: do the next phase of the step; ``step``: finish
    the step, or do a whole new one)."""


COMMANDS: dict[str, type[Args]] = {"phase": NoArgs, "step": NoArgs}
