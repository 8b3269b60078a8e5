"""Config and frame views of the MLP playground (torch-free)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ...activations import ACTIVATIONS
from ...datasets import DATASETS, FEATURES, SAMPLES
from ...optimizers import OPTIMIZERS, OptimizerParams

MAX_LAYERS = 6
MAX_WIDTH = 8
LR_LADDER = (0.00001, 0.0001, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1, 3, 10)
REG_RATE_LADDER = (0, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1, 3, 10)
GRID = 64  # decision-boundary resolution (cells per side)

DatasetName = Literal[DATASETS.names()]  # type: ignore[valid-type]
FeatureName = Literal[FEATURES.names()]  # type: ignore[valid-type]
ActivationName = Literal[ACTIVATIONS.names()]  # type: ignore[valid-type]
OptimizerName = Literal[OPTIMIZERS.names()]  # type: ignore[valid-type]


class Config(OptimizerParams):
    """Everything that defines a playground run. Keys are the URL-hash keys too."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    lab: Literal["mlp"] = "mlp"
    problem: Literal["classification", "regression"] = "classification"
    dataset: DatasetName = "circle"
    noise: int = Field(0, ge=0, le=50, description="label/position noise, percent")
    train_ratio: int = Field(50, ge=10, le=90, description="percent of the data used for training")
    batch_size: int = Field(10, ge=1, le=max(SAMPLES.values()), description="at most the training-set size")
    features: list[FeatureName] = Field(["x1", "x2"], min_length=1, max_length=len(FEATURES.names()))
    hidden: list[Annotated[int, Field(ge=1, le=MAX_WIDTH)]] = Field(
        [4, 2], max_length=MAX_LAYERS, description=f"widths of 0-{MAX_LAYERS} hidden layers of 1-{MAX_WIDTH} neurons"
    )
    activation: ActivationName = "tanh"
    learning_rate: float = Field(0.03, gt=0, le=10)
    optimizer: OptimizerName = "sgd"
    regularization: Literal["none", "l1", "l2"] = "none"
    regularization_rate: float = Field(0.0, ge=0, le=10)
    seed: int = Field(3, ge=0, le=2**31 - 1, description="data seed; 'regenerate' picks a new one")

    @model_validator(mode="after")
    def _consistent(self) -> "Config":
        if len(set(self.features)) != len(self.features):
            raise ValueError("features: each feature at most once")
        problem = DATASETS[self.dataset].meta["problem"]
        if problem != self.problem:
            allowed = [e.name for e in DATASETS if e.meta["problem"] == self.problem]
            raise ValueError(f"dataset {self.dataset!r} is a {problem} dataset; for {self.problem} use one of {allowed}")
        if self.batch_size > self.train_size:
            raise ValueError(f"batch_size {self.batch_size}: at most the training-set size, {self.train_size}")
        return self

    @property
    def train_size(self) -> int:
        return SAMPLES[self.problem] * self.train_ratio // 100


class Heatmap(BaseModel):
    """A square grid over the input plane, row 0 at the top (x2 = +extent)."""

    resolution: int
    extent: float = Field(description="the plane is [-extent, extent]^2")
    range: tuple[float, float] = Field(description="value mapped to byte 0 and to byte 255")
    encoding: Literal["base64-uint8"] = "base64-uint8"
    data: str = Field(description="resolution*resolution bytes, row-major, base64")


class Points(BaseModel):
    x1: list[float]
    x2: list[float]
    label: list[float]


class DataView(BaseModel):
    """Sent when the data changes (and to a new client)."""

    train: Points
    test: Points


class Views(BaseModel):
    """What an MLP frame carries in ``views``."""

    boundary: Heatmap
    grad_norms: list[float] = Field(description="L2 norm of dL/dW per layer, input side first")
    layers: list[str] = Field(description="layer names matching grad_norms")
    data: DataView | None = None
