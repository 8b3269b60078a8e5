"""What a playground frame carries in ``views`` (torch-free; the schema's ``Views``): the
decision boundary, the inside of the network, gradient and optimizer statistics, the LR
curve, a running fork, loss spikes and a stall's diagnosis. labs/mlp/views.py builds them."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from descent.labs.base.curve import ScheduleCurve
from descent.labs.commands import ForkView


class Heatmap(BaseModel):
    """A square grid over the input plane, row 0 at the top (x2 = +extent): the binary or
    regression output on the label scale."""

    resolution: int
    extent: float = Field(description="the plane is [-extent, extent]^2")
    range: tuple[float, float] = Field(description="value mapped to byte 0 and to byte 255")
    encoding: Literal["base64-uint8"] = "base64-uint8"
    data: str = Field(description="resolution*resolution bytes, row-major, base64")


class ClassHeatmap(BaseModel):
    """The multiclass boundary: per cell the argmax class and the softmax probability of it
    (the page colours a cell by its class, faded toward the background by low confidence)."""

    resolution: int
    extent: float = Field(description="the plane is [-extent, extent]^2")
    classes: int
    encoding: Literal["base64-uint8-class"] = "base64-uint8-class"
    data: str = Field(description="resolution*resolution bytes, row-major, base64: the argmax class 0 .. classes-1")
    confidence: str = Field(description="resolution*resolution bytes, row-major, base64: max softmax probability, byte = round(255 p)")


class Points(BaseModel):
    x1: list[float]
    x2: list[float]
    label: list[float]


class DataView(BaseModel):
    """Sent when the data changes (and to a new client)."""

    train: Points
    test: Points
    drawn: int = Field(0, description="the last this many training points are the ones the user drew")


class GradTrace(BaseModel):
    """Per-layer gradient norms over steps, sampled at frame time (the layer x step heatmap)."""

    steps: list[int] = Field(description="the step of each column")
    layers: int
    range: tuple[float, float] = Field(description="log10 values mapped to byte 1 and byte 255")
    encoding: Literal["base64-uint8-log10"] = "base64-uint8-log10"
    data: str = Field(description="layers*len(steps) bytes, row-major (layer, step), base64; 0 = zero, 255 = not finite")


class Histogram(BaseModel):
    lo: float
    hi: float
    counts: list[int] = Field(description="equal bins over [lo, hi]")


class LayerHistograms(BaseModel):
    weights: Histogram
    grads: Histogram


class OptimizerState(BaseModel):
    key: str = Field(description="torch optimizer state name, e.g. momentum_buffer, exp_avg_sq")
    label: str
    values: list[float] = Field(description="norm per layer")


class ActivationCurve(BaseModel):
    """The hidden activation and its derivative (autograd), sent with full frames."""

    name: str
    x: list[float]
    y: list[float]
    dy: list[float]


class Spike(BaseModel):
    epoch: int
    step: int
    lr: float
    text: str = Field(description="the jump, the step, the LR there and the layer whose gradient was largest")


class ScaledMap(BaseModel):
    scale: float = Field(description="the value mapped to byte 255; byte 0 is -scale (values beyond are clamped)")
    data: str = Field(description="base64 uint8, row-major, row 0 at the top (x2 = +extent)")


class NeuronMaps(BaseModel):
    """Every hidden neuron's output (after its activation, eval mode) over a coarse grid,
    from the same forward pass as the boundary. Per layer one ``data`` string of
    width*resolution*resolution bytes, neuron-major: (neuron, row, col)."""

    resolution: int
    extent: float = Field(description="the plane is [-extent, extent]^2")
    encoding: Literal["base64-uint8"] = "base64-uint8"
    layers: list[ScaledMap] = Field(description="per hidden layer, input side first; scale 1 for bounded activations")
    outputs: str | None = Field(
        None, description="multiclass only: each output's softmax probability over the grid, base64 of "
        "classes*resolution*resolution bytes, output-major (class, row, col), byte = round(255 p)",
    )


class FeatureMaps(BaseModel):
    """Every input feature (chosen or not) over the same coarse grid; sent with full frames."""

    resolution: int
    extent: float
    encoding: Literal["base64-uint8"] = "base64-uint8"
    features: dict[str, ScaledMap] = Field(description="feature name -> its map (resolution*resolution bytes)")


class Views(BaseModel):
    """What an MLP frame carries in ``views``. The lab command ``set_weight`` (args: layer,
    kind 'weight'|'bias', to, from (weights only), value, finite within ±100) writes one
    parameter of the live model and replies with what it set."""

    boundary: Heatmap | ClassHeatmap = Field(discriminator="encoding")
    # (absent from a light frame, which a busy server sends between detailed ones (views.DETAIL,
    # runtime/pressure.py): unchanged since the last frame that had them)
    neurons: NeuronMaps | None = Field(None, description="absent from a light frame: keep the last")
    weights: list[list[list[float | None]]] | None = Field(
        None, description="per layer [out][in], 4 significant digits; null = not finite; absent from a light frame: keep the last")
    biases: list[list[float | None]] | None = Field(None, description="per layer [out]; absent from a light frame: keep the last")
    features: FeatureMaps | None = None
    grad_norms: list[float] = Field(description="L2 norm of dL/dW per layer, input side first")
    layers: list[str] = Field(description="layer names matching grad_norms")
    update_ratio: list[float] | None = Field(None, description="‖ΔW‖/‖W‖ of the last step, per layer; absent from a light frame: keep the last")
    grad_trace: GradTrace
    histograms: list[LayerHistograms] | None = Field(None, description="per layer, input side first; absent from a light frame: keep the last")
    optimizer_state: list[OptimizerState] | None = Field(
        None, description="norms of the optimizer's state tensors per layer; absent from a light frame: keep the last")
    schedule: ScheduleCurve | None = None
    activation: ActivationCurve | None = None
    data: DataView | None = None
    fork: ForkView | None = Field(None, description="present while a fork runs; null once when it ends")
    spikes: list[Spike] = Field([], description="the latest loss spikes (train loss over twice the last epoch's), explained")
    diagnosis: dict[str, str] | None = Field(None, description="a stalled run explained ({kind: 'stalled', text}), else null (labs/mlp/diagnosis.py)")
