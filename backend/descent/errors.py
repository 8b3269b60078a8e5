"""Turn validation failures into messages that name the field and what it allows."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ValidationError


def describe(error: ValidationError, prefix: tuple[str | int, ...] = (), model: type[BaseModel] | None = None) -> tuple[str, list[str | int]]:
    """The first error of ``error`` as (message, loc)."""
    first = error.errors(include_url=False)[0]
    loc = [*prefix, *first["loc"]]
    where = ".".join(str(p) for p in loc)
    msg = first["msg"]
    if first["type"] == "extra_forbidden" and model is not None:
        msg = f"unknown key; allowed keys: {', '.join(model.model_fields)}"
    elif first["type"] == "value_error":
        msg = msg.removeprefix("Value error, ")
    value: Any = first.get("input")
    if isinstance(value, (int, float, str, bool)) and first["type"] != "extra_forbidden" and len(str(value)) < 60:
        msg = f"{msg} (got {value!r})"
    return (f"{where}: {msg}" if where else msg), loc
