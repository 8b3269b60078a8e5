"""Config, frame views (frames.py) and command args of the MLP playground (torch-free)."""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal

from pydantic import ConfigDict, Field, create_model, model_validator

from descent.labs.commands import Args, CommandError, number
from descent.labs.mlp.datasets import CLASSES, DATASETS, DEFAULT_CLASSES, EXTENT, FEATURES, SAMPLES
from descent.labs.mlp.frames import Views as Views  # (the frame views: frames.py)
from descent.labs.page import labels
from descent.nn.activations import ACTIVATIONS
from descent.nn.initializers import InitParams
from descent.nn.losses import LOSSES, default_loss
from descent.nn.optimizers import OPTIMIZERS, OptimizerParams
from descent.nn.schedules import ScheduleParams

MAX_LAYERS = 6
MAX_WIDTH = 8
GRID = 64  # decision-boundary resolution (cells per side)
MAX_DRAWN = 100  # points a user may draw onto the plane

if TYPE_CHECKING:  # (the names come from the registries at import: to mypy they are strings)
    DatasetName = str
    FeatureName = str
    ActivationName = str
    OptimizerName = str
    LossName = str
else:
    DatasetName = Literal[DATASETS.names()]
    FeatureName = Literal[FEATURES.names()]
    ActivationName = Literal[ACTIVATIONS.names()]
    OptimizerName = Literal[OPTIMIZERS.names()]
    LossName = Literal[LOSSES.names()]
MAX_SCHEDULE_STEPS = 20_000  # the page's LR curve covers the whole horizon (a closed form: ~1 ms)

TITLE = "Playground"  # the lab's tab
FEATURE_LABELS = {"x1": "X₁", "x2": "X₂", "x1sq": "X₁²", "x2sq": "X₂²", "x1x2": "X₁X₂", "sinx1": "sin(X₁)", "sinx2": "sin(X₂)"}


