"""What a transformer setup costs, by formula (nothing is built): its parameters and one step's work."""

from __future__ import annotations

from descent.labs.attention.schema import Config
from descent.labs.attention.tasks import make_task


def parameter_count(config: Config) -> int:
    """Trainable parameters of the transformer ``config`` builds, by formula (no build)."""
    task = make_task(config.task, config.length, config.symbols)
    v, t, d, f = len(task.vocab), task.seq_len, config.d_model, config.ffn
    block = (3 * d * d + 3 * d) + (d * d + d) + (d * f + f + f * d + d) + 2 * (2 * d)  # qkv, out, ffn, 2 norms
    positional = t * d if config.positional == "learned" else 0
    final_norm = 2 * d if config.norm == "pre" else 0
    return v * d + positional + config.layers * block + final_norm + (d * v + v)


def step_work(config: Config) -> float:
    """Multiply-adds of one training step: per token and layer the q, k, v and output
    projections (4 d^2), the feed-forward block (2 d ffn) and the attention itself
    (scores and the weighted sum, 2 T d); then the output head (d v); backward about
    twice the forward."""
    task = make_task(config.task, config.length, config.symbols)
    t, d = task.seq_len, config.d_model
    per_token = config.layers * (4 * d * d + 2 * d * config.ffn + 2 * t * d) + d * len(task.vocab)
    return 3.0 * config.batch_size * t * per_token
