"""Config and frame views of the recurrent lab (torch-free)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from descent.labs.base.curve import ScheduleCurve
from descent.labs.commands import TWIN_COMMANDS, Args, ForkView, NoArgs
from descent.labs.page import labels
from descent.labs.rnn.tasks import SYMBOLS, TASKS
from descent.nn.optimizers import OPTIMIZERS, OptimizerParams
from descent.nn.schedules import ScheduleParams

MAX_LAYERS = 3
MAX_HIDDEN = 64
MAX_LENGTH = 100  # time steps of a training sequence
MAX_BATCH = 256
MAX_HORIZON = 10_000  # schedule horizon in steps
MAX_EXAMPLES = 16  # held-out sequences the views can show
EPOCH_STEPS = 20  # an "epoch" is 20 batches of fresh sequences (the tasks have no fixed data set)

if TYPE_CHECKING:  # (the names come from the registries at import: to mypy they are strings)
    TaskName = str
    OptimizerName = str
else:
    TaskName = Literal[TASKS.names()]
    OptimizerName = Literal[OPTIMIZERS.names()]

# What the page needs to know about each task (which fields it reads, whether a backward pass may run).
TASK_INFO: dict[str, Any] = {e.name: dict(e.meta) for e in TASKS}
GATES: dict[str, Any] = {"rnn": [], "lstm": ["input", "forget", "candidate", "output"], "gru": ["reset", "update", "candidate"]}
TITLE = "Recurrent"  # the lab's tab


class Config(OptimizerParams, ScheduleParams):  # type: ignore[misc]  # (pydantic's mypy plugin: both bases' model_construct signatures; pydantic merges the fields)
    """Everything that defines a recurrent run. Keys are the URL-hash keys too."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False,
                              json_schema_extra={"tasks": TASK_INFO, "gates": GATES})

    lab: Literal["rnn"] = "rnn"
    task: TaskName = Field("delay", title="Task", json_schema_extra=TASKS.schema_extra())
    length: int = Field(12, title="Sequence length", ge=2, le=MAX_LENGTH, description="time steps of a sequence (delay: the symbol to remember is length-1 steps back)")
    symbols: int = Field(4, title="Symbols", ge=2, le=len(SYMBOLS), description="delay: how many symbols (chance is 1/symbols)")
    cell: Literal["rnn", "lstm", "gru"] = Field("gru", title="Cell", json_schema_extra=labels({"rnn": "RNN", "lstm": "LSTM", "gru": "GRU"}), description="rnn: h = act(W x + U h + b); lstm: input/forget/output gates and a cell state; gru: reset/update gates")
    nonlinearity: Literal["tanh", "relu"] = Field("tanh", title="RNN activation", json_schema_extra=labels({"tanh": "tanh", "relu": "ReLU"}), description="rnn cell only: the activation of the hidden state")
    layers: int = Field(1, title="Layers", ge=1, le=MAX_LAYERS)
    forget_bias: float = Field(1.0, title="LSTM forget bias", ge=0, le=5, description="lstm only: added to the forget gates' bias at init; high = the cell starts out remembering (about sigmoid(b) of its state kept per step)")
    hidden: int = Field(32, title="Hidden units", ge=2, le=MAX_HIDDEN, description="units of the hidden state (per direction)")
    bidirectional: bool = Field(False, title="bidirectional", description="a second pass reads the sequence backwards (tasks whose answer it cannot see: delay, parity)")
    bptt: int = Field(0, title="BPTT length (0 = all)", ge=0, le=MAX_LENGTH, description="truncated BPTT: the gradient flows back at most this many steps (the hidden state is carried on, detached); 0 = the whole sequence")
    carry_state: bool = Field(False, title="carry hidden state between batches", description="start each batch from the last batch's final hidden state (detached) instead of zeros; sine and text then continue the same streams")
    clip: bool = Field(True, title="clip gradient norm", description="clip the gradient's global norm (torch.nn.utils.clip_grad_norm_)")
    max_norm: float = Field(1.0, title="Max norm", gt=0, le=1000, description="the norm the gradient is clipped to")
    batch_size: int = Field(32, title="Batch size", ge=1, le=MAX_BATCH)
    learning_rate: float = Field(0.01, title="Learning rate", gt=0, le=10)
    optimizer: OptimizerName = Field("adam", title="Optimizer", json_schema_extra=OPTIMIZERS.schema_extra())
    horizon: int = Field(1000, title="Schedule horizon (steps)", ge=2, le=MAX_HORIZON, description="steps the LR schedule is planned over")
    temperature: float = Field(0.7, title="Sampling temperature", ge=0.05, le=3.0, description="text: temperature of the sampled continuation (low: likely characters; high: random)")
    example: int = Field(0, title="Example", ge=0, lt=MAX_EXAMPLES, description="which held-out sequence the views show")
    view_layer: int = Field(1, title="Layer shown", ge=1, le=MAX_LAYERS, description="which layer the hidden-state and gate views show")
    seed: int = Field(1, title="Seed", ge=0, le=2**31 - 1, description="seed of the weights and the data")

    @model_validator(mode="after")
    def _consistent(self) -> Config:
        if self.bidirectional and not TASKS[self.task].meta.get("bidirectional"):
            raise ValueError(f"bidirectional: task {self.task!r} predicts what comes next, so a backward pass would read the answer; "
                             "use it with delay or parity")
        if self.bidirectional and (self.bptt or self.carry_state):
            raise ValueError("bidirectional: the backward pass reads the whole sequence at once, so it takes neither bptt (set 0) nor carry_state")
        if self.bptt > self.length:
            raise ValueError(f"bptt {self.bptt}: at most the sequence length {self.length} (or 0 for no truncation)")
        if self.view_layer > self.layers:
            raise ValueError(f"view_layer {self.view_layer}: the network has {self.layers} layer(s); allowed 1-{self.layers}")
        self.check_horizon(self.horizon)
        return self


