"""What a lab's page reads from its config schema besides validation (torch-free).

Every choice field carries ``x-labels`` (value -> its name in a list) and, when it comes from
a registry, ``x-titles`` (value -> its full label) and ``x-uses`` (value -> the fields it reads):
see ``Registry.schema_extra``. Every field a control shows has a ``title`` (its label on the
page). A lab that words an inherited field its own way retitles it with ``retitled``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import BaseModel

JsonSchema = dict[str, Any]


def labels(names: dict[str, str], titles: dict[str, str] | None = None) -> JsonSchema:
    """The extras of a choice field that no registry backs: value -> its name in a list
    (and, with ``titles``, value -> its full name)."""
    return {"x-labels": dict(names), **({"x-titles": dict(titles)} if titles else {})}


def retitled(titles: dict[str, str], extra: JsonSchema | None = None) -> Callable[[JsonSchema], None]:
    """A model's ``json_schema_extra``: its own ``title`` for inherited fields (and ``extra``
    added at the top level)."""

    def apply(schema: JsonSchema) -> None:
        for key, title in titles.items():
            schema["properties"][key]["title"] = title
        schema.update(extra or {})

    return apply


def inlined_schema(model: type[BaseModel]) -> JsonSchema:
    """A model's JSON Schema with its $refs replaced by the definitions (to embed it elsewhere)."""
    schema = model.model_json_schema()
    defs = schema.pop("$defs", {})

    def inline(node: Any) -> Any:
        if isinstance(node, dict):
            if "$ref" in node:
                return inline(defs[node["$ref"].rsplit("/", 1)[-1]])
            return {k: inline(v) for k, v in node.items()}
        if isinstance(node, list):
            return [inline(v) for v in node]
        return node

    inlined: dict[str, Any] = inline(schema)
    return inlined
