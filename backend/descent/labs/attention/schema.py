"""Config and frame views of the attention lab (torch-free)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from descent.labs.attention.positional import POSITIONAL
from descent.labs.attention.tasks import SYMBOLS, TASKS
from descent.labs.base.curve import ScheduleCurve
from descent.labs.commands import Args
from descent.labs.page import inlined_schema, labels, retitled
from descent.nn.optimizers import OPTIMIZERS, OptimizerParams
from descent.nn.schedules import ScheduleParams

MAX_LAYERS = 4
MAX_HEADS = 8
MAX_D_MODEL = 128
MAX_FFN = 512
MAX_BATCH = 256
MAX_HORIZON = 10_000  # schedule horizon in steps
MAX_EXAMPLES = 16  # eval examples the maps can show
EPOCH_STEPS = 20  # an "epoch" here is 20 batches of fresh examples (the tasks have no fixed data set)

if TYPE_CHECKING:  # (the names come from the registries at import: to mypy they are strings)
    TaskName = str
    PositionalName = str
    OptimizerName = str
else:
    TaskName = Literal[TASKS.names()]
    PositionalName = Literal[POSITIONAL.names()]
    OptimizerName = Literal[OPTIMIZERS.names()]

# What the page needs to know about each task (also in the JSON Schema as "tasks").
TASK_INFO: dict[str, Any] = {e.name: {k: v for k, v in e.meta.items()} for e in TASKS}
TITLE = "Attention"  # the lab's tab
# this page's words for the schedule fields it shares with the other labs
SCHEDULE_TITLES = {"warmup_steps": "Warmup steps", "min_lr": "Final / minimum LR", "step_size": "Step size (steps)", "gamma": "Gamma (LR multiplier)"}


class Config(OptimizerParams, ScheduleParams):  # type: ignore[misc]  # (pydantic's mypy plugin: both bases' model_construct signatures; pydantic merges the fields)
    """Everything that defines an attention run. Keys are the URL-hash keys too."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, json_schema_extra=retitled(SCHEDULE_TITLES, {"tasks": TASK_INFO}))

    lab: Literal["attention"] = "attention"
    task: TaskName = Field("reverse", title="Task", json_schema_extra=labels(
        {"copy": "Copy", "reverse": "Reverse", "sort": "Sort", "modadd": "Modadd", "induction": "Induction", "text": "Text"}))
    length: int = Field(8, title="Length n", ge=2, le=32, description="sequence length n (copy/reverse/sort/induction: at most 16; text: context, at most 32; modadd: fixed)")
    symbols: int = Field(10, title="Symbols", ge=2, le=len(SYMBOLS), description=f"alphabet size (modadd: the modulus p), from '{SYMBOLS}'; text uses its own characters")
    layers: int = Field(2, title="Layers", ge=1, le=MAX_LAYERS)
    heads: int = Field(2, title="Heads", ge=1, le=MAX_HEADS, description="must divide d_model")
    d_model: int = Field(32, title="d_model", ge=8, le=MAX_D_MODEL, multiple_of=8, description="width of the residual stream")
    ffn: int = Field(64, title="FFN width", ge=8, le=MAX_FFN, multiple_of=8, description="hidden width of each feed-forward block")
    positional: PositionalName = Field("learned", title="Positional encoding", json_schema_extra=labels(
        {"sinusoidal": "Sinusoidal", "learned": "Learned", "rope": "Rope", "none": "None"}))
    causal: bool = Field(False, description="mask future positions (queries see only keys at or before them)")
    norm: Literal["pre", "post"] = Field("pre", title="LayerNorm", json_schema_extra=labels({"pre": "Pre", "post": "Post"}), description="LayerNorm before each sub-block (Pre-LN) or after the residual add (Post-LN)")
    ffn_activation: Literal["relu", "gelu"] = Field("relu", title="FFN activation", json_schema_extra=labels({"relu": "ReLU", "gelu": "GELU"}))
    dropout: float = Field(0.0, title="Dropout", ge=0.0, le=0.5)
    batch_size: int = Field(64, title="Batch size", ge=1, le=MAX_BATCH)
    learning_rate: float = Field(0.003, title="Learning rate", gt=0, le=10)
    optimizer: OptimizerName = Field("adam", title="Optimizer", json_schema_extra=OPTIMIZERS.schema_extra())
    horizon: int = Field(1000, title="Schedule horizon (steps)", ge=2, le=MAX_HORIZON, description="steps the LR schedule is planned over (cosine ends there); after it the LR stays")
    example: int = Field(0, ge=0, lt=MAX_EXAMPLES, description="which held-out example the maps show")
    seed: int = Field(1, ge=0, le=2**31 - 1, description="seed of the weights and the data")

    @model_validator(mode="after")
    def _consistent(self) -> Config:
        if self.d_model % self.heads:
            allowed = [h for h in range(1, MAX_HEADS + 1) if self.d_model % h == 0]
            raise ValueError(f"heads {self.heads} does not divide d_model {self.d_model}; for d_model {self.d_model} use heads in {allowed}")
        if self.positional == "rope" and (self.d_model // self.heads) % 2:
            raise ValueError(f"rope needs an even head width d_model/heads; {self.d_model}/{self.heads} is odd")
        meta = TASKS[self.task].meta
        if meta.get("causal_only") and not self.causal:
            raise ValueError(f"task {self.task!r} predicts the next token and needs causal: true (without the mask the answer is visible)")
        self.check_horizon(self.horizon)
        top = meta.get("max_length")
        if top is not None and self.length > top:
            raise ValueError(f"length {self.length}: task {self.task!r} allows length 2-{top}")
        return self


class Maps(BaseModel):
    """Attention weights of every layer and head for one sequence."""

    shape: tuple[int, int, int, int] = Field(description="(layers, heads, T, T): row = query position, column = key position")
    encoding: Literal["base64-uint8"] = "base64-uint8"
    data: str = Field(description="layers*heads*T*T bytes, C order, base64; byte b is weight b/255 (rows sum to about 255)")
    tokens: list[str] = Field(description="the T tokens, labelling both axes")


class Sample(BaseModel):
    input: str
    output: str = Field(description="the model's answer at the scored positions")
    target: str
    correct: bool


class TimelapseView(BaseModel):
    """Bounded: at most 48 frames, thinned to every other one (and resent) when full."""

    reset: bool = Field(description="replace what the client holds (new run, new example, or thinned)")
    epochs: list[int]
    frames: list[str] = Field(description="one per epoch: base64-uint8 maps of the shape in maps.shape")


class ProbeReply(BaseModel):
    """The reply to ``{"type": "command", "name": "probe", "args": {"tokens": "..."}}``: the model
    on a typed input. Tokens are characters (or whitespace-separated); a token outside the task's
    vocabulary, or a wrong length, gets an error naming the allowed values."""

    input: str
    maps: Maps
    ideal: str | None = Field(None, description="as Views.ideal")
    predictions: list[str] = Field(description="per position: the model's most likely next/answer token")
    output: str = Field(description="the answer: the predictions at the answer positions")
    answer: list[int] = Field(description="the answer positions")
    continuation: str | None = Field(None, description="next-token tasks: a greedy continuation of the input")


class Views(BaseModel):
    """What an attention frame carries in ``views``. The lab's commands and their replies are
    under ``commands`` in this schema."""

    model_config = ConfigDict(json_schema_extra={"commands": {"probe": inlined_schema(ProbeReply)}})

    maps: Maps = Field(description="the chosen example (config.example), live")
    ideal: str | None = Field(None, description="the ideal (T, T) map for the chosen example (copy, reverse, induction): base64-uint8, 255 = attend")
    scored: list[bool] = Field(description="per position of the chosen example: is it scored (a query the task asks about)")
    predictions: list[str] = Field(description="per position: the model's most likely token")
    samples: list[Sample] = Field(description="a few held-out examples, input -> output, live")
    timelapse: TimelapseView | None = Field(None, description="maps of the chosen example kept during training, only the part this client lacks")
    schedule: ScheduleCurve | None = Field(None, description="the planned LR schedule (sent when it changes and in full frames)")
    heads: list[str] = Field(description="the per-head series names in the history ('entropy_<layer>_<head>', 1-based)")
    vocab: list[str] | None = Field(None, description="the task's tokens (full frames only)")


# ---- commands (args of {"type": "command", "name": ..., "args": {...}}) ----------------

MAX_PROBE_CHARS = 200


class ProbeArgs(Args):
    """``probe``: run the model on a typed input (see ProbeReply). The tokens must also be in
    the task's vocabulary and of its length."""

    tokens: str = Field(max_length=MAX_PROBE_CHARS, description="the input, e.g. '31415926' (characters or whitespace-separated)")


COMMANDS: dict[str, type[Args]] = {"probe": ProbeArgs}
