"""The lab registry. A lab is a package ``descent.labs.<name>`` with

- ``schema.py`` (torch-free): ``Config`` (pydantic, ``lab: Literal[name]``) and ``Views``
  (the model documenting what its frames carry), and
- ``lab.py``: ``Lab``, the experiment itself: a subclass of ``descent.labs.base.Lab[Config]``
  that writes only what is its own (building, ``step``, ``reconfigure``, ``views``) and
  inherits the plumbing (optimizer and schedule from the registries, ``lr``, ``metrics``,
  the config diff, pacing, the planned-LR curve, snapshots, the size guard).

Adding a lab means adding its package and its name here; the transport never changes."""

from __future__ import annotations

import importlib
from functools import cache
from types import ModuleType
from typing import Any

LAB_NAMES: tuple[str, ...] = ("mlp", "attention", "arena", "backprop", "cnn", "rnn")
DEFAULT_LAB = "mlp"


@cache
def schema(name: str) -> ModuleType:
    if name not in LAB_NAMES:
        raise KeyError(f"unknown lab {name!r}; allowed: {', '.join(LAB_NAMES)}")
    return importlib.import_module(f"descent.labs.{name}.schema")


def config_model(name: str) -> Any:
    return schema(name).Config


def lab_class(name: str) -> Any:
    schema(name)
    return importlib.import_module(f"descent.labs.{name}.lab").Lab
