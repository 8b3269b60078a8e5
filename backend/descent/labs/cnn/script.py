"""Show the code: the plain PyTorch script of the current convolution-lab setup.

Written from the pieces the lab runs (the dataset's generator and split, the modules the lab
builds, the registry entries for init, optimizer and schedule), quoted with ``inspect`` as the
playground's script is (labs/mlp/script.py), so it cannot drift from what the server trains.
Run alone it reproduces a fresh run of the lab: the same data, the same initial weights (drawn
in the same order from a generator seeded as the lab seeds it) and the same batch order. It
needs numpy and torch, and scikit-learn for the digits."""

from __future__ import annotations

import torch
from torch import nn

from descent.labs.cnn import datasets, network
from descent.labs.cnn.datasets import DATASETS
from descent.labs.cnn.schema import Config
from descent.labs.scripts import function_source, helpers_source, optimizer_source
from descent.nn import initializers
from descent.nn.initializers import INITIALIZERS
from descent.nn.optimizers import OPTIMIZERS
from descent.nn.schedules import SCHEDULES

FILENAME = "descent_cnn.py"
INIT_HELPERS = ("_zero_bias",)  # helpers the initializers may refer to
# what each dataset's generator needs besides itself
DATA_HELPERS = {"digits": (), "digits16": ("_digits",), "bars": ("BAR_SIZE",), "shapes": ("SHAPE_SIZE",)}

RESIDUAL = '''
class Residual(nn.Module):
    """act(x + conv2(act(conv1(x)))): two 3x3 convolutions that keep the size and the channels."""

    def __init__(self, channels):
        super().__init__()
        self.conv1 = init_layer(nn.Conv2d(channels, channels, 3, stride=1, padding=1))
        self.conv2 = init_layer(nn.Conv2d(channels, channels, 3, stride=1, padding=1))
        self.act = nn.{act}

    def forward(self, x):
        return self.act(x + self.conv2(self.act(self.conv1(x))))

'''


def _data(cfg: Config) -> str:
    make = DATASETS[cfg.dataset].make
    parts = []
    for name in DATA_HELPERS[cfg.dataset]:
        value = getattr(datasets, name)
        parts.append(function_source(value) if callable(value) else f"\n{name} = {value!r}\n")
    parts.append(function_source(make))
    parts.append(f'''
images, labels = {make.__name__}()
# the lab's fixed split: {round(100 * datasets.TEST_FRACTION)}% for testing, by a seed of its own (the run's seed never changes it)
split = np.random.default_rng({datasets.SPLIT_SEED}).permutation(len(labels))
cut = int(len(labels) * (1 - {datasets.TEST_FRACTION!r}))
train_x = torch.from_numpy(images[split[:cut]]).unsqueeze(1)  # (N, 1, {DATASETS[cfg.dataset].size}, {DATASETS[cfg.dataset].size})
train_y = torch.from_numpy(labels[split[:cut]])
test_x = torch.from_numpy(images[split[cut:]]).unsqueeze(1)
test_y = torch.from_numpy(labels[split[cut:]])
''')
    return "".join(parts)


def _init(cfg: Config) -> str:
    if cfg.init == "default":
        return function_source(network.default_init) + "\ndef init_layer(layer):\n    return default_init(layer, init_rng)\n"
    fn = INITIALIZERS[cfg.init].fn
    source = function_source(fn)
    return (helpers_source(initializers, INIT_HELPERS, source) + source
            + f"\ndef init_layer(layer):\n    {fn.__name__}(layer, hp, init_rng)\n    return layer\n")


def _layers(cfg: Config) -> tuple[str, bool]:
    """The model's layers in the order the lab creates them (each conv or linear layer draws
    its init from init_rng in this order); and whether a residual block is among them."""
    built = network.Network(network.layers_of(cfg), cfg.activation, cfg, torch.Generator())  # (a throwaway, for its modules)
    lines, residual = [], False
    for layer, block in zip(network.layers_of(cfg), built.blocks):
        note = f"  # {layer.token}: {'x'.join(map(str, layer.shape_out))}"
        if isinstance(block, network.Residual):
            residual = True
            lines.append(f"    Residual({layer.shape_in[0]}),{note}")
        elif isinstance(block, nn.Sequential):  # global average pooling
            lines.append(f"    nn.AdaptiveAvgPool2d(1), nn.Flatten(),{note}")
        elif isinstance(block, (nn.Conv2d, nn.Linear)):
            lines.append(f"    init_layer(nn.{block!r}),{note}")
        else:
            lines.append(f"    nn.{block!r},{note}")
    return "model = nn.Sequential(\n" + "\n".join(lines) + "\n)\n", residual


