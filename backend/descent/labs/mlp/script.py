"""Show the code: the plain PyTorch script of the current playground setup.

The script is written from the very pieces the lab runs (the dataset generator, the
registry entries for init, loss, optimizer and schedule, the network the lab builds),
taken as source with ``inspect``, so it cannot drift from what the server trains. It
needs only numpy and torch, and run alone it reproduces a fresh run of the lab step for
step (same data, same initial weights, same dropout masks, same batch order: each drawn
from its own generator, seeded as the lab seeds it; the same LR, held past the schedule's
horizon as the lab holds it): the user can read it, download it and run it with
``python descent_run.py``."""

from __future__ import annotations

import inspect
import re
from typing import Any

from torch import nn

from descent.labs.mlp import datasets
from descent.labs.mlp.datasets import DATASETS, FEATURES, SAMPLES
from descent.labs.mlp.schema import Config
from descent.labs.scripts import function_source, helpers_source, optimizer_source
from descent.nn import dropout, initializers, losses
from descent.nn.initializers import INITIALIZERS
from descent.nn.losses import LOSSES
from descent.nn.optimizers import OPTIMIZERS
from descent.nn.schedules import SCHEDULES

# helpers and constants the registry functions may refer to, by module
HELPERS: dict[Any, tuple[str, ...]] = {
    datasets: ("_uniform", "EXTENT", "_BUMPS"),
    initializers: ("_zero_bias",),
    losses: (),
}


_function = function_source


def _helpers(module: Any, body: str) -> str:
    """Source of the helpers of ``module`` that ``body`` mentions."""
    return helpers_source(module, HELPERS.get(module, ()), body)


def _feature(name: str) -> str:
    """The expression of a feature, from its registered lambda ``lambda x1, x2: <expr>``."""
    source = inspect.getsource(FEATURES[name].fn)
    found = re.search(r"lambda x1, x2: (.*)\)\s*$", source.strip())
    if found is None:
        raise ValueError(f"feature {name!r}: registered as something other than 'lambda x1, x2: <expr>'")
    return found.group(1)


def _module(m: nn.Module) -> str:
    """Code that builds ``m``: torch modules' reprs are their constructor calls."""
    return f"nn.{m!r}"


def _hyper(config: Config, fields: tuple[str, ...]) -> str:
    return ", ".join(f"{k}={getattr(config, k)!r}" for k in fields)


def render(config: Config) -> str:
    """The whole script for ``config``."""
    from descent.labs.mlp.network import build_network, steps_per_epoch, stream_seeds  # as the lab builds and trains it

    cfg = config
    dataset = DATASETS[cfg.dataset]
    generator = _function(dataset.fn)
    init = INITIALIZERS[cfg.init]
    loss = LOSSES[cfg.loss]
    optimizer = OPTIMIZERS[cfg.optimizer]
    schedule = SCHEDULES[cfg.schedule]
    network = build_network(cfg, seed=0)  # (its layers only: a throwaway, from its own generators)
    seeds = stream_seeds(cfg.seed)  # a fresh run's
    features = ", ".join(_feature(f) for f in cfg.features)
    fields = sorted({*optimizer.meta["uses"], *schedule.meta["uses"], *init.meta["uses"]})

    parts = [
        f'''"""Descent playground run, as plain PyTorch.

dataset {cfg.dataset}{_classes_note(cfg)} (noise {cfg.noise}%, {cfg.train_ratio}% for training, seed {cfg.seed}),
features {", ".join(cfg.features)}, hidden layers {cfg.hidden or "none"} of {cfg.activation},
init {cfg.init}, loss {cfg.loss}, optimizer {cfg.optimizer} (lr {cfg.learning_rate}),
norm {cfg.norm}, dropout {cfg.dropout}, schedule {cfg.schedule} (over {cfg.schedule_steps} steps), batch size {cfg.batch_size},
regularization {cfg.regularization} {cfg.regularization_rate}.
Run: python descent_run.py [epochs]
"""

from __future__ import annotations

import math
import sys
from types import SimpleNamespace
from typing import Any, Callable, Iterable

import numpy as np
import torch
from torch import nn
from torch.optim import Optimizer

# the settings the registry functions below read
hp = SimpleNamespace({_hyper(cfg, tuple(fields))})
''',
        "\n# ---- data " + "-" * 70 + "\n",
        _helpers(datasets, generator),
        generator,
        f'''
rng = np.random.default_rng({cfg.seed})
xy, label = {dataset.fn.__name__}({SAMPLES[dataset.meta["problem"]]}, {cfg.noise / 100!r}, rng{_classes_arg(cfg)})
order = rng.permutation(len(xy))
xy, label = xy[order].astype(np.float32), label[order].astype(np.float32)
n_train = {cfg.train_size}
train_xy, train_label = xy[:n_train], label[:n_train]
test_xy, test_label = xy[n_train:], label[n_train:]
{_drawn(cfg)}

def featurize(points):
    x1, x2 = points[:, 0], points[:, 1]
    return np.stack([{features}], axis=1).astype(np.float32)


x_train, y_train = torch.from_numpy(featurize(train_xy)), torch.from_numpy(train_label){_labels(cfg)}
x_test, y_test = torch.from_numpy(featurize(test_xy)), torch.from_numpy(test_label){_labels(cfg)}
''',
        "\n# ---- model " + "-" * 69 + "\n",
        _helpers(initializers, _function(init.fn)),
        _function(init.fn),
        "\n\n" + inspect.getsource(dropout.Dropout) + "\n" if cfg.dropout > 0 else "",
        _streams(cfg, seeds),
        "layers = []\n",
        _layers(cfg, network),
        "model = nn.Sequential(*layers)\n",
        "\n# ---- loss, optimizer, schedule " + "-" * 49 + "\n",
        _helpers(losses, _function(loss.fn)),
        _function(loss.fn),
        optimizer_source(cfg.optimizer),
        _function(schedule.fn),
        f'''
optimizer = {optimizer.fn.__name__}(model.parameters(), {cfg.learning_rate!r}, hp)
scheduler = {schedule.fn.__name__}(optimizer, hp, {cfg.schedule_steps})
weights = [m.weight for m in model if isinstance(m, nn.Linear)]


def penalty():
''',
        _penalty(cfg),
        f'''

# ---- training loop ------------------------------------------------------------
def evaluate(x, y):
    model.eval()
    with torch.no_grad():
        value = {loss.fn.__name__}(model(x), y).item()
    model.train()
    return value


epochs = int(sys.argv[1]) if len(sys.argv) > 1 else 50
batch_size = {cfg.batch_size}
steps_per_epoch = {steps_per_epoch(cfg)}
schedule_steps = {cfg.schedule_steps}
shuffle = torch.Generator().manual_seed({seeds["order"]})  # the batch order's own random stream
t = 0  # steps taken
print(f"epoch 0: train loss {{evaluate(x_train, y_train):.4f}}, test loss {{evaluate(x_test, y_test):.4f}}")
for epoch in range(1, epochs + 1):
    order = torch.randperm(len(y_train), generator=shuffle)
    batches = list(zip(x_train[order].split(batch_size), y_train[order].split(batch_size)))[:steps_per_epoch]
    for xb, yb in batches:
        loss = {loss.fn.__name__}(model(xb), yb) + penalty()  # forward: model(x), then the criterion
        optimizer.zero_grad(set_to_none=True)  # forget the last step's gradients
        loss.backward()  # backward: dloss/dw for every parameter
        optimizer.step()  # update: w <- w - lr * (the optimizer's step)
        if t < schedule_steps - 1:  # past its horizon the LR holds, as in the playground (torch's cosine would climb back)
            scheduler.step()  # the LR for the next step
        t += 1
    print(f"epoch {{epoch}}: train loss {{evaluate(x_train, y_train):.4f}}, test loss {{evaluate(x_test, y_test):.4f}}")
''',
    ]
    return "".join(p for p in parts if p)


