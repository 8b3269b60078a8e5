"""Per-epoch metric history with bounded memory, sent to clients incrementally.

When it reaches ``cap`` points it keeps every other point and doubles its stride, so a run
of any length costs at most ``cap`` points; clients then get the whole (thinned) history."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict


@dataclass
class Cursor:
    """How much of the history a client has: its version and length."""

    version: int = -1
    length: int = 0


class History:
    def __init__(self, names: tuple[str, ...], cap: int = 4000) -> None:
        self.names = names
        self.cap = cap
        self.version = 0
        self.stride = 1
        self._seen = 0
        self.x: list[int] = []
        self.series: dict[str, list[float | None]] = {n: [] for n in names}

    def append(self, x: int, values: Mapping[str, float | None]) -> None:
        self._seen += 1
        if (self._seen - 1) % self.stride:
            return
        self.x.append(x)
        for name in self.names:
            v = values.get(name)
            self.series[name].append(v if v is not None and math.isfinite(v) else None)
        if len(self.x) >= self.cap:
            self.x = self.x[::2]
            self.series = {n: s[::2] for n, s in self.series.items()}
            self.stride *= 2
            self.version += 1

    def keep_last(self) -> None:
        """Forget every point but the last (a fork's curves start where it forked)."""
        self.x = self.x[-1:]
        self.series = {n: s[-1:] for n, s in self.series.items()}
        self.version += 1

    def since(self, cursor: Cursor) -> dict[str, Any] | None:
        """The part a client with ``cursor`` lacks (a ``HistoryDelta``; None if nothing); advances the cursor."""
        reset = cursor.version != self.version
        start = 0 if reset else cursor.length
        if not reset and start == len(self.x):
            return None
        cursor.version, cursor.length = self.version, len(self.x)
        return {
            "reset": reset,
            "epoch": self.x[start:],
            "series": {n: s[start:] for n, s in self.series.items()},
        }


class HistoryDelta(BaseModel):
    """What ``History.since`` gives, on the wire: the history since the last frame;
    ``reset`` means replace, not append."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    reset: bool
    epoch: list[int]
    series: dict[str, list[float | None]]
