"""Config and frame views of the convolution lab (torch-free)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from descent.labs.cnn.blocks import GRAMMAR, MAX_BLOCKS, plan
from descent.labs.cnn.datasets import DATASETS
from descent.labs.commands import TWIN_COMMANDS, Args, ForkView
from descent.labs.page import inlined_schema, labels
from descent.nn.activations import ACTIVATIONS
from descent.nn.initializers import InitParams
from descent.nn.optimizers import OPTIMIZERS, OptimizerParams
from descent.nn.schedules import MAX_STEPS, ScheduleParams

TITLE = "Convolution"  # the lab's tab
MAX_BATCH = 256
MAX_EXAMPLES = 64  # test images the page can pick as "the chosen input"
MAX_SHOWN = 4  # layers whose filters and maps a frame carries at once (they are most of its bytes)

# The presets (block lists) for each image size; the page offers them by name.
PRESETS: dict[str, dict[str, Any]] = {
    "lenet": {"label": "LeNet-style", "blocks": ["conv8k5p2", "act", "max2", "conv16k3p1", "act", "max2", "flatten", "dense32", "act"]},
    "vgg": {"label": "VGG block", "blocks": ["conv8k3p1", "act", "conv8k3p1", "act", "max2", "conv16k3p1", "act", "conv16k3p1", "act", "max2", "flatten", "dense32", "act"]},
    "nin": {"label": "1×1 bottleneck (NiN)", "blocks": ["conv16k3p1", "act", "conv8k1", "act", "max2", "conv16k3p1", "act", "conv16k1", "act", "gap"]},
    "residual": {"label": "Residual", "blocks": ["conv8k3p1", "bn", "act", "res", "max2", "conv16k3p1", "bn", "act", "res", "gap"]},
    "mlp": {"label": "MLP on pixels", "blocks": ["flatten", "dense64", "act", "dense32", "act"]},
}
DEFAULT_BLOCKS: list[str] = list(PRESETS["lenet"]["blocks"])

if TYPE_CHECKING:  # (the names come from the registries at import: to mypy they are strings)
    DatasetName = str
    ActivationName = str
    OptimizerName = str
else:
    DatasetName = Literal[tuple(DATASETS)]
    ActivationName = Literal[ACTIVATIONS.names()]
    OptimizerName = Literal[OPTIMIZERS.names()]

SCHEMA_EXTRA: dict[str, Any] = {
    "x-presets": PRESETS,
    "x-datasets": {d.name: {"label": d.label, "size": d.size, "classes": list(d.classes), "about": d.about} for d in DATASETS.values()},
    "x-grammar": GRAMMAR,
}


class Config(OptimizerParams, ScheduleParams, InitParams):
    """Everything that defines a convolution-lab run. Keys are the URL-hash keys too."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, json_schema_extra=SCHEMA_EXTRA)

    lab: Literal["cnn"] = "cnn"
    dataset: DatasetName = Field("digits", title="Data", json_schema_extra=labels({d.name: d.label for d in DATASETS.values()}))
    blocks: list[str] = Field(
        DEFAULT_BLOCKS, min_length=0, max_length=MAX_BLOCKS,
        description=f"the network, block by block ({GRAMMAR}); the output layer (dense to the classes, softmax) is added last",
    )
    activation: ActivationName = Field("relu", title="Activation", json_schema_extra=ACTIVATIONS.schema_extra(), description="what every 'act' block (and a residual block) applies")
    batch_size: int = Field(32, title="Batch size", ge=2, le=MAX_BATCH)
    learning_rate: float = Field(0.01, title="Learning rate", gt=0, le=10)
    optimizer: OptimizerName = Field("adam", title="Optimizer", json_schema_extra=OPTIMIZERS.schema_extra())
    horizon: int = Field(2000, title="horizon (steps)", ge=2, le=MAX_STEPS, description="steps the LR schedule is planned over; after it the LR stays")
    example: int = Field(0, ge=0, lt=MAX_EXAMPLES, description="which test image the feature maps show")
    show: list[Annotated[int, Field(ge=0, le=MAX_BLOCKS)]] = Field(
        [0], max_length=MAX_SHOWN,
        description="rows of the layers table whose filters and feature maps the frames carry (what the page shows); "
        "changing it rebuilds nothing, and a row past the network carries nothing",
    )
    seed: int = Field(1, ge=0, le=2**31 - 1, description="seed of the weights and the batch order")

    @model_validator(mode="after")
    def _consistent(self) -> Config:
        data = DATASETS[self.dataset]
        plan(self.blocks, data.size, len(data.classes))  # raises naming the block and the formula
        self.check_horizon(self.horizon, "horizon")
        return self