def _layers(cfg: Config, network: nn.Sequential) -> str:
    """The layers in the order the lab creates them (each layer's init draws from init_rng
    in this order, so the weights come out the same)."""
    lines = []
    for m in network:
        if isinstance(m, dropout.Dropout):
            lines.append(f"layers.append(Dropout({m.p!r}, dropout_rng))")
            continue
        lines.append(f"layers.append({_module(m)})")
        if isinstance(m, nn.Linear):
            lines.append(f"{INITIALIZERS[cfg.init].fn.__name__}(layers[-1], hp, init_rng)")
    return "\n".join(lines) + "\n"


def _streams(cfg: Config, seeds: dict[str, int]) -> str:
    """The model's random streams, seeded as the lab seeds a fresh run's."""
    lines = [f"\ninit_rng = torch.Generator().manual_seed({seeds['init']})  # the initial weights' own random stream\n"]
    if cfg.dropout > 0:
        lines.append(f"dropout_rng = torch.Generator().manual_seed({seeds['dropout']})  # the dropout masks' own random stream\n")
    lines.append("# (nn.Linear(...) draws an init of its own; the initializer after it replaces it from init_rng)\n")
    return "".join(lines)


def _classes_note(cfg: Config) -> str:
    return f" with {cfg.classes} classes" if cfg.problem == "multiclass" else ""


def _classes_arg(cfg: Config) -> str:
    """Multiclass generators take the class count too."""
    return f", {cfg.classes}" if cfg.problem == "multiclass" else ""


def _labels(cfg: Config) -> str:
    """Multiclass labels are class indices: long, as cross-entropy wants them."""
    return ".long()" if cfg.problem == "multiclass" else ""


def _drawn(cfg: Config) -> str:
    """The points the user drew on the plane: they join the training data."""
    if not cfg.drawn:
        return ""
    return (f"drawn = np.array({list(cfg.drawn)!r}, dtype=np.float32).reshape(-1, 3)  # x1, x2, label\n"
            "train_xy = np.concatenate([train_xy, drawn[:, :2]])\n"
            "train_label = np.concatenate([train_label, drawn[:, 2]])\n")


def _penalty(cfg: Config) -> str:
    rate = cfg.regularization_rate
    if cfg.regularization == "none" or rate == 0:
        return "    return 0.0\n"
    if cfg.regularization == "l1":
        return f"    return {rate!r} * sum(w.abs().sum() for w in weights)  # L1\n"
    return f"    return {rate!r} * 0.5 * sum((w * w).sum() for w in weights)  # L2\n"

