"""Attention maps kept during training for the time-lapse slider, in bounded memory.

Like ``History``: when it holds ``cap`` frames it keeps every other one and doubles its
stride, so a run of any length costs at most ``cap`` frames, spread over the whole run."""

from __future__ import annotations

import numpy as np


class Timelapse:
    def __init__(self, cap: int = 48) -> None:
        self.cap = cap
        self.clear()

    def clear(self) -> None:
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

    def get(self, index: int) -> tuple[int, np.ndarray]:
        return self.epochs[index], self._frames[index]

    @property
    def nbytes(self) -> int:
        return sum(f.nbytes for f in self._frames)
