"""2-D datasets of the playground, generated with numpy. The classification and regression
sets of TensorFlow Playground (circle, xor, gauss, spiral, plane, multigauss) follow its
generators (src/dataset.ts), so its users find the same data and the same noise:

- circle, xor, plane, multigauss keep every point where it was drawn, inside the square
  [-6, 6]^2, and label it from a copy shifted by noise (uniform, up to noise x the
  dataset's radius along each axis): noise flips labels near a boundary (circle 7.9 % /
  24.8 %, xor 7.0 % / 17.5 % of the points at noise 0.25 / 0.5) and blurs targets;
- gauss, spiral keep each point's label and move the point (gauss: variance 0.5 .. 4 as
  noise goes 0 .. 0.5; spiral: by up to noise along each axis), so a Gaussian tail may
  leave the square.

Descent's own sets: moons (Gaussian noise moves points), checkerboard (uniform noise moves
points after labelling), blobs and spirals (multiclass; Gaussian / uniform noise moves points).

Classification labels are -1 / +1, multiclass labels are class indices 0 .. k-1,
regression targets are TensorFlow Playground's: multigauss in [-1, 1], plane (x1 + x2) / 10,
unclamped (+-1.2 without noise). ``noise`` is a fraction in [0, 0.5]. Generators take
(n, noise, rng); multiclass ones also take the class count k."""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import numpy as np

from descent.registry import Registry

Problem = Literal["classification", "regression", "multiclass"]
Generator = Callable[..., tuple[np.ndarray, np.ndarray]]  # (n, noise, rng[, classes]) -> (xy, label)
DATASETS: Registry[Generator] = Registry("dataset")

EXTENT = 6.0  # the input plane is [-EXTENT, EXTENT]^2
SAMPLES = {"classification": 500, "regression": 1200, "multiclass": 600}  # 600: k points of each class for k = 3..6
CLASSES = (3, 6)  # the class counts a multiclass dataset can have
DEFAULT_CLASSES = 3


def dataset_names(problem: Problem) -> tuple[str, ...]:
    return tuple(e.name for e in DATASETS if e.meta["problem"] == problem)


def generate(name: str, noise: float, seed: int, classes: int = DEFAULT_CLASSES) -> tuple[np.ndarray, np.ndarray]:
    """Return points (n, 2) float32 and labels (n,) float32, shuffled, for a seed.
    ``classes`` is the class count of a multiclass dataset; the others ignore it."""
    entry = DATASETS[name]
    rng = np.random.default_rng(seed)
    problem = entry.meta["problem"]
    extra = (classes,) if problem == "multiclass" else ()
    xy, label = entry.fn(SAMPLES[problem], noise, rng, *extra)
    order = rng.permutation(len(xy))
    return xy[order].astype(np.float32), label[order].astype(np.float32)