class Config(OptimizerParams, ScheduleParams, InitParams):
    """Everything that defines a playground run. Keys are the URL-hash keys too.
    Optimizer, schedule and init hyper-parameters are inherited flat fields."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    lab: Literal["mlp"] = "mlp"
    problem: Literal["classification", "regression", "multiclass"] = Field(
        "classification", title="Problem type",
        json_schema_extra=labels({"classification": "Classification", "regression": "Regression", "multiclass": "Multi-class"}),
        description="classification: labels -1/+1; regression: values about [-1, 1] (plane: (x1+x2)/10, as in TensorFlow Playground); "
        "multiclass: class indices 0 .. classes-1 (softmax over one output per class)"
    )
    dataset: DatasetName = Field("circle", json_schema_extra=DATASETS.schema_extra())  # (the page shows each by name)
    classes: int = Field(
        DEFAULT_CLASSES, title="Classes", ge=CLASSES[0], le=CLASSES[1],
        description=f"classes of a multiclass dataset ({CLASSES[0]}-{CLASSES[1]}); ignored by classification and regression",
    )
    noise: int = Field(0, title="Noise", ge=0, le=50, description="label/position noise, percent")
    train_ratio: int = Field(50, title="Ratio of training to test data", ge=10, le=90, description="percent of the data used for training")
    batch_size: int = Field(10, title="Batch size", ge=1, le=max(SAMPLES.values()), description="at most the training-set size")
    features: list[FeatureName] = Field(["x1", "x2"], json_schema_extra=labels(FEATURE_LABELS), min_length=1, max_length=len(FEATURES.names()))
    hidden: list[Annotated[int, Field(ge=1, le=MAX_WIDTH)]] = Field(
        [4, 2], max_length=MAX_LAYERS, description=f"widths of 0-{MAX_LAYERS} hidden layers of 1-{MAX_WIDTH} neurons"
    )
    activation: ActivationName = Field("tanh", title="Activation", json_schema_extra=ACTIVATIONS.schema_extra())
    loss: LossName = Field(
        "mse", title="Loss",
        # (x-problems: which problems each loss applies to)
        json_schema_extra={**LOSSES.schema_extra(), "x-problems": {e.name: list(e.meta["problems"]) for e in LOSSES}},
        description="mse/mae/huber for classification and regression, bce for classification, ce for "
        "classification and multiclass. Left out (or, in a patch that changes the problem, no longer applying) it "
        "becomes the problem's default: mse, or ce for multiclass",
    )
    dropout: float = Field(0.0, title="Dropout", ge=0.0, le=0.9, description="dropout probability after each hidden activation (0 = off)")
    norm: Literal["none", "batch", "layer"] = Field(
        "none", title="Normalization", json_schema_extra=labels({"none": "None", "batch": "BatchNorm", "layer": "LayerNorm"}), description="BatchNorm or LayerNorm before each hidden activation")
    learning_rate: float = Field(0.03, title="Learning rate", gt=0, le=10, description="the base LR (the peak for onecycle)")
    optimizer: OptimizerName = Field("sgd", title="Optimizer", json_schema_extra=OPTIMIZERS.schema_extra())
    schedule_steps: int = Field(
        2500, title="horizon (steps)", ge=2, le=MAX_SCHEDULE_STEPS, description="steps the LR schedule is planned over; the LR holds after it"
    )
    regularization: Literal["none", "l1", "l2"] = Field(
        "none", title="Regularization", json_schema_extra=labels({"none": "None", "l1": "L1", "l2": "L2"}))
    regularization_rate: float = Field(0.0, title="Regularization rate", ge=0, le=10)
    seed: int = Field(3, ge=0, le=2**31 - 1, description="data seed; 'regenerate' picks a new one")
    drawn: list[Annotated[float, Field(ge=-EXTENT, le=EXTENT)]] = Field(
        [], max_length=3 * MAX_DRAWN,
        description=f"points drawn on the plane, joining the training data: flat x1, x2, label triples "
        f"(x1, x2 in [-{EXTENT:g}, {EXTENT:g}]; label -1 or +1 for classification, in [-1, 1] for regression, "
        f"a class index 0 .. classes-1 for multiclass); at most {MAX_DRAWN} points",
    )

    @model_validator(mode="before")
    @classmethod
    def _default_loss(cls, data: Any) -> Any:
        """No loss named: the problem's default (a multiclass run cannot use the field default, mse)."""
        if isinstance(data, dict) and "loss" not in data and isinstance(data.get("problem"), str):
            loss = default_loss(data["problem"])
            if loss:
                data = {**data, "loss": loss}
        return data

    @classmethod
    def patched(cls, current: Config, patch: dict[str, Any]) -> dict[str, Any]:
        """``current`` with ``patch`` applied. A patch that changes the problem and names no loss
        keeps the loss where it applies to the new problem, else gets the new problem's default
        (so the page switches problem in one message; a loss named with the problem is checked)."""
        values = {**current.model_dump(), **patch}
        problem = patch.get("problem", current.problem)
        if "loss" not in patch and problem != current.problem and problem not in LOSSES[current.loss].meta["problems"]:
            del values["loss"]
        return values

    @model_validator(mode="after")
    def _consistent(self) -> Config:
        if len(self.drawn) % 3:
            raise ValueError("drawn: x1, x2, label triples (its length must be a multiple of 3)")
        self._check_drawn_labels(self.drawn[2::3])
        if len(set(self.features)) != len(self.features):
            raise ValueError("features: each feature at most once")
        problem = DATASETS[self.dataset].meta["problem"]
        if problem != self.problem:
            allowed = [e.name for e in DATASETS if e.meta["problem"] == self.problem]
            raise ValueError(f"dataset {self.dataset!r} is a {problem} dataset; for {self.problem} use one of {allowed}")
        if self.batch_size > self.train_size:
            raise ValueError(f"batch_size {self.batch_size}: at most the training-set size, {self.train_size}")
        if self.problem not in LOSSES[self.loss].meta["problems"]:
            allowed = [e.name for e in LOSSES if self.problem in e.meta["problems"]]
            raise ValueError(f"loss {self.loss!r} does not apply to {self.problem}; use one of {allowed}")
        if self.norm == "batch" and self.batch_size < 2:
            raise ValueError("batch_size: BatchNorm needs at least 2 samples per batch")
        self.check_horizon(self.schedule_steps, "schedule_steps")
        return self

    def _check_drawn_labels(self, labels: list[float]) -> None:
        if self.problem == "multiclass":
            allowed, ok = f"a class index 0 .. {self.classes - 1}", lambda v: v == int(v) and 0 <= v < self.classes
        elif self.problem == "classification":
            allowed, ok = "-1 or +1", lambda v: v in (-1, 1)
        else:
            allowed, ok = "in [-1, 1]", lambda v: abs(v) <= 1
        bad = next((v for v in labels if not ok(v)), None)
        if bad is not None:
            raise ValueError(f"drawn: each point's label (every third number) must be {allowed} for {self.problem}, not {bad:g}")

    @property
    def train_size(self) -> int:
        return SAMPLES[self.problem] * self.train_ratio // 100

    @property
    def class_count(self) -> int:
        """Classes of the problem: ``classes`` for multiclass, 2 for classification, 0 for regression."""
        return {"multiclass": self.classes, "classification": 2}.get(self.problem, 0)

    @property
    def outputs(self) -> int:
        """The width of the network's last layer: what the loss asks for ("classes": one per class)."""
        n = LOSSES[self.loss].meta["outputs"]
        return self.class_count if n == "classes" else n


