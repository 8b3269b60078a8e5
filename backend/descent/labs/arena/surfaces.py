"""Loss surfaces of the arena: name -> f(x, y), written with tensor methods so autograd
gives the gradient (and so this module stays torch-free at import, for the schema).

Each entry's meta: ``label``, ``window`` (x0, x1, y0, y1: the view and the allowed starts),
``start`` (default start point), ``minima`` (the known global minima), ``f_min`` (their
value), ``scale`` ("log" when the landscape spans decades: the contour and 3-D plots show
log10(f - f_min + delta)), ``sgd_lr`` (SGD learning rates, tuned from the default start, for
the presets: too small, good, oscillating, diverging) and ``note`` (what it teaches)."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from descent.registry import Registry

Surface = Callable[[Any, Any], Any]  # (x, y) tensors -> f(x, y) tensor of the same shape
SURFACES: Registry[Surface] = Registry("surface")


@SURFACES.register(
    "bowl", label="Convex bowl", window=(-3.0, 3.0, -3.0, 3.0), start=(-2.4, 1.8), minima=((0.0, 0.0),), f_min=0.0,
    scale="linear", sgd_lr=(0.005, 0.2, 0.95, 1.05),
    note="f = x² + y²: Hessian 2I, so SGD converges for lr < 2/L = 1, oscillates near it, diverges above",
)
def bowl(x: Any, y: Any) -> Any:
    return x * x + y * y


@SURFACES.register(
    "ravine", label="Ravine (ill-conditioned)", window=(-6.0, 6.0, -3.0, 3.0), start=(-5.0, -2.0),
    minima=((0.0, 0.0),), f_min=0.0, scale="linear", sgd_lr=(0.01, 0.3, 0.48, 0.52),
    note="f = 0.1x² + 2y²: curvatures 0.2 and 4; a step that suits y crawls along x (momentum helps)",
)
def ravine(x: Any, y: Any) -> Any:
    return 0.1 * x * x + 2.0 * y * y


@SURFACES.register(
    "rosenbrock", label="Rosenbrock", window=(-2.0, 2.0, -1.0, 3.0), start=(-1.5, 2.0), minima=((1.0, 1.0),),
    f_min=0.0, scale="log", sgd_lr=(0.00002, 0.001, 0.0019, 0.0025),
    note="f = (1-x)² + 100(y-x²)²: easy to reach the curved valley, slow to follow it to (1, 1)",
)
def rosenbrock(x: Any, y: Any) -> Any:
    return (1 - x) ** 2 + 100 * (y - x * x) ** 2


@SURFACES.register(
    "beale", label="Beale", window=(-4.5, 4.5, -4.5, 4.5), start=(1.0, 1.4), minima=((3.0, 0.5),), f_min=0.0,
    scale="log", sgd_lr=(0.0001, 0.01, 0.03, 0.05),
    note="sharp walls and flat valleys: the gradient scale changes by decades across the plane",
)
def beale(x: Any, y: Any) -> Any:
    return (1.5 - x + x * y) ** 2 + (2.25 - x + x * y * y) ** 2 + (2.625 - x + x * y**3) ** 2


@SURFACES.register(
    "himmelblau", label="Himmelblau (four minima)", window=(-5.0, 5.0, -5.0, 5.0), start=(-0.5, -0.3),
    minima=((3.0, 2.0), (-2.805118, 3.131312), (-3.779310, -3.283186), (3.584428, -1.848126)), f_min=0.0,
    scale="log", sgd_lr=(0.0002, 0.01, 0.03, 0.045),
    note="four equally deep minima: which one a racer finds depends on its start and its path",
)
def himmelblau(x: Any, y: Any) -> Any:
    return (x * x + y - 11) ** 2 + (x + y * y - 7) ** 2


@SURFACES.register(
    "saddle", label="Saddle point", window=(-2.0, 2.0, -2.0, 2.0), start=(-1.8, 0.01),
    minima=((0.0, 1.0), (0.0, -1.0)), f_min=-0.25, scale="linear", sgd_lr=(0.002, 0.1, 0.9, 1.05),
    note="f = x² + y⁴/4 - y²/2: a saddle at the origin between two minima; near y = 0 the way out is slow (noise helps)",
)
def saddle(x: Any, y: Any) -> Any:
    return x * x + 0.25 * y**4 - 0.5 * y * y


@SURFACES.register(
    "rastrigin", label="Rastrigin (many local minima)", window=(-5.12, 5.12, -5.12, 5.12), start=(-4.3, 3.7),
    minima=((0.0, 0.0),), f_min=0.0, scale="linear", sgd_lr=(0.0001, 0.002, 0.0048, 0.07),
    note="a bowl covered in bumps: plain descent stops in the nearest local minimum",
)
def rastrigin(x: Any, y: Any) -> Any:
    return 20 + x * x - 10 * (2 * math.pi * x).cos() + y * y - 10 * (2 * math.pi * y).cos()


@SURFACES.register(
    "cliff", label="Plateau and cliff", window=(-3.0, 4.0, -2.0, 2.0), start=(-2.5, 1.2), minima=((2.0, 0.0),),
    f_min=0.0, scale="linear", sgd_lr=(0.005, 0.1, 3.0, 3.6),
    note="f = 1 - tanh(6x) + 0.03(x-2)² + 0.3y²: a gentle plateau (SGD crawls), a steep cliff (a big gradient throws it), a wide basin",
)
def cliff(x: Any, y: Any) -> Any:
    return 1 - (6 * x).tanh() + 0.03 * (x - 2) ** 2 + 0.3 * y * y


def contains(name: str, point: tuple[float, float] | list[float], margin: float = 0.0) -> bool:
    """Is ``point`` inside the surface's window, grown by ``margin`` window-spans on each side?"""
    x0, x1, y0, y1 = SURFACES[name].meta["window"]
    mx, my = margin * (x1 - x0), margin * (y1 - y0)
    x, y = point
    return x0 - mx <= x <= x1 + mx and y0 - my <= y <= y1 + my
