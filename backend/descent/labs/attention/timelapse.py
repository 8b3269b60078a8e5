"""Attention maps kept during training for the time-lapse slider, in bounded memory.

Like ``History``: when it holds ``cap`` frames it keeps every other one and doubles its
stride, so a run of any length costs at most ``cap`` frames, spread over the whole run.
A client gets each frame once (``since``), and everything again after a thinning."""

from __future__ import annotations

import numpy as np

from descent.encoding import b64
from descent.history import Cursor


class Timelapse:
    def __init__(self, cap: int = 48) -> None:
        self.cap = cap
        self.version = 0
        self.clear()

    def clear(self) -> None:
        self.version += 1
        self.stride = 1
        self._seen = 0
        self.epochs: list[int] = []
        self._frames: list[np.ndarray] = []  # each (layers, heads, T, T) uint8

    def add(self, epoch: int, maps: np.ndarray) -> None:
        self._seen += 1
        if (self._seen - 1) % self.stride:
            return
        self.epochs.append(epoch)
        self._frames.append(maps)
        if len(self._frames) >= self.cap:
            self.epochs = self.epochs[::2]
            self._frames = self._frames[::2]
            self.stride *= 2
            self.version += 1

    def get(self, index: int) -> tuple[int, np.ndarray]:
        return self.epochs[index], self._frames[index]

    def since(self, cursor: Cursor) -> dict | None:
        """The frames a client with ``cursor`` lacks (None if none), base64 each; advances the cursor."""
        reset = cursor.version != self.version
        start = 0 if reset else cursor.length
        if not reset and start == len(self.epochs):
            return None
        cursor.version, cursor.length = self.version, len(self.epochs)
        return {
            "reset": reset,
            "epochs": self.epochs[start:],
            "frames": [b64(f) for f in self._frames[start:]],
        }

    @property
    def nbytes(self) -> int:
        return sum(f.nbytes for f in self._frames)
