"""What a setup (a lab's validated config) is and costs: its lab, its parameter count and
the work of one training step, its place in admission, and the refusal of one too big."""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Any, Protocol, cast

from pydantic import BaseModel

from descent.labs import config_model, lab_class
from descent.nn.optimizers import OptimizerParams

MAX_WEIGHT = 8  # the most places in admission one session takes, however costly its steps
# Config keys that never change a lab's size: changing only these skips the parameter guard.
UNSIZED_KEYS = frozenset({"learning_rate", "optimizer", *OptimizerParams.model_fields})


class _LabConfig(Protocol):
    lab: str


def lab_of(config: BaseModel) -> str:
    """The lab a config is for (every lab's Config has ``lab: Literal[name]``)."""
    return cast(_LabConfig, config).lab


@lru_cache(maxsize=64)
def size(lab_name: str, config_json: str) -> tuple[int, float]:
    """(trainable parameters, multiply-adds of one training step), memoized by config: a
    lab's default count builds one, so repeats cost nothing."""
    config = config_model(lab_name).model_validate_json(config_json)
    lab = lab_class(lab_name)
    return int(lab.parameter_count(config)), float(lab.step_work(config))


def weight(config: BaseModel, max_step_work: float) -> int:
    """Places a session on ``config`` takes in admission while it trains, by what one of its
    steps costs: the heaviest setup allowed (max_step_work) takes MAX_WEIGHT places, a default
    playground or a small transformer one or two. By formula, so a busy moment cannot make a
    session look dearer."""
    work = size(lab_of(config), config.model_dump_json())[1]
    return max(1, min(MAX_WEIGHT, math.ceil(work * MAX_WEIGHT / max_step_work)))


def cost_fields(lab_name: str, config: BaseModel) -> str:
    """The config fields that make a step of this lab dear, with their values."""
    return ", ".join(f"{f} ({getattr(config, f)})" for f in lab_class(lab_name).cost_fields if hasattr(config, f))


def too_big(lab_name: str, config: BaseModel, max_parameters: int, max_step_work: float,
            beside: BaseModel | None = None) -> str | None:
    """Why ``config`` is refused, naming the limit: its lab would exceed max_parameters, or a
    single training step would cost more than max_step_work (a step cannot be cut: it would
    hold every session on the worker that long); None if it fits. ``beside``: a second run's
    config (fork / compare) that steps with it, counted together."""
    count, work = size(lab_name, config.model_dump_json())
    if beside is not None:
        other = size(lab_name, beside.model_dump_json())
        count, work = count + other[0], work + other[1]
    if count > max_parameters:
        return (f"config: this setup has {count:,} trainable parameters; "
                f"at most {max_parameters:,} are allowed (make the model smaller)")
    if work > max_step_work:
        return (f"config: one training step of this setup costs about {work:.2g} multiply-adds; at most "
                f"{max_step_work:.2g} are allowed, so no one else waits for it: lower {cost_fields(lab_name, config) or 'the model size'}")
    return None


def patched(current: BaseModel, patch: dict[str, Any]) -> dict[str, Any]:
    """The current config with a patch applied; a lab's config model may refine how (its
    ``patched`` classmethod, e.g. the playground's problem brings a loss that applies)."""
    refine = getattr(type(current), "patched", None)
    return refine(current, patch) if refine else {**current.model_dump(), **patch}
