"""The recurrent lab's sequence tasks, generated in code and seeded (torch-free).

Every task writes a batch of input sequences ``x`` (B, T, F) float32 and targets ``y`` (B, T):
class ids (int64, IGNORE where a step is not scored) or values (float32, NaN where not scored).
Each task shows one idea:

- sine: the next value of a noisy sine wave, at every step (a sequence regressor).
- delay: remember the first symbol; the answer is due at the last step, after ``length - 1``
  steps of distracting symbols (long-range memory: a vanilla RNN's gradient dies on the way).
- parity: the parity of the bits so far, at every step (a two-state machine).
- text: the next character of the attention lab's corpus, at every step (compare with the
  transformer on the same text).

Streaming tasks (sine, text) can continue each row where the previous batch stopped, so a
hidden state carried between batches carries real context; ``generate`` takes and returns
that position (``None``: start each row afresh).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np

from descent.labs.corpus import TEXT
from descent.registry import Registry

IGNORE = -100  # target of unscored steps (torch's cross_entropy default)
SYMBOLS = "ABCDEFGHIJ"  # the delay task's alphabet (at most 10 symbols)
NOISE = 0.1  # standard deviation of the sine task's noise
TEXT_VOCAB = tuple(sorted(set(TEXT)))
_TEXT_IDS = np.array([TEXT_VOCAB.index(c) for c in TEXT], dtype=np.int64)
_TEXT_SPLIT = len(_TEXT_IDS) * 9 // 10  # the last tenth is held out (as in the attention lab)

Batch = tuple[np.ndarray, np.ndarray, np.ndarray | None]  # x, y, where each row stopped


@dataclass(frozen=True)
class Task:
    name: str
    kind: Literal["regression", "classification"]
    features: int  # F: inputs per step
    vocab: tuple[str, ...]  # class names (regression: empty)
    input_vocab: tuple[str, ...]  # what each one-hot input means (sine: empty)
    # (rng, batch, length, test, position) -> x, y, position after this batch
    generate: Callable[[np.random.Generator, int, int, bool, np.ndarray | None], Batch]
    streams: bool = False  # batches can continue the previous batch's rows
    bidirectional: bool = False  # a backward pass over the input does not see the answer

    @property
    def outputs(self) -> int:
        return 1 if self.kind == "regression" else len(self.vocab)


def _one_hot(ids: np.ndarray, n: int) -> np.ndarray:
    return np.eye(n, dtype=np.float32)[ids]


def _sine(rng: np.random.Generator, batch: int, length: int, test: bool, position: np.ndarray | None) -> Batch:
    """Each row: its own frequency (0.15-0.45 rad/step) and phase; x_t noisy, y_t = clean x_{t+1}."""
    if position is None:
        omega = rng.uniform(0.15, 0.45, batch)
        start = rng.uniform(0, 2 * np.pi / omega)
    else:
        omega, start = position
    t = start[:, None] + np.arange(length + 1)
    clean = np.sin(omega[:, None] * t).astype(np.float32)
    x = clean[:, :-1] + rng.normal(0, NOISE, (batch, length)).astype(np.float32)
    return x[..., None], clean[:, 1:], np.stack([omega, start + length])


def _delay(symbols: int) -> Callable[..., Batch]:
    def generate(rng: np.random.Generator, batch: int, length: int, test: bool, position: np.ndarray | None) -> Batch:
        ids = rng.integers(0, symbols, (batch, length))  # ids[:, 0] is the one to remember
        y = np.full((batch, length), IGNORE, dtype=np.int64)
        y[:, -1] = ids[:, 0]
        # the first step is flagged by an extra input, so the net knows which symbol counts
        x = np.concatenate([_one_hot(ids, symbols), np.zeros((batch, length, 1), np.float32)], axis=2)
        x[:, 0, -1] = 1.0
        return x, y, None

    return generate


def _parity(rng: np.random.Generator, batch: int, length: int, test: bool, position: np.ndarray | None) -> Batch:
    bits = rng.integers(0, 2, (batch, length))
    return bits[..., None].astype(np.float32), np.cumsum(bits, axis=1) % 2, None


def _text(rng: np.random.Generator, batch: int, length: int, test: bool, position: np.ndarray | None) -> Batch:
    low, high = (_TEXT_SPLIT, len(_TEXT_IDS)) if test else (0, _TEXT_SPLIT)
    start = rng.integers(low, high - length - 1, batch) if position is None else position
    start = np.where(start + length + 1 > high, rng.integers(low, high - length - 1, batch), start)  # wrap at the end
    chars = _TEXT_IDS[start[:, None] + np.arange(length + 1)]
    return _one_hot(chars[:, :-1], len(TEXT_VOCAB)), chars[:, 1:], start + length


TaskFactory = Callable[[int], Task]
TASKS: Registry[TaskFactory] = Registry("task")


@TASKS.register("sine", label="Noisy sine: next value", streams=True)
def sine(symbols: int) -> Task:
    return Task("sine", "regression", 1, (), (), _sine, streams=True)


@TASKS.register("delay", label="Remember the first symbol", bidirectional=True, uses_symbols=True)
def delay(symbols: int) -> Task:
    vocab = tuple(SYMBOLS[:symbols])
    return Task("delay", "classification", symbols + 1, vocab, (*vocab, "first"), _delay(symbols), bidirectional=True)


@TASKS.register("parity", label="Parity of the bits so far", bidirectional=True)
def parity(symbols: int) -> Task:
    return Task("parity", "classification", 1, ("even", "odd"), ("bit",), _parity, bidirectional=True)


@TASKS.register("text", label="Next character of a text", streams=True)
def text(symbols: int) -> Task:
    return Task("text", "classification", len(TEXT_VOCAB), TEXT_VOCAB, TEXT_VOCAB, _text, streams=True)


def make_task(name: str, symbols: int) -> Task:
    return TASKS[name].fn(symbols)
