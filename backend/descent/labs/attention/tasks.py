"""The attention lab's toy tasks: name -> Task, each generating token sequences in code (torch-free).

Every task writes one sequence per example, and a target per position (or IGNORE). The model
reads the whole sequence and is scored only where a target is set.

- seq2seq tasks (copy, reverse, sort): ``x_0 .. x_{n-1} | _ _ .. _`` — the input, a separator
  and n answer slots; slot i must output y_i. The slots hold no answer, so the task works
  with or without the causal mask, and slot i must *look up* its source by attention.
- modadd: ``a + b =``, the answer (a + b) mod p at ``=``.
- induction and text: next-token prediction, so they need the causal mask. Induction repeats
  a random prefix, scored on the repeat, where the answer is only found by attending to the
  token after the previous occurrence of the current token.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from descent.labs.corpus import TEXT
from descent.registry import Registry

IGNORE = -100  # target of positions that are not scored (torch's cross_entropy default)
SYMBOLS = "0123456789ABCDEFGHIJKLMNOPQRSTUV"  # at most 32 symbols, one character each
SEP, SLOT = "|", "_"


@dataclass(frozen=True)
class Task:
    """A task instantiated for a length and a number of symbols."""

    name: str
    vocab: tuple[str, ...]  # token strings; the index is the token id
    seq_len: int  # T, the model's sequence length
    causal_only: bool  # next-token tasks: without the mask the answer is visible
    # (rng, batch, test) -> tokens (B, T) int64, targets (B, T) int64 with IGNORE where unscored;
    # test=True draws the held-out examples (only text has a fixed split; the others draw fresh)
    generate: Callable[[np.random.Generator, int, bool], tuple[np.ndarray, np.ndarray]]
    # the ids a user types (validated) -> the full sequence the model reads, the positions of its answer
    complete: Callable[[list[int]], tuple[list[int], list[int]]]
    input_len: int  # how many tokens a user types at most
    exact: bool = False  # the user must type exactly input_len tokens (slots follow the input)
    per_char: bool = False  # every character is a token, spaces included
    ideal: Callable[[list[int]], np.ndarray | None] = field(default=lambda ids: None)

    def ids(self, text: str) -> list[int]:
        """Text a user typed -> token ids; a ValueError names the allowed tokens."""
        if self.per_char:
            tokens = list(text)
        else:
            tokens = text.split() if any(c.isspace() for c in text.strip()) else list(text.strip())
        if not tokens:
            raise ValueError("tokens: type at least one token")
        index = {t: i for i, t in enumerate(self.vocab)}
        typable = [t for t in self.vocab if t not in (SEP, SLOT) and t.strip()]
        for t in tokens:
            if t not in index or t in (SEP, SLOT):
                shown = " ".join(repr(a) if a.isspace() else a for a in typable)
                raise ValueError(f"tokens: {t!r} is not in the {self.name} vocabulary; allowed: {shown}")
        if self.exact and len(tokens) != self.input_len:
            raise ValueError(f"tokens: {self.name} reads exactly {self.input_len} tokens (the trained length); got {len(tokens)}")
        if len(tokens) > self.input_len:
            raise ValueError(f"tokens: {len(tokens)} tokens is too long for {self.name}; at most {self.input_len}")
        return [index[t] for t in tokens]


def _seq2seq(name: str, answer: Callable[[np.ndarray], np.ndarray], ideal_source: Callable[[int, int], int] | None):
    """x | slots -> answer(x) in the slots. ideal_source(i, n): the input position slot i should read."""

    def make(length: int, symbols: int) -> Task:
        n = length
        vocab = (*SYMBOLS[:symbols], SEP, SLOT)
        sep, slot = symbols, symbols + 1

        def generate(rng: np.random.Generator, batch: int, test: bool = False) -> tuple[np.ndarray, np.ndarray]:
            x = rng.integers(0, symbols, size=(batch, n))
            tokens = np.concatenate([x, np.full((batch, 1), sep), np.full((batch, n), slot)], axis=1)  # (B, 2n+1)
            targets = np.full_like(tokens, IGNORE)
            targets[:, n + 1 :] = answer(x)
            return tokens, targets

        def complete(ids: list[int]) -> tuple[list[int], list[int]]:
            return [*ids, sep, *[slot] * n], list(range(n + 1, 2 * n + 1))

        def ideal(ids: list[int]) -> np.ndarray | None:
            if ideal_source is None:
                return None
            k = (len(ids) - 1) // 2  # the typed length
            m = np.zeros((len(ids), len(ids)), dtype=np.float32)
            for i in range(k):
                m[k + 1 + i, ideal_source(i, k)] = 1.0
            return m

        return Task(name, vocab, 2 * n + 1, False, generate, complete, n, ideal=ideal, exact=True)

    return make


def _modadd(length: int, symbols: int) -> Task:
    p = symbols
    vocab = (*SYMBOLS[:p], "+", "=")
    plus, eq = p, p + 1

    def generate(rng: np.random.Generator, batch: int, test: bool = False) -> tuple[np.ndarray, np.ndarray]:
        a, b = rng.integers(0, p, size=(2, batch))
        tokens = np.stack([a, np.full(batch, plus), b, np.full(batch, eq)], axis=1)  # (B, 4)
        targets = np.full_like(tokens, IGNORE)
        targets[:, 3] = (a + b) % p
        return tokens, targets

    def complete(ids: list[int]) -> tuple[list[int], list[int]]:
        digits = [i for i in ids if i < p]
        if len(digits) != 2 or len(ids) not in (2, 3) or (len(ids) == 3 and ids[1] != plus):
            raise ValueError(f"tokens: modadd reads two numbers 'a b' or 'a+b', each one of {' '.join(vocab[:p])}")
        return [digits[0], plus, digits[1], eq], [3]

    return Task("modadd", vocab, 4, False, generate, complete, 3)


def _induction(length: int, symbols: int) -> Task:
    n = length
    vocab = tuple(SYMBOLS[:symbols])

    def generate(rng: np.random.Generator, batch: int, test: bool = False) -> tuple[np.ndarray, np.ndarray]:
        prefix = rng.integers(0, symbols, size=(batch, n))
        tokens = np.concatenate([prefix, prefix], axis=1)  # (B, 2n)
        targets = np.full_like(tokens, IGNORE)
        targets[:, n:-1] = tokens[:, n + 1 :]  # position n+i predicts prefix[i+1]
        return tokens, targets

    def ideal(ids: list[int]) -> np.ndarray | None:
        k = len(ids) // 2
        if len(ids) != 2 * k or ids[:k] != ids[k:]:
            return None
        m = np.zeros((len(ids), len(ids)), dtype=np.float32)
        for i in range(k - 1):
            m[k + i, i + 1] = 1.0  # attend to the token after the previous occurrence
        return m

    def complete(ids: list[int]) -> tuple[list[int], list[int]]:
        return ids, [len(ids) - 1]  # the next token after the input

    return Task("induction", vocab, 2 * n, True, generate, complete, 2 * n, ideal=ideal)


def _text(length: int, symbols: int) -> Task:
    vocab = tuple(sorted(set(TEXT)))
    data = np.array([vocab.index(c) for c in TEXT], dtype=np.int64)
    split = len(data) * 9 // 10  # the last tenth is held out

    def generate(rng: np.random.Generator, batch: int, test: bool = False) -> tuple[np.ndarray, np.ndarray]:
        low, high = (split, len(data)) if test else (0, split)
        start = rng.integers(low, high - length - 1, size=batch)
        window = start[:, None] + np.arange(length + 1)  # (B, T+1)
        chars = data[window]
        return chars[:, :-1], chars[:, 1:]

    def complete(ids: list[int]) -> tuple[list[int], list[int]]:
        return ids, [len(ids) - 1]  # the next token after the input

    return Task("text", vocab, length, True, generate, complete, length, per_char=True)


TaskFactory = Callable[[int, int], Task]
TASKS: Registry[TaskFactory] = Registry("task")
TASKS.register("copy", ideal="diagonal", max_length=16)(_seq2seq("copy", lambda x: x, lambda i, n: i))
TASKS.register("reverse", ideal="anti-diagonal", max_length=16)(_seq2seq("reverse", lambda x: x[:, ::-1], lambda i, n: n - 1 - i))
TASKS.register("sort", max_length=16)(_seq2seq("sort", lambda x: np.sort(x, axis=1), None))
TASKS.register("modadd", fixed_length=4)(_modadd)
TASKS.register("induction", causal_only=True, ideal="induction", max_length=16)(_induction)
TASKS.register("text", causal_only=True, max_length=32, fixed_vocab=True)(_text)


def make_task(name: str, length: int, symbols: int) -> Task:
    return TASKS[name].fn(length, symbols)
