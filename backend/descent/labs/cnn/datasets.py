"""Image datasets of the convolution lab: real 8x8 digits (scikit-learn ships them: no download)
and generated sets that isolate one idea. Each is (images float32 (N, S, S) in [0, 1], labels
int64 (N,)), split once into train and test by a fixed seed (the test set never changes with
the run's seed). Torch-free; numpy only."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

import numpy as np

TEST_FRACTION = 0.2
SPLIT_SEED = 20261130


@dataclass(frozen=True)
class Dataset:
    name: str
    label: str
    size: int  # images are size x size
    classes: tuple[str, ...]
    make: Callable[[], tuple[np.ndarray, np.ndarray]]
    about: str


def _digits() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    data = load_digits()
    return (data.images / 16.0).astype(np.float32), data.target.astype(np.int64)


def _digits16() -> tuple[np.ndarray, np.ndarray]:
    """The 8x8 digits upsampled to 16x16 (each pixel a 2x2 block, then a 3x3 blur): the same
    digits at a size where stride and pooling matter."""
    images, labels = _digits()
    big = np.kron(images, np.ones((1, 2, 2), np.float32))
    padded = np.pad(big, ((0, 0), (1, 1), (1, 1)))
    blurred: np.ndarray = np.sum([padded[:, i : i + 16, j : j + 16] for i in range(3) for j in range(3)], axis=0) / 9.0
    return (blurred / blurred.max(axis=(1, 2), keepdims=True)).astype(np.float32), labels


BAR_SIZE = 10


def _bars() -> tuple[np.ndarray, np.ndarray]:
    """A bar of one of four orientations (— | \\ /) at a random place and length, on noise:
    the first conv layer's filters turn into oriented edge detectors."""
    rng = np.random.default_rng(7)
    n, s = 1600, BAR_SIZE
    images = rng.uniform(0, 0.25, (n, s, s)).astype(np.float32)
    labels = rng.integers(0, 4, n)
    for img, label in zip(images, labels):
        length = int(rng.integers(5, s + 1))
        a, b = int(rng.integers(0, s - length + 1)), int(rng.integers(1, s - 1))
        t = np.arange(length) + a
        rows, cols = [(np.full(length, b), t), (t, np.full(length, b)), (t, t), (t, s - 1 - t)][label]
        if label >= 2:  # diagonals: shift across the image instead of along a row
            shift = int(rng.integers(-(s - length) // 2 - 1, (s - length) // 2 + 2))
            cols = np.clip(cols + shift, 0, s - 1)
        img[rows, cols] = rng.uniform(0.8, 1.0)
    return images, labels.astype(np.int64)


SHAPE_SIZE = 12


def _shapes() -> tuple[np.ndarray, np.ndarray]:
    """A small shape (square, ring, X, plus) at a random position: the same pattern
    anywhere, which a convolution with pooling recognises wherever it is."""
    rng = np.random.default_rng(11)
    n, s = 1600, SHAPE_SIZE
    glyphs = [
        np.array([[1, 1, 1, 1], [1, 0, 0, 1], [1, 0, 0, 1], [1, 1, 1, 1]]),  # square
        np.array([[0, 1, 1, 0], [1, 0, 0, 1], [1, 0, 0, 1], [0, 1, 1, 0]]),  # ring
        np.array([[1, 0, 0, 1], [0, 1, 1, 0], [0, 1, 1, 0], [1, 0, 0, 1]]),  # X
        np.array([[0, 1, 0, 0], [1, 1, 1, 1], [0, 1, 0, 0], [0, 1, 0, 0]]),  # plus
    ]
    images = rng.uniform(0, 0.15, (n, s, s)).astype(np.float32)
    labels = rng.integers(0, len(glyphs), n)
    for img, label in zip(images, labels):
        r, c = rng.integers(0, s - 3, 2)
        img[r : r + 4, c : c + 4] = np.maximum(img[r : r + 4, c : c + 4], glyphs[label] * rng.uniform(0.8, 1.0))
    return images, labels.astype(np.int64)


DATASETS: dict[str, Dataset] = {
    d.name: d
    for d in (
        Dataset("digits", "Digits 8×8 (real)", 8, tuple("0123456789"), _digits, "1,797 handwritten digits from scikit-learn"),
        Dataset("digits16", "Digits 16×16", 16, tuple("0123456789"), _digits16, "the same digits upsampled, so stride and pooling matter"),
        Dataset("bars", "Oriented bars", BAR_SIZE, ("—", "|", "\\", "/"), _bars, "a bar in one of four orientations: first-layer filters become edge detectors"),
        Dataset("shapes", "Shapes anywhere", SHAPE_SIZE, ("square", "ring", "X", "plus"), _shapes, "a shape at a random position: translation and pooling"),
    )
}


@cache
def load(name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(train images, train labels, test images, test labels) of a dataset, split by a fixed seed."""
    images, labels = DATASETS[name].make()
    order = np.random.default_rng(SPLIT_SEED).permutation(len(labels))
    cut = int(len(labels) * (1 - TEST_FRACTION))
    train, test = order[:cut], order[cut:]
    return images[train], labels[train], images[test], labels[test]