def render(config: Config) -> str:
    """The whole script for ``config``."""
    cfg = config
    optimizer = OPTIMIZERS[cfg.optimizer]
    schedule = SCHEDULES[cfg.schedule]
    init = INITIALIZERS[cfg.init]
    fields = sorted({*optimizer.meta["uses"], *schedule.meta["uses"], *init.meta["uses"]})
    model, residual = _layers(cfg)
    act = repr(network.ACTIVATIONS[cfg.activation].fn())
    data = DATASETS[cfg.dataset]
    steps_per_epoch = max(1, int(len(datasets.load(cfg.dataset)[1])) // cfg.batch_size)
    parts = [
        f'''"""Descent convolution lab run, as plain PyTorch.

dataset {cfg.dataset} ({data.size}x{data.size}, {len(data.classes)} classes), blocks {", ".join(cfg.blocks)}
(then the output layer), activation {cfg.activation}, init {cfg.init}, optimizer {cfg.optimizer} (lr {cfg.learning_rate}),
schedule {cfg.schedule} (over {cfg.horizon} steps), batch size {cfg.batch_size}, seed {cfg.seed}.
Run: python {FILENAME} [epochs]
"""

from __future__ import annotations

import math
import sys
from types import SimpleNamespace
from typing import Any, Callable, Iterable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.optim import Optimizer

# the settings the registry functions below read
hp = SimpleNamespace({', '.join(f'{k}={getattr(cfg, k)!r}' for k in fields)})
''',
        "\n# ---- data " + "-" * 70 + "\n",
        _data(cfg),
        "\n# ---- model " + "-" * 69 + "\n",
        f"init_rng = torch.Generator().manual_seed({cfg.seed * 1009})  # the initial weights' own random stream\n",
        "# (nn.Conv2d(...) and nn.Linear(...) draw an init of their own; init_layer replaces it from init_rng)\n",
        _init(cfg),
        RESIDUAL.replace("{act}", act) if residual else "",
        "\n" + model,
        "\n# ---- optimizer, schedule " + "-" * 55 + "\n",
        optimizer_source(cfg.optimizer),
        function_source(schedule.fn),
        f'''
optimizer = {optimizer.fn.__name__}(model.parameters(), {cfg.learning_rate!r}, hp)
scheduler = {schedule.fn.__name__}(optimizer, hp, {cfg.horizon})


# ---- training loop ------------------------------------------------------------
def evaluate(x, y):
    model.eval()  # (BatchNorm uses its running statistics)
    with torch.no_grad():
        logits = model(x)
    model.train()
    return F.cross_entropy(logits, y).item(), (logits.argmax(-1) == y).float().mean().item()


epochs = int(sys.argv[1]) if len(sys.argv) > 1 else 20
batch_size = {cfg.batch_size}
steps_per_epoch = {steps_per_epoch}  # the last partial batch is left out
horizon = {cfg.horizon}
shuffle = torch.Generator().manual_seed({cfg.seed * 7919})  # the batch order's own random stream
order = torch.randperm(len(train_y), generator=shuffle)
t = 0  # steps taken
model.train()
print("epoch 0: test loss %.4f, test accuracy %.4f" % evaluate(test_x, test_y))
for epoch in range(1, epochs + 1):
    total = 0.0
    for i in range(steps_per_epoch):
        batch = order[i * batch_size : (i + 1) * batch_size]
        logits = model(train_x[batch])  # forward: (B, classes) scores
        loss = F.cross_entropy(logits, train_y[batch])  # softmax and the log loss in one
        optimizer.zero_grad(set_to_none=True)  # forget the last step's gradients
        loss.backward()  # backward: dloss/dw for every filter and weight
        optimizer.step()  # update
        if t < horizon - 1:  # past its horizon the LR holds, as in the lab
            scheduler.step()
        t += 1
        total += loss.item()
        if t == 1:
            print(f"step 1: loss {{loss.item():.9g}}")
    order = torch.randperm(len(train_y), generator=shuffle)  # a new order each epoch
    test_loss, test_accuracy = evaluate(test_x, test_y)
    print(f"epoch {{epoch}}: train loss {{total / steps_per_epoch:.6f}}, test loss {{test_loss:.6f}}, test accuracy {{test_accuracy:.4f}}")
''',
    ]
    return "".join(p for p in parts if p)