# ---- commands (args of {"type": "command", "name": ..., "args": {...}}) ----------------

WEIGHT_LIMIT = 100.0  # a typed weight or bias must lie in [-WEIGHT_LIMIT, WEIGHT_LIMIT]
MAX_INPUTS = max(MAX_WIDTH, len(FEATURES.names()))  # the widest input a layer can have
# What a fork may change: how the network is trained, not the network or its data.
FORKABLE = ("optimizer", "learning_rate", "schedule_steps", "regularization", "regularization_rate",
            *OptimizerParams.model_fields, *ScheduleParams.model_fields)


if TYPE_CHECKING:  # (a validated float, to mypy)
    WeightValue = float
else:
    WeightValue = number(-WEIGHT_LIMIT, WEIGHT_LIMIT, "the new value")


class SetWeightArgs(Args):
    """``set_weight``: write one weight or bias of the live model (typed on the diagram);
    training goes on from it. The indices must also fit the network as it is now."""

    layer: int = Field(ge=0, le=MAX_LAYERS, description="the layer, 0 = the input side")
    kind: Literal["weight", "bias"] = "weight"
    to: int = Field(ge=0, le=MAX_WIDTH - 1, description="the neuron of the layer's output")
    from_: int | None = Field(None, alias="from", ge=0, le=MAX_INPUTS - 1, description="the layer's input (weights only)")
    value: WeightValue

    def check_fits(self, shapes: list[tuple[int, int]]) -> None:
        """CommandError naming the first index the network (its layers' (outputs, inputs)) has not."""

        def index(field: str, value: int | None, size: int) -> None:
            if value is None or value >= size:
                raise CommandError(f"args.{field}: an integer in [0, {size - 1}] for this network (got {value!r})", ["args", field])

        index("layer", self.layer, len(shapes))
        outputs, inputs = shapes[self.layer]
        index("to", self.to, outputs)
        if self.kind == "weight":
            index("from", self.from_, inputs)


class _Patch(Args):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, strict=False)  # (values as a config takes them)
    unknown_key: ClassVar[str] = "a fork changes only how the network is trained"


def _unset(name: str) -> tuple[Any, Any]:
    field = copy.copy(Config.model_fields[name])
    field.default, field.default_factory = None, None  # (a patch names only what it changes)
    return field.annotation, field


# the config's own fields, bounds and all; the patched config is validated whole as well
if TYPE_CHECKING:  # (built at import from the config's fields: to mypy, a patch)
    ForkPatch = _Patch
else:
    ForkPatch = create_model("ForkPatch", __base__=_Patch, __doc__="The training settings a fork changes.",
                             **{name: _unset(name) for name in dict.fromkeys(FORKABLE)})


class ForkArgs(Args):
    """``fork``: a second run from this point with ``patch`` applied (replaces any fork)."""

    patch: ForkPatch


class NoArgs(Args):
    """A command without arguments (``code``: the run's PyTorch script; ``unfork``: end the fork)."""


COMMANDS: dict[str, type[Args]] = {"set_weight": SetWeightArgs, "code": NoArgs, "fork": ForkArgs, "unfork": NoArgs}