class Grid(BaseModel):
    """A (rows, T, units) block of numbers, compactly encoded."""

    shape: list[int] = Field(description="(rows, T, units); rows: the gates in order, or 1")
    encoding: Literal["base64-uint8", "base64-float16"]
    data: str = Field(description="C order, base64; uint8 byte b means low + b/255*(high-low); float16 little-endian")
    low: float | None = Field(None, description="uint8: the value of byte 0")
    high: float | None = Field(None, description="uint8: the value of byte 255")


class Inside(BaseModel):
    """One held-out sequence through the chosen layer (forward direction for the gates)."""

    layer: int = Field(description="1-based")
    hidden: Grid = Field(description="h_t: (1, T, hidden*directions)")
    cell: Grid | None = Field(None, description="LSTM: the cell state c_t, (1, T, hidden)")
    gates: Grid | None = Field(None, description="LSTM: input, forget, candidate, output; GRU: reset, update, candidate; (gates, T, hidden)")
    gate_names: list[str] = []


class Bptt(BaseModel):
    """The BPTT view: ||dL/dh_t|| of each layer at each step, on a held-out batch, the graph cut as training cuts it."""

    norms: list[list[float]] = Field(description="per layer, per step t: the norm of the loss's gradient w.r.t. that layer's h_t")
    cuts: list[int] = Field(description="steps t where the graph is cut (h_{t-1} enters detached)")


class Prediction(BaseModel):
    target: list[float | str | None] = Field(description="per step: the target (None: unscored)")
    output: list[float | str | None] = Field(description="per step: the model's value or most likely class")
    confidence: list[float | None] | None = Field(None, description="classification: the probability the model gives the target")
    inputs: list[float | str] = Field(description="per step: what the network read")


class ClipTrace(BaseModel):
    step: list[int]
    before: list[float | None] = Field(description="global gradient norm before clipping")
    after: list[float | None] = Field(description="after clipping (equal to before when clipping is off or not needed)")


class Views(BaseModel):
    inside: Inside
    bptt: Bptt
    prediction: Prediction
    clip: ClipTrace = Field(description="the last steps' gradient norms (at most 200 steps)")
    layer_grads: list[str] = Field(description="names of the per-layer weight-gradient series in the history")
    sample: str | None = Field(None, description="text: a continuation sampled at config.temperature after the held-out example")
    vocab: list[str] | None = Field(None, description="the task's classes (full frames only)")
    schedule: ScheduleCurve | None = Field(None, description="the planned LR curve: full frames and after it changes")
    fork: ForkView | None = Field(None, description="a second run (fork or comparison; its views: its bptt): present while it runs; null once when it ends")


COMMANDS: dict[str, type[Args]] = {"code": NoArgs, **TWIN_COMMANDS}  # code: the run's plain PyTorch script
# what a second run (fork / compare) may change: not the task or its data, nor what the page shows
COMPARABLE = frozenset(Config.model_fields) - {"lab", "task", "length", "symbols", "example", "view_layer", "temperature"}