# ---- frame views -------------------------------------------------------------------------


class LayerRow(BaseModel):
    index: int = Field(description="position in config.blocks; -1 = the output layer")
    token: str
    kind: str
    shape: list[int] = Field(description="output shape: (C, H, W) or (N,)")
    formula: str | None = Field(description="output size (H + 2P − K)/S + 1 with the numbers, for conv and pooling")
    params: int
    rf: int | None = Field(description="receptive field on the input, pixels per side; None once flattened (the whole image)")
    jump: int = Field(description="input pixels between two neighbouring outputs (for highlighting a receptive field)")
    center: float = Field(description="input coordinate of the centre of output pixel 0; pixel i is centred at center + i·jump")
    grad_key: str | None = Field(None, description="the history series of this layer's gradient norm")


class Images(BaseModel):
    """A stack of small images: uint8, C order, base64; byte 128 = 0 for signed values."""

    layer: int = Field(description="index into the layers table")
    shape: list[int] = Field(description="filters: (C_out, C_in, K, K); maps: (C, H, W)")
    encoding: Literal["base64-uint8"] = "base64-uint8"
    signed: bool = Field(description="signed: byte = 128 + 127 v / scale; else byte = 255 v / scale")
    scale: float
    data: str


class Prediction(BaseModel):
    image: str = Field(description="the input, size*size bytes, base64 (255 = ink)")
    label: int | None = Field(description="the true class (None for a drawing)")
    predicted: int
    probabilities: list[float]
    maps: list[Images] = Field(description="feature maps of this input, for each spatial layer in config.show")


class Views(BaseModel):
    """What a convolution-lab frame carries in ``views``."""

    model_config = ConfigDict(json_schema_extra={"commands": {"predict": inlined_schema(Prediction)}})

    layers: list[LayerRow]
    filters: list[Images] = Field(description="the weights of each conv layer in config.show (the first conv of a residual block)")
    example: Prediction = Field(description="the chosen test image through the network")
    confusion: list[list[int]] = Field(description="test set: rows = true class, columns = predicted")
    wrong: list[dict] = Field(description="the most confidently wrong test images: index, label, predicted, p, image")
    classes: list[str]
    size: int
    parameters: int
    fork: ForkView | None = Field(None, description="a second run (fork or comparison): present while it runs; null once when it ends")


# ---- commands ----------------------------------------------------------------------------

MAX_PIXELS = 16 * 16


class PredictArgs(Args):
    """``predict``: run the network on a drawn image, size*size numbers in [0, 1], row by row
    (the dataset's size: 64 for the 8x8 digits). The reply is a Prediction."""

    pixels: list[float] = Field(max_length=MAX_PIXELS, description="size*size values in [0, 1], row-major; 1 = ink")


class NoArgs(Args):
    """``code``: the run's plain PyTorch script; the reply is {filename, script}."""


COMMANDS: dict[str, type[Args]] = {"predict": PredictArgs, "code": NoArgs, **TWIN_COMMANDS}
# what a second run (fork / compare) may change: not the data, nor what the page shows
COMPARABLE = frozenset(Config.model_fields) - {"lab", "dataset", "example", "show"}
