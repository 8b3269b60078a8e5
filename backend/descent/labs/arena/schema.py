"""Config and frame views of the descent arena (torch-free): optimizers racing down 2-D
loss surfaces from one start point."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from descent.labs.arena.surfaces import SURFACES, contains
from descent.labs.commands import Args
from descent.labs.page import labels, retitled
from descent.nn.optimizers import OPTIMIZERS, OptimizerParams
from descent.nn.schedules import MAX_STEPS, SCHEDULES, ScheduleParams

MAX_RACERS = 6
MAX_LR = 100.0
SPEEDS = (1, 3, 10, 30, 100, 300, 1000)  # race steps per second the page offers
GRID = 96  # surface grid cells per side
PRESETS = ("too small", "good", "oscillating", "diverging")
TITLE = "Arena"  # the lab's tab

if TYPE_CHECKING:  # (the names come from the registries at import: to mypy they are strings)
    SurfaceName = str
    OptimizerName = str
else:
    SurfaceName = Literal[SURFACES.names()]
    OptimizerName = Literal[OPTIMIZERS.names()]

# Optimizers whose step is about ``lr`` whatever the gradient's size (they divide by a running
# gradient scale): their LR presets follow the window's size, not the surface's curvature.
ADAPTIVE_STATE = {"sum", "square_avg", "exp_avg_sq"}


def is_adaptive(optimizer: str) -> bool:
    return bool(ADAPTIVE_STATE & set(OPTIMIZERS[optimizer].meta.get("state", ())))


def lr_presets(surface: str, optimizer: str) -> dict[str, float]:
    """Learning rates that show the four classic regimes from the surface's default start."""
    meta = SURFACES[surface].meta
    if not is_adaptive(optimizer):
        return dict(zip(PRESETS, meta["sgd_lr"]))
    x0, x1, y0, y1 = meta["window"]
    span = max(x1 - x0, y1 - y0)
    # a step of span/3000 crawls, span/60 is brisk, span/6 overshoots, 4 spans leaves the view
    return {name: float(f"{span * k:.2g}") for name, k in zip(PRESETS, (1 / 3000, 1 / 60, 1 / 6, 4))}


