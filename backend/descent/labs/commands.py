"""Lab command arguments, validated like a config: one pydantic model per command (in each
lab's ``schema.py``, as ``COMMANDS``), so a bad argument is an error that names the field and
what it allows, found before the command changes anything. Torch-free, like the schemas."""

from __future__ import annotations

import math
from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from descent.errors import describe
from descent.history import HistoryDelta


class CommandError(ValueError):
    """A command refused before it changed anything: a message naming the field, and its loc."""

    def __init__(self, message: str, loc: list[str | int]) -> None:
        super().__init__(message)
        self.loc = loc


class Args(BaseModel):
    """The arguments of one lab command: no unknown keys, no NaN or infinity, and no
    coercion (``"3"`` is not a layer index, ``true`` is not 1)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, strict=True)
    # what an unknown key is told, before the allowed keys (a model may say why they are few)
    unknown_key: ClassVar[str] = "unknown key"


class NoArgs(Args):
    """A command without arguments."""


class ForkArgs(Args):
    """``fork``: a second run beside the main one with ``patch`` applied (it replaces one running)."""

    patch: dict[str, Any] = Field(description="the settings the second run changes, e.g. {\"learning_rate\": 0.1}")


TWIN_COMMANDS: dict[str, type[Args]] = {"fork": ForkArgs, "unfork": NoArgs}


class ForkView(BaseModel):
    """A second run beside the main one (command ``fork``): its curves, in the frame's history format."""

    label: str = Field(description="what differs, e.g. 'fork: optimizer adam' or 'compare: cell lstm (from scratch)'")
    history: HistoryDelta | None = Field(description="new epochs since the last frame (reset = replace)")
    diverged: str | None = None
    views: dict[str, Any] | None = Field(None, description="what the lab shows of the second run beyond its curves")


def number(lo: float, hi: float, description: str) -> Any:
    """A float field in [lo, hi] that takes JSON numbers only. Bounds are checked before the
    value becomes a float, so an integer of any size is out of range, not an OverflowError."""
    allowed = f"a finite number in [{lo:g}, {hi:g}]"

    def check(value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(allowed)
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(allowed)
        if not lo <= value <= hi:  # (int against float compares exactly, at any size)
            raise ValueError(f"out of range; allowed [{lo:g}, {hi:g}]")
        return float(value)

    return Annotated[float, Field(ge=lo, le=hi, description=description), BeforeValidator(check)]


def parse(model: type[Args], args: Any) -> Args:
    """``args`` validated by ``model``; CommandError naming the first bad field otherwise."""
    try:
        return model.model_validate(args)
    except ValidationError as e:
        raise refusal(e, ("args",), model) from None


def refusal(error: ValidationError, prefix: tuple[str | int, ...], model: type[BaseModel]) -> CommandError:
    """A CommandError from the first error of ``error`` (validating ``model`` at ``prefix``)."""
    first = error.errors(include_url=False)[0]
    if first["type"] == "extra_forbidden":
        owner = _model_at(model, first["loc"][:-1])  # (the nested model the key was given to)
        loc = [*prefix, *first["loc"]]
        allowed = ", ".join(f.alias or name for name, f in owner.model_fields.items()) if owner else ""
        why = getattr(owner, "unknown_key", "unknown key")
        return CommandError(f"{'.'.join(map(str, loc))}: {why}; allowed keys: {allowed or 'none'}", loc)
    message, loc = describe(error, prefix, model)
    return CommandError(message, loc)


def _model_at(model: type[BaseModel], path: tuple[str | int, ...]) -> type[BaseModel] | None:
    for key in path:
        field = next((f for name, f in model.model_fields.items() if key in (name, f.alias)), None)
        inner = field.annotation if field else None
        if not (isinstance(inner, type) and issubclass(inner, BaseModel)):
            return None
        model = inner
    return model