@DATASETS.register("circle", problem="classification")
def circle(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Half the points in a disc of radius 2.5, half in a ring from 3.5 to 5, each labelled
    +1 if a copy of it shifted by up to 5 * noise along each axis lies in the disc."""
    radius = 5.0
    half = n // 2
    r = np.concatenate([rng.uniform(0, radius * 0.5, half), rng.uniform(radius * 0.7, radius, n - half)])
    angle = rng.uniform(0, 2 * np.pi, n)
    xy = np.stack([r * np.sin(angle), r * np.cos(angle)], axis=1)
    shifted = xy + rng.uniform(-radius, radius, size=(n, 2)) * noise
    return xy, np.where(np.hypot(shifted[:, 0], shifted[:, 1]) < radius * 0.5, 1.0, -1.0)


@DATASETS.register("xor", problem="classification")
def xor(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Points in [-5, 5]^2 pushed 0.3 off both axes, each labelled +1 if a copy of it
    shifted by up to 5 * noise along each axis lies in the first or third quadrant."""
    padding = 0.3
    xy = rng.uniform(-5, 5, size=(n, 2))
    xy += np.where(xy > 0, padding, -padding)
    shifted = xy + rng.uniform(-5, 5, size=(n, 2)) * noise
    return xy, np.where(shifted[:, 0] * shifted[:, 1] >= 0, 1.0, -1.0)


@DATASETS.register("gauss", problem="classification")
def gauss(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    variance = 0.5 + (4.0 - 0.5) * (noise / 0.5)
    half = n // 2
    centres = np.concatenate([np.full((half, 2), 2.0), np.full((n - half, 2), -2.0)])
    xy = centres + rng.normal(0, np.sqrt(variance), size=(n, 2))
    label = np.concatenate([np.ones(half), -np.ones(n - half)])
    return xy, label


@DATASETS.register("spiral", problem="classification")
def spiral(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    half = n // 2
    parts = []
    for delta, sign in ((0.0, 1.0), (np.pi, -1.0)):
        i = np.arange(half)
        r = i / half * 5
        t = 1.75 * i / half * 2 * np.pi + delta
        xy = np.stack([r * np.sin(t), r * np.cos(t)], axis=1) + rng.uniform(-1, 1, (half, 2)) * noise
        parts.append((xy, np.full(half, sign)))
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


@DATASETS.register("moons", problem="classification")
def moons(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaved half circles: upper (cos t, sin t), lower (1 - cos t, 0.5 - sin t),
    centred and scaled by 3 to fill the plane."""
    half = n // 2
    t = rng.uniform(0, np.pi, n)
    upper = np.stack([np.cos(t[:half]), np.sin(t[:half])], axis=1)
    lower = np.stack([1 - np.cos(t[half:]), 0.5 - np.sin(t[half:])], axis=1)
    xy = (np.concatenate([upper, lower]) - [0.5, 0.25]) * 3.0
    xy += rng.normal(0, 1, size=(n, 2)) * noise * 3.0
    return xy, np.concatenate([np.ones(half), -np.ones(n - half)])


@DATASETS.register("checkerboard", problem="classification")
def checkerboard(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A 4 x 4 board of 2.5-wide squares over [-5, 5]^2; noise moves points after labelling."""
    xy = rng.uniform(-5, 5, size=(n, 2))
    cells = np.floor((xy + 5) / 2.5).astype(int)
    label = np.where((cells[:, 0] + cells[:, 1]) % 2 == 0, 1.0, -1.0)
    xy += rng.uniform(-5, 5, size=(n, 2)) * noise * 0.5
    return xy, label


@DATASETS.register("plane", problem="regression")
def plane(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Target (x1 + x2) / 10 of a copy of the point shifted by up to 6 * noise along each
    axis, unclamped (within +-1.2 without noise, +-1.8 at noise 0.5)."""
    xy = rng.uniform(-EXTENT, EXTENT, size=(n, 2))
    shifted = xy + rng.uniform(-EXTENT, EXTENT, size=(n, 2)) * noise
    return xy, (shifted[:, 0] + shifted[:, 1]) / 10


_BUMPS = np.array([[-4, 2.5, 1], [0, 2.5, -1], [4, 2.5, 1], [-4, -2.5, -1], [0, -2.5, 1], [4, -2.5, -1]])


@DATASETS.register("multigauss", problem="regression")
def multigauss(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Six bumps of height +-1 and radius 2: the target of a copy of the point shifted by
    up to 6 * noise along each axis is sign * (1 - distance / 2) of the bump it lies on, else 0."""
    xy = rng.uniform(-EXTENT, EXTENT, size=(n, 2))
    shifted = xy + rng.uniform(-EXTENT, EXTENT, size=(n, 2)) * noise
    dist = np.hypot(shifted[:, None, 0] - _BUMPS[:, 0], shifted[:, None, 1] - _BUMPS[:, 1])  # (n, 6)
    # the bumps' discs (centres 4 or more apart) do not overlap: the sum is the one bump's
    # value (TensorFlow Playground takes the largest in absolute value, the same number)
    return xy, (np.clip(1 - dist / 2, 0, 1) * _BUMPS[:, 2]).sum(1)


@DATASETS.register("blobs", problem="multiclass")
def blobs(n: int, noise: float, rng: np.random.Generator, classes: int) -> tuple[np.ndarray, np.ndarray]:
    """k Gaussian clusters evenly around a circle of radius 3.5; noise widens them."""
    label = np.arange(n) % classes
    angle = 2 * np.pi * label / classes + np.pi / 2  # class 0 at the top
    centres = 3.5 * np.stack([np.cos(angle), np.sin(angle)], axis=1)
    return centres + rng.normal(0, 0.6 + 3.0 * noise, size=(n, 2)), label


@DATASETS.register("spirals", problem="multiclass")
def spirals(n: int, noise: float, rng: np.random.Generator, classes: int) -> tuple[np.ndarray, np.ndarray]:
    """k interleaved spiral arms, one turn each from the centre out, arm j turned by 2 pi j / k; noise jitters."""
    label = np.arange(n) % classes
    s = (np.arange(n) // classes) / (n // classes)  # position along the arm, 0 .. 1
    r = 0.4 + 4.8 * s
    t = 2 * np.pi * (s + label / classes)
    xy = np.stack([r * np.sin(t), r * np.cos(t)], axis=1)
    return xy + rng.uniform(-1, 1, size=(n, 2)) * noise, label


# Input features computed from a point (x1, x2); the network sees the chosen ones.
FEATURES: Registry[Callable[[np.ndarray, np.ndarray], np.ndarray]] = Registry("feature")
FEATURES.register("x1", label="X₁")(lambda x1, x2: x1)
FEATURES.register("x2", label="X₂")(lambda x1, x2: x2)
FEATURES.register("x1sq", label="X₁²")(lambda x1, x2: x1 * x1)
FEATURES.register("x2sq", label="X₂²")(lambda x1, x2: x2 * x2)
FEATURES.register("x1x2", label="X₁X₂")(lambda x1, x2: x1 * x2)
FEATURES.register("sinx1", label="sin(X₁)")(lambda x1, x2: np.sin(x1))
FEATURES.register("sinx2", label="sin(X₂)")(lambda x1, x2: np.sin(x2))


def featurize(xy: np.ndarray, features: list[str] | tuple[str, ...]) -> np.ndarray:
    """(n, 2) points -> (n, len(features)) float32 network inputs."""
    x1, x2 = xy[:, 0], xy[:, 1]
    return np.stack([FEATURES[f].fn(x1, x2) for f in features], axis=1).astype(np.float32)


def grid(resolution: int) -> np.ndarray:
    """Cell centres of a resolution x resolution grid over the plane, row 0 at the top (y = +6)."""
    c = (np.arange(resolution) + 0.5) / resolution * 2 * EXTENT - EXTENT
    x1, x2 = np.meshgrid(c, c[::-1])
    return np.stack([x1.ravel(), x2.ravel()], axis=1).astype(np.float32)