class Racer(OptimizerParams):
    """One optimizer in the race, with its own learning rate and hyper-parameters.

    In a URL a racer is written compactly as ``"optimizer lr [key=value ...]"``, e.g.
    ``"adam 0.1 beta1=0.8"``; that text form is accepted wherever a racer is."""

    # (a racer card names the optimizer in full, and momentum by its symbol)
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, json_schema_extra=retitled({"momentum": "momentum β"}))

    optimizer: OptimizerName = Field("sgd", title="Optimizer", json_schema_extra=OPTIMIZERS.schema_extra())
    learning_rate: float = Field(0.1, title="Learning rate", gt=0, le=MAX_LR, description=f"step size, 0 < lr <= {MAX_LR:g}")

    @model_validator(mode="before")
    @classmethod
    def _from_text(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        words = value.split()
        if len(words) < 2:
            raise ValueError(f"racer text {value!r}: write 'optimizer lr [key=value ...]', e.g. 'adam 0.1 beta1=0.8'")
        fields: dict[str, Any] = {"optimizer": words[0], "learning_rate": words[1]}
        for word in words[2:]:
            key, sep, raw = word.partition("=")
            if not sep:
                raise ValueError(f"racer text {value!r}: {word!r} is not key=value")
            fields[key] = raw
        return fields

    def text(self) -> str:
        """The compact URL form: optimizer, lr, then the hyper-parameters that differ from the defaults."""
        defaults = OptimizerParams.model_validate({})
        extra = [f"{k}={getattr(self, k)}" for k in OptimizerParams.model_fields if getattr(self, k) != getattr(defaults, k)]
        return " ".join([self.optimizer, f"{self.learning_rate:g}", *extra])


DEFAULT_RACERS = [
    Racer.model_validate({"optimizer": "sgd", "learning_rate": 0.001}),
    Racer.model_validate({"optimizer": "momentum", "learning_rate": 0.0005, "momentum": 0.9}),
    Racer.model_validate({"optimizer": "adam", "learning_rate": 0.067}),
]


class Config(ScheduleParams):
    """Everything that defines a race. Keys are the URL-hash keys too."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    lab: Literal["arena"] = "arena"
    surface: SurfaceName = Field("rosenbrock", title="Surface", json_schema_extra=labels({
        "bowl": "Bowl", "ravine": "Ravine", "rosenbrock": "Rosenbrock", "beale": "Beale", "himmelblau": "Himmelblau",
        "saddle": "Saddle", "rastrigin": "Rastrigin", "cliff": "Cliff"}))
    start: list[float] | None = Field(
        None, description="[x, y] inside the surface's window; null = the surface's default start"
    )
    racers: list[Racer] = Field(
        default_factory=lambda: [r.model_copy() for r in DEFAULT_RACERS],
        min_length=1, max_length=MAX_RACERS, description=f"1-{MAX_RACERS} optimizers racing from the same start",
    )
    noise: float = Field(0.0, title="Gradient noise σ", ge=0, le=1000, description="std of Gaussian noise added to each gradient coordinate")
    speed: int = Field(30, title="Steps / second", ge=1, le=max(SPEEDS), description=f"race steps per second, 1-{max(SPEEDS)}")
    horizon: int = Field(500, title="Schedule horizon", ge=2, le=MAX_STEPS, description="race length the LR schedule is planned over")
    seed: int = Field(0, ge=0, le=2**31 - 1, description="seed of the gradient noise")

    @field_validator("start", mode="before")
    @classmethod
    def _start_text(cls, value: Any) -> Any:
        # the URL hash carries a point as "x,y"
        if isinstance(value, str):
            return None if value in ("", "null") else value.split(",")
        return value

    @field_validator("start")
    @classmethod
    def _start_inside(cls, start: list[float] | None, info: ValidationInfo) -> list[float] | None:
        surface = info.data.get("surface")
        if start is None or surface is None:
            return start
        if len(start) != 2:
            raise ValueError(f"a point [x, y] of two numbers (got {len(start)} numbers)")
        if not contains(surface, start):
            x0, x1, y0, y1 = SURFACES[surface].meta["window"]
            raise ValueError(f"{start} lies outside the {surface} window: x in [{x0:g}, {x1:g}], y in [{y0:g}, {y1:g}]")
        return start

    @model_validator(mode="after")
    def _horizon(self) -> Config:
        self.check_horizon(self.horizon)
        return self

    @property
    def start_point(self) -> tuple[float, float]:
        start = self.start if self.start is not None else SURFACES[self.surface].meta["start"]
        return (start[0], start[1])


# ---- frame views ------------------------------------------------------------------------


class Grid(BaseModel):
    """f over the window, sent once per surface. Cell (i, j) is at x = x0 + j*(x1-x0)/(n-1),
    y = y0 + i*(y1-y0)/(n-1) (row 0 at the bottom, y0)."""

    resolution: int
    range: tuple[float, float] = Field(description="transformed value mapped to 0 and to 65535")
    encoding: Literal["base64-uint16le"] = "base64-uint16le"
    data: str = Field(description="resolution*resolution little-endian uint16, row-major, base64")


class SurfaceView(BaseModel):
    """The surface being raced on (new clients and surface changes only)."""

    name: str
    label: str
    note: str
    window: tuple[float, float, float, float] = Field(description="x0, x1, y0, y1")
    start: tuple[float, float]
    minima: list[tuple[float, float]]
    f_min: float
    scale: Literal["linear", "log"] = Field(description="z = f, or z = log10(f - f_min + delta)")
    delta: float = Field(description="offset inside the log (log scale only)")
    grid: Grid
    presets: dict[str, dict[str, float]] = Field(description="optimizer -> {too small, good, oscillating, diverging} LRs")


class LastStep(BaseModel):
    """The racer's last update, in numbers: w_new = w_old + update (for SGD, update = -lr*grad)."""

    w_old: tuple[float, float]
    grad: tuple[float, float] = Field(description="the gradient the optimizer used (noise included)")
    lr: float
    update: tuple[float, float] = Field(description="w_new - w_old, as torch.optim computed it")
    w_new: tuple[float, float]


class RacerView(BaseModel):
    index: int
    optimizer: str
    status: Literal["racing", "diverged"]
    reason: str | None = Field(None, description="why it stopped (diverged racers)")
    point: tuple[float, float]
    value: float | None = Field(description="f at the point (null when not finite)")
    lr: float = Field(description="the LR of the next step (after the schedule)")
    grad: tuple[float, float] | None = Field(description="true gradient at the point (no noise)")
    momentum: tuple[float, float] | None = Field(description="momentum buffer or Adam's first moment, if it has one")
    last: LastStep | None
    reached: int | None = Field(description="step at which it first came within tolerance of a known minimum")


class OptimizerInfo(BaseModel):
    label: str
    uses: list[str] = Field(description="the racer hyper-parameters this optimizer reads")
    adaptive: bool = Field(description="divides by a running gradient scale: its step is about lr")


class ScheduleInfo(BaseModel):
    label: str
    uses: list[str] = Field(description="the config's schedule fields this schedule reads")


def schedule_catalog() -> dict[str, dict[str, Any]]:
    return {e.name: {"label": e.meta.get("label", e.name), "uses": list(e.meta.get("uses", ()))} for e in SCHEDULES}


def optimizer_catalog() -> dict[str, dict[str, Any]]:
    return {
        e.name: {"label": e.meta.get("label", e.name), "uses": list(e.meta.get("uses", ())), "adaptive": is_adaptive(e.name)}
        for e in OPTIMIZERS
    }


class Views(BaseModel):
    """What an arena frame carries in ``views``. Trajectories and loss curves travel in the
    frame's ``history`` (x = step): series ``x{i}``, ``y{i}`` (the point of racer i) and
    ``gap{i}`` (f - f_min, floored at 1e-12 for log plots), null once racer i diverged."""

    racers: list[RacerView]
    tolerance: float = Field(description="distance to a minimum that counts as reached")
    surface: SurfaceView | None = None
    optimizers: dict[str, OptimizerInfo] | None = Field(None, description="sent with the surface: the registry, for the racer cards")
    schedules: dict[str, ScheduleInfo] | None = Field(None, description="sent with the surface: the schedule registry")


COMMANDS: dict[str, type[Args]] = {}  # the arena takes no lab commands
