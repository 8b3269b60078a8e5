"""Show the code: the plain PyTorch script of the current recurrent-lab setup.

Written from the pieces the lab runs (the task's generator, the Recurrent module, truncated
BPTT and the loss from bptt.py, the registry entries for the optimizer and schedule), quoted
with ``inspect`` as the other labs' scripts are, so it cannot drift from what the server trains.
Run alone it reproduces a fresh run of the lab: the same sequences (numpy generators seeded as
the lab seeds them), the same initial weights and the same steps. It needs numpy and torch."""

from __future__ import annotations

import inspect

from descent.labs.corpus import TEXT
from descent.labs.rnn import bptt, model, tasks
from descent.labs.rnn.schema import EPOCH_STEPS, Config
from descent.labs.rnn.tasks import make_task
from descent.labs.scripts import function_source, optimizer_source
from descent.nn.schedules import SCHEDULES

FILENAME = "descent_rnn.py"
EVAL_SIZE = 256  # as the lab (lab.py)


def _task(cfg: Config) -> str:
    """The task's generator and what it reads, then ``generate`` bound to it."""
    name = cfg.task
    pieces = [f"\nIGNORE = {tasks.IGNORE}  # the target of unscored steps\n", function_source(tasks._one_hot)]
    if name == "sine":
        pieces += [f"NOISE = {tasks.NOISE!r}\n", function_source(tasks._sine), "generate = _sine\n"]
    elif name == "delay":
        pieces += [function_source(tasks._delay), f"generate = _delay({cfg.symbols})\n"]
    elif name == "parity":
        pieces += [function_source(tasks._parity), "generate = _parity\n"]
    else:
        pieces += [f"\nTEXT = {TEXT!r}\n",
                   "TEXT_VOCAB = tuple(sorted(set(TEXT)))\n",
                   "_TEXT_IDS = np.array([TEXT_VOCAB.index(c) for c in TEXT], dtype=np.int64)\n",
                   "_TEXT_SPLIT = len(_TEXT_IDS) * 9 // 10  # the last tenth is held out\n",
                   function_source(tasks._text), "generate = _text\n"]
    return "".join(pieces)


def render(config: Config) -> str:
    """The whole script for ``config``."""
    cfg = config
    task = make_task(cfg.task, cfg.symbols)
    schedule = SCHEDULES[cfg.schedule]
    from descent.nn.optimizers import OPTIMIZERS

    fields = sorted({*OPTIMIZERS[cfg.optimizer].meta["uses"], *schedule.meta["uses"]})
    carry = cfg.carry_state and task.streams
    accuracy = task.kind == "classification"
    return "".join([
        f'''"""Descent recurrent lab run, as plain PyTorch.

task {cfg.task} (sequences of {cfg.length} steps), cell {cfg.cell}, {cfg.layers} layer(s) of {cfg.hidden} units,
optimizer {cfg.optimizer} (lr {cfg.learning_rate}), schedule {cfg.schedule} (over {cfg.horizon} steps), batch size {cfg.batch_size},
BPTT length {cfg.bptt or "the whole sequence"}, clipping {f"to norm {cfg.max_norm}" if cfg.clip else "off"}, seed {cfg.seed}.
Run: python {FILENAME} [epochs]   (an epoch is {EPOCH_STEPS} batches of fresh sequences)
"""

from __future__ import annotations

import math
import sys
from types import SimpleNamespace
from typing import Any, Callable, Iterable

import numpy as np
import torch
from torch import Tensor, nn
from torch.optim import Optimizer

# the settings the registry functions below read
hp = SimpleNamespace({', '.join(f'{k}={getattr(cfg, k)!r}' for k in fields)})
''',
        "\n# ---- data: generated sequences " + "-" * 48 + "\n",
        _task(cfg),
        f'task = SimpleNamespace(kind="{task.kind}")\n',
        "\n# ---- model " + "-" * 68 + "\n",
        "MODULES = {'rnn': nn.RNN, 'lstm': nn.LSTM, 'gru': nn.GRU}\n",
        "\n" + inspect.getsource(model.Recurrent),
        function_source(model.detached),
        f'''init_rng = torch.Generator().manual_seed({cfg.seed * 1009})  # the initial weights' own random stream
model = Recurrent({cfg.cell!r}, {cfg.nonlinearity!r}, {task.features}, {cfg.hidden}, {cfg.layers}, {cfg.bidirectional!r}, {task.outputs}, init_rng, {cfg.forget_bias!r})
''',
        "\n# ---- loss and truncated backprop through time " + "-" * 33 + "\n",
        function_source(bptt.sequence_loss),
        function_source(bptt.scored_count),
        function_source(bptt.chunks),
        function_source(bptt.backprop_chunks),
        "\n# ---- optimizer, schedule " + "-" * 54 + "\n",
        optimizer_source(cfg.optimizer),
        function_source(schedule.fn),
        f'''
optimizer = {OPTIMIZERS[cfg.optimizer].fn.__name__}(model.parameters(), {cfg.learning_rate!r}, hp)
scheduler = {schedule.fn.__name__}(optimizer, hp, {cfg.horizon})


# ---- training loop ------------------------------------------------------------
x, y, _ = generate(np.random.default_rng([{cfg.seed}, 1]), {EVAL_SIZE}, {cfg.length}, True, None)  # held-out sequences
test_x, test_y = torch.from_numpy(x), torch.from_numpy(y)


def evaluate():
    model.eval()
    with torch.no_grad():
        logits, _ = model(test_x)
    model.train()
    loss = sequence_loss(task, logits, test_y, max(1, scored_count(task, test_y))).item()
''' + ('''    scored = test_y != IGNORE
    return loss, (logits.argmax(-1)[scored] == test_y[scored]).float().mean().item()
''' if accuracy else '''    return loss, float("nan")  # (a regressor has no accuracy)
''') + f'''

epochs = int(sys.argv[1]) if len(sys.argv) > 1 else 20
rng = np.random.default_rng([{cfg.seed}, 2, 0])  # the training sequences' own random stream
state, position = None, None
t = 0  # steps taken
model.train()
print("epoch 0: test loss %.4f, test accuracy %.4f" % evaluate())
for epoch in range(1, epochs + 1):
    total = 0.0
    for i in range({EPOCH_STEPS}):
        x, y, position = generate(rng, {cfg.batch_size}, {cfg.length}, False, {"position" if carry else "None"})
        x, y = torch.from_numpy(x), torch.from_numpy(y)
        optimizer.zero_grad(set_to_none=True)  # forget the last step's gradients
        # forward and backward chunk by chunk; the state between chunks is detached (the graph is cut)
        loss, last = backprop_chunks(model, task, x, y, {cfg.bptt}, {"state" if cfg.carry_state else "None"})
''' + ("        state = last  # carried into the next batch (detached)\n" if cfg.carry_state else "")
          + (f"        torch.nn.utils.clip_grad_norm_(model.parameters(), {cfg.max_norm!r})  # rescale the gradient to this norm at most\n" if cfg.clip else "")
          + f'''        optimizer.step()  # update
        if t < {cfg.horizon} - 1:  # past its horizon the LR holds, as in the lab
            scheduler.step()
        t += 1
        total += loss.item()
        if t == 1:
            print(f"step 1: loss {{loss.item():.9g}}")
    test_loss, test_accuracy = evaluate()
    print(f"epoch {{epoch}}: train loss {{total / {EPOCH_STEPS}:.6f}}, test loss {{test_loss:.6f}}, test accuracy {{test_accuracy:.4f}}")
''',
    ])
